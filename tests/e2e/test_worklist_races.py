"""Races over HTTP with real concurrent connections: exactly one winner, the others 409,
nothing applied twice, and a consistent end state. On PostgreSQL every racer holds its own
connection; on SQLite the database serialises writers and the losers still answer 409."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from server.extensions import db
from tests.helpers import PASSWORD, Api, demo_files, make_users
from workflows import accounts
from workflows.models import Task

ACCEPT = {"acceptance": "accept", "department": "civil_affairs"}


@pytest.fixture
def racing(app, request):
    """The app under test. The regular pool holds 30 connections; for more racers on
    PostgreSQL (``parametrize("racing", [n], indirect=True)``) an app with a pool of ``n``."""
    racers = getattr(request, "param", 0)
    if racers <= 30 or db.engine.dialect.name == "sqlite":
        yield app
        return
    from server.app import create_app

    db.engine.dispose()  # hand the suite's idle connections back: the server's limit is shared
    keys = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "REDWALL_TIMEZONE", "REDWALL_TOKEN_TTL", "REDWALL_SCRIPT_TIME_LIMIT")
    big = create_app({
        "SKIP_ENV": True, "TESTING": True, "REDIS_URL": None, **{k: app.config[k] for k in keys},
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": racers, "max_overflow": 0},
    })
    with big.app_context():
        warm = [db.engine.connect() for _ in range(racers)]  # opened before the race, not during it
        for conn in warm:
            conn.close()
    try:
        yield big
    finally:
        with big.app_context():
            db.engine.dispose()


@pytest.fixture
def recorded(racing):
    """Events the racers recorded (only a change that passed its compare-and-set records any)."""
    engine_ctx = racing.extensions["redwall"]
    events, lock, sink = [], threading.Lock(), engine_ctx.event_sink

    def keep(session, batch):
        with lock:
            events.extend(batch)
        return sink(session, batch) if sink is not None else None

    engine_ctx.event_sink = keep
    yield events
    engine_ctx.event_sink = sink


def race(app, api, calls):
    """Run every ``call(client)`` in its own thread, released together; their responses in order."""
    barrier = threading.Barrier(len(calls))
    responses = [None] * len(calls)
    clients = []
    for _ in calls:
        client = Api(app.test_client())
        client.tokens = dict(api.tokens)  # logged in beforehand: the race is the command alone
        clients.append(client)

    def run(i):
        barrier.wait()
        responses[i] = calls[i](clients[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return responses


@pytest.fixture
def window(racing, ctx):
    """Users, the demo process, and a fresh application waiting at the intake window."""
    actors = make_users(ctx)
    with ctx.unit_of_work() as uow:
        for i in range(50):
            accounts.add_user(uow.session, "xichangan", f"window{i:02d}", PASSWORD, ["intake"], ["intake"])
        uow.commit()
    api = Api(racing.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    for name in ["intake1", "admin1"] + [f"window{i:02d}" for i in range(50)]:
        api.token(name)
    return actors, api


def start(api):
    r = api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def task_rows(ctx, case_id):
    with ctx.unit_of_work() as uow:
        return uow.session.execute(
            select(Task.element_id, Task.status, Task.assignee).where(Task.case_id == case_id).order_by(Task.id)
        ).all()


@pytest.mark.parametrize("racing", [50], indirect=True)
def test_fifty_clerks_claim_one_task(racing, ctx, window, recorded):
    _, api = window
    task_id = start(api)["tasks"][0]["id"]
    recorded.clear()
    names = [f"window{i:02d}" for i in range(50)]
    responses = race(racing, api, [lambda c, n=n: c.post(f"/api/tasks/{task_id}/claim", n) for n in names])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 49, codes
    [winner] = [r.get_json()["assignee"] for r in responses if r.status_code == 200]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.get_json()["code"] == 409
    with ctx.unit_of_work() as uow:
        assert uow.session.execute(select(Task.status, Task.assignee).where(Task.id == task_id)).one() == (
            "claimed", winner,
        )
    assert [(e.kind, e.actor) for e in recorded] == [("task.claimed", winner)]


def test_twenty_simultaneous_completions(racing, ctx, window, recorded):
    _, api = window
    case = start(api)
    task_id = case["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task_id}/claim", "intake1").status_code == 200
    recorded.clear()
    complete = [lambda c: c.post(f"/api/tasks/{task_id}/complete", "intake1", json={"data": ACCEPT})] * 20
    codes = sorted(r.status_code for r in race(racing, api, complete))
    assert codes == [200] + [409] * 19, codes
    assert task_rows(ctx, case["id"]) == [
        ("accept_application", "completed", "intake1"), ("review_civil_affairs", "ready", None),
    ]
    assert [e.kind for e in recorded if e.task_id == task_id] == ["task.completed"]
    assert sum(e.kind == "task.created" for e in recorded) == 1


@pytest.mark.parametrize("round_", range(4))
def test_claim_racing_a_completion_ends_consistent(racing, ctx, window, recorded, round_):
    """The holder completes while an admin hands the task back and a colleague claims it."""
    _, api = window
    case = start(api)
    task_id = case["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task_id}/claim", "intake1").status_code == 200
    recorded.clear()
    complete, unclaim, claim = race(racing, api, [
        lambda c: c.post(f"/api/tasks/{task_id}/complete", "intake1", json={"data": ACCEPT}),
        lambda c: c.post(f"/api/tasks/{task_id}/unclaim", "admin1"),
        lambda c: c.post(f"/api/tasks/{task_id}/claim", "window07"),
    ])
    rows = task_rows(ctx, case["id"])
    completed_events = [e for e in recorded if e.kind == "task.completed"]
    if complete.status_code == 200:
        # the completion took the task first: the hand-back and the claim found it closed
        assert (unclaim.status_code, claim.status_code) == (409, 409)
        assert rows == [("accept_application", "completed", "intake1"), ("review_civil_affairs", "ready", None)]
        assert len(completed_events) == 1
    else:
        # the hand-back won; the claim came before it (409) or after it (200); nothing was completed
        assert complete.status_code == 409 and unclaim.status_code == 200
        assert claim.status_code in (200, 409)
        holder = "window07" if claim.status_code == 200 else None
        assert rows == [("accept_application", "claimed" if holder else "ready", holder)]
        assert completed_events == []
    with ctx.unit_of_work() as uow:
        open_reviews = uow.session.scalar(
            select(func.count()).select_from(Task).where(Task.case_id == case["id"], Task.status == "ready",
                                                         Task.element_id == "review_civil_affairs")
        )
    assert open_reviews == (1 if complete.status_code == 200 else 0)
