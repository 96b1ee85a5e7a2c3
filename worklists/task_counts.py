"""Badge counters: open tasks per lane, per assignee and per delegator, kept by the database.

Triggers on ``tasks`` (PostgreSQL and SQLite alike, installed by migration 0016) append a
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
(the schedulers every 30 seconds, and a count that read more than ``FOLD_AFTER`` rows beyond
one per key), so the rows stay few and a concluded case leaves none.

Candidate groups and users (migration 0017): the same triggers' siblings append to
``task_candidate_counts`` one signed row per candidate named in the task's own lists
(``candidate_groups`` / ``candidate_users``, which ``task_candidates`` mirrors while the task
is open), keyed also by the task's lane and by ``sig``, the two lists as stored. Every delta
is computed from the changed task row alone (OLD and NEW), never from another table, so a
statement that closes a task and deletes its candidate rows at once (the worklists'
completion does) is counted exactly like any other. ``sig`` makes de-duplication exact: all
the tasks behind one (lane, sig, status, days) key add the same rows to every name they
carry, so a view over several names counts each such key once, whichever names it matches.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone

from sqlalchemy import text

DAY = 86400
FOLD_AFTER = 1000  # unfolded counter rows (beyond one per key) one count may read before it folds

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


def _sqlite_day(row: str, column: str) -> str:
    """SQLite: the day number (days since 1970-01-01, UTC) of ``row.column``."""
    return f"(CAST(strftime('%s', {row}.{column}) AS INTEGER) / 86400)"


def _sqlite_rows(row: str, sign: int) -> str:
    day = functools.partial(_sqlite_day, row)
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
    """Create the triggers (migration 0016; benchmarks that build the schema themselves)."""
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


# -- candidate groups and users (migration 0017) ---------------------------------------------
CANDIDATE_COLUMNS = "tenant_id, kind, name, lane, sig, status, due_day, warn_day, n"
_CANDIDATE_WATCHED = ("status", "group", "due_at", "warn_at", "tenant_id", "candidate_groups", "candidate_users")
MAX_NAME = 150  # longer names name nobody (workflows.case_repository writes no candidate row for them)


def _pg_named(row: str) -> str:
    """The distinct (kind, name) pairs the task ``row`` names as candidates: the rule
    workflows.case_repository follows when it writes ``task_candidates``."""
    return (
        "(SELECT DISTINCT k.kind, e.value #>> '{}' AS name "
        f"FROM (VALUES ('group', {row}.candidate_groups::json), ('user', {row}.candidate_users::json)) AS k(kind, list) "
        "CROSS JOIN LATERAL json_array_elements(CASE WHEN json_typeof(k.list) = 'array' THEN k.list "
        "ELSE '[]'::json END) AS e(value) "
        f"WHERE json_typeof(e.value) = 'string' AND length(e.value #>> '{{}}') <= {MAX_NAME}) AS c"
    )


def _pg_candidate_rows(row: str, sign: int) -> str:
    return (
        f"INSERT INTO task_candidate_counts ({CANDIDATE_COLUMNS}) "
        f"SELECT {row}.tenant_id, c.kind, c.name, coalesce({row}.\"group\", ''), "
        f"{row}.candidate_groups::text || ' ' || {row}.candidate_users::text, {row}.status, "
        f"floor(extract(epoch FROM {row}.due_at) / 86400)::int, floor(extract(epoch FROM {row}.warn_at) / 86400)::int, "
        f"{sign} FROM {_pg_named(row)};"
    )


_PG_CANDIDATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION redwall_task_candidate_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('ready', 'claimed') THEN
        {_pg_candidate_rows('OLD', -1)}
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN ('ready', 'claimed') THEN
        {_pg_candidate_rows('NEW', 1)}
    END IF;
    RETURN NULL;
END $$
"""


def _names_any(row: str, dialect: str) -> str:
    """Whether the task ``row`` may name candidates (the triggers skip every other row)."""
    if dialect == "postgresql":
        return f"({row}.candidate_groups::text <> '[]' OR {row}.candidate_users::text <> '[]')"
    return f"({row}.candidate_groups <> '[]' OR {row}.candidate_users <> '[]')"


def _pg_candidate_ddl() -> list[str]:
    changed = " OR ".join(
        f'OLD."{c}"::text IS DISTINCT FROM NEW."{c}"::text' if c.startswith("candidate_")
        else f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in _CANDIDATE_WATCHED)
    columns = ", ".join(f'"{c}"' for c in _CANDIDATE_WATCHED)
    run = "FOR EACH ROW WHEN ({}) EXECUTE FUNCTION redwall_task_candidate_counts()"
    return [
        _PG_CANDIDATE_FUNCTION,
        f"CREATE TRIGGER task_candidate_counts_insert AFTER INSERT ON tasks {run.format(_names_any('NEW', 'postgresql'))}",
        f"CREATE TRIGGER task_candidate_counts_delete AFTER DELETE ON tasks {run.format(_names_any('OLD', 'postgresql'))}",
        f"CREATE TRIGGER task_candidate_counts_update AFTER UPDATE OF {columns} ON tasks "
        + run.format(f"({changed}) AND ({_names_any('OLD', 'postgresql')} OR {_names_any('NEW', 'postgresql')})"),
    ]


