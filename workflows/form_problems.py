"""Form problems as sentences that name the field, in Chinese or English.

A clerk must never read jsonschema's ``does not match '^[0-9]{12,19}$'``. This module turns
the jsonschema errors of a JSON Schema form into :class:`FormProblem` values keyed by field:

* ``str(problem)`` is an English sentence (the API stays readable for any client);
* ``problem.template`` is its English message id (``“%(field)s” is required.``), marked with
  :func:`N_` so that ``pybabel extract -k N_`` finds it for the ``forms`` catalogue;
* ``problem.params`` are the values the template needs: the field's title per locale
  (``title`` and ``x-en.title`` of the schema), limits, the labels of allowed choices…

:func:`FormProblem.render` gives the sentence in a locale given a ``gettext``; the web layer
(``server/form_labels.py``) uses it with the Flask-Babel catalogue. Pure: no Flask, no database.

Submitted values are never echoed back, except short parts of them that say what is wrong
(a two-digit province code); a field name that is not the form's is cut to 50 characters.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from jsonschema import FormatChecker

from .identity_numbers import FORMAT as ID_NUMBER_FORMAT
from .identity_numbers import id_number_problem, is_id_number_key, is_valid_id_number

MAX_ECHO = 50
MAX_CHOICES = 12


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated when the problem is rendered."""
    return message


def cut(text: Any, limit: int = MAX_ECHO) -> str:
    """``text`` as a string of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Text:
    """A parameter shown differently per locale (a field title, a list of choice labels)."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.en

    def in_locale(self, locale: str | None) -> str:
        return self.en if (locale or "zh").lower().startswith("en") else self.zh


class FormProblem(str):
    """One problem of one field: an English sentence that can be rendered in another locale."""

    template: str
    params: dict
    kind: str

    def __new__(cls, template: str, params: dict | None = None, kind: str = "invalid") -> "FormProblem":
        params = dict(params or {})
        self = super().__new__(cls, _format(template, params, "en"))
        self.template = template
        self.params = params
        self.kind = kind
        return self

    def render(self, locale: str | None, gettext: Callable[[str], str] | None = None) -> str:
        """The sentence in ``locale``: the template through ``gettext``, parameters per locale."""
        template = gettext(self.template) if gettext is not None else self.template
        try:
            return _format(template, self.params, locale)
        except (KeyError, ValueError, TypeError):  # a broken translation never breaks an answer
            return _format(self.template, self.params, locale)

    def __reduce__(self):  # keep the extra attributes through copy/pickle
        return (FormProblem, (self.template, self.params, self.kind))


def _format(template: str, params: dict, locale: str | None) -> str:
    values = {k: (v.in_locale(locale) if isinstance(v, Text) else v) for k, v in params.items()}
    return template % values if values else template


# -- message ids (English; the Chinese is server/translations/zh/LC_MESSAGES/forms.po) ---------
REQUIRED = N_("“%(field)s” is required.")
REQUIRED_WHEN = N_("“%(field)s” is required when “%(when_field)s” is “%(when_value)s”.")
TYPE = N_("“%(field)s” must be %(expected)s.")
ENUM = N_("“%(field)s” must be one of: %(allowed)s.")
CONST = N_("“%(field)s” must be “%(allowed)s”.")
PATTERN_HINT = N_("“%(field)s” is not in the expected format: %(hint)s.")
PATTERN = N_("“%(field)s” is not in the expected format.")
NOT_EMPTY = N_("“%(field)s” must not be empty.")
MIN_LENGTH = N_("“%(field)s” must be at least %(limit)s characters.")
MAX_LENGTH = N_("“%(field)s” must be at most %(limit)s characters (it has %(actual)s).")
MINIMUM = N_("“%(field)s” must be at least %(limit)s.")
MAXIMUM = N_("“%(field)s” must be at most %(limit)s.")
EXCLUSIVE_MINIMUM = N_("“%(field)s” must be more than %(limit)s.")
EXCLUSIVE_MAXIMUM = N_("“%(field)s” must be less than %(limit)s.")
MIN_ITEMS = N_("“%(field)s” needs at least %(limit)s entries.")
MAX_ITEMS = N_("“%(field)s” may have at most %(limit)s entries.")
UNIQUE_ITEMS = N_("“%(field)s” lists the same entry twice.")
DATE = N_("“%(field)s” is not a valid date (year-month-day, e.g. 2026-11-29).")
FORMAT = N_("“%(field)s” is not in the expected format.")
UNKNOWN_FIELD = N_("“%(field)s” is not a field of this form.")
NOT_AN_OBJECT = N_("The form must be an object of field values.")
INVALID = N_("“%(field)s” is not valid.")
ID_LENGTH = N_("“%(field)s” is not a valid identity number: it must have 18 characters.")
ID_SHAPE = N_("“%(field)s” is not a valid identity number: 17 digits followed by a digit or X.")
ID_PROVINCE = N_("“%(field)s” is not a valid identity number: %(code)s is not a province code.")
ID_BIRTH_DATE = N_("“%(field)s” is not a valid identity number: the birth date in it is not a date.")
ID_BIRTH_PLAUSIBLE = N_("“%(field)s” is not a valid identity number: the birth date in it is not plausible.")
ID_CHECK = N_("“%(field)s” is not a valid identity number: the check digit does not match.")
ID_TYPE = N_("“%(field)s” is not a valid identity number: it must be text of 18 characters.")

