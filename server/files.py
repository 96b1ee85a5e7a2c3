"""Case files at the edge: the configured store and limits, and how a file is sent.

Sending: ``Content-Disposition: attachment`` unless the file is a JPEG or PNG asked for inline
(images cannot run script); every file response also carries ``X-Content-Type-Options: nosniff``,
a ``Content-Security-Policy`` of ``default-src 'none'; sandbox`` and ``Cache-Control: no-store``
(scans are personal data). The bytes stream from the store a chunk at a time.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app
from sqlalchemy.orm import sessionmaker

from onewindow.file_storage import DatabaseStore, FolderStore
from onewindow.files import INLINE_TYPES, Limits


def init_files(app) -> None:
    config = app.config
    kind = config.get("REDWALL_FILE_STORAGE") or (
        "database" if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "folder")
    if kind not in ("folder", "database"):
        raise ValueError(f"REDWALL_FILE_STORAGE must be folder or database, not {kind!r}")
    folder = FolderStore(config.get("REDWALL_FILE_DIR") or Path(app.instance_path) / "files")
    stores = {"folder": folder, "database": DatabaseStore()}
    app.extensions["redwall_files"] = {
        "store": stores[kind], "stores": stores,
        "limits": Limits(max_file_bytes=int(config.get("REDWALL_FILE_MAX_BYTES") or 10 * 1024 * 1024),
                         max_case_bytes=int(config.get("REDWALL_CASE_FILES_MAX_BYTES") or 50 * 1024 * 1024)),
    }


def store():
    return current_app.extensions["redwall_files"]["store"]


def stores():
    return current_app.extensions["redwall_files"]["stores"]


def read_sessions():
    """Sessions of their own for streaming a file's chunks after the view has returned."""
    from .extensions import db

    files = current_app.extensions["redwall_files"]
    if "read_sessions" not in files:
        files["read_sessions"] = sessionmaker(bind=db.engine)
    return files["read_sessions"]


def limits() -> Limits:
    return current_app.extensions["redwall_files"]["limits"]


def file_response(view: dict, chunks, inline: bool = False) -> Response:
    inline = inline and view["content_type"] in INLINE_TYPES
    ascii_name = f"file-{view['id']}.{view['name'].rsplit('.', 1)[-1]}"
    disposition = f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(view['name'])}"
    response = Response(chunks, mimetype=view["content_type"], direct_passthrough=True)
    response.headers["Content-Length"] = str(view["size"])
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Nothing a file holds may run as this site: no scripts, no styles, a sandbox (no origin).
    # A PDF opened in the browser's own viewer cannot be sandboxed (the viewer is then refused),
    # so it gets "default-src 'none'" alone: the viewer's scripting never touches this origin.
    pdf_inline = inline and view["content_type"] == "application/pdf"
    response.headers["Content-Security-Policy"] = "default-src 'none'" if pdf_inline else "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-File-SHA256"] = view["sha256"]
    return response
