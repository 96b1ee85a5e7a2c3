"""webargs' Flask parser, strict about JSON bodies (issue 10, item 10).

An endpoint that declares a JSON body gets one, or a 4xx in the API's error shape:

* no body, or a body that is not ``application/json`` → 415 (never "empty data"); a schema
  whose fields are all optional comments may say ``BODY_OPTIONAL = True`` (no body = ``{}``);
* malformed JSON, JSON nested deeper than :data:`MAX_DEPTH`, a lone surrogate (``"\\ud800"``,
  which no database can store), an integer literal longer than :data:`MAX_INT_DIGITS` digits
  → 400 saying which.

The size of a body is limited before it is read (``server.limits``).
"""
from __future__ import annotations

import json
import re
from functools import cache

import flask_smorest
import marshmallow
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

MAX_DEPTH = 64
MAX_INT_DIGITS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequest(f"an integer in the JSON body has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _check(value) -> None:
    """Depth and surrogates, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadRequest("the JSON body holds a lone surrogate (\\ud800-\\udfff), which is not text")
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadRequest(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def parse_json_body(raw: bytes):
    """The decoded body, or a 400 saying what is wrong with it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the JSON body is not UTF-8") from None
    try:
        value = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {str(exc)[:200]}") from None
    _check(value)
    return value


@cache
def _schema_of(schema_class: type[marshmallow.Schema]) -> marshmallow.Schema:
    # A schema instance holds no state of a load (marshmallow 4 has no schema context): one per
    # class serves every request, instead of building its fields again at each one.
    return schema_class()


class RedwallParser(FlaskParser):
    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, marshmallow.Schema):
            return _schema_of(argmap)
        return super()._get_schema(argmap, req)

    def load_json(self, req, schema):
        raw = req.get_data(cache=True)
        if not raw and not req.mimetype and getattr(schema, "BODY_OPTIONAL", False):
            return {}
        if not req.is_json:
            raise UnsupportedMediaType("this endpoint takes a JSON body (Content-Type: application/json)")
        if not raw.strip():
            raise BadRequest("the JSON body is empty")
        return parse_json_body(raw)


def install_parser() -> None:
    """flask-smorest reads the parser from this class attribute when views are decorated."""
    if not isinstance(flask_smorest.Blueprint.ARGUMENTS_PARSER, RedwallParser):
        flask_smorest.Blueprint.ARGUMENTS_PARSER = RedwallParser()