TYPE_WORDS = {
    "string": Text("文字", "text"),
    "integer": Text("整数", "a whole number"),
    "number": Text("数字", "a number"),
    "boolean": Text("“是”或“否”", "yes or no"),
    "array": Text("列表", "a list"),
    "object": Text("一组字段", "a group of fields"),
    "null": Text("空值", "empty"),
}

# the checker of form formats: dates and identity numbers (other formats stay annotations)
FORM_FORMATS = FormatChecker(formats=("date",))


@FORM_FORMATS.checks(ID_NUMBER_FORMAT)
def _id_number_format(value) -> bool:
    return not isinstance(value, str) or is_valid_id_number(value)


# -- titles and labels from the schema -------------------------------------------------------------
def field_title(prop: dict | None, name: str) -> Text:
    """The field's title per locale: ``title`` (Chinese), ``x-en.title``; else its name."""
    prop = prop if isinstance(prop, dict) else {}
    en = (prop.get("x-en") or {}).get("title") if isinstance(prop.get("x-en"), dict) else None
    zh = prop.get("title")
    fallback = cut(name)
    return Text(zh=str(zh) if zh else (en or fallback), en=str(en) if en else (zh or fallback))


def choice_label(prop: dict | None, value: Any) -> Text:
    """The label of one choice (enum value or boolean) per locale; the code itself if unlabelled."""
    prop = prop if isinstance(prop, dict) else {}
    en_block = prop.get("x-en") if isinstance(prop.get("x-en"), dict) else {}
    if isinstance(value, bool):
        key = "true" if value else "false"
        zh = (prop.get("x-boolean-labels") or {}).get(key)
        en = (en_block.get("boolean-labels") or {}).get(key)
    else:
        key = str(value)
        zh = (prop.get("x-enum-labels") or {}).get(key)
        en = (en_block.get("enum-labels") or {}).get(key)
    code = cut(key)
    return Text(zh=zh or code, en=en or code)


def _choices(prop: dict, values: Iterable) -> Text:
    values = list(values)
    labels = [choice_label(prop, v) for v in values[:MAX_CHOICES]]
    more = len(values) > MAX_CHOICES
    return Text(zh="、".join(t.zh for t in labels) + ("……" if more else ""),
                en=", ".join(t.en for t in labels) + (", …" if more else ""))


def _pattern_hint(prop: dict) -> Text | None:
    en_block = prop.get("x-en") if isinstance(prop.get("x-en"), dict) else {}
    zh = prop.get("x-pattern-hint") or prop.get("description")
    en = en_block.get("pattern-hint") or en_block.get("description")
    if not zh and not en:
        return None
    return Text(zh=str(zh or en), en=str(en or zh))


def _property_at(schema: dict, path: list) -> tuple[dict, Text]:
    """The schema of the field at ``path`` and its title (list items: "<title> item n")."""
    prop: Any = schema
    title: Text | None = None
    for step in path:
        if not isinstance(prop, dict):
            prop = {}
        if isinstance(step, int):
            prop = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            base = title or Text("表单", "form")
            title = Text(f"{base.zh} 第 {step + 1} 项", f"{base.en}, item {step + 1}")
        else:
            prop = (prop.get("properties") or {}).get(step)
            if title is None:
                title = field_title(prop, str(step))
            else:
                inner = field_title(prop, str(step))
                title = Text(f"{title.zh}：{inner.zh}", f"{title.en}: {inner.en}")
            prop = prop if isinstance(prop, dict) else {}
    return prop if isinstance(prop, dict) else {}, title or Text("表单", "form")


