"""Badge counters (worklists.task_counts) on SQLite and PostgreSQL: whatever writes the task
rows — the worklist commands, random SQL — the counters equal COUNT(*) over the rows, and
the badge figures equal what counting the rows gives, on every day boundary; also under
concurrent writers and folds on PostgreSQL."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _truncate, require_postgres
from tests.helpers import make_users
from workflows.cases import start_case
from workflows.process_models import deploy_model
from worklists import commands, inbox, task_counts
from worklists.inbox import count_statements

THREE_TASKS = __import__("pathlib").Path(__file__).resolve().parents[2] / "bench" / "three_tasks.bpmn"
GROUPS = ["intake", "civil_affairs", "disabled_federation", None]
PEOPLE = ["civil1", "civil2", "intake1", "super1"]
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


def figures_match_counting(conn, actor, now) -> None:
    """The badges' lane/mine/delegated figures equal the plain counts over the task rows."""
    groups = sorted(inbox.visible_groups(actor))
    values = {"tenant": actor.tenant_id, "me": actor.username, "now": now, "groups": groups,
              **{f"lane{i}": g for i, g in enumerate(groups)}}
    plain, _ = count_statements(actor.is_admin, 0 if actor.is_admin else len(groups))
    key = lambda row: tuple("" if v is None else v for v in row)  # noqa: E731
    expected = sorted((tuple(int(v) if isinstance(v, int) else v for v in r) for r in conn.execute(plain, values) if r[3]),
                      key=key)
    counted, _ = inbox._counted_figures(conn, actor.is_admin, groups, values)
    assert sorted(counted, key=key) == expected


@pytest.fixture
def world(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS.read_bytes())])
    return actors


def test_random_commands_and_sql_keep_counters_equal_to_the_rows(app, ctx, world):
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
            for actor in (world["civil1"], world["super1"], world["admin1"], world["intake1"]):
                figures_match_counting(conn, actor, now)
    # midnight and the minutes around it: what the day columns decide must stay right
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        midnight = datetime.fromtimestamp((int(now.timestamp()) // DAY + 1) * DAY, timezone.utc)
        for moment in (midnight - timedelta(seconds=1), midnight, midnight + timedelta(hours=5)):
            figures_match_counting(conn, world["admin1"], moment)
            figures_match_counting(conn, world["civil1"], moment)


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
                "(:t, :c, :s, 'e', 'n', :g, '[]', '[]', 'ready', 50, now(), now() + (:d || ' hours')::interval, "
                "now() + (:d || ' hours')::interval - interval '20 hours', 1, 'user', 0)"),
                {"t": tenant, "c": case, "s": f"s{i}", "g": GROUPS[i % 3], "d": str(i % 97 - 48)})
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
            task_counts.fold(conn, tenant)
        with engine.begin() as conn:
            counters_match_rows(conn)
            assert conn.execute(text("SELECT count(*) FROM task_counts")).scalar() < 200 * 3
    finally:
        engine.dispose()


def test_the_scheduler_folds_the_counters_and_a_concluded_case_leaves_none(app, ctx, world):
    from server.background import TimerScheduler

    case = start_case(ctx, world["intake1"], "three_tasks", {})
    task_id = case["tasks"][0]["id"]
    for who in ("intake1", "civil1", "civil1"):
        commands.claim(ctx, world[who], task_id)
        _, next_tasks = commands.complete(ctx, world[who], task_id, {"ok": True})
        task_id = next_tasks[0]["id"] if next_tasks else None
    with ctx.unit_of_work() as uow:
        written = uow.session.execute(text("SELECT count(*) FROM task_counts")).scalar()
    assert written >= 9  # three tasks created, claimed and completed: signed rows for each change
    TimerScheduler(ctx, "fold-test", dispatch=lambda ids: None).run_once()
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        counters_match_rows(conn)
        assert conn.execute(text("SELECT count(*) FROM task_counts")).scalar() == 0
