"""What every page blueprint shares: the role homes, navigation, error pages, htmx awareness."""
from __future__ import annotations

import logging

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from workflows.errors import Conflict, InvalidInput, RedwallError, TooManyAttempts

from ..errors import STATUS_OF

log = logging.getLogger(__name__)
from . import csrf

# (endpoint, label, roles that see it, shortcut) in menu order; the first a role sees is its home.
NAVIGATION = (
    ("window.home", _l("Intake window"), ("intake", "admin"), "w"),
    ("inbox.home", _l("Inbox"), ("clerk", "intake", "supervisor", "admin"), "i"),
    ("supervision_desk.dashboard", _l("Supervision"), ("supervisor", "admin"), "s"),
    ("studio.home", _l("Process studio"), ("designer", "admin"), "d"),
    ("audit_pages.home", _l("Audit"), ("auditor", "admin"), "a"),
    ("ops_pages.home", _l("Operations"), ("admin",), "o"),
    ("emergency_pages.board", _l("Emergencies"), ("clerk", "supervisor", "admin"), "e"),
    ("street_pages.home", _l("Report an event"), ("clerk", "admin"), "r"),
)
HOME_OF_ROLE = {
    "intake": "window.home",
    "clerk": "inbox.home",
    "supervisor": "supervision_desk.dashboard",
    "designer": "studio.home",
    "auditor": "audit_pages.home",
    "admin": "ops_pages.home",
}
ROLE_ORDER = ("intake", "clerk", "supervisor", "designer", "auditor", "admin")


def home_endpoint(actor) -> str:
    for role in ROLE_ORDER:
        if role in actor.roles:
            return HOME_OF_ROLE[role]
    return "account.sign_in_page"


def navigation(actor) -> list[dict]:
    return [
        {"endpoint": endpoint, "url": url_for(endpoint), "label": label, "key": key}
        for endpoint, label, roles, key in NAVIGATION
        if actor.has_role(*roles)
    ]


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def page_blueprint(name: str, url_prefix: str | None = None) -> Blueprint:
    """A workplace blueprint: CSRF on every state-changing request, error pages in words."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)

    @bp.before_request
    def protect():
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()

    bp.register_error_handler(RedwallError, _domain_error_page)
    bp.register_error_handler(HTTPException, _http_error_page)
    bp.register_error_handler(Exception, _unexpected_error_page)
    return bp


TITLES = {
    400: _l("The request could not be read"),
    401: _l("Please sign in"),
    403: _l("You may not do this"),
    404: _l("Not found, or not yours to see"),
    405: _l("This action is not available here"),
    409: _l("This cannot be done in the current state"),
    412: _l("This page is out of date"),
    413: _l("Too large"),
    422: _l("Please check what you entered"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
EXPLANATIONS = {
    403: _l("Your role does not allow this action. If you think it should, ask your supervisor."),
    404: _l("It does not exist, or it belongs to another department or sub-district. Nothing of it is shown."),
    409: _l("The task or case is no longer where this action needs it: for example a colleague claimed or completed the task meanwhile, or the resident already has an open application for the service. Nothing you entered was saved. Open your inbox to see where things stand now."),
    412: _l("The task or case changed since you opened this page. Reload it and try again."),
    429: _l("Wait a little and try again."),
    500: _l("Nothing was changed. The problem has been logged for the administrators; try again, and tell them if it happens again."),
}


def error_page(code: int, detail: str | None = None):
    title = TITLES.get(code, _l("Something went wrong"))
    explanation = EXPLANATIONS.get(code)
    template = "errors/fragment.html" if is_htmx() else "errors/page.html"
    response = render_template(template, code=code, title=title, explanation=explanation, detail=detail)
    headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"} if is_htmx() else {}
    return response, code, headers


def _domain_error_page(exc: RedwallError):
    code = STATUS_OF.get(type(exc), 422)
    # Domain messages are written for developers in English; a clerk reads the page's words.
    # Only a 409/422 message says something the clerk can act on, so it is shown as detail.
    detail = exc.message if isinstance(exc, (Conflict, InvalidInput)) else None
    response = error_page(code, detail)
    if isinstance(exc, TooManyAttempts):
        response[2]["Retry-After"] = str(exc.retry_after)
    return response


def _unexpected_error_page(exc: Exception):
    log.exception("unexpected error on a page")
    return error_page(500)


def _http_error_page(exc: HTTPException):
    if exc.code == 400 and "CSRF" in (exc.description or ""):
        return error_page(400, str(_l("The form expired. Reload the page and submit it again.")))
    return error_page(exc.code or 500)