def _path_key(path: Iterable) -> str:
    return ".".join(cut(p) for p in path)


# -- identity numbers ------------------------------------------------------------------------------
def id_number_form_problem(value: Any, title: Text) -> FormProblem | None:
    """Why ``value`` is no identity number, as a sentence naming the field; None if it is one."""
    reason = id_number_problem(value)
    if reason is None:
        return None
    params = {"field": title}
    if not isinstance(value, str):
        return FormProblem(ID_TYPE, params, "id-number")
    if reason.startswith("an identity number has 18"):
        return FormProblem(ID_LENGTH, params, "id-number")
    if reason.startswith("an identity number is 17 digits"):
        return FormProblem(ID_SHAPE, params, "id-number")
    if reason.endswith("is not a province code"):
        return FormProblem(ID_PROVINCE, {**params, "code": cut(value.strip()[:2], 2)}, "id-number")
    if reason.endswith("is not a date"):
        return FormProblem(ID_BIRTH_DATE, params, "id-number")
    if reason.endswith("not plausible"):
        return FormProblem(ID_BIRTH_PLAUSIBLE, params, "id-number")
    return FormProblem(ID_CHECK, params, "id-number")


def identity_number_problems(data: Any, schema: dict | None = None) -> dict[str, list[FormProblem]]:
    """Invalid numbers under identity-number keys (``id_number``, ``*_id_number``) at any depth.

    Keys are paths like ``others[0].guardian_id_number``; empty or null values are left to the
    form's ``required`` rules.
    """
    problems: dict[str, list[FormProblem]] = {}
    _walk_ids(data, schema or {}, [], "", problems, False)
    return problems


def _walk_ids(value: Any, schema: dict, path: list, key: str, problems: dict, by_key: bool) -> None:
    if by_key and value not in (None, ""):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk_ids(item, schema, path + [i], f"{key}[{i}]", problems, True)
            return
        _, title = _property_at(schema, path)
        problem = id_number_form_problem(value, title)
        if problem is not None:
            problems.setdefault(key or "data", []).append(problem)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            name_key = cut(name)
            _walk_ids(item, schema, path + [name], f"{key}.{name_key}" if key else name_key, problems,
                      is_id_number_key(name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk_ids(item, schema, path + [i], f"{key}[{i}]", problems, False)


# -- the form ------------------------------------------------------------------------------------
def problems_of(schema: dict, data: Any, *, partial: bool = False, root: str = "form",
                id_numbers_by_key: bool = False) -> dict[str, list[FormProblem]]:
    """Every problem of ``data`` against the form ``schema``, by field path (``root`` for the whole).

    ``partial``: missing required fields (at the top) are no problems. ``id_numbers_by_key``:
    values under identity-number keys are checked even where the schema does not say so.
    """
    problems: dict[str, list[FormProblem]] = {}
    if not isinstance(data, dict):
        problems[root] = [FormProblem(NOT_AN_OBJECT, {}, "type")]
        return problems
    if id_numbers_by_key:
        for key, found in identity_number_problems(data, schema).items():
            problems.setdefault(key, []).extend(found)
    from .model_parsing import form_validator  # resolves only references inside the form

    errors = sorted(form_validator(schema, FORM_FORMATS).iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), list(map(str, e.relative_schema_path))))
    for error in errors:
        for key, problem in _problems_of_error(schema, data, error, partial):
            if key is None:
                key = root
            listed = problems.setdefault(key, [])
            if problem.kind == "id-number" and any(p.kind == "id-number" for p in listed):
                continue  # already reported by key
            if problem not in listed:
                listed.append(problem)
    return {k: v for k, v in problems.items() if v}


