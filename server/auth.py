"""Bearer tokens: signed (HS256), with expiry, naming the user and the user's key; the actor is
reloaded per request so a disabled user, a changed role or a rotated key takes effect at once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import wraps

import jwt
from flask import current_app, g, request

from workflows.accounts import Actor, load_actor

from .errors import error_response


def issue_token(actor: Actor) -> tuple[str, datetime]:
    expires = datetime.now(timezone.utc) + timedelta(seconds=current_app.config["REDWALL_TOKEN_TTL"])
    token = jwt.encode(
        {"sub": str(actor.user_id), "key": actor.token_key, "tenant": actor.tenant_code, "exp": expires,
         "iat": datetime.now(timezone.utc)},
        current_app.config["SECRET_KEY"],
        algorithm="HS256",
    )
    return token, expires


def _actor_from_request() -> Actor | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(token.strip(), current_app.config["SECRET_KEY"], algorithms=["HS256"],
                            options={"require": ["exp", "sub", "key"]})
        user_id, key = int(claims["sub"]), claims["key"]
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
    if not isinstance(key, str) or not key:
        return None
    ctx = current_app.extensions["redwall"]
    with ctx.unit_of_work() as uow:
        # the token names the user's key too: a reused id or a rotated key (reset, disable) is not the same user
        return load_actor(uow.session, user_id, key)


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
