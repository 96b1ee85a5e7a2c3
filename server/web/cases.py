"""The case page (data, certificates, the story, the diagram) and the window's documents:
受理回执 (receipt), 一次性告知单 (notice of missing materials), 不予受理通知书 (refusal)."""
from __future__ import annotations

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from datacentre.certificates import issued_by_case
from onewindow.catalogue import load_catalogue
from onewindow.receipts import intake_of_case
from workflows.case_file import case_diagram, case_story, deadline_view
from workflows.cases import get_case
from workflows.errors import Forbidden, NotFound
from workflows.supervision_desk import presses_of_case
from worklists import handling
from worklists.window import materials_supplied

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
    )


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
    )


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
