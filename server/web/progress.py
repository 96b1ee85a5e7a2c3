"""The residents' progress page (办件进度查询): no sign-in, the case number and the receipt's code."""
from __future__ import annotations

from flask import current_app, render_template, request

from onewindow.progress import public_progress
from workflows.errors import NotFound, TooManyAttempts

from .pages import page_blueprint

bp = page_blueprint("progress", url_prefix="/progress")


@bp.get("")
def page():
    number = (request.args.get("number") or "").strip()[:40]
    code = (request.args.get("code") or "").strip()[:12]
    result, problem, status = None, None, 200
    if number or code:
        try:
            result = public_progress(current_app.extensions["redwall"], number, code, request.remote_addr)
        except NotFound:
            problem, status = "not_found", 404
        except TooManyAttempts:
            problem, status = "too_many", 429
    return render_template("progress/page.html", number=number, code=code, result=result, problem=problem), status
