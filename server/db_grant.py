"""``redwall db grant <role>``: what the application's database role may do (PostgreSQL).

Run it once as the owner of the tables (the role that ran ``redwall db upgrade``); then run
the web processes, workers and schedulers as ``<role>``. The role gets everything the
application needs and no more on the trail: SELECT and INSERT on ``trail_events`` and
``trail_anchors`` (no UPDATE, DELETE, TRUNCATE), SELECT, INSERT and forward UPDATEs on
``trail_heads``. It owns nothing, so it can neither ``ALTER TABLE … DISABLE TRIGGER`` nor
drop the guards, and, not being a superuser, it cannot set ``session_replication_role``.
"""
from __future__ import annotations

import re

import click
from flask import current_app
from flask.cli import with_appcontext

APPEND_ONLY = ("trail_events", "trail_anchors")
_ROLE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def grant_statements(conn, role: str) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    who = quote(role)
    database = quote(conn.exec_driver_sql("SELECT current_database()").scalar_one())
    return [
        f"GRANT CONNECT ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {', '.join(APPEND_ONLY)} FROM {who}",
        f"REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON trail_heads FROM {who}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {who}",
    ]


def grant(engine, role: str) -> list[str]:
    """Grant ``role`` the application's rights; the statements run, in order."""
    if not _ROLE.match(role):
        raise click.BadParameter("a role name is lower-case letters, digits and _ (PostgreSQL identifier)")
    with engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            raise click.UsageError("roles and grants need PostgreSQL; SQLite has neither")
        if not conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).scalar():
            raise click.UsageError(f"there is no role {role!r}: CREATE ROLE {role} LOGIN PASSWORD '…' first")
        if conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).scalar():
            raise click.UsageError(f"{role!r} is a superuser: it could switch the trail's guards off")
        statements = grant_statements(conn, role)
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements


@click.command("grant")
@click.argument("role")
@with_appcontext
def grant_command(role):
    """Give ROLE the application's rights: INSERT/SELECT only on the trail tables (PostgreSQL)."""
    from .extensions import db

    for statement in grant(db.engine, role):
        click.echo(statement)
    click.echo(f"run the application as {role}; keep the owner's credentials for `redwall db upgrade`")
    current_app.logger.info("granted the application's rights to %s", role)
