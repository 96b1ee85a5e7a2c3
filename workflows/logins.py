"""Logging in: credentials checked behind failed-login counters per username and per address.

The counters live in the database (``login_failures``), so every web process of an
installation — and embedded mode, which has no Redis — sees the same counts. Each failure
is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE``): parallel failures are all counted.

Policy (fixed windows): a username with :data:`USER_LIMIT` failures within :data:`WINDOW` is
locked for :data:`LOCK`; a client address with :data:`ADDRESS_LIMIT` failures likewise. While
locked, no password is checked at all, so guessing gains nothing; unknown usernames are
counted like known ones, so a lock reveals nothing about which accounts exist. A successful
login clears its username's counter (not the address's).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, tuple_

from .accounts import Actor, authenticate
from .errors import TooManyAttempts
from .models import LoginFailure, User

USER_LIMIT = 5
ADDRESS_LIMIT = 50  # one office behind NAT shares an address: looser than per user
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


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("user", username[:_KEY_LENGTH])]
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


def _count_failure(conn, scope: str, key: str, limit: int, now: datetime) -> bool:
    """Count one failure; lock the key when it reaches ``limit``. True if this failure locked it."""
    insert = _insert(conn)
    expired = FAILURES.c.window_start < now - WINDOW
    failures = conn.execute(
        insert.values(scope=scope, key=key, failures=1, window_start=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[FAILURES.c.scope, FAILURES.c.key],
            set_={
                "failures": case((expired, 1), else_=FAILURES.c.failures + 1),
                "window_start": case((expired, now), else_=FAILURES.c.window_start),
            },
        )
        .returning(FAILURES.c.failures)
    ).scalar_one()
    if failures < limit:
        return False
    conn.execute(
        FAILURES.update()
        .where(FAILURES.c.scope == scope, FAILURES.c.key == key)
        .values(locked_until=now + LOCK)
    )
    return failures == limit


# Other public doors (the residents' progress page) count their failures in the same table,
# under scopes of their own.
locked_until = _locked_until
count_failure = _count_failure


def log_in(ctx, username: str, password: str, address: str | None) -> Actor | None:
    """The actor for valid credentials, None for wrong ones; :class:`TooManyAttempts` while locked."""
    now = ctx.clock()
    keys = _keys(username, address)
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
            conn.execute(FAILURES.delete().where(FAILURES.c.scope == "user", FAILURES.c.key == keys[0][1]))
            uow.commit()
            return actor
        user_locked = _count_failure(conn, "user", keys[0][1], USER_LIMIT, now)
        if address:
            _count_failure(conn, "address", keys[1][1], ADDRESS_LIMIT, now)
        if user_locked:
            tenant_id = uow.session.scalar(select(User.tenant_id).where(User.username == username))
            if tenant_id is not None:
                uow.record("user.locked", tenant_id, actor=username, at=now,
                           data={"username": username, "failures": USER_LIMIT, "until": (now + LOCK).isoformat()})
        uow.commit()
        return None


def failure_counts(ctx, username: str | None = None, address: str | None = None) -> dict[str, int]:
    """Current counts (for tests and operators): ``{"user": n, "address": m}``."""
    with ctx.unit_of_work() as uow:
        conditions = []
        if username is not None:
            conditions.append((FAILURES.c.scope == "user") & (FAILURES.c.key == username[:_KEY_LENGTH]))
        if address is not None:
            conditions.append((FAILURES.c.scope == "address") & (FAILURES.c.key == address[:_KEY_LENGTH]))
        if not conditions:
            return {}
        rows = uow.session.execute(select(FAILURES.c.scope, FAILURES.c.failures).where(or_(*conditions))).all()
        return {scope: failures for scope, failures in rows}
