"""Inbox queries at a million open tasks: latency percentiles and query plans.

Seeds its own PostgreSQL database (created and dropped by the script) with open tasks
over 10 tenants, 30 groups (3 departments per tenant) and 500 clerks, by COPY with the
secondary indexes built afterwards, then measures the query layer itself
(``worklists.inbox``: the functions the REST views call, without HTTP) over many
requests with a random clerk each, and prints p50/p95/p99 and the EXPLAIN (ANALYZE,
BUFFERS) plan of every statement each query runs.

    python bench/worklist_inbox.py [--tasks 1000000] [--requests 500] [--keep]

Targets (issue 3): first pages p95 <= 20 ms; badge counts p95 <= 10 ms (issue 11: from the counters
the database keeps, worklists.task_counts; the same figures by counting the rows print beside them).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, event, text  # noqa: E402
from benchdb import recreate_database  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from workflows.accounts import Actor  # noqa: E402
from workflows.context import EngineContext  # noqa: E402
from workflows.models import (  # noqa: E402
    Base, Case, Group, GroupMembership, ProcessModel, Task, TaskCandidate, Tenant, User,
)
from worklists import inbox, task_counts  # noqa: E402
from worklists.models import TaskCandidateCount, TaskCount  # noqa: E402

TENANTS = 10
GROUPS_PER_TENANT = 3
CLERKS = 500
SERVICES = [f"service_{i:02d}" for i in range(22)]  # 17 categories, 22 services
PRIORITIES = [10, 30, 50, 50, 50, 50, 70, 90]
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # the clock of every measured request
TABLES = [Tenant.__table__, User.__table__, Group.__table__, GroupMembership.__table__, ProcessModel.__table__,
          Case.__table__, Task.__table__, TaskCandidate.__table__, TaskCount.__table__,
          TaskCandidateCount.__table__]


def ts(moment: datetime | None) -> str:
    return r"\N" if moment is None else moment.isoformat()


# -- the database ----------------------------------------------------------------------------
def copy_rows(raw, table: str, columns: list[str], lines) -> None:
    """COPY text-format lines (tab-separated, \\N for NULL) into ``table``."""
    check_columns(Base.metadata.tables[table], columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            buffer = io.StringIO()
            for n, line in enumerate(lines, 1):
                buffer.write(line)
                if n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())


def check_columns(table, given: list[str]) -> None:
    """Every NOT NULL column without a server default must be in the COPY (the schema grows)."""
    missing = [c.name for c in table.c if not c.nullable and c.server_default is None and c.name not in given]
    if missing:
        raise SystemExit(f"the benchmark does not fill {table.name}.{missing}; update bench/worklist_inbox.py")


def seed(engine, tasks: int, rng: random.Random, only_people: bool = False) -> dict:
    """Tenants, groups, clerks, cases and ``tasks`` open tasks; returns who is who.

    ``only_people`` rebuilds who is who (the same random choices) without writing anything.
    """
    if only_people:
        return people_of(engine, rng)
    Base.metadata.create_all(engine, tables=TABLES)
    secondary = [ix for t in (Case.__table__, Task.__table__, TaskCandidate.__table__) for ix in t.indexes]
    with engine.begin() as conn:
        for index in secondary:  # built after the load: far faster than maintained row by row
            index.drop(conn)

    people: dict = {"clerks": [], "supervisors": [], "admins": []}
    group_members: dict[tuple[int, str], list[str]] = {}
    tenant_groups: dict[int, list[str]] = {}
    tenant_clerks: dict[int, list[str]] = {}
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        dbapi.execute("SET session_replication_role = replica")  # skip FK triggers during the load
        copy_rows(dbapi, "tenants", ["id", "code", "name", "timezone", "created_at"],
                  (f"{t}\ttenant{t:02d}\tSub-district {t}\tAsia/Shanghai\t{ts(NOW)}\n" for t in range(1, TENANTS + 1)))
        groups, members, users = [], [], []
        group_id = 0
        for t in range(1, TENANTS + 1):
            tenant_groups[t] = [f"dept_{t:02d}_{g}" for g in range(GROUPS_PER_TENANT)]
            for code in tenant_groups[t]:
                group_id += 1
                groups.append((group_id, t, code))
        group_ids = {(t, code): gid for gid, t, code in groups}
        user_id = 0
        for n in range(CLERKS):
            t = n % TENANTS + 1
            user_id += 1
            name = f"clerk{n:03d}"
            mine = [rng.choice(tenant_groups[t])]
            if rng.random() < 0.1:  # some clerks work for two departments
                mine = sorted(set(mine + [rng.choice(tenant_groups[t])]))
            users.append((user_id, t, name, '["clerk"]'))
            for code in mine:
                members.append((user_id, group_ids[t, code], "member"))
                group_members.setdefault((t, code), []).append(name)
            tenant_clerks.setdefault(t, []).append(name)
            people["clerks"].append((name, t, tuple(mine)))
        for t in range(1, TENANTS + 1):
            user_id += 1
            users.append((user_id, t, f"super{t:02d}", '["supervisor"]'))
            for code in tenant_groups[t]:
                members.append((user_id, group_ids[t, code], "supervisor"))
            people["supervisors"].append((f"super{t:02d}", t, tuple(tenant_groups[t])))
            user_id += 1
            users.append((user_id, t, f"admin{t:02d}", '["admin"]'))
            people["admins"].append((f"admin{t:02d}", t, ()))
        copy_rows(dbapi, "groups", ["id", "tenant_id", "code", "name"], (f"{g}\t{t}\t{c}\t{c}\n" for g, t, c in groups))
        copy_rows(dbapi, "users", ["id", "tenant_id", "username", "display_name", "password_hash", "roles", "active",
                                   "created_at", "token_key"],
                  (f"{u}\t{t}\t{n}\t{n}\t-\t{r}\tt\t{ts(NOW)}\t{u:032x}\n" for u, t, n, r in users))
        copy_rows(dbapi, "group_memberships", ["id", "user_id", "group_id", "kind"],
                  (f"{i}\t{u}\t{g}\t{k}\n" for i, (u, g, k) in enumerate(members, 1)))
        copy_rows(dbapi, "process_models", ["id", "tenant_id", "key", "version", "name", "checksum", "deployed_at"],
                  (f"{t}\t{t}\tservice_application\t1\tService application\t{'0' * 64}\t{ts(NOW)}\n"
                   for t in range(1, TENANTS + 1)))

        # Two parallel department tasks per case (review by two groups), so cases = tasks / 2.
        cases = (tasks + 1) // 2
        case_columns = ["id", "tenant_id", "number", "model_id", "process_key", "model_version", "status",
                        "service_code", "applicant_id", "data", "state", "version", "has_incident", "started_by",
                        "created_at", "updated_at"]
        case_meta = []  # tenant, service, created

        def case_lines():
            for c in range(1, cases + 1):
                t = rng.randint(1, TENANTS)
                service = rng.choice(SERVICES)
                created = NOW - timedelta(seconds=rng.randint(0, 30 * 86400))
                case_meta.append((t, service, created))
                yield (f"{c}\t{t}\tTENANT{t:02d}-{created:%Y%m%d}-{c:07d}\t{t}\tservice_application\t1\topen\t"
                       f"{service}\t{rng.randint(1, 200_000)}\t{{}}\t{{}}\t1\tf\tintake\t{ts(created)}\t{ts(created)}\n")

        copy_rows(dbapi, "cases", case_columns, case_lines())

        task_columns = ["id", "tenant_id", "case_id", "spiff_id", "element_id", "name", "group", "candidate_groups",
                        "candidate_users", "status", "assignee", "delegated_by", "service_code", "priority", "form_key",
                        "created_at", "due_at", "warn_at", "version"]
        candidates = []
        day = 86400

        def task_lines():
            for i in range(1, tasks + 1):
                c = (i + 1) // 2
                t, service, created = case_meta[c - 1]
                group = rng.choice(tenant_groups[t])
                status, assignee, delegated_by = "ready", r"\N", r"\N"
                if rng.random() < 0.2:
                    status, assignee = "claimed", rng.choice(group_members.get((t, group)) or tenant_clerks[t])
                    if rng.random() < 0.01:
                        delegated_by, assignee = assignee, rng.choice(tenant_clerks[t])
                cand_groups, cand_users = "[]", "[]"
                roll = rng.random()
                if roll < 0.02:
                    other = rng.choice(tenant_groups[t])
                    cand_groups = f'["{other}"]'
                    candidates.append(f"{i}\tgroup\t{other}\t{t}\n")
                elif roll < 0.025:
                    user = rng.choice(tenant_clerks[t])
                    cand_users = f'["{user}"]'
                    candidates.append(f"{i}\tuser\t{user}\t{t}\n")
                if rng.random() < 0.05:
                    due = warn = None
                else:
                    due = NOW + timedelta(seconds=rng.randint(-10 * day, 30 * day))
                    warn = due - timedelta(days=1)
                yield (f"{i}\t{t}\t{c}\t{i:032x}\treview_{i % 2}\tReview\t{group}\t{cand_groups}\t{cand_users}\t"
                       f"{status}\t{assignee}\t{delegated_by}\t{service}\t{rng.choice(PRIORITIES)}\treview.json\t"
                       f"{ts(created)}\t{ts(due)}\t{ts(warn)}\t1\n")

        copy_rows(dbapi, "tasks", task_columns, task_lines())
        copy_rows(dbapi, "task_candidates", ["task_id", "kind", "name", "tenant_id"], candidates)
        dbapi.commit()
    finally:
        raw.close()
    loaded = time.perf_counter() - started

    with engine.connect() as conn:
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for index in secondary:
            index.create(conn)
        # the badge counters (migration 0016): triggers from now on, and the counts of the loaded rows
        task_counts.install_triggers(conn)
        task_counts.rebuild(conn)
        task_counts.install_candidate_triggers(conn)  # and per candidate group and user (migration 0017)
        task_counts.rebuild_candidates(conn)
        task_counts.create_statistics(conn)
        for table in ("users", "groups", "group_memberships", "tenants", "cases", "tasks", "task_candidates"):
            seq = f"{table}_id_seq"
            if table != "task_candidates":
                conn.execute(text(f"SELECT setval('{seq}', (SELECT max(id) FROM \"{table}\"))"))
        conn.commit()
    indexed = time.perf_counter() - started - loaded
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) tasks, task_candidates, task_counts, task_candidate_counts, cases, users, "
                          "groups, group_memberships"))
    vacuumed = time.perf_counter() - started - loaded - indexed
    people["seconds"] = (loaded, indexed, vacuumed)
    people["tenant_groups"] = tenant_groups
    return people


def people_of(engine, rng: random.Random) -> dict:
    """Who is who in a database seeded earlier (for --reuse)."""
    people: dict = {"clerks": [], "supervisors": [], "admins": [], "seconds": (0.0, 0.0, 0.0)}
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.username, u.tenant_id, u.roles, m.kind, g.code FROM users u "
            "LEFT JOIN group_memberships m ON m.user_id = u.id LEFT JOIN groups g ON g.id = m.group_id ORDER BY u.id"
        )).all()
    found: dict = {}
    for username, tenant_id, roles, _kind, code in rows:
        role = roles[0] if isinstance(roles, list) else json.loads(roles)[0]
        entry = found.setdefault(username, (role, tenant_id, []))
        if code:
            entry[2].append(code)
    for username, (role, tenant_id, codes) in found.items():
        people[{"clerk": "clerks", "supervisor": "supervisors", "admin": "admins"}[role]].append(
            (username, tenant_id, tuple(sorted(codes)))
        )
    return people


# -- measuring -------------------------------------------------------------------------------
class StatementLog:
    """The SQL statements (with parameters) run while it is on: the plans come from these."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[str, object]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def remember(conn, cursor, statement, parameters, context, executemany):
            if self.on:
                self.statements.append((statement, parameters))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(call, args_for, requests: int) -> list[float]:
    for i in range(min(50, requests)):  # warm connections and statement caches
        call(*args_for(i))
    timings = []
    for i in range(requests):
        arguments = args_for(i)
        started = time.perf_counter()
        call(*arguments)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def explain(engine, log: StatementLog, call, arguments) -> list[str]:
    log.statements.clear()
    log.on = True
    try:
        call(*arguments)
    finally:
        log.on = False
    plans = []
    with engine.connect() as conn:
        for statement, parameters in log.statements:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            plans.append("\n".join(r[0] for r in rows))
    return plans


