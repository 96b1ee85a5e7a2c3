"""Request size limits (issue 10, item 9), checked before a body is read.

* JSON bodies: ``REDWALL_MAX_JSON_BYTES`` (default 1 MiB); ``POST /api/events`` carries a base64
  photo and gets :data:`LARGER_JSON` (4 MiB).
* Multipart uploads (model files): ``REDWALL_MAX_UPLOAD_BYTES`` (default 16 MiB; Flask's
  ``MAX_CONTENT_LENGTH``, so a body streamed without a length is cut there too).

Too large → 413 in the API's error shape, before anything is parsed or stored.
"""
from __future__ import annotations

from flask import request

from .errors import error_response

LARGER_JSON = {"/api/events": 4 * 1024 * 1024}


def install_limits(app) -> None:
    app.config["MAX_CONTENT_LENGTH"] = int(app.config.get("REDWALL_MAX_UPLOAD_BYTES", 16 * 1024 * 1024))
    json_limit = int(app.config.get("REDWALL_MAX_JSON_BYTES", 1024 * 1024))

    @app.before_request
    def refuse_large_bodies():
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        if request.mimetype == "multipart/form-data":
            return None  # MAX_CONTENT_LENGTH
        limit = LARGER_JSON.get(request.path, json_limit)
        length = request.content_length
        if length is None and request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = request.stream.read(limit + 1)
            if len(body) > limit:
                return error_response(413, f"the body is larger than {limit:,} bytes")
            request._cached_data = body  # noqa: SLF001 - werkzeug's own cache of get_data()
            return None
        if length is not None and length > limit:
            return error_response(413, f"the body is larger than {limit:,} bytes")
        return None
