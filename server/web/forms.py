"""JSON Schema forms as HTML forms: which control each field gets, and the submitted values
turned back into typed JSON (the page's only own logic; the schema's rules are checked by the
same use case the REST API calls).

Labels come from the schema: ``title`` (Chinese), ``x-enum-labels`` / ``x-boolean-labels``,
and ``x-en`` for English (see ``bpmn/catalogue.json``).
"""
from __future__ import annotations

import math

from flask_babel import gettext as _

from ..form_labels import enum_label, field_description, field_title, form_title  # noqa: F401  (form_title: pages)

FIELD_PREFIX = "f."
MAX_SHOWN = 200  # a re-rendered value longer than its field can hold is cut (no echo of huge input)
MAX_SHOWN_TEXT = 4000


def choice_label(prop: dict, value) -> str:
    if isinstance(value, bool) and not ((prop.get("x-boolean-labels") or (prop.get("x-en") or {}).get("boolean-labels"))):
        return _("Yes") if value else _("No")
    return enum_label(prop, value)


def _widget(prop: dict) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in prop:
        return "radio" if len(prop["enum"]) <= 4 else "select"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        items = prop.get("items") or {}
        return "checkboxes" if "enum" in items else "lines"
    if prop.get("format") == "date":
        return "date"
    if (prop.get("maxLength") or 0) > 300:
        return "textarea"
    return "text"


def display_value(prop: dict, value) -> str:
    """A stored value as a person reads it (labels for choices, lines for lists)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or "enum" in prop:
        return choice_label(prop, value)
    if isinstance(value, list):
        items = prop.get("items") or {}
        return "、".join(choice_label(items, v) if "enum" in items else str(v) for v in value)
    return str(value)


def form_fields(schema: dict, values: dict | None = None, sources: dict | None = None,
                errors: dict | None = None, first: list[str] | None = None) -> list[dict]:
    """The fields to render, ``first`` (e.g. the missing ones) leading the tab order."""
    props = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or [])
    values, sources, errors = values or {}, sources or {}, errors or {}
    order = [n for n in (first or []) if n in props] + [n for n in props if n not in (first or [])]
    fields = []
    for name in order:
        prop = props[name]
        widget = _widget(prop)
        options = []
        if widget in ("radio", "select"):
            options = [(str(v), choice_label(prop, v)) for v in prop["enum"]]
        elif widget == "checkboxes":
            options = [(str(v), choice_label(prop["items"], v)) for v in prop["items"]["enum"]]
        value = values.get(name)
        limit = prop.get("maxLength") or (MAX_SHOWN_TEXT if widget == "textarea" else MAX_SHOWN)
        if isinstance(value, str) and len(value) > limit:
            value = value[:limit]  # never echo an oversized value back
        fields.append({
            "name": name, "input": FIELD_PREFIX + name, "title": field_title(prop, name=name),
            "description": field_description(prop) or "",
            "widget": widget, "required": name in required, "options": options, "value": value,
            "text": "\n".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value)),
            "display": display_value(prop, value), "source": sources.get(name), "errors": list(errors.get(name) or []),
            "max_length": prop.get("maxLength"), "minimum": prop.get("minimum"), "maximum": prop.get("maximum"),
            "step": "1" if prop.get("type") == "integer" else "any",
        })
    return fields


def parse_submission(schema: dict, formdata, keep_blank: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """Typed values from an HTML form; fields left blank are left out (the schema's ``required`` decides).

    Returns ``(values, problems)``; a problem is a value the control could not hold (text in a
    number field), named in the page's language.
    """
    props = (schema or {}).get("properties") or {}
    values: dict = {}
    problems: dict[str, list[str]] = {}
    for name, prop in props.items():
        key = FIELD_PREFIX + name
        widget = _widget(prop)
        if widget == "checkboxes":
            chosen = formdata.getlist(key)
            if chosen or key + ".present" in formdata:
                allowed = {str(v): v for v in prop["items"]["enum"]}
                values[name] = [allowed.get(c, c) for c in chosen]
            continue
        if key not in formdata:
            continue
        raw = formdata.get(key, "")
        if widget == "lines":
            lines = [line.strip() for line in raw.splitlines() if line.strip()]
            if lines or keep_blank:
                values[name] = lines
            continue
        raw = raw.strip()
        if raw == "":
            if keep_blank:
                values[name] = None
            continue
        if widget == "boolean":
            if raw in ("true", "false"):
                values[name] = raw == "true"
            else:
                problems[name] = [_("Choose yes or no.")]
        elif widget in ("radio", "select"):
            allowed = {str(v): v for v in prop["enum"]}
            values[name] = allowed.get(raw, raw)
        elif widget == "number":
            try:
                number = float(raw)
                if not math.isfinite(number) or abs(number) > 1e15:
                    raise ValueError(raw)
                values[name] = int(number) if prop.get("type") == "integer" and number.is_integer() else number
                if prop.get("type") == "integer" and not number.is_integer():
                    problems[name] = [_("Enter a whole number.")]
            except ValueError:
                problems[name] = [_("Enter a number.")]
        else:
            values[name] = raw
    return values, problems
