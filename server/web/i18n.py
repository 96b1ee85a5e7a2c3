"""The message catalogue: Simplified Chinese by default, English switchable.

Every string a person reads goes through Flask-Babel. Message ids are English; the Chinese
catalogue is ``server/translations/zh/LC_MESSAGES/<domain>.po`` (compiled ``.mo`` beside it,
checked by ``tests/unit/test_translations.py``; ``make translations`` extracts, updates and
compiles). Two domains share one directory: ``messages`` (pages, menus, statuses) and
``forms`` (form problems and labels), so that their owners never edit the same file.

Pages are in the person's choice (kept in the session), else Chinese — whatever language the
browser was installed in. The REST API answers in the client's ``Accept-Language`` among the
offered ones, else Chinese.
"""
from __future__ import annotations

from pathlib import Path

from flask import has_request_context, request, session
from flask_babel import Babel

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DOMAINS = ("messages", "forms")

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LOCALES, default=None) or DEFAULT_LOCALE
    return DEFAULT_LOCALE


def init_i18n(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("REDWALL_TIMEZONE", "Asia/Shanghai"))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(TRANSLATIONS) for _ in DOMAINS)
    app.config["BABEL_DOMAIN"] = ";".join(DOMAINS)
    babel.init_app(app, locale_selector=select_locale)
