"""Badge counters: open tasks per lane, per assignee and per delegator, kept by the database.

Triggers on ``tasks`` (PostgreSQL and SQLite alike, installed by migration 0015) append a
signed row to ``task_counts`` for every change of an open task's row — insert, delete, or an
update of its status, lane, assignee, delegator, deadline or warning time: -1 for what the row
counted before, +1 for what it counts now. Every writer of task rows (the case step, the
worklist commands, handling operations, migrations, SQL by hand) keeps them right in its own
transaction; nothing in Python must remember to, so the counters cannot drift from the rows.
Appending instead of updating one row per lane means concurrent steps never wait on a shared
counter row, and can never deadlock on two.

A row also names the UTC day of the task's deadline and of its warning, so "overdue" and
"warned" (which change with the clock, not with the rows) are read off the counters for
every day but today; the tasks due or warned today are counted exactly from ``tasks``
(a short index range). :func:`fold` sums a tenant's rows into one per key, in one statement
(the schedulers every 30 seconds, and a count that read more than ``FOLD_AFTER`` rows), so the
rows stay few and a concluded case leaves none.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

DAY = 86400
FOLD_AFTER = 1000  # counter rows one count may read before it folds the tenant's rows

_COLUMNS = "tenant_id, kind, name, status, due_day, warn_day, n"
_WATCHED = ("status", "group", "assignee", "delegated_by", "due_at", "warn_at", "tenant_id")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION redwall_task_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('ready', 'claimed') THEN
        INSERT INTO task_counts (tenant_id, kind, name, status, due_day, warn_day, n)
        SELECT OLD.tenant_id, k.kind, k.name, OLD.status,
               floor(extract(epoch FROM OLD.due_at) / 86400)::int, floor(extract(epoch FROM OLD.warn_at) / 86400)::int, -1
        FROM (VALUES ('lane', coalesce(OLD."group", '')),
                     ('assignee', CASE WHEN OLD.status = 'claimed' THEN OLD.assignee END),
                     ('delegated', CASE WHEN OLD.status = 'claimed' THEN OLD.delegated_by END)) AS k(kind, name)
        WHERE k.name IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN ('ready', 'claimed') THEN
        INSERT INTO task_counts (tenant_id, kind, name, status, due_day, warn_day, n)
        SELECT NEW.tenant_id, k.kind, k.name, NEW.status,
               floor(extract(epoch FROM NEW.due_at) / 86400)::int, floor(extract(epoch FROM NEW.warn_at) / 86400)::int, 1
        FROM (VALUES ('lane', coalesce(NEW."group", '')),
                     ('assignee', CASE WHEN NEW.status = 'claimed' THEN NEW.assignee END),
                     ('delegated', CASE WHEN NEW.status = 'claimed' THEN NEW.delegated_by END)) AS k(kind, name)
        WHERE k.name IS NOT NULL;
    END IF;
    RETURN NULL;
END $$
"""


def _pg_ddl() -> list[str]:
    changed = " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in _WATCHED)
    columns = ", ".join(f'"{c}"' for c in _WATCHED)
    return [
        _PG_FUNCTION,
        "CREATE TRIGGER task_counts_rows AFTER INSERT OR DELETE ON tasks "
        "FOR EACH ROW EXECUTE FUNCTION redwall_task_counts()",
        f"CREATE TRIGGER task_counts_changes AFTER UPDATE OF {columns} ON tasks "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION redwall_task_counts()",
    ]


def _sqlite_rows(row: str, sign: int) -> str:
    day = lambda column: f"(CAST(strftime('%s', {row}.{column}) AS INTEGER) / 86400)"  # noqa: E731
    return (
        f"INSERT INTO task_counts ({_COLUMNS}) "
        f"SELECT {row}.tenant_id, kind, name, {row}.status, {day('due_at')}, {day('warn_at')}, {sign} FROM ("
        f"SELECT 'lane' AS kind, coalesce({row}.\"group\", '') AS name "
        f"UNION ALL SELECT 'assignee', CASE WHEN {row}.status = 'claimed' THEN {row}.assignee END "
        f"UNION ALL SELECT 'delegated', CASE WHEN {row}.status = 'claimed' THEN {row}.delegated_by END) "
        f"WHERE name IS NOT NULL AND {row}.status IN ('ready', 'claimed');"
    )