def _sqlite_named(row: str) -> str:
    listed = lambda kind, column: (  # noqa: E731
        f"SELECT '{kind}' AS kind, value AS name FROM json_each(CASE WHEN json_type({row}.{column}) = 'array' "
        f"THEN {row}.{column} ELSE '[]' END) WHERE type = 'text' AND length(value) <= {MAX_NAME}")
    both = f"{listed('group', 'candidate_groups')} UNION ALL {listed('user', 'candidate_users')}"
    return f"(SELECT DISTINCT kind, name FROM ({both}))"


def _sqlite_candidate_rows(row: str, sign: int) -> str:
    day = functools.partial(_sqlite_day, row)
    return (
        f"INSERT INTO task_candidate_counts ({CANDIDATE_COLUMNS}) "
        f"SELECT {row}.tenant_id, kind, name, coalesce({row}.\"group\", ''), "
        f"{row}.candidate_groups || ' ' || {row}.candidate_users, {row}.status, {day('due_at')}, {day('warn_at')}, "
        f"{sign} FROM {_sqlite_named(row)} WHERE {row}.status IN ('ready', 'claimed');"
    )


def _sqlite_candidate_ddl() -> list[str]:
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in _CANDIDATE_WATCHED)
    columns = ", ".join(f'"{c}"' for c in _CANDIDATE_WATCHED)
    new_any, old_any = _names_any("NEW", "sqlite"), _names_any("OLD", "sqlite")
    return [
        f"CREATE TRIGGER task_candidate_counts_insert AFTER INSERT ON tasks WHEN {new_any} "
        f"BEGIN {_sqlite_candidate_rows('NEW', 1)} END",
        f"CREATE TRIGGER task_candidate_counts_delete AFTER DELETE ON tasks WHEN {old_any} "
        f"BEGIN {_sqlite_candidate_rows('OLD', -1)} END",
        f"CREATE TRIGGER task_candidate_counts_update AFTER UPDATE OF {columns} ON tasks "
        f"WHEN ({changed}) AND ({old_any} OR {new_any}) "
        f"BEGIN {_sqlite_candidate_rows('OLD', -1)} {_sqlite_candidate_rows('NEW', 1)} END",
    ]


_CANDIDATE_TRIGGERS = ("task_candidate_counts_insert", "task_candidate_counts_delete", "task_candidate_counts_update")


def install_candidate_triggers(conn) -> None:
    """Create the candidate counters' triggers (migration 0017; benchmarks that build the schema)."""
    postgres = conn.dialect.name == "postgresql"
    for statement in _pg_candidate_ddl() if postgres else _sqlite_candidate_ddl():
        conn.exec_driver_sql(statement)


def drop_candidate_triggers(conn) -> None:
    postgres = conn.dialect.name == "postgresql"
    for name in _CANDIDATE_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON tasks" if postgres else ""))
    if postgres:
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS redwall_task_candidate_counts()")


_STATISTICS = (("task_counts_key_stats", "task_counts"), ("task_candidate_counts_key_stats", "task_candidate_counts"))


def create_statistics(conn) -> None:
    """PostgreSQL: statistics of how tenant, kind and name go together in both counter tables.
    Without them the planner multiplies the selectivities of a tenant and of that tenant's
    group names, expects a tenth of the rows a badge count reads, and sorts them instead of
    hashing them (measured: 5.4 against 3.8 ms for a supervisor's count at a million tasks)."""
    if conn.dialect.name != "postgresql":
        return
    for name, table in _STATISTICS:
        conn.exec_driver_sql(
            f"CREATE STATISTICS IF NOT EXISTS {name} (dependencies, mcv) ON tenant_id, kind, name FROM {table}")
        conn.exec_driver_sql(f"ANALYZE {table}")


def drop_statistics(conn) -> None:
    if conn.dialect.name == "postgresql":
        for name, _ in _STATISTICS:
            conn.exec_driver_sql(f"DROP STATISTICS IF EXISTS {name}")


def sig_of(row: str, dialect: str) -> str:
    """The counters' ``sig`` of the task ``row``: its two candidate lists as stored."""
    if dialect == "postgresql":
        return f"{row}.candidate_groups::text || ' ' || {row}.candidate_users::text"
    return f"{row}.candidate_groups || ' ' || {row}.candidate_users"


