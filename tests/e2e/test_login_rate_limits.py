"""Failed logins are counted per (username, address), per username across addresses and per address,
in the database, and rate-limited (429)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import PASSWORD, make_users
from people import logins
from workflows import trail


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


def test_one_address_gets_growing_delays_and_locks_no_one_else(client, ctx, clock):
    """Issue 10, item 12: five wrong passwords from any address locked the username for everyone."""
    for _ in range(logins.PAIR_FREE):
        assert login(client, "civil1", "wrong-password").status_code == 401
    waits = []
    for _ in range(4):
        assert login(client, "civil1", "wrong-password").status_code == 401
        locked = login(client, "civil1", PASSWORD)  # even the right password: no guessing while waiting
        body = locked.get_json()
        assert locked.status_code == 429 and body["code"] == 429 and body["status"] == "Too Many Requests"
        waits.append(int(locked.headers["Retry-After"]))
        clock[0] += timedelta(seconds=waits[-1])
    assert waits == [5, 10, 20, 40]  # growing
    # the same user at another address (the real one, at her desk) is not affected
    assert login(client, "civil1", PASSWORD, address="10.0.0.99").status_code == 200
    assert login(client, "civil2", PASSWORD).status_code == 200  # nor other users of the attacker's address
    assert login(client, "civil1", PASSWORD).status_code == 200  # the pair after its wait
    assert logins.failure_counts(ctx, username="civil1", address="10.0.0.1").get("pair") is None  # cleared


def test_delays_are_capped_and_a_quiet_hour_starts_again(client, clock):
    for _ in range(30):
        answer = login(client, "civil1", "wrong-password")
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) <= logins.MAX_DELAY.total_seconds()
        clock[0] += logins.MAX_DELAY
    clock[0] += logins.PAIR_RESET + timedelta(seconds=1)
    for _ in range(logins.PAIR_FREE):
        assert login(client, "civil1", "wrong-password").status_code == 401
    assert login(client, "civil1", PASSWORD).status_code == 200


def test_unknown_usernames_are_counted_like_known_ones(client):
    answers = [login(client, "nobody-here", "x").status_code for _ in range(logins.PAIR_FREE + 2)]
    assert answers == [401] * (logins.PAIR_FREE + 1) + [429]


def test_a_username_is_locked_for_everyone_only_after_many_addresses_and_failures(client, ctx, clock):
    addresses = [f"198.51.100.{a}" for a in range(logins.SPREAD_ADDRESSES - 1)]
    for round_ in range(1, 12):  # nine addresses guess as fast as their delays allow, for 21 minutes
        for address in addresses:
            assert login(client, "civil1", "wrong-password", address=address).status_code == 401
        clock[0] += logins.pair_delay(round_)
    assert logins.failure_counts(ctx, username="civil1")["user"] == 99  # many failures, too few addresses
    assert login(client, "civil1", PASSWORD, address="10.0.0.7").status_code == 200
    for _ in range(3):  # a tenth address: now it is a distributed guess
        login(client, "civil1", "wrong-password", address="198.51.100.200")
    assert login(client, "civil1", PASSWORD, address="10.0.0.8").status_code == 429
    with ctx.unit_of_work() as uow:
        from sqlalchemy import select

        from workflows.models import TrailEvent

        rows = uow.session.execute(select(TrailEvent.kind, TrailEvent.actor).where(TrailEvent.case_id.is_(None))).all()
    assert ("user.locked", "civil1") in rows
    assert trail.KIND_LABELS["user.locked"]
    clock[0] += logins.USER_LOCK + timedelta(seconds=1)
    assert login(client, "civil1", PASSWORD, address="10.0.0.8").status_code == 200


def test_an_address_is_locked_after_many_failures_on_any_usernames(client, ctx):
    for i in range(logins.ADDRESS_LIMIT):
        assert login(client, f"guess{i}", "x", address="203.0.113.9").status_code == 401
    assert login(client, "civil1", PASSWORD, address="203.0.113.9").status_code == 429
    assert login(client, "civil1", PASSWORD, address="10.0.0.2").status_code == 200
    assert logins.failure_counts(ctx, address="203.0.113.9") == {"address": logins.ADDRESS_LIMIT}


def test_the_client_address_behind_a_configured_proxy(app, ctx):
    """REDWALL_PROXY_HOPS=1: X-Forwarded-For names the client; without it, the proxy's address is."""
    from server.app import create_app

    make_users(ctx)
    config = {
        "SKIP_ENV": True, "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"], "REDIS_URL": None, "REDWALL_TIMEZONE": "Asia/Shanghai",
        "REDWALL_TOKEN_TTL": 3600, "REDWALL_SCRIPT_TIME_LIMIT": 1.0,
    }
    behind = create_app({**config, "REDWALL_PROXY_HOPS": 1})
    direct = create_app(config)
    try:
        for client_address in ("192.0.2.10", "192.0.2.11"):
            r = behind.test_client().post("/api/auth/token", json={"username": "civil1", "password": "x"},
                                          environ_base={"REMOTE_ADDR": "10.9.9.9"},
                                          headers={"X-Forwarded-For": f"6.6.6.6, {client_address}"})
            assert r.status_code == 401
        assert logins.failure_counts(ctx, username="civil1", address="192.0.2.10")["pair"] == 1
        assert logins.failure_counts(ctx, address="10.9.9.9") == {}
        direct.test_client().post("/api/auth/token", json={"username": "civil1", "password": "x"},
                                  environ_base={"REMOTE_ADDR": "10.9.9.9"}, headers={"X-Forwarded-For": "192.0.2.10"})
        assert logins.failure_counts(ctx, address="10.9.9.9") == {"address": 1}  # the header is not trusted
    finally:
        from server.extensions import db

        for other in (behind, direct):
            with other.app_context():
                db.engine.dispose()


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
        for i in range(logins.PAIR_FREE + 1):
            answer = login(client if i % 2 else other_client, "civil1", "wrong-password", address="10.0.1.1")
            assert answer.status_code == 401
        assert login(client, "civil1", PASSWORD, address="10.0.1.1").status_code == 429
        assert login(other_client, "civil1", PASSWORD, address="10.0.1.1").status_code == 429
    finally:
        from server.extensions import db

        with other.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("body", [{"username": "civil1"}, {"username": "", "password": "x"}, {"password": "x"}])
def test_malformed_logins_are_not_counted(client, ctx, body):
    assert client.post("/api/auth/token", json=body).status_code == 422
    assert logins.failure_counts(ctx, username=body.get("username", "")) == {}
