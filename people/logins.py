"""Logging in: credentials checked behind failed-login counters, in the database.

The counters live in the database (``login_failures``), so every web process of an
installation — and embedded mode, which has no Redis — sees the same counts. Each failure
is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE``): parallel failures are all counted.

Policy (issue 10, item 12: five failures from any address used to lock a username for everyone):

* **per (username, address) pair, growing delays**: the first :data:`PAIR_FREE` failures of a pair
  cost nothing; each further one locks the pair for ``5 s × 2ⁿ`` (5, 10, 20 … s), at most
  :data:`MAX_DELAY`. A pair quiet for :data:`PAIR_RESET` starts again. Someone guessing from one
  address is slowed down; the user at another address signs in as usual.
* **per username, only when spread**: a username is locked for everyone (:data:`USER_LOCK`) only
  after failures from :data:`SPREAD_ADDRESSES` distinct addresses *and* :data:`USER_LIMIT`
  failures within :data:`USER_WINDOW` — a distributed guess, not one person's typos.
* **per address**: :data:`ADDRESS_LIMIT` failures within :data:`WINDOW` on any usernames lock the
  address for :data:`LOCK` (credential stuffing from one place).

While a key is locked no password is checked, so guessing gains nothing (429 with
``Retry-After``); unknown usernames are counted like known ones, so a lock reveals nothing about
which accounts exist. A successful login clears its pair. The address is the client's as the
server sees it: behind proxies set ``REDWALL_PROXY_HOPS`` (``server.app``), or every client
shares the proxy's address.
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, tuple_

from workflows.accounts import Actor, authenticate
from workflows.errors import TooManyAttempts
from workflows.models import LoginFailure, User

PAIR_FREE = 3
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=15)
PAIR_RESET = timedelta(hours=1)
SPREAD_ADDRESSES = 10
USER_LIMIT = 100
USER_WINDOW = timedelta(hours=1)
USER_LOCK = timedelta(minutes=15)
ADDRESS_LIMIT = 100  # one office behind NAT shares an address: looser than per pair
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
_KEY_LENGTH = 255

FAILURES = LoginFailure.__table__


def _insert(conn):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(FAILURES)


def pair_key(username: str, address: str | None) -> str:
    key = f"{username}\n{address or '-'}"
    if len(key) > _KEY_LENGTH:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("pair", pair_key(username, address)), ("user", username[:_KEY_LENGTH])]
    if address:
        keys.append(("address", address[:_KEY_LENGTH]))
    return keys


def _locked_until(conn, keys: list[tuple[str, str]], now: datetime) -> datetime | None:
    rows = conn.execute(
        select(FAILURES.c.locked_until).where(
            tuple_(FAILURES.c.scope, FAILURES.c.key).in_(keys), FAILURES.c.locked_until > now
        )
    ).scalars().all()
    return max(rows) if rows else None


def _count(conn, scope: str, key: str, window: timedelta, now: datetime, sliding: bool = False) -> int:
    """Count one failure of ``(scope, key)`` and return the count in its window.

    Fixed windows start at the first failure; a sliding one (``sliding``) restarts only after a
    quiet ``window`` (``window_start`` then holds the last failure).
    """
    insert = _insert(conn)
    expired = FAILURES.c.window_start < now - window
    return conn.execute(
        insert.values(scope=scope, key=key, failures=1, window_start=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[FAILURES.c.scope, FAILURES.c.key],
            set_={
                "failures": case((expired, 1), else_=FAILURES.c.failures + 1),
                "window_start": now if sliding else case((expired, now), else_=FAILURES.c.window_start),
            },
        )
        .returning(FAILURES.c.failures)
    ).scalar_one()


def _lock(conn, scope: str, key: str, until: datetime) -> None:
    conn.execute(FAILURES.update().where(FAILURES.c.scope == scope, FAILURES.c.key == key).values(locked_until=until))


def pair_delay(failures: int) -> timedelta:
    """How long a pair waits after its ``failures``-th failure."""
    if failures <= PAIR_FREE:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * (2 ** min(failures - PAIR_FREE - 1, 20)))


# Other public doors (the residents' progress page) count their failures in the same table,
# under scopes of their own.
locked_until = _locked_until


def count_failure(conn, scope: str, key: str, limit: int, now: datetime) -> int:
    """Count one failure of ``(scope, key)`` in a fixed :data:`WINDOW`; lock the key for
    :data:`LOCK` once it reaches ``limit``. Returns the count."""
    failures = _count(conn, scope, key, WINDOW, now)
    if failures >= limit:
        _lock(conn, scope, key, now + LOCK)
    return failures


def log_in(ctx, username: str, password: str, address: str | None) -> Actor | None:
    """The actor for valid credentials, None for wrong ones; :class:`TooManyAttempts` while locked."""
    now = ctx.clock()
    keys = _keys(username, address)
    pair, user = keys[0][1], keys[1][1]
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        locked = _locked_until(conn, keys, now)
        if locked is not None:
            raise TooManyAttempts(
                "too many failed logins; try again later",
                retry_after=max(1, math.ceil((locked - now).total_seconds())),
            )
        actor = authenticate(uow.session, username, password)
        if actor is not None:
            conn.execute(FAILURES.delete().where(FAILURES.c.scope == "pair", FAILURES.c.key == pair))
            # sign-ins are in the tenant's trail (events outside cases): the auditor reads who came in when
            uow.record("user.signed_in", actor.tenant_id, actor=actor.username, at=now,
                       data={"username": actor.username, "address": address})
            uow.commit()
            return actor
        pair_failures = _count(conn, "pair", pair, PAIR_RESET, now, sliding=True)
        delay = pair_delay(pair_failures)
        if delay:
            _lock(conn, "pair", pair, now + delay)
        user_failures = _count(conn, "user", user, USER_WINDOW, now)
        # distinct addresses: a pair counts again only after its own quiet hour
        spread = _count(conn, "spread", user, USER_WINDOW, now) if pair_failures == 1 else _spread(conn, user, now)
        if address:
            if _count(conn, "address", keys[2][1], WINDOW, now) >= ADDRESS_LIMIT:
                _lock(conn, "address", keys[2][1], now + LOCK)
        tenant_of_user = uow.session.scalar(select(User.tenant_id).where(User.username == username))
        if tenant_of_user is not None:  # a failed sign-in of a known user (unknown names belong to no tenant)
            uow.record("user.sign_in_failed", tenant_of_user, actor=username, at=now,
                       data={"username": username, "address": address, "failures": pair_failures})
        if user_failures >= USER_LIMIT and spread >= SPREAD_ADDRESSES:
            _lock(conn, "user", user, now + USER_LOCK)
            if user_failures == USER_LIMIT or spread == SPREAD_ADDRESSES:
                if tenant_of_user is not None:
                    uow.record("user.locked", tenant_of_user, actor=username, at=now,
                               data={"username": username, "failures": user_failures, "addresses": spread,
                                     "until": (now + USER_LOCK).isoformat()})
        uow.commit()
        return None


def _spread(conn, user: str, now: datetime) -> int:
    value = conn.execute(
        select(FAILURES.c.failures).where(
            FAILURES.c.scope == "spread", FAILURES.c.key == user, FAILURES.c.window_start >= now - USER_WINDOW
        )
    ).scalar_one_or_none()
    return value or 0


def failure_counts(ctx, username: str | None = None, address: str | None = None) -> dict[str, int]:
    """Current counts (for tests and operators): ``{"pair": p, "user": n, "spread": s, "address": m}``."""
    with ctx.unit_of_work() as uow:
        conditions = []
        if username is not None:
            conditions.append(FAILURES.c.scope.in_(("user", "spread")) & (FAILURES.c.key == username[:_KEY_LENGTH]))
            if address is not None:
                conditions.append((FAILURES.c.scope == "pair") & (FAILURES.c.key == pair_key(username, address)))
        if address is not None:
            conditions.append((FAILURES.c.scope == "address") & (FAILURES.c.key == address[:_KEY_LENGTH]))
        if not conditions:
            return {}
        rows = uow.session.execute(select(FAILURES.c.scope, FAILURES.c.failures).where(or_(*conditions))).all()
        return {scope: failures for scope, failures in rows}
