"""Small helpers shared by the blueprints."""
from __future__ import annotations

import re

from flask import current_app, g, request

from workflows.context import EngineContext
from workflows.errors import StaleWrite

_ETAG = re.compile(r'^(?:W/)?"(?P<kind>[a-z]+)-(?P<id>\d+)-v(?P<version>\d+)"$')


def ctx() -> EngineContext:
    return current_app.extensions["redwall"]


def actor():
    return g.actor


def etag(kind: str, obj_id: int, version: int) -> str:
    return f'"{kind}-{obj_id}-v{version}"'


def expected_version(kind: str, obj_id: int) -> int | None:
    """The version an ``If-Match`` header names; a tag for another object is stale by definition."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match or match["kind"] != kind or int(match["id"]) != obj_id:
        raise StaleWrite(f"If-Match {header!r} does not name the current version of this {kind}")
    return int(match["version"])


def with_etag(response_body: dict, kind: str):
    """Return body and headers so flask-smorest serialises the body and sets the ETag."""
    return response_body, 200, {"ETag": etag(kind, response_body["id"], response_body["version"])}
