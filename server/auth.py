"""Who is calling: bearer tokens (here) and page sessions (``server.web.session``).

A token is signed (HS256), expires, and carries what every request needs to know about its
user: id, name, tenant, roles, groups and supervised groups, time zone, and the user's key
(``users.token_key``). The request needs no query to know who calls.

Revocation without a query per request: the key is the user's version. Disabling a user,
resetting the password, changing roles or groups, and signing out everywhere give the user a
new key, so every token and session naming the old one is refused. Each process reads a
user's current key and ``active`` flag at most once per ``REDWALL_REVOCATION_INTERVAL``
seconds (default 5) from the database (:class:`Revocations`): a change made on any process
is refused on every process within that interval, and at once on the process that made it.
Nothing here is needed for correctness but the database: a process's memory only saves
reads. A token whose key differs from the one remembered is checked against the database
again at once (it may be newer than what this process saw).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from functools import wraps

import jwt
from flask import current_app, g, request
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from workflows.accounts import Actor
from workflows.models import User

from .errors import error_response

DEFAULT_REVOCATION_INTERVAL = 5.0


def actor_claims(actor: Actor) -> dict:
    """The actor as a token (or session cookie) carries it."""
    return {"sub": str(actor.user_id), "key": actor.token_key, "name": actor.username, "tid": actor.tenant_id,
            "tenant": actor.tenant_code, "tz": actor.timezone, "roles": sorted(actor.roles),
            "groups": sorted(actor.groups), "sup": sorted(actor.supervised_groups)}


def actor_from_claims(claims: dict) -> Actor | None:
    """The actor a token or session names, or None if any part is missing or of the wrong type."""
    try:
        user_id, key, tenant_id = int(claims["sub"]), claims["key"], claims["tid"]
        lists = [claims["roles"], claims["groups"], claims["sup"]]
        texts = [key, claims["name"], claims["tenant"], claims["tz"]]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(isinstance(t, str) and t for t in texts) or not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        return None
    if not all(isinstance(values, list) and all(isinstance(v, str) for v in values) for values in lists):
        return None
    return Actor(user_id=user_id, username=claims["name"], tenant_id=tenant_id, tenant_code=claims["tenant"],
                 roles=frozenset(lists[0]), groups=frozenset(lists[1]), supervised_groups=frozenset(lists[2]),
                 timezone=claims["tz"], token_key=key)


class Revocations:
    """Per process and database: each user's current key (None: disabled or gone) and when it
    was read. One indexed single-row read per user per interval; nothing else is remembered."""

    def __init__(self):
        self._seen: dict[tuple[int, int], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def is_current(self, ctx, user_id: int, key: str, interval: float) -> bool:
        where = (id(ctx), user_id)
        now = time.monotonic()
        seen = self._seen.get(where)
        if seen is not None and now - seen[0] < interval and seen[1] == key:
            return True
        current = self._read(ctx, user_id)
        with self._lock:
            self._seen[where] = (now, current)
        return current is not None and current == key

    @staticmethod
    def _read(ctx, user_id: int) -> str | None:
        with ctx.unit_of_work() as uow:
            row = uow.session.execute(select(User.token_key, User.active).where(User.id == user_id)).first()
        return row[0] if row is not None and row[1] else None

    def forget(self) -> None:
        """Forget every user (this process changed a user: read again at the next request)."""
        with self._lock:
            self._seen.clear()


revocations = Revocations()


@event.listens_for(Session, "after_flush")
def _users_changed(session, _flush_context):
    # A user changed through the ORM in this process (disabled, new key, roles): this process
    # knows at once; the others within their interval.
    if any(isinstance(obj, User) for obj in (*session.dirty, *session.deleted)):
        revocations.forget()


def actor_if_current(claims: dict) -> Actor | None:
    """The actor the claims name if the user is active and the key is still the user's."""
    return _if_current(actor_from_claims(claims))


def _if_current(actor: Actor | None) -> Actor | None:
    if actor is None:
        return None
    app = current_app._get_current_object()
    interval = float(app.config.get("REDWALL_REVOCATION_INTERVAL", DEFAULT_REVOCATION_INTERVAL))
    if not revocations.is_current(app.extensions["redwall"], actor.user_id, actor.token_key, interval):
        return None
    return actor


def issue_token(actor: Actor) -> tuple[str, datetime]:
    now = datetime.now(timezone.utc)
    expires = now + timedelta(seconds=current_app.config["REDWALL_TOKEN_TTL"])
    token = jwt.encode({**actor_claims(actor), "exp": expires, "iat": now}, current_app.config["SECRET_KEY"],
                       algorithm="HS256")
    return token, expires


class VerifiedTokens:
    """Per process: the tokens whose signature was verified, by the token and the secret that
    verified it, with their actor. The same token string under the same secret verifies the
    same way every time, so it is decoded and its signature checked once, not at each request;
    expiry (and iat/nbf, as PyJWT checks them) is checked again at each request, and so is
    revocation (:class:`Revocations`), as before. Tokens that fail are never remembered; at most
    :attr:`LIMIT` are (the table starts again empty when full)."""

    LIMIT = 4096

    def __init__(self):
        self._known: dict[tuple[str, str], tuple[int, int, Actor | None]] = {}

    def actor(self, token: str, secret: str) -> Actor | None:
        """The actor the token names (revocation not checked), or None if it is not valid now."""
        known = self._known.get((secret, token))
        if known is None:
            try:
                claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "key"]})
            except jwt.PyJWTError:
                return None
            # PyJWT checked these are integers; after this, the same checks as its own at each use
            not_before = max(int(claims.get("iat", 0)), int(claims.get("nbf", 0)))
            known = (int(claims["exp"]), not_before, actor_from_claims(claims))
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            self._known[(secret, token)] = known
            return known[2]
        now = datetime.now(tz=timezone.utc).timestamp()
        if known[0] <= now or known[1] > now:
            return None
        return known[2]


verified_tokens = VerifiedTokens()


def _actor_from_request() -> Actor | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return _if_current(verified_tokens.actor(token.strip(), current_app.config["SECRET_KEY"]))


def login_required(view):
    """Resolve the bearer token into ``g.actor`` or answer 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        actor = _actor_from_request()
        if actor is None:
            response = error_response(401, "a valid bearer token is required (POST /api/auth/token)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="redwall"'
            return response
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper
