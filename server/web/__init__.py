"""The web workplace: server-rendered pages (Jinja2 + htmx) beside the REST API.

One blueprint per workplace (``window``, ``inbox``, ``cases`` …), templates in folders of the
same names under ``server/templates``. Page views are as thin as REST views: parse, call the
same use case of ``worklists``/``onewindow``/``workflows``, render.
"""
from __future__ import annotations

from .i18n import init_i18n


def init_web(app) -> None:
    init_i18n(app)