def plan_findings(plans: list[str]) -> str:
    """What to look for: sequential scans of the big tables, and the most rows any sort takes in."""
    lines = [line for plan in plans for line in plan.splitlines()]
    seq = [line for line in lines if "Seq Scan on tasks" in line or "Seq Scan on cases" in line]
    largest = 0
    for n, line in enumerate(lines):
        if line.strip().startswith(("Sort ", "->  Sort ")):
            child = next((c for c in lines[n + 1:] if "->" in c and "actual time" in c), "")
            if "rows=" in child:
                largest = max(largest, int(child.split("rows=")[-1].split()[0]))
    return f"seq scans of tasks/cases: {len(seq)}; largest sort input: {largest} rows"


def counting_rows(ctx, actor: Actor) -> None:
    """The badge statements as they were before the counters: an aggregate over the task rows."""
    groups = sorted(inbox.visible_groups(actor))
    values = {"tenant": actor.tenant_id, "me": actor.username, "now": ctx.clock(), "groups": groups,
              **{f"lane{i}": g for i, g in enumerate(groups)}}
    lanes, candidates = inbox.count_statements(actor.is_admin, 0 if actor.is_admin else len(groups))
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        conn.execute(lanes, values).all()
        conn.execute(candidates, values).all()


def actor_for(name: str, tenant: int, groups: tuple, role: str) -> Actor:
    return Actor(
        user_id=0, username=name, tenant_id=tenant, tenant_code=f"tenant{tenant:02d}", roles=frozenset([role]),
        groups=frozenset(groups if role == "clerk" else ()),
        supervised_groups=frozenset(groups if role == "supervisor" else ()),
    )


