"""The case page (data, certificates, the story, the diagram) and the window's documents:
受理回执 (receipt), 一次性告知单 (notice of missing materials), 不予受理通知书 (refusal)."""
from __future__ import annotations

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from datacentre.certificates import issued_by_case
from onewindow import files as case_files
from onewindow.catalogue import load_catalogue
from onewindow.progress import progress_code_of
from onewindow.receipts import intake_of_case
from workflows.case_file import case_diagram, case_story, deadline_view
from workflows.cases import get_case
from workflows.errors import Forbidden, InvalidInput, NotFound, RedwallError
from supervision.desk import presses_of_case
from worklists import handling
from desks.window import materials_supplied

from ..files import file_response, limits, read_sessions, store, stores
from .forms import display_value, field_title
from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("case_pages", url_prefix="/cases")
DOCUMENTS = ("receipt", "notice", "refusal")


def ctx():
    return current_app.extensions["redwall"]


def _service(case: dict):
    try:
        return load_catalogue().service(case["service_code"]) if case.get("service_code") else None
    except NotFound:
        return None


def data_rows(case: dict, service) -> list[dict]:
    """The case's form data as labelled rows (the service's form order first)."""
    data = case.get("data") or {}
    rows = []
    if service is not None:
        for name, prop in service.form.get("properties", {}).items():
            if name in data:
                rows.append({"title": field_title(prop, name=name), "value": display_value(prop, data[name])})
    return rows


@bp.get("/<int:case_id>")
@page_login_required
def case_page(case_id: int):
    case = get_case(ctx(), g.actor, case_id)
    service = _service(case)
    g.allow_inline_styles = True  # the diagram viewer styles the SVG it draws
    return render_template(
        "cases/case.html", case=case, service=service, rows=data_rows(case, service),
        deadline=deadline_view(ctx(), g.actor, case.get("deadline")),
        certificates=issued_by_case(ctx(), g.actor, case_id), story=case_story(ctx(), g.actor, case_id),
        undecided=request.args.get("undecided") == "1", presses=presses_of_case(ctx(), g.actor, case_id),
        files=files_panel(case, service),
    )


