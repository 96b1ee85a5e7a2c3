"""Failed logins are counted per username and per address, in the database, and rate-limited (429)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import PASSWORD, make_users
from workflows import logins, trail


@pytest.fixture
def clock(ctx):
    """A settable clock for the app's context (restored afterwards)."""
    now = [datetime.now(timezone.utc)]
    previous = ctx.clock
    ctx.clock = lambda: now[0]
    yield now
    ctx.clock = previous


@pytest.fixture
def client(app, ctx):
    make_users(ctx)
    return app.test_client()


def login(client, username, password, address="10.0.0.1"):
    return client.post("/api/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_username_is_locked_after_five_failures(client, ctx, clock):
    for _ in range(logins.USER_LIMIT):
        assert login(client, "civil1", "wrong-password").status_code == 401
    locked = login(client, "civil1", PASSWORD)  # even the right password: no guessing while locked
    body = locked.get_json()
    assert locked.status_code == 429 and body["code"] == 429 and body["status"] == "Too Many Requests"
    assert 0 < int(locked.headers["Retry-After"]) <= logins.LOCK.total_seconds()
    assert login(client, "civil2", PASSWORD).status_code == 200  # other users of the same address are not affected
    clock[0] += logins.LOCK + timedelta(seconds=1)
    assert login(client, "civil1", PASSWORD).status_code == 200
    assert logins.failure_counts(ctx, username="civil1") == {}  # a success clears the username's counter


def test_unknown_usernames_are_counted_like_known_ones(client):
    answers = [login(client, "nobody-here", "x").status_code for _ in range(logins.USER_LIMIT + 1)]
    assert answers == [401] * logins.USER_LIMIT + [429]


def test_failures_outside_the_window_do_not_count(client, clock):
    for _ in range(logins.USER_LIMIT - 1):
        login(client, "civil1", "wrong-password")
    clock[0] += logins.WINDOW + timedelta(seconds=1)
    for _ in range(logins.USER_LIMIT - 1):
        assert login(client, "civil1", "wrong-password").status_code == 401
    assert login(client, "civil1", PASSWORD).status_code == 200


def test_a_success_resets_the_username_count(client):
    for _ in range(logins.USER_LIMIT - 1):
        login(client, "civil1", "wrong-password")
    assert login(client, "civil1", PASSWORD).status_code == 200
    for _ in range(logins.USER_LIMIT - 1):
        assert login(client, "civil1", "wrong-password").status_code == 401
    assert login(client, "civil1", PASSWORD).status_code == 200


def test_an_address_is_locked_after_many_failures_on_any_usernames(client, ctx):
    for i in range(logins.ADDRESS_LIMIT):
        assert login(client, f"guess{i}", "x", address="203.0.113.9").status_code == 401
    assert login(client, "civil1", PASSWORD, address="203.0.113.9").status_code == 429
    assert login(client, "civil1", PASSWORD, address="10.0.0.2").status_code == 200
    assert logins.failure_counts(ctx, address="203.0.113.9") == {"address": logins.ADDRESS_LIMIT}


def test_a_lock_is_an_event_in_the_tenant_trail(client, ctx):
    for _ in range(logins.USER_LIMIT):
        login(client, "civil1", "wrong-password")
    with ctx.unit_of_work() as uow:
        from sqlalchemy import select

        from workflows.models import TrailEvent

        rows = uow.session.execute(select(TrailEvent.kind, TrailEvent.actor).where(TrailEvent.case_id.is_(None))).all()
    assert ("user.locked", "civil1") in rows
    auditor = client.post("/api/auth/token", json={"username": "auditor1", "password": PASSWORD}).get_json()["token"]
    assert client.get("/api/trail/verify", headers={"Authorization": f"Bearer {auditor}"}).get_json()["valid"]
    assert trail.KIND_LABELS["user.locked"]


def test_the_counters_are_shared_by_every_process(app, client, ctx):
    """A second app on the same database (another gunicorn process) sees the same counts."""
    from server.app import create_app

    other = create_app({
        "SKIP_ENV": True, "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"], "REDIS_URL": None, "REDWALL_TIMEZONE": "Asia/Shanghai",
        "REDWALL_TOKEN_TTL": 3600, "REDWALL_SCRIPT_TIME_LIMIT": 1.0,
    })
    other_client = other.test_client()
    try:
        for i in range(logins.USER_LIMIT):
            answer = login(client if i % 2 else other_client, "civil1", "wrong-password", address=f"10.0.1.{i}")
            assert answer.status_code == 401
        assert login(client, "civil1", PASSWORD, address="10.0.2.1").status_code == 429
        assert login(other_client, "civil1", PASSWORD, address="10.0.2.2").status_code == 429
    finally:
        from server.extensions import db

        with other.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("body", [{"username": "civil1"}, {"username": "", "password": "x"}, {"password": "x"}])
def test_malformed_logins_are_not_counted(client, ctx, body):
    assert client.post("/api/auth/token", json=body).status_code == 422
    assert logins.failure_counts(ctx, username=body.get("username", "")) == {}