def _sqlite_ddl() -> list[str]:
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in _WATCHED)
    columns = ", ".join(f'"{c}"' for c in _WATCHED)
    return [
        f"CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN {_sqlite_rows('NEW', 1)} END",
        f"CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks BEGIN {_sqlite_rows('OLD', -1)} END",
        f"CREATE TRIGGER task_counts_update AFTER UPDATE OF {columns} ON tasks WHEN {changed} "
        f"BEGIN {_sqlite_rows('OLD', -1)} {_sqlite_rows('NEW', 1)} END",
    ]


def install_triggers(conn) -> None:
    """Create the triggers (migration 0015; benchmarks that build the schema themselves)."""
    for statement in _pg_ddl() if conn.dialect.name == "postgresql" else _sqlite_ddl():
        conn.exec_driver_sql(statement)


def drop_triggers(conn) -> None:
    if conn.dialect.name == "postgresql":
        for name in ("task_counts_rows", "task_counts_changes"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON tasks")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS redwall_task_counts()")
    else:
        for name in ("task_counts_insert", "task_counts_delete", "task_counts_update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def _day_sql(conn, column: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"floor(extract(epoch FROM {column}) / 86400)::int"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 86400)"


def rebuild(conn) -> None:
    """Count every open task again from ``tasks`` (the migration; a benchmark's bulk load)."""
    conn.execute(text("DELETE FROM task_counts"))
    due, warn = _day_sql(conn, "due_at"), _day_sql(conn, "warn_at")
    for kind, name, where in (("lane", "coalesce(\"group\", '')", ""),
                              ("assignee", "assignee", "AND status = 'claimed' AND assignee IS NOT NULL"),
                              ("delegated", "delegated_by", "AND status = 'claimed' AND delegated_by IS NOT NULL")):
        conn.execute(text(
            f"INSERT INTO task_counts ({_COLUMNS}) SELECT tenant_id, '{kind}', {name}, status, {due}, {warn}, count(*) "
            f"FROM tasks WHERE status IN ('ready', 'claimed') {where} GROUP BY 1, 2, 3, 4, 5, 6"))


def fold(conn, tenant_id: int) -> None:
    """Sum the tenant's counter rows into one per key (keys that sum to 0 go). Safe beside
    concurrent writers: rows not yet committed are not touched and are folded next time."""
    if conn.dialect.name == "postgresql":
        # one folder per tenant at a time (two DELETEs of the same rows could deadlock)
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(4711, CAST(:t AS int))"), {"t": tenant_id}).scalar():
            return
        conn.execute(text(
            f"WITH gone AS (DELETE FROM task_counts WHERE tenant_id = :t RETURNING {_COLUMNS}) "
            f"INSERT INTO task_counts ({_COLUMNS}) SELECT tenant_id, kind, name, status, due_day, warn_day, sum(n) "
            f"FROM gone GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0"), {"t": tenant_id})
        return
    # SQLite: one writer at a time; rows after ``last`` are newer than this fold
    last = conn.execute(text("SELECT max(id) FROM task_counts WHERE tenant_id = :t"), {"t": tenant_id}).scalar()
    if last is None:
        return
    conn.execute(text(
        f"INSERT INTO task_counts ({_COLUMNS}) SELECT tenant_id, kind, name, status, due_day, warn_day, sum(n) "
        f"FROM task_counts WHERE tenant_id = :t AND id <= :last GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0"),
        {"t": tenant_id, "last": last})
    conn.execute(text("DELETE FROM task_counts WHERE tenant_id = :t AND id <= :last"), {"t": tenant_id, "last": last})


def fold_all(ctx) -> None:
    """Fold every tenant's counter rows, one short transaction per tenant (the schedulers, every
    ``server.background.FOLD_COUNTERS_EVERY`` seconds)."""
    with ctx.unit_of_work() as uow:
        tenants = [r[0] for r in uow.session.execute(text("SELECT DISTINCT tenant_id FROM task_counts"))]
    for tenant_id in tenants:
        with ctx.unit_of_work() as uow:
            fold(uow.session.connection(), tenant_id)
            uow.session.commit()


def today_of(now: datetime) -> tuple[int, datetime, datetime]:
    """The UTC day number of ``now`` and the day's bounds (what the triggers' day columns mean)."""
    day = int(now.timestamp() // DAY)
    start = datetime.fromtimestamp(day * DAY, timezone.utc)
    return day, start, datetime.fromtimestamp((day + 1) * DAY, timezone.utc)