def names_of(tasks: str, dialect: str) -> str:
    """A SELECT of the rows of ``tasks`` (SQL selecting task columns, ``id`` and the lists
    among them), one per candidate each names (the triggers' rule), with ``kind``, ``name``
    and ``sig`` added."""
    if dialect == "postgresql":
        return (f"SELECT t.*, c.kind, c.name, {sig_of('t', dialect)} AS sig FROM ({tasks}) AS t "
                f"CROSS JOIN LATERAL {_pg_named('t')}")
    # SQLite has no LATERAL: each list read by json_each, a task's repeated names once (UNION)
    return " UNION ".join(
        f"SELECT t.*, '{kind}' AS kind, j.value AS name, {sig_of('t', dialect)} AS sig FROM ({tasks}) AS t, "
        f"json_each(CASE WHEN json_type(t.{column}) = 'array' THEN t.{column} ELSE '[]' END) AS j "
        f"WHERE j.type = 'text' AND length(j.value) <= {MAX_NAME}"
        for kind, column in (("group", "candidate_groups"), ("user", "candidate_users")))


def rebuild_candidates(conn) -> None:
    """Count every open task's candidates again from ``tasks`` (the migration; a bulk load)."""
    conn.execute(text("DELETE FROM task_candidate_counts"))
    due, warn = _day_sql(conn, "t.due_at"), _day_sql(conn, "t.warn_at")
    named = names_of("SELECT id, tenant_id, \"group\", candidate_groups, candidate_users, status, due_at, warn_at "
                     "FROM tasks WHERE status IN ('ready', 'claimed')", conn.dialect.name)
    conn.execute(text(
        f"INSERT INTO task_candidate_counts ({CANDIDATE_COLUMNS}) "
        f"SELECT t.tenant_id, t.kind, t.name, coalesce(t.\"group\", ''), t.sig, t.status, {due}, {warn}, count(*) "
        f"FROM ({named}) AS t GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"))


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


_COUNTERS = (("task_counts", _COLUMNS), ("task_candidate_counts", CANDIDATE_COLUMNS))


def fold(conn, tenant_id: int) -> None:
    """Sum the tenant's counter rows (both tables) into one per key (keys that sum to 0 go).
    Safe beside concurrent writers: rows not yet committed are not touched and are folded
    next time."""
    if conn.dialect.name == "postgresql":
        # one folder per tenant at a time (two DELETEs of the same rows could deadlock)
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(4711, CAST(:t AS int))"), {"t": tenant_id}).scalar():
            return
        for table, columns in _COUNTERS:
            keys = columns.rsplit(", n", 1)[0]
            groups = ", ".join(str(i) for i in range(1, keys.count(",") + 2))
            conn.execute(text(
                f"WITH gone AS (DELETE FROM {table} WHERE tenant_id = :t RETURNING {columns}) "
                f"INSERT INTO {table} ({columns}) SELECT {keys}, sum(n) "
                f"FROM gone GROUP BY {groups} HAVING sum(n) <> 0"), {"t": tenant_id})
        return
    # SQLite: one writer at a time; rows after ``last`` are newer than this fold
    for table, columns in _COUNTERS:
        keys = columns.rsplit(", n", 1)[0]
        groups = ", ".join(str(i) for i in range(1, keys.count(",") + 2))
        last = conn.execute(text(f"SELECT max(id) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}).scalar()
        if last is None:
            continue
        conn.execute(text(
            f"INSERT INTO {table} ({columns}) SELECT {keys}, sum(n) "
            f"FROM {table} WHERE tenant_id = :t AND id <= :last GROUP BY {groups} HAVING sum(n) <> 0"),
            {"t": tenant_id, "last": last})
        conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t AND id <= :last"), {"t": tenant_id, "last": last})


def fold_all(ctx) -> None:
    """Fold every tenant's counter rows, one short transaction per tenant (the schedulers, every
    ``server.background.FOLD_COUNTERS_EVERY`` seconds)."""
    with ctx.unit_of_work() as uow:
        tenants = [r[0] for r in uow.session.execute(text(
            "SELECT tenant_id FROM task_counts UNION SELECT tenant_id FROM task_candidate_counts"))]
    for tenant_id in tenants:
        with ctx.unit_of_work() as uow:
            fold(uow.session.connection(), tenant_id)
            uow.session.commit()


def today_of(now: datetime) -> tuple[int, datetime, datetime]:
    """The UTC day number of ``now`` and the day's bounds (what the triggers' day columns mean)."""
    day = int(now.timestamp() // DAY)
    start = datetime.fromtimestamp(day * DAY, timezone.utc)
    return day, start, datetime.fromtimestamp((day + 1) * DAY, timezone.utc)
