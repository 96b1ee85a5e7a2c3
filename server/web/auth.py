"""Sign in, sign out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from workflows.errors import TooManyAttempts
from people.logins import log_in

from .i18n import LOCALES
from .pages import home_endpoint, page_blueprint
from .session import current_actor, page_login_required, sign_in, sign_out

bp = page_blueprint("account")


def _local_path(target: str | None) -> str | None:
    """Only a path on this site may follow sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.get("/")
def sign_in_page():
    actor = current_actor()
    if actor is not None:
        return redirect(_local_path(request.args.get("next")) or url_for(home_endpoint(actor)))
    notice = _("Your session ended. Please sign in again.") if request.args.get("expired") else None
    return render_template("auth/sign_in.html", next=_local_path(request.args.get("next")), notice=notice,
                           demo_users=_demo_users())


def _demo_users() -> list[str]:
    """In demo mode (make run) the sign-in page names the demo users; the password is in the README."""
    if not current_app.config.get("REDWALL_DEMO"):
        return []
    from ..demo import DEMO_USERS

    return [username for username, *_ in DEMO_USERS[:7]]


@bp.post("/signin")
def sign_in_submit():
    username = (request.form.get("username") or "").strip()[:150]
    password = request.form.get("password") or ""
    target = _local_path(request.form.get("next"))
    if not username or not password:
        return render_template("auth/sign_in.html", next=target, username=username,
                               error=_("Enter your username and password.")), 422
    try:
        actor = log_in(current_app.extensions["redwall"], username, password[:1024], request.remote_addr)
    except TooManyAttempts as exc:
        minutes = max(1, round(exc.retry_after / 60))
        return render_template("auth/sign_in.html", next=target, username=username,
                               error=_("Too many failed sign-ins. Try again in %(minutes)s minutes.", minutes=minutes)), 429
    if actor is None:
        return render_template("auth/sign_in.html", next=target, username=username,
                               error=_("Wrong username or password.")), 401
    sign_in(actor)
    return redirect(target or url_for(home_endpoint(actor)))


@bp.post("/signout")
def sign_out_submit():
    sign_out()
    return redirect(url_for("account.sign_in_page"))


@bp.post("/locale")
def choose_locale():
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
    return redirect(_local_path(request.form.get("back")) or url_for("account.sign_in_page"))


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/home")
@page_login_required
def home():
    return redirect(url_for(home_endpoint(g.actor)))
