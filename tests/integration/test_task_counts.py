"""Badge counters (worklists.task_counts) on SQLite and PostgreSQL: whatever writes the task
rows — the worklist commands, random SQL — the counters equal COUNT(*) over the rows, and
the badge figures equal what counting the rows gives, on every day boundary; also under
concurrent writers and folds on PostgreSQL. The same for the candidate groups' and users'
counters, with tasks reached through a lane and a candidate group, through several groups
of one supervisor, or through a group and the clerk's own name: the badges equal what the
inbox lists show."""
from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, create_engine, text

from tests.conftest import _truncate, require_postgres
from tests.helpers import make_users
from workflows.cases import start_case
from workflows.models import Task
from workflows.process_models import deploy_model
from worklists import commands, inbox, task_counts
from worklists.inbox import count_statements

THREE_TASKS = __import__("pathlib").Path(__file__).resolve().parents[2] / "bench" / "three_tasks.bpmn"
GROUPS = ["intake", "civil_affairs", "disabled_federation", None]
PEOPLE = ["civil1", "civil2", "intake1", "super1"]
CANDIDATE_GROUPS = ["intake", "civil_affairs", "disabled_federation", "archive"]
DAY = 86400


def _day(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"floor(extract(epoch FROM {column}) / 86400)::int"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 86400)"


def counters_match_rows(conn) -> None:
    """Every (tenant, kind, name, status, due day, warn day): the counters' sum = COUNT(*)."""
    d = conn.dialect.name
    due, warn = _day("due_at", d), _day("warn_at", d)
    rows = f"""
        SELECT tenant_id, 'lane' AS kind, coalesce("group", '') AS name, status, {due} AS due_day, {warn} AS warn_day
        FROM tasks WHERE status IN ('ready', 'claimed')
        UNION ALL SELECT tenant_id, 'assignee', assignee, status, {due}, {warn} FROM tasks
        WHERE status = 'claimed' AND assignee IS NOT NULL
        UNION ALL SELECT tenant_id, 'delegated', delegated_by, status, {due}, {warn} FROM tasks
        WHERE status = 'claimed' AND delegated_by IS NOT NULL"""
    expected = {tuple(r[:6]): r[6] for r in conn.execute(text(
        f"SELECT tenant_id, kind, name, status, due_day, warn_day, count(*) FROM ({rows}) AS x "
        f"GROUP BY 1, 2, 3, 4, 5, 6"))}
    counted = {tuple(r[:6]): r[6] for r in conn.execute(text(
        "SELECT tenant_id, kind, name, status, due_day, warn_day, sum(n) FROM task_counts "
        "GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0"))}
    assert counted == expected


def named_in_lists(groups, users) -> set[tuple[str, str]]:
    """The candidates a task's lists name (what workflows.case_repository writes to task_candidates)."""
    return {(kind, name) for kind, names in (("group", groups), ("user", users))
            for name in (names if isinstance(names, list) else []) if isinstance(name, str) and len(name) <= 150}


def candidate_counters_match_rows(conn, mirrored: bool = True) -> None:
    """Every (tenant, kind, name, lane, sig, status, due day, warn day): the candidate counters'
    sum = the open tasks naming that candidate in their lists; and (``mirrored``: the lists
    written by the application) the same candidates as ``task_candidates`` holds."""
    d = conn.dialect.name
    rows = conn.execute(text(
        f"SELECT id, tenant_id, coalesce(\"group\", ''), CAST(candidate_groups AS TEXT), CAST(candidate_users AS TEXT), "
        f"status, {_day('due_at', d)}, {_day('warn_at', d)} FROM tasks WHERE status IN ('ready', 'claimed')")).all()
    expected: dict[tuple, int] = {}
    listed = set()
    for task_id, tenant, lane, groups, users, status, due_day, warn_day in rows:
        for kind, name in named_in_lists(json.loads(groups), json.loads(users)):
            key = (tenant, kind, name, lane, f"{groups} {users}", status, due_day, warn_day)
            expected[key] = expected.get(key, 0) + 1
            listed.add((task_id, kind, name))
    counted = {tuple(r[:8]): r[8] for r in conn.execute(text(
        "SELECT tenant_id, kind, name, lane, sig, status, due_day, warn_day, sum(n) FROM task_candidate_counts "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0"))}
    assert counted == expected
    if mirrored:
        side = set(conn.execute(text(
            "SELECT c.task_id, c.kind, c.name FROM task_candidates c JOIN tasks t ON t.id = c.task_id "
            "WHERE t.status IN ('ready', 'claimed')")).all())
        assert side == listed


def badges_from_rows(conn, actor, now) -> dict:
    """The badge figures by counting the task rows and task_candidates (how they were read
    before the counters: the row statements of inbox.count_statements, tallied here)."""
    groups = sorted(inbox.visible_groups(actor))
    admin = actor.is_admin
    values = {"tenant": actor.tenant_id, "me": actor.username, "now": now, "groups": groups,
              **{f"lane{i}": g for i, g in enumerate(groups)}}
    plain, candidate_rows = count_statements(admin, 0 if admin else len(groups))
    views = {v: {"total": 0, "overdue": 0, "warned": 0} for v in ("mine", "group", "delegated")}
    per_group = {g: {"group": g, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0} for g in groups}

    def bump(entry, n, overdue, warned, key="total"):
        entry[key] += n
        entry["overdue"] += overdue
        entry["warned"] += warned

    def group_entry(name):
        return per_group.setdefault(name, {"group": name, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0})

    for part, group, status, n, overdue, warned in conn.execute(plain, values):
        if not n:
            continue
        if part in ("mine", "delegated"):
            bump(views[part], n, overdue, warned)
            continue
        if status == "ready":
            bump(views["group"], n, overdue, warned)
        if group is not None:
            bump(group_entry(group), n, overdue, warned, key=status)
    extra = {}
    for kind, name, task_id, lane, status, overdue, warned in conn.execute(candidate_rows, values):
        if kind == "group" and lane != name:
            bump(group_entry(name), 1, overdue, warned, key=status)
        if not admin and status == "ready" and lane not in groups:
            extra[task_id] = (overdue, warned)
    for overdue, warned in extra.values():
        bump(views["group"], 1, overdue, warned)
    return {"views": views, "groups": [per_group[g] for g in sorted(per_group)]}


def figures_match_counting(conn, actor, now) -> None:
    """The badges' figures equal the plain counts over the task rows: the lane/mine/delegated
    figures from the counters, and the whole answer with the candidates'."""
    groups = sorted(inbox.visible_groups(actor))
    values = {"tenant": actor.tenant_id, "me": actor.username, "now": now, "groups": groups,
              **{f"lane{i}": g for i, g in enumerate(groups)}}
    plain, _ = count_statements(actor.is_admin, 0 if actor.is_admin else len(groups))
    key = lambda row: tuple("" if v is None else v for v in row)  # noqa: E731
    expected = sorted((tuple(int(v) if isinstance(v, int) else v for v in r) for r in conn.execute(plain, values) if r[3]),
                      key=key)
    counted, _, _ = inbox._figures(conn, actor.is_admin, groups, values)
    assert sorted(counted, key=key) == expected
    assert inbox.badge_figures(conn, actor, now)[0] == badges_from_rows(conn, actor, now)


def everything(ctx, actor, **filters) -> list[dict]:
    """Every task of an inbox list, page by page."""
    items, cursor = [], None
    while True:
        page, cursor = inbox.list_tasks(ctx, actor, limit=200, cursor=cursor, **filters)
        items += page
        if cursor is None:
            return items


def badges_match_lists(ctx, actor, now, monkeypatch) -> None:
    """The badges count what the inbox lists show at the same moment: each view, and each group
    (its lane's tasks and those naming it), overdue and warned alike."""
    monkeypatch.setattr(ctx, "clock", lambda: now)
    try:
        badges = inbox.count_tasks(ctx, actor)
        for view in ("mine", "group", "delegated"):
            shown = {"total": len(everything(ctx, actor, scope=view)),
                     "overdue": len(everything(ctx, actor, scope=view, overdue=True)),
                     "warned": len(everything(ctx, actor, scope=view, warned=True))}
            assert badges["views"][view] == shown, (actor.username, view)
        seen = {flag: everything(ctx, actor, scope="all", **({flag: True} if flag else {}))
                for flag in (None, "overdue", "warned")}
        per_group = {}
        for flag, items in seen.items():
            for item in items:
                for group in {item["group"], *item["candidate_groups"]} - {None}:
                    if actor.is_admin or group in inbox.visible_groups(actor):
                        entry = per_group.setdefault(group, {"group": group, "ready": 0, "claimed": 0,
                                                             "overdue": 0, "warned": 0})
                        entry[flag or item["status"]] += 1
        counted = {g["group"]: g for g in badges["groups"] if any(g[k] for k in ("ready", "claimed", "overdue", "warned"))}
        assert counted == per_group, actor.username
    finally:
        monkeypatch.undo()


def name_candidates(conn, rng, task_id: int, tenant: int) -> None:
    """Give a task random candidate lists by hand, as the application writes them (the lists on
    the task, one task_candidates row per name)."""
    groups = rng.sample(CANDIDATE_GROUPS, rng.choice([0, 0, 1, 1, 2, 3]))
    users = rng.sample(PEOPLE, rng.choice([0, 0, 0, 1, 2]))
    conn.execute(text("UPDATE tasks SET candidate_groups = :g, candidate_users = :u WHERE id = :i").bindparams(
        bindparam("g", type_=Task.__table__.c.candidate_groups.type),
        bindparam("u", type_=Task.__table__.c.candidate_users.type)), {"g": groups, "u": users, "i": task_id})
    conn.execute(text("DELETE FROM task_candidates WHERE task_id = :i"), {"i": task_id})
    for kind, names in (("group", groups), ("user", users)):
        for name in names:
            conn.execute(text("INSERT INTO task_candidates (task_id, kind, name, tenant_id) VALUES (:i, :k, :n, :t)"),
                         {"i": task_id, "k": kind, "n": name, "t": tenant})


@pytest.fixture
def world(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS.read_bytes())])
    return actors


def test_random_commands_and_sql_keep_counters_equal_to_the_rows(app, ctx, world, monkeypatch):
    rng = random.Random(11)
    intake = world["intake1"]
    for _ in range(12):
        start_case(ctx, intake, "three_tasks", {})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        # spread deadlines and warnings around today (and none), and lanes, directly in SQL
        ids = [r[0] for r in conn.execute(text("SELECT id FROM tasks"))]
        for task_id in ids:
            due = None if rng.random() < 0.2 else now + timedelta(seconds=rng.randint(-3 * DAY, 3 * DAY))
            warn = None if due is None else due - timedelta(seconds=rng.randint(0, DAY))
            conn.execute(text("UPDATE tasks SET due_at = :d, warn_at = :w WHERE id = :i").bindparams(
                *_moments()), {"d": due, "w": warn, "i": task_id})
            name_candidates(conn, rng, task_id, intake.tenant_id)
        uow.commit()
    for step in range(60):
        with ctx.unit_of_work() as uow:
            conn = uow.session.connection()
            open_tasks = conn.execute(text(
                "SELECT id, status, assignee, \"group\" FROM tasks WHERE status IN ('ready', 'claimed')")).all()
        if not open_tasks:
            break
        task_id, status, assignee, group = rng.choice(open_tasks)
        who = {"intake": "intake1"}.get(group, rng.choice(["civil1", "civil2"]))
        move = rng.random()
        try:
            if status == "ready":
                commands.claim(ctx, world[who], task_id)
            elif move < 0.4:
                commands.complete(ctx, world[assignee], task_id, {"ok": True})
            elif move < 0.6:
                commands.unclaim(ctx, world[assignee], task_id)
            elif move < 0.7:
                with ctx.unit_of_work() as uow:  # other candidates, by hand
                    name_candidates(uow.session.connection(), rng, task_id, intake.tenant_id)
                    uow.commit()
            else:
                with ctx.unit_of_work() as uow:  # reassign, move lanes, delegate, cancel: by hand
                    conn = uow.session.connection()
                    conn.execute(text(
                        "UPDATE tasks SET assignee = :a, delegated_by = :b, \"group\" = :g, status = :s WHERE id = :i"),
                        {"a": rng.choice(PEOPLE), "b": rng.choice([None, assignee]), "g": rng.choice(GROUPS),
                         "s": rng.choice(["claimed", "claimed", "ready", "cancelled"]), "i": task_id})
                    if rng.random() < 0.1:
                        conn.execute(text("DELETE FROM task_candidates WHERE task_id = :i"), {"i": task_id})
                        conn.execute(text("DELETE FROM tasks WHERE id = :i"), {"i": task_id})
                    if rng.random() < 0.3:  # a transaction that rolls back leaves no trace
                        uow.session.rollback()
                    else:
                        uow.commit()
        except Exception as exc:  # noqa: BLE001  (a refused command changes nothing: that is checked too)
            assert type(exc).__name__ in {"Conflict", "Forbidden", "NotFound", "InvalidInput", "StaleWrite"}, exc
        if step % 15 == 0:
            with ctx.unit_of_work() as uow:
                task_counts.fold(uow.session.connection(), intake.tenant_id)
                uow.commit()
        with ctx.unit_of_work() as uow:
            conn = uow.session.connection()
            counters_match_rows(conn)
            candidate_counters_match_rows(conn)
            for actor in (world["civil1"], world["super1"], world["admin1"], world["intake1"]):
                figures_match_counting(conn, actor, now)
        if step % 6 == 0:
            for actor in (world["civil1"], world["super1"], world["admin1"], world["intake1"]):
                badges_match_lists(ctx, actor, now, monkeypatch)
    # midnight and the minutes around it: what the day columns decide must stay right
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        midnight = datetime.fromtimestamp((int(now.timestamp()) // DAY + 1) * DAY, timezone.utc)
        for moment in (midnight - timedelta(seconds=1), midnight, midnight + timedelta(hours=5)):
            for actor in (world["admin1"], world["civil1"], world["super1"]):
                figures_match_counting(conn, actor, moment)


def test_candidate_badges_count_each_task_once_on_every_side_of_the_day(app, ctx, world):
    """Tasks named by two of a supervisor's groups, by a clerk's group and the clerk, by their
    own lane's group, due or warned before and after the moment asked about, today and not:
    the badges equal counting the rows at every moment of the day and its edges."""
    for _ in range(7):
        start_case(ctx, world["intake1"], "three_tasks", {})
    base = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    hour, day = timedelta(hours=1), timedelta(days=1)
    named = [  # (candidate groups, candidate users, due, warn, claimed by)
        (["civil_affairs", "disabled_federation"], [], base - 2 * hour, base - day, None),  # super1 twice
        (["civil_affairs"], ["civil1"], base + 3 * hour, base - hour, None),  # civil1 twice
        (["intake", "civil_affairs"], [], base + day, base + hour, None),  # its own lane too
        ([], ["super1"], base - day, base - 2 * day, None),
        (["disabled_federation", "civil_affairs"], ["super1"], None, base - hour / 2, None),  # super1 thrice
        (["archive"], [], base + 2 * day, None, None),
        (["civil_affairs"], ["civil1"], base - 3 * hour, base - 5 * hour, "civil1"),
    ]
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        ids = [r[0] for r in conn.execute(text("SELECT id FROM tasks ORDER BY id"))]
        assert len(ids) == len(named)
        for task_id, (groups, users, due, warn, claimed_by) in zip(ids, named):
            conn.execute(text("UPDATE tasks SET candidate_groups = :g, candidate_users = :u, due_at = :d, warn_at = :w, "
                              "status = :s, assignee = :a WHERE id = :i").bindparams(
                bindparam("g", type_=Task.__table__.c.candidate_groups.type),
                bindparam("u", type_=Task.__table__.c.candidate_users.type), *_moments()),
                {"g": groups, "u": users, "d": due, "w": warn, "i": task_id,
                 "s": "claimed" if claimed_by else "ready", "a": claimed_by})
            for kind, names in (("group", groups), ("user", users)):
                for name in names:
                    conn.execute(text("INSERT INTO task_candidates (task_id, kind, name, tenant_id) "
                                      "VALUES (:i, :k, :n, :t)"), {"i": task_id, "k": kind, "n": name,
                                                                   "t": world["intake1"].tenant_id})
        uow.commit()
    moments = [base - day, base - 12 * hour, base - 12 * hour - timedelta(seconds=1), base - 3 * hour,
               base - 2 * hour - timedelta(seconds=1), base - 2 * hour, base - hour, base, base + 3 * hour,
               base + 12 * hour - timedelta(seconds=1), base + 12 * hour, base + day + hour, base + 3 * day]
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        candidate_counters_match_rows(conn)
        for moment in moments:
            for actor in (world["super1"], world["civil1"], world["admin1"], world["intake1"], world["disabled1"]):
                figures_match_counting(conn, actor, moment)
        badges, _ = inbox.badge_figures(conn, world["super1"], base)
        # super1's group view: the ready tasks outside its lanes' groups naming its groups or it, once each
        assert badges["views"]["group"] == {"total": 5, "overdue": 2, "warned": 2}
        civil = next(g for g in badges["groups"] if g["group"] == "civil_affairs")
        assert civil == {"group": "civil_affairs", "ready": 4, "claimed": 1, "overdue": 2, "warned": 2}
        badges, _ = inbox.badge_figures(conn, world["civil1"], base)
        assert badges["views"]["group"]["total"] == 4 and badges["views"]["mine"]["total"] == 1


def test_a_count_folds_unfolded_counters_and_leaves_folded_ones(app, ctx, world, monkeypatch):
    """A count that reads many rows beyond one per key folds the tenant's counters; one that
    reads as many keys, folded, does not fold again (it would on every request)."""
    for _ in range(4):
        start_case(ctx, world["intake1"], "three_tasks", {})
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        for step in range(6):  # lane moves and candidate changes by hand: rows beyond one per key
            conn.execute(text("UPDATE tasks SET \"group\" = :g"), {"g": ["intake", "civil_affairs"][step % 2]})
            conn.execute(text("UPDATE tasks SET candidate_groups = :g").bindparams(
                bindparam("g", type_=Task.__table__.c.candidate_groups.type)), {"g": [CANDIDATE_GROUPS[step % 4]]})
        uow.commit()
    monkeypatch.setattr(task_counts, "FOLD_AFTER", 5)

    def counters():
        with ctx.unit_of_work() as uow:
            return [uow.session.execute(text(f"SELECT count(*), max(id) FROM {table}")).one()
                    for table in ("task_counts", "task_candidate_counts")]

    before = counters()
    assert before[0][0] > 12 and before[1][0] > 12
    figures = inbox.count_tasks(ctx, world["admin1"])
    folded = counters()
    assert folded[0][0] < before[0][0] and folded[1][0] < before[1][0]
    assert folded[1][0] == 1  # four ready tasks in one lane, named by one group: one key
    with ctx.unit_of_work() as uow:
        counters_match_rows(uow.session.connection())
        candidate_counters_match_rows(uow.session.connection(), mirrored=False)
    monkeypatch.setattr(task_counts, "FOLD_AFTER", 0)  # every key read is folded: nothing to fold
    assert inbox.count_tasks(ctx, world["admin1"]) == figures
    assert counters() == folded


def _moments():
    from sqlalchemy import bindparam

    from workflows.models import Task

    return bindparam("d", type_=Task.__table__.c.due_at.type), bindparam("w", type_=Task.__table__.c.warn_at.type)


def test_the_badge_counts_answer_what_counting_answers(app, ctx, world):
    for _ in range(3):
        start_case(ctx, world["intake1"], "three_tasks", {})
    figures = inbox.count_tasks(ctx, world["intake1"])
    intake = next(g for g in figures["groups"] if g["group"] == "intake")
    assert intake["ready"] == 3 and intake["claimed"] == 0
    with ctx.unit_of_work() as uow:
        task_id = uow.session.execute(text("SELECT min(id) FROM tasks")).scalar()
    commands.claim(ctx, world["intake1"], task_id)
    figures = inbox.count_tasks(ctx, world["intake1"])
    assert figures["views"]["mine"]["total"] == 1 and figures["views"]["group"]["total"] == 2


def test_concurrent_writers_and_folds_keep_counters_equal_to_the_rows_on_postgresql(postgres_app):
    url = require_postgres()
    _truncate(postgres_app)
    with postgres_app.app_context():
        ctx = postgres_app.extensions["redwall"]
        actors = make_users(ctx)
        deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS.read_bytes())])
        case = start_case(ctx, actors["intake1"], "three_tasks", {})["id"]
    tenant = actors["intake1"].tenant_id
    engine = create_engine(url, pool_size=12)
    with engine.begin() as conn:
        for i in range(200):
            conn.execute(text(
                "INSERT INTO tasks (tenant_id, case_id, spiff_id, element_id, name, \"group\", candidate_groups, "
                "candidate_users, status, priority, created_at, due_at, warn_at, version, kind, urged_count) VALUES "
                "(:t, :c, :s, 'e', 'n', :g, CAST(:cg AS json), CAST(:cu AS json), 'ready', 50, now(), "
                "now() + (:d || ' hours')::interval, now() + (:d || ' hours')::interval - interval '20 hours', 1, "
                "'user', 0)"),
                {"t": tenant, "c": case, "s": f"s{i}", "g": GROUPS[i % 3], "d": str(i % 97 - 48),
                 "cg": json.dumps(CANDIDATE_GROUPS[:i % 4]), "cu": json.dumps(PEOPLE[i % 3:i % 5])})
    errors = []

    def writer(seed: int):
        rng = random.Random(seed)
        try:
            for _ in range(120):
                with engine.begin() as conn:
                    for _ in range(rng.randint(1, 3)):
                        conn.execute(text(
                            "UPDATE tasks SET status = :s, assignee = :a, \"group\" = :g, "
                            "due_at = due_at + (:d || ' hours')::interval WHERE id = (SELECT id FROM tasks "
                            "WHERE tenant_id = :t ORDER BY random() LIMIT 1)"),
                            {"s": rng.choice(["ready", "claimed", "completed"]), "a": rng.choice(PEOPLE),
                             "g": rng.choice(GROUPS), "d": str(rng.randint(-30, 30)), "t": tenant})
                    if rng.random() < 0.3:  # other candidates
                        conn.execute(text(
                            "UPDATE tasks SET candidate_groups = CAST(:cg AS json), candidate_users = CAST(:cu AS json) "
                            "WHERE id = (SELECT id FROM tasks WHERE tenant_id = :t ORDER BY random() LIMIT 1)"),
                            {"cg": json.dumps(rng.sample(CANDIDATE_GROUPS, rng.randint(0, 3))),
                             "cu": json.dumps(rng.sample(PEOPLE, rng.randint(0, 2))), "t": tenant})
        except Exception as exc:  # noqa: BLE001
            if "deadlock" not in str(exc):  # two writers swapping the same two rows may; the counters may not
                errors.append(repr(exc))

    def folder():
        try:
            for _ in range(40):
                with engine.begin() as conn:
                    task_counts.fold(conn, tenant)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)] + [threading.Thread(target=folder)
                                                                              for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert errors == []
        with engine.begin() as conn:
            counters_match_rows(conn)
            candidate_counters_match_rows(conn, mirrored=False)
            task_counts.fold(conn, tenant)
        with engine.begin() as conn:
            counters_match_rows(conn)
            candidate_counters_match_rows(conn, mirrored=False)
            assert conn.execute(text("SELECT count(*) FROM task_counts")).scalar() < 200 * 3
            assert conn.execute(text("SELECT count(*) FROM task_candidate_counts")).scalar() < 200 * 7
    finally:
        engine.dispose()


def test_the_scheduler_folds_the_counters_and_a_concluded_case_leaves_none(app, ctx, world):
    from server.background import TimerScheduler

    case = start_case(ctx, world["intake1"], "three_tasks", {})
    task_id = case["tasks"][0]["id"]
    with ctx.unit_of_work() as uow:  # the first task names a candidate group too
        uow.session.execute(text("UPDATE tasks SET candidate_groups = '[\"civil_affairs\"]' WHERE id = :i"),
                            {"i": task_id})
        uow.session.execute(text("INSERT INTO task_candidates (task_id, kind, name, tenant_id) "
                                 "VALUES (:i, 'group', 'civil_affairs', :t)"),
                            {"i": task_id, "t": world["intake1"].tenant_id})
        uow.commit()
    for who in ("intake1", "civil1", "civil1"):
        commands.claim(ctx, world[who], task_id)
        _, next_tasks = commands.complete(ctx, world[who], task_id, {"ok": True})
        task_id = next_tasks[0]["id"] if next_tasks else None
    with ctx.unit_of_work() as uow:
        written = uow.session.execute(text("SELECT count(*) FROM task_counts")).scalar()
    assert written >= 9  # three tasks created, claimed and completed: signed rows for each change
    with ctx.unit_of_work() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM task_candidate_counts")).scalar() >= 2  # +1, -1
    TimerScheduler(ctx, "fold-test", dispatch=lambda ids: None).run_once()
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        counters_match_rows(conn)
        candidate_counters_match_rows(conn)
        assert conn.execute(text("SELECT count(*) FROM task_counts")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM task_candidate_counts")).scalar() == 0