def deep_cursors(engine, clerks: list[Actor], rng: random.Random, count: int) -> list[tuple[Actor, str]]:
    """Cursors a third to three quarters into a clerk's group inbox (10,000+ rows deep at full
    size), found with OFFSET outside the measurement."""
    found = []
    with engine.connect() as conn:
        while len(found) < count:
            clerk = rng.choice(clerks)
            where = 'tenant_id = :t AND "group" = :g AND status = \'ready\' AND due_at IS NOT NULL'
            values = {"t": clerk.tenant_id, "g": sorted(clerk.groups)[0]}
            size = conn.execute(text(f"SELECT count(*) FROM tasks WHERE {where}"), values).scalar()
            if size < 4:
                continue
            row = conn.execute(
                text(f"SELECT id, due_at FROM tasks WHERE {where} ORDER BY due_at, id OFFSET :k LIMIT 1"),
                {**values, "k": rng.randint(size // 3, size * 3 // 4)},
            ).one()
            found.append((clerk, inbox.encode_cursor("due", row)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--database-url", default=os.environ.get(
        "REDWALL_BENCH_WORKLIST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_worklist"))
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep, without seeding")
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args()
    rng = random.Random(20261125)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    if not args.reuse:
        recreate_database(args.database_url, args.admin_url)
    engine = create_engine(args.database_url, pool_size=2)
    try:
        started = time.perf_counter()
        people = seed(engine, args.tasks, rng, only_people=args.reuse)
        loaded, indexed, vacuumed = people["seconds"]
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
            counts = conn.execute(text(
                "SELECT count(*), count(*) FILTER (WHERE status = 'ready'), count(*) FILTER (WHERE due_at < :now), "
                "(SELECT count(*) FROM task_candidates), pg_size_pretty(pg_total_relation_size('tasks')) FROM tasks"
            ), {"now": NOW}).one()
        print(f"PostgreSQL {version}; seeded {counts[0]:,} open tasks ({counts[1]:,} ready, {counts[2]:,} overdue, "
              f"{counts[3]:,} candidate rows; tasks with indexes {counts[4]}) over {TENANTS} tenants, "
              f"{TENANTS * GROUPS_PER_TENANT} groups, {CLERKS} clerks")
        if not args.reuse:
            print(f"seeding: {time.perf_counter() - started:.1f} s (COPY {loaded:.1f} s, indexes {indexed:.1f} s, "
                  f"VACUUM ANALYZE {vacuumed:.1f} s)")

        ctx = EngineContext(session_factory=sessionmaker(engine), engine=None, connectors=None, clock=lambda: NOW)
        clerks = [actor_for(n, t, g, "clerk") for n, t, g in people["clerks"]]
        supervisors = [actor_for(n, t, g, "supervisor") for n, t, g in people["supervisors"]]
        admins = [actor_for(n, t, g, "admin") for n, t, g in people["admins"]]
        deep = deep_cursors(engine, clerks, rng, 100)
        with engine.connect() as conn:  # cases to look for: a clerk of the case's tenant asks
            sampled = conn.execute(text(
                "SELECT tenant_id, number, applicant_id FROM cases TABLESAMPLE SYSTEM (1) LIMIT 200")).all()
        by_tenant: dict = {}
        for clerk in clerks:
            by_tenant.setdefault(clerk.tenant_id, []).append(clerk)
        lookups = [(rng.choice(by_tenant[t]), number, applicant) for t, number, applicant in sampled]

        def anyone(pool):
            return lambda i: (pool[rng.randrange(len(pool))],)

        page = inbox.list_tasks
        queries = [
            # name, target ms (p95), call, arguments per request
            ("group inbox, first page", 20, lambda a: page(ctx, a, scope="group"), anyone(clerks)),
            ('"mine", first page', 20, lambda a: page(ctx, a, scope="mine"), anyone(clerks)),
            ("overdue only, first page", 20, lambda a: page(ctx, a, scope="group", overdue=True), anyone(clerks)),
            ("page after a deep cursor", 20, lambda a, c: page(ctx, a, scope="group", cursor=c),
             lambda i: deep[rng.randrange(len(deep))]),
            ("per-group counts (clerk)", 10, lambda a: inbox.count_tasks(ctx, a), anyone(clerks)),
            ("per-group counts (supervisor, 3 groups)", 10, lambda a: inbox.count_tasks(ctx, a), anyone(supervisors)),
            ("per-group counts (admin, whole tenant)", 10, lambda a: inbox.count_tasks(ctx, a), anyone(admins)),
            # the same figures by counting the task rows (how they were read before the counters)
            ("  before: counting rows (clerk)", 50, lambda a: counting_rows(ctx, a), anyone(clerks)),
            ("  before: counting rows (supervisor)", 50, lambda a: counting_rows(ctx, a), anyone(supervisors)),
            ("  before: counting rows (admin)", 50, lambda a: counting_rows(ctx, a), anyone(admins)),
            ("warned only, first page", 20, lambda a: page(ctx, a, scope="group", warned=True), anyone(clerks)),
            ("by priority, first page", 20, lambda a: page(ctx, a, scope="group", sort="priority"), anyone(clerks)),
            ("by created time, first page", 20, lambda a: page(ctx, a, scope="group", sort="created"), anyone(clerks)),
            ("one service, first page", 20,
             lambda a: page(ctx, a, scope="group", service_code=SERVICES[7]), anyone(clerks)),
            ("one case number (any scope)", 20, lambda a, number: page(ctx, a, case_number=number),
             lambda i: lookups[rng.randrange(len(lookups))][:2]),
            ("one applicant", 20,
             lambda a, applicant: page(ctx, a, applicant_id=applicant),
             lambda i: (lambda x: (x[0], x[2]))(lookups[rng.randrange(len(lookups))])),
            ('"all" (group + mine + delegated), first page', 20, lambda a: page(ctx, a, scope="all"), anyone(clerks)),
            ("supervisor, all of 3 groups, first page", 20, lambda a: page(ctx, a, scope="all"), anyone(supervisors)),
            ("admin, whole tenant, first page", 20, lambda a: page(ctx, a, scope="all"), anyone(admins)),
            ("admin, whole tenant, by priority (no index)", 20,
             lambda a: page(ctx, a, scope="all", sort="priority"), anyone(admins)),
        ]
        log = StatementLog(engine)
        results = []
        load_before = os.getloadavg()
        for name, target, call, args_for in queries:
            timings = measure(call, args_for, args.requests)
            results.append((name, target, timings))
            plans = [] if args.no_plans else explain(engine, log, call, args_for(0))
            if plans:
                print(f"\n=== {name}: {len(plans)} statement(s); {plan_findings(plans)}")
                for plan in plans:
                    print(plan)
                    print("---")

        load_after = os.getloadavg()
        print(f"\nquery layer (worklists.inbox), {args.requests} requests each, a random clerk/supervisor/admin per "
              f"request, limit 50; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
        print(f"{'query':48} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean':>8}  target p95")
        for name, target, timings in results:
            p95 = percentile(timings, 95)
            verdict = "ok" if p95 <= target else "MISSED"
            print(f"{name:48} {percentile(timings, 50):8.2f} {p95:8.2f} {percentile(timings, 99):8.2f} "
                  f"{statistics.fmean(timings):8.2f}  <= {target} ms {verdict}")
    finally:
        engine.dispose()
        if not (args.keep or args.reuse):
            recreate_database(args.database_url, args.admin_url, drop_only=True)


if __name__ == "__main__":
    main()
