"""One error shape for the whole API: ``{"code", "status", "message", "errors"}``.

Domain errors map to their HTTP status; anything unexpected is logged with its trace
and answered as a plain 500 without internals.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from workflows.errors import (Conflict, Forbidden, InvalidInput, NotFound, RedwallError, StaleWrite, TooLarge,
                             TooManyAttempts, UnsupportedType)

from .form_labels import localise

log = logging.getLogger(__name__)

STATUS_OF = {NotFound: 404, Forbidden: 403, Conflict: 409, StaleWrite: 412, InvalidInput: 422, TooManyAttempts: 429,
             TooLarge: 413, UnsupportedType: 415}


#: Longest text an error repeats from the request; a 20 MB value is never echoed back.
MAX_ECHO = 300


def _short(value, depth: int = 0):
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + f"… ({len(value):,} characters)"
    if depth > 8:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(_short(k, depth + 1)): _short(v, depth + 1) for k, v in items[:100]}
        if len(items) > 100:
            out["…"] = f"{len(items) - 100} more"
        return out
    if isinstance(value, (list, tuple)):
        out = [_short(v, depth + 1) for v in value[:100]]
        return out + [f"… {len(value) - 100} more"] if len(value) > 100 else out
    return value


def error_response(code: int, message: str | None = None, errors: dict | None = None):
    body = {"code": code, "status": HTTPStatus(code).phrase,
            "message": _short(message or HTTPStatus(code).description)}
    if errors:
        body["errors"] = _short(errors)
    response = jsonify(body)
    response.status_code = code
    return response


def register_error_handlers(app) -> None:
    @app.errorhandler(RedwallError)
    def domain_error(exc: RedwallError):
        # field problems (form problems, eligibility) in the request's locale: Chinese unless
        # the session or Accept-Language asks for English
        errors = localise(exc.errors) if exc.errors else exc.errors
        response = error_response(STATUS_OF.get(type(exc), 422), exc.message, errors)
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # flask-smorest/webargs put parsing details on exc.data["messages"]
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") or data.get("errors")
        message = data.get("message") or exc.description
        if exc.code == 422 and errors:
            message = "the request is not valid: " + _first_problem(errors)
        response = error_response(exc.code or 500, message, errors)
        for name, value in (getattr(exc, "get_headers", lambda: [])() or []):
            if name.lower() in ("www-authenticate", "allow", "retry-after"):
                response.headers[name] = value
        return response

    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL text cannot hold NUL; no legitimate input has one. Refuse it at the edge.
        # (uploaded files may legitimately be UTF-16, so only JSON bodies are checked)
        # The body is read once (cached for the parser) and scanned without a lowered copy of it.
        req = request._get_current_object()
        if "\x00" in req.path or b"%00" in req.query_string:
            return error_response(400, "NUL characters are not allowed in requests")
        if req.content_length and req.is_json and _holds_nul(req.get_data(cache=True)):
            return error_response(400, "NUL characters are not allowed in requests")
        return None

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def data_error(exc):
        # A value the database cannot store (out of range, malformed): the input's fault.
        log.info("database refused a value: %s", getattr(exc, "orig", exc))
        return error_response(422, "a value in the request is out of range or malformed")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error")
        return error_response(500, "an unexpected error happened; it has been logged")


def _holds_nul(raw: bytes) -> bool:
    """NUL itself or its JSON escape, ``\\u0000`` (and ``\\U0000``, as the body lowered once matched):
    three scans of the bytes, no lowered copy of the body."""
    return b"\x00" in raw or b"\\u0000" in raw or b"\\U0000" in raw


def _first_problem(errors, path: str = "") -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key in ("json", "query", "files", "form", "headers", "view_args") and not path:
                return _first_problem(value, "")
            return _first_problem(value, f"{path}.{key}" if path else str(key))
    if isinstance(errors, list) and errors:
        return _first_problem(errors[0], path)
    return f"{path}: {errors}" if path else str(errors)