# -- files on the case -----------------------------------------------------------------------
def files_panel(case: dict, service, task_id: int | None = None, back: str | None = None) -> dict | None:
    """What the files panel shows, or None for someone who may not see the case's files."""
    try:
        items = case_files.list_files(ctx(), g.actor, case["id"])
    except (NotFound, Forbidden):
        return None
    return {"case_id": case["id"], "list": items, "task_id": task_id, "back": back or request.path,
            "may_upload": case_files.may_upload(ctx(), g.actor, case["id"]),
            "may_open": case_files.may_open(ctx(), g.actor, case["id"]),
            "materials": list(service.materials) if service is not None else [],
            "max_mb": limits().max_file_bytes // (1024 * 1024)}


UPLOAD_PROBLEMS = {
    413: lambda mb: _("The file is too large (at most %(mb)s MB a file), or the case has no room left for it.", mb=mb),
    415: lambda mb: _("Only PDF, JPEG, PNG and OFD files are accepted; this file's content is none of them, or it is damaged."),
    422: lambda mb: _("Choose a file to attach (and, if it is a scan of a material, which one)."),
    409: lambda mb: _("Files are attached while the case is open."),
}


def _safe_back(default: str) -> str:
    back = request.form.get("back") or ""
    return back if back.startswith("/") and not back.startswith("//") and "\\" not in back else default


@bp.post("/<int:case_id>/files")
@page_login_required
def upload(case_id: int):
    back = _safe_back(url_for("case_pages.case_page", case_id=case_id))
    sent = request.files.get("file")
    task_id = request.form.get("task_id")
    try:
        if sent is None or not sent.filename:
            raise InvalidInput("no file", {"file": ["a file"]})
        saved = case_files.upload_file(
            ctx(), g.actor, store(), limits(), case_id, sent.stream, sent.filename,
            material_code=request.form.get("material_code") or None,
            task_id=int(task_id) if task_id and task_id.isdigit() and len(task_id) < 18 else None)
    except (NotFound, Forbidden):
        raise  # the error page: nothing of the case is shown
    except RedwallError as exc:
        from ..errors import STATUS_OF

        code = STATUS_OF.get(type(exc), 422)
        message = UPLOAD_PROBLEMS.get(code, UPLOAD_PROBLEMS[422])
        flash(message(limits().max_file_bytes // (1024 * 1024)), "error")
        return redirect(back)
    flash(_("Attached %(name)s.", name=saved["name"]), "ok")
    return redirect(back)


@bp.get("/files/<int:file_id>")
@page_login_required
def file(file_id: int):
    view, chunks = case_files.open_file(ctx(), g.actor, stores(), file_id, read_sessions())
    return file_response(view, chunks, inline=request.args.get("inline") == "1")


@bp.get("/<int:case_id>/diagram")
@page_login_required
def diagram(case_id: int):
    """The model's BPMN and where the case has been and waits, for the bpmn-js viewer."""
    return jsonify(case_diagram(ctx(), g.actor, case_id))


@bp.get("/<int:case_id>/documents/<kind>")
@page_login_required
def document(case_id: int, kind: str):
    if kind not in DOCUMENTS:
        raise NotFound(f"no document {kind!r}")
    case = get_case(ctx(), g.actor, case_id)
    if kind == "receipt" and not g.actor.has_role("intake", "admin"):
        raise Forbidden("only the window prints receipts")
    service = _service(case)
    intake = intake_of_case(ctx(), g.actor, case_id)
    return render_template(
        f"cases/{kind}.html", case=case, service=service, intake=intake,
        deadline=deadline_view(ctx(), g.actor, case.get("deadline")),
        progress=_progress_slip(case) if kind == "receipt" else None,
    )


def _progress_slip(case: dict) -> dict | None:
    """The receipt's verification code and a QR code of the progress page's address (SVG, drawn here)."""
    import segno
    from markupsafe import Markup

    code = progress_code_of(ctx(), g.actor, case["id"])
    if not code or not case.get("number"):
        return None
    base = (current_app.config.get("REDWALL_PUBLIC_URL") or request.host_url).rstrip("/")
    address = base + url_for("progress.page", number=case["number"], code=code)
    svg = segno.make(address, error="m").svg_inline(scale=3, title=_("QR code of the progress page"))
    return {"code": code, "url": address, "qr": Markup(svg)}


@bp.post("/<int:case_id>/materials-supplied")
@page_login_required
def supplied(case_id: int):
    if not g.actor.has_role("intake", "admin"):
        raise Forbidden("the window records that materials were supplied")
    materials_supplied(ctx(), g.actor, case_id)
    case = get_case(ctx(), g.actor, case_id)
    task = next((t for t in case["tasks"] if t.get("element_id") == "accept_application"), None)
    if task is not None:
        return redirect(url_for("inbox.task_page", task_id=task["id"]))
    return redirect(url_for("case_pages.case_page", case_id=case_id))


# -- handling operations on the whole case (抄送 copy, 催办 urge, 挂起/恢复 suspend and resume) ----------
def _back(case_id: int):
    return redirect(url_for("case_pages.case_page", case_id=case_id))


@bp.post("/<int:case_id>/cc")
@page_login_required
def copy(case_id: int):
    usernames = [u for u in (request.form.get("usernames") or "").replace("，", ",").replace("、", ",")
                 .replace(" ", ",").split(",") if u][:20]
    handling.copy_case(ctx(), g.actor, case_id, usernames, request.form.get("comment") or None)
    flash(_("Copied to %(users)s: they can read the case.", users="、".join(usernames)), "ok")
    return _back(case_id)


@bp.post("/<int:case_id>/urge")
@page_login_required
def urge(case_id: int):
    handling.urge(ctx(), g.actor, case_id, request.form.get("comment") or None)
    flash(_("Urged: the clerks holding the case see it in their inbox."), "ok")
    return _back(case_id)


@bp.post("/<int:case_id>/suspend")
@page_login_required
def suspend(case_id: int):
    handling.suspend(ctx(), g.actor, case_id, request.form.get("reason", ""), _version())
    flash(_("The case is suspended: no task can be worked, no timer fires, the deadline clock stands still."), "ok")
    return _back(case_id)


@bp.post("/<int:case_id>/resume")
@page_login_required
def resume(case_id: int):
    handling.resume(ctx(), g.actor, case_id, _version())
    flash(_("The case is resumed; its deadline moved by the time it was suspended."), "ok")
    return _back(case_id)


def _version() -> int | None:
    raw = request.form.get("version")
    return int(raw) if raw and raw.isdigit() and len(raw) < 18 else None