def _problems_of_error(schema: dict, data: dict, error, partial: bool):
    path = list(error.absolute_path)
    prop, title = _property_at(schema, path)
    params: dict[str, Any] = {"field": title}
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        missing = _missing_name(error)
        if missing is None:
            return
        if partial and not path:
            return
        conditional = _condition(schema, error)
        missing_prop, missing_title = _property_at(schema, path + [missing])
        key = _path_key(path + [missing])
        if conditional is not None:
            when_field, when_value = conditional
            yield key, FormProblem(REQUIRED_WHEN, {"field": missing_title, "when_field": when_field,
                                                   "when_value": when_value}, "required")
        else:
            yield key, FormProblem(REQUIRED, {"field": missing_title}, "required")
        return
    if kind == "additionalProperties":
        known = set((_schema_at(schema, path).get("properties") or {}))
        instance = error.instance if isinstance(error.instance, dict) else {}
        for name in sorted(set(instance) - known, key=str):
            yield _path_key(path + [name]), FormProblem(UNKNOWN_FIELD, {"field": Text(cut(name), cut(name))}, "unknown")
        return
    key = _path_key(path) or None
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        words = [TYPE_WORDS.get(t, Text(str(t), str(t))) for t in types]
        expected = Text("或".join(w.zh for w in words), " or ".join(w.en for w in words))
        yield key, FormProblem(TYPE, {**params, "expected": expected}, "type")
    elif kind == "enum":
        yield key, FormProblem(ENUM, {**params, "allowed": _choices(prop, value or [])}, "enum")
    elif kind == "const":
        yield key, FormProblem(CONST, {**params, "allowed": choice_label(prop, value)}, "const")
    elif kind == "pattern":
        hint = _pattern_hint(prop)
        if hint is not None:
            yield key, FormProblem(PATTERN_HINT, {**params, "hint": hint}, "pattern")
        else:
            yield key, FormProblem(PATTERN, params, "pattern")
    elif kind == "minLength":
        if value == 1:
            yield key, FormProblem(NOT_EMPTY, params, "minLength")
        else:
            yield key, FormProblem(MIN_LENGTH, {**params, "limit": value}, "minLength")
    elif kind == "maxLength":
        actual = len(error.instance) if isinstance(error.instance, str) else "?"
        yield key, FormProblem(MAX_LENGTH, {**params, "limit": value, "actual": actual}, "maxLength")
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        template = {"minimum": MINIMUM, "maximum": MAXIMUM, "exclusiveMinimum": EXCLUSIVE_MINIMUM,
                    "exclusiveMaximum": EXCLUSIVE_MAXIMUM}[kind]
        yield key, FormProblem(template, {**params, "limit": _number(value)}, kind)
    elif kind == "minItems":
        yield key, FormProblem(MIN_ITEMS, {**params, "limit": value}, kind)
    elif kind == "maxItems":
        yield key, FormProblem(MAX_ITEMS, {**params, "limit": value}, kind)
    elif kind == "uniqueItems":
        yield key, FormProblem(UNIQUE_ITEMS, params, kind)
    elif kind == "format":
        if value == "date":
            yield key, FormProblem(DATE, params, "format")
        elif value == ID_NUMBER_FORMAT:
            found = id_number_form_problem(error.instance, title)
            if found is not None:
                yield key, found
        else:
            yield key, FormProblem(FORMAT, params, "format")
    else:
        yield key, FormProblem(INVALID, params, kind or "invalid")


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _schema_at(schema: dict, path: list) -> dict:
    prop, _ = _property_at(schema, path)
    return prop if path else schema


def _missing_name(error) -> str | None:
    # jsonschema: "<repr of the name> is a required property"
    message = error.message
    suffix = " is a required property"
    if not message.endswith(suffix):
        return None
    try:
        name = ast.literal_eval(message[: -len(suffix)])
    except (ValueError, SyntaxError):
        return None
    return name if isinstance(name, str) else None


def _condition(schema: dict, error) -> tuple[Text, Text] | None:
    """For a ``then: {required}`` of an ``if: {properties: {f: {const: v}}}``: (title of f, label of v)."""
    steps = list(error.relative_schema_path)
    if len(steps) < 2 or steps[-2] != "then":
        return None
    node: Any = schema
    for step in steps[:-2]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    condition = node.get("if") if isinstance(node, dict) else None
    props = (condition or {}).get("properties") if isinstance(condition, dict) else None
    if not isinstance(props, dict) or len(props) != 1:
        return None
    (name, rule), = props.items()
    if not isinstance(rule, dict) or "const" not in rule:
        return None
    if not isinstance(error.instance, dict) or error.instance.get(name) != rule["const"]:
        return None  # the condition holds vacuously (its field is absent): a plain "is required"
    base = _schema_at(schema, list(error.absolute_path))
    prop = (base.get("properties") or {}).get(name) or {}
    return field_title(prop, name), choice_label(prop, rule["const"])


def flatten(problems: dict[str, list]) -> list[str]:
    """All sentences of a problems dict, in order (for a summary line)."""
    return [str(p) for items in problems.values() for p in items]
