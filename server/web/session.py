"""Who is signed in to the pages: Flask's signed session cookie, checked on every request.

The cookie holds the signed-in actor as a bearer token carries it (``server.auth.actor_claims``:
user id and key, name, tenant, roles, groups, time zone), when the session started and when it
was last used. No request reads the user's rows: as for tokens, the user's key is checked
against the database at most once per ``REDWALL_REVOCATION_INTERVAL`` seconds per process, and
a disabled user, a password reset, changed roles or groups, or signing out everywhere give the
user a new key, which ends every session naming the old one. A session ends
after ``REDWALL_SESSION_IDLE`` seconds without a request (default 30 minutes) or
``REDWALL_TOKEN_TTL`` seconds after sign-in, whichever comes first.

Cookie: HttpOnly, SameSite=Lax, Secure whenever the request came over HTTPS (directly or,
with a trusted proxy configured, as the proxy says).
"""
from __future__ import annotations

import time
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import refresh as refresh_babel

from workflows.accounts import Actor

from ..auth import actor_claims, actor_if_current

SESSION_KEYS = ("actor", "started", "seen", "locale", "csrf_token")


class RedwallSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        # No session cookie (every API call with a bearer token): a new empty session, as Flask
        # answers, without first building the cookie's signer (about 13 us a request), nor
        # parsing a Cookie header there is not.
        if app.secret_key and not (request.environ.get("HTTP_COOKIE") and request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_session(app) -> None:
    app.session_interface = RedwallSessionInterface()
    app.config["SESSION_COOKIE_NAME"] = "redwall_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("REDWALL_SESSION_IDLE", 30 * 60)

    @app.before_request
    def forget_the_previous_request():
        # An app context may outlive a request (tests, CLI): who is signed in is per request.
        if not vars(g._get_current_object()):
            return  # a fresh app context (each request under a server): nothing to forget
        g.pop("page_actor", None)
        g.pop("actor", None)
        g.pop("session_expired", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF caches the token in g
        refresh_babel()  # and Flask-Babel the locale on the app context


def sign_in(actor: Actor) -> None:
    locale = session.get("locale")
    session.clear()  # a fresh session (and CSRF token) at every sign-in: no fixation
    now = int(time.time())
    session.update(actor=actor_claims(actor), started=now, seen=now)
    if locale:
        session["locale"] = locale
    session.permanent = False


def sign_out() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def current_actor() -> Actor | None:
    """The signed-in actor, or None (no session, expired, or the user is gone or disabled)."""
    if "page_actor" in g:
        return g.page_actor
    actor = None
    claims = session.get("actor")
    if isinstance(claims, dict):
        now = int(time.time())
        config = current_app.config
        fresh = (now - int(session.get("seen", 0)) <= config["REDWALL_SESSION_IDLE"]
                 and now - int(session.get("started", 0)) <= config["REDWALL_TOKEN_TTL"])
        if fresh:
            actor = actor_if_current(claims)
        if actor is None:
            g.session_expired = True
            sign_out()
        elif now - int(session.get("seen", 0)) >= 60:
            session["seen"] = now  # refresh at most once a minute: fewer cookie rewrites
    g.page_actor = actor
    return actor


def page_login_required(view):
    """Resolve the session into ``g.actor`` or send the browser to the sign-in page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        actor = current_actor()
        if actor is None:
            if request.headers.get("HX-Request"):
                # htmx would swap the sign-in page into a fragment: make the browser navigate.
                response = current_app.response_class(status=401)
                response.headers["HX-Redirect"] = url_for("account.sign_in_page", next=request.full_path)
                return response
            return redirect(url_for("account.sign_in_page", next=request.full_path,
                                    expired=1 if g.get("session_expired") else None))
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper
