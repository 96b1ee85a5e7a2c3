"""The web workplace: server-rendered pages (Jinja2 + htmx) beside the REST API.

One blueprint per workplace (``window``, ``inbox``, ``cases`` and the role homes), templates
in folders of the same names under ``server/templates``. Page views are as thin as REST
views: parse, call the same use case of ``worklists``/``onewindow``/``workflows``, render —
so a page shows personal data under exactly the API's rules.

Cross-cutting pieces live here: the signed session cookie (:mod:`.session`), CSRF on every
state-changing form (Flask-WTF), security headers on every response, the message catalogue
(:mod:`.i18n`) and the error pages.
"""
from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

from .i18n import init_i18n

csrf = CSRFProtect()


def init_web(app) -> None:
    init_i18n(app)
    # CSRF only where a cookie authenticates (the pages); the REST API takes bearer tokens,
    # which a foreign site cannot make a browser send.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)

    from . import headers, session

    session.init_session(app)
    headers.init_headers(app)

    from . import audit, auth, cases, inbox, migration, ops, progress, street, studio, supervision, window
    from .filters import register_filters

    register_filters(app)
    for module in (auth, window, inbox, cases, supervision, audit, ops, street, progress, studio, migration):
        app.register_blueprint(module.bp)
    app.register_blueprint(street.board_bp)
