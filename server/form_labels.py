"""Form labels and form problems in the reader's language (Chinese by default, English switchable).

The forms carry their own words: a field's Chinese ``title`` and its English ``x-en.title``,
choice labels in ``x-enum-labels`` / ``x-boolean-labels`` and ``x-en.enum-labels`` /
``x-en.boolean-labels``. Problems found in submitted data (:mod:`workflows.form_problems`,
:mod:`onewindow.eligibility`) carry an English message id and parameters; :func:`localise`
renders them through the ``forms`` domain of the message catalogue
(``server/translations/zh/LC_MESSAGES/forms.po``, the same file Flask-Babel loads).

Functions the pages call:

* :func:`localise` ``(errors, locale)`` — an API ``errors`` structure with every problem as a
  sentence in ``locale`` (other values untouched);
* :func:`field_title` ``(prop, locale, name=None)``, :func:`enum_label` ``(prop, value, locale)``,
  :func:`form_title` ``(schema, locale)``, :func:`department_name` ``(code, locale)``;
* :func:`request_locale` — the locale of the current request (``zh`` or ``en``).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from onewindow.catalogue import load_catalogue
from workflows.form_problems import FormProblem, choice_label
from workflows.form_problems import field_title as _field_title

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "forms"
LOCALES = ("zh", "en")


def normalise_locale(locale: Any) -> str:
    """``zh``/``zh_CN``/``zh-Hans`` → ``zh``; anything English → ``en``; else ``zh``."""
    text = str(locale or "zh").lower()
    return "en" if text.startswith("en") else "zh"


@lru_cache(maxsize=4)
def translations(locale: str) -> NullTranslations:
    """The ``forms`` catalogue of ``locale`` (English is the message ids themselves)."""
    if normalise_locale(locale) == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [normalise_locale(locale)], domain=DOMAIN)


def gettext(message: str, locale: str) -> str:
    return translations(normalise_locale(locale)).gettext(message)


def request_locale() -> str:
    """The current request's locale: Flask-Babel's selector (session, Accept-Language), else Chinese.

    The selector is asked directly rather than through ``flask_babel.get_locale()``, which
    caches its answer on ``g`` — shared by every request under one outer app context.
    """
    try:
        from flask import current_app, has_request_context
        from flask_babel import get_babel

        if has_request_context() and "babel" in current_app.extensions:
            selector = get_babel(current_app).locale_selector
            if selector is not None:
                return normalise_locale(selector())
    except Exception:  # noqa: BLE001 - no locale must never break an error answer
        pass
    return "zh"


def localise(errors: Any, locale: str | None = None) -> Any:
    """``errors`` with every :class:`FormProblem` (or problem-like value) rendered in ``locale``.

    Dicts and lists are walked; plain strings and other values are returned unchanged, so the
    structure of the API's ``errors`` stays exactly what it was.
    """
    locale = normalise_locale(locale or request_locale())
    catalogue = translations(locale)
    return _localise(errors, locale, catalogue.gettext)


def _localise(value: Any, locale: str, gettext_) -> Any:
    if isinstance(value, FormProblem):
        return value.render(locale, gettext_)
    render = getattr(value, "render", None)
    if callable(render) and hasattr(value, "template"):
        return render(locale, gettext_)
    if isinstance(value, dict):
        return {key: _localise(item, locale, gettext_) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_localise(item, locale, gettext_) for item in value]
    return value


def field_title(prop: dict | None, locale: str | None = None, name: str = "") -> str:
    """A form field's title in ``locale`` (its name when the form gives none)."""
    return _field_title(prop, name).in_locale(normalise_locale(locale or request_locale()))


def enum_label(prop: dict | None, value: Any, locale: str | None = None) -> str:
    """The label of a choice (enum code or boolean) of a field, in ``locale``; the code if unlabelled."""
    return choice_label(prop, value).in_locale(normalise_locale(locale or request_locale()))


def choices(prop: dict | None, locale: str | None = None) -> list[tuple[Any, str]]:
    """``[(code, label)]`` of a field's choices: its enum, or ``True``/``False`` for a boolean."""
    prop = prop or {}
    if "enum" in prop:
        values = list(prop["enum"])
    elif prop.get("type") == "boolean":
        values = [True, False]
    else:
        return []
    return [(value, enum_label(prop, value, locale)) for value in values]


def field_description(prop: dict | None, locale: str | None = None) -> str | None:
    """The help text of a field in ``locale`` (``description`` / ``x-en.description``), if any."""
    prop = prop or {}
    en = (prop.get("x-en") or {}).get("description") if isinstance(prop.get("x-en"), dict) else None
    if normalise_locale(locale or request_locale()) == "en":
        return en or prop.get("description")
    return prop.get("description") or en


def form_title(schema: dict | None, locale: str | None = None) -> str:
    """A form's title in ``locale``."""
    schema = schema or {}
    en = (schema.get("x-en") or {}).get("title") if isinstance(schema.get("x-en"), dict) else None
    zh = schema.get("title")
    if normalise_locale(locale or request_locale()) == "en":
        return str(en or zh or "")
    return str(zh or en or "")


def department_name(code: str, locale: str | None = None) -> str:
    """A department's (group's) name from the catalogue in ``locale``; the code if unknown."""
    catalogue = load_catalogue()
    if normalise_locale(locale or request_locale()) == "en":
        return catalogue.departments_en.get(code) or catalogue.departments.get(code) or code
    return catalogue.departments.get(code) or code
