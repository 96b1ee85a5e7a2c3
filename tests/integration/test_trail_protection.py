"""The trail on PostgreSQL: guards even the owner meets, and an application role that cannot
alter the trail at all (issue 10, item 13).

TRUNCATE, ``session_replication_role = replica`` and ``DISABLE TRIGGER`` used to pass, and the
anchor and head tables had no guard.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from server.extensions import db
from tests.conftest import require_postgres
from tests.integration.test_trail import walk_a_case
from tests.helpers import demo_files, make_users
from workflows import trail
from workflows.context import build_context
from workflows.database import engine_options
from workflows.process_models import deploy_model

ROLE = "redwall_app_hard"
# PostgreSQL only: SQLite has no roles, no grants and no statement triggers.
pytestmark = pytest.mark.parametrize("app", ["postgres"], indirect=True)


@pytest.fixture
def pg(app, ctx):
    assert db.engine.dialect.name == "postgresql"
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    walk_a_case(ctx, actors)
    assert trail.anchor_trail(ctx, now=ctx.clock() + timedelta(days=2))  # today is anchored once it is over
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM trail_anchors")).scalar() >= 1
        assert conn.execute(text("SELECT count(*) FROM trail_heads")).scalar() >= 1
    return actors


def refused(sql: str, match: str, engine=None, setup: str | None = None):
    with (engine or db.engine).connect() as conn:
        if setup:
            conn.execute(text(setup))
        with pytest.raises(DBAPIError, match=match):
            conn.execute(text(sql))
        conn.rollback()


def test_the_owner_meets_the_guards_too(pg, ctx):
    for sql in (
        "TRUNCATE trail_events CASCADE",
        "UPDATE trail_anchors SET heads = '[]'",
        "DELETE FROM trail_anchors",
        "TRUNCATE trail_anchors CASCADE",
        "DELETE FROM trail_heads",
        "UPDATE trail_heads SET seq = seq - 1",
        "TRUNCATE trail_heads CASCADE",
        "UPDATE cases SET trail_seq = trail_seq - 1",
        "UPDATE cases SET trail_hash = repeat('0', 64)",
    ):
        refused(sql, "append-only")
    # replica mode (which skips ordinary triggers) does not skip these
    refused("UPDATE trail_events SET data = '{}'", "append-only", setup="SET session_replication_role = replica")
    refused("DELETE FROM trail_anchors", "append-only", setup="SET session_replication_role = replica")
    assert trail.verify_tenant(ctx, pg["auditor1"])["valid"]


@pytest.fixture
def app_role(pg):
    url = require_postgres()
    with db.engine.begin() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}).scalar():
            conn.execute(text(f"CREATE ROLE {ROLE} NOLOGIN"))
    yield url
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {ROLE}"))
        conn.execute(text(f"DROP ROLE {ROLE}"))


def test_the_application_role_works_and_cannot_alter_the_trail(app, app_role, pg):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "grant", ROLE])
    assert result.exit_code == 0, result.output
    assert "REVOKE UPDATE, DELETE, TRUNCATE" in result.output
    # The application, as that role: a whole case, anchors, verification.
    engine = create_engine(app_role, **engine_options(app_role))

    @event.listens_for(engine, "connect")
    def as_app_role(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {ROLE}")
        dbapi_connection.commit()

    try:
        ctx = build_context(sessionmaker(engine, expire_on_commit=False))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == ROLE
        walk_a_case(ctx, pg)
        trail.anchor_trail(ctx, now=ctx.clock() + timedelta(days=3))
        assert trail.verify_tenant(ctx, pg["auditor1"])["valid"]
        for sql, match in (
            ("UPDATE trail_events SET data = '{}'", "permission denied"),
            ("DELETE FROM trail_events", "permission denied"),
            ("TRUNCATE trail_events CASCADE", "permission denied"),
            ("DELETE FROM trail_anchors", "permission denied"),
            ("UPDATE trail_anchors SET heads = '[]'", "permission denied"),
            ("DELETE FROM trail_heads", "permission denied"),
            ("ALTER TABLE trail_events DISABLE TRIGGER trail_events_append_only", "must be owner"),
            ("ALTER TABLE trail_events DISABLE TRIGGER ALL", "must be owner"),
            ("DROP TRIGGER trail_events_append_only ON trail_events", "must be owner"),
            ("SET session_replication_role = replica", "permission denied"),
        ):
            refused(sql, match, engine=engine)
    finally:
        engine.dispose()


def test_grant_refuses_what_it_cannot_do(app, pg):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "grant", "no_such_role_hard"]).exit_code != 0
    assert runner.invoke(args=["db", "grant", "Robert'); DROP TABLE cases;--"]).exit_code != 0
    assert runner.invoke(args=["db", "grant", "postgres"]).exit_code != 0  # a superuser could switch guards off
