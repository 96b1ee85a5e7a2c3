"""The auditor's desk (审计): the audit queue, case search, a case's trail as a timeline with its
verification (the first bad event highlighted), the JSON export and the printable page served to
the browser session, events that belong to no case, pulling a case into the queue."""
from __future__ import annotations

import json
from datetime import date

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from onewindow import audit_desk
from onewindow.audits import audit_queue
from workflows import trail
from workflows.errors import Conflict, Forbidden, InvalidInput

from ..api.trail import TrailExportSchema, printable_trail
from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("audit_pages")


def ctx():
    return current_app.extensions["redwall"]


def _require() -> None:
    if not g.actor.has_role(*audit_desk.DESK_ROLES):
        raise Forbidden("this desk belongs to another role")


def _day(args, name: str, problems: dict) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        problems[name] = _("Enter a date such as 2026-12-31.")
        return None


def _text(args, name: str, most: int) -> str | None:
    value = (args.get(name) or "").strip()
    return value[:most] or None


@bp.get("/audit")
@page_login_required
def home():
    _require()
    args = request.args
    problems: dict = {}
    criteria = {"number": _text(args, "number", 40), "service_code": _text(args, "service_code", 64),
                "applicant": _text(args, "applicant", 100), "status": _text(args, "status", 20)}
    if criteria["status"] not in (None, *audit_desk.CASE_STATUSES):
        criteria["status"] = None
    criteria["date_from"], criteria["date_to"] = _day(args, "from", problems), _day(args, "to", problems)
    searched = any(v for v in criteria.values())
    found = []
    if searched and not problems:
        try:
            found = audit_desk.search_cases(ctx(), g.actor, **criteria)
        except InvalidInput as exc:
            problems["from"] = exc.message
    queue, _cursor = audit_queue(ctx(), g.actor, status="pending", limit=50)
    return render_template("audit/home.html", queue=queue, found=found, searched=searched, problems=problems,
                           args=args, statuses=audit_desk.CASE_STATUSES)


@bp.get("/audit/cases/<int:case_id>")
@page_login_required
def case_trail(case_id: int):
    _require()
    body = trail.case_trail(ctx(), g.actor, case_id)
    verification = trail.verify_case(ctx(), g.actor, case_id)
    bad = {p["seq"]: p["reason"] for p in verification["problems"] if p.get("seq") is not None}
    for event in body["events"]:
        event["problem"] = bad.get(event["seq"])
        event["data_text"] = json.dumps(event["data"], ensure_ascii=False, sort_keys=True) if event["data"] else ""
    return render_template("audit/case.html", trail=body, case=body["case"], verification=verification,
                           audit=audit_desk.audit_item_of(ctx(), g.actor, case_id), kind_labels=trail.KIND_LABELS)


@bp.get("/audit/cases/<int:case_id>/trail.json")
@page_login_required
def export(case_id: int):
    _require()
    body = trail.case_trail_export(ctx(), g.actor, case_id)
    text = json.dumps(TrailExportSchema().dump(body), ensure_ascii=False, indent=1)
    filename = f"trail-{body['case']['number'] or case_id}.json"
    return Response(text, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/audit/cases/<int:case_id>/print")
@page_login_required
def print_trail(case_id: int):
    _require()
    g.allow_inline_styles = True  # the printable page is self-contained (its own <style>)
    return printable_trail(trail.case_trail_export(ctx(), g.actor, case_id), g.actor.timezone)


@bp.post("/audit/cases/<int:case_id>/queue")
@page_login_required
def pull(case_id: int):
    _require()
    try:
        audit_desk.pull_into_audit(ctx(), g.actor, case_id)
    except Conflict:
        flash(_("The case is in the audit queue already."), "error")
    else:
        flash(_("The case is in the audit queue."), "ok")
    return redirect(url_for("audit_pages.case_trail", case_id=case_id))


@bp.get("/audit/events")
@page_login_required
def events():
    _require()
    args = request.args
    problems: dict = {}
    filters = {"kind": _text(args, "kind", 64), "who": _text(args, "actor", 150)}
    filters["date_from"], filters["date_to"] = _day(args, "from", problems), _day(args, "to", problems)
    items, cursor = [], None
    if not problems:
        try:
            items, cursor = audit_desk.tenant_events(ctx(), g.actor, cursor=_text(args, "cursor", 200), **filters)
        except InvalidInput as exc:
            problems["cursor"] = exc.message
    for item in items:
        item["data_text"] = json.dumps(item["data"], ensure_ascii=False, sort_keys=True) if item["data"] else ""
    more_args = {k: v for k, v in args.items() if k != "cursor" and v}
    return render_template("audit/events.html", items=items, cursor=cursor, problems=problems, args=args,
                           more_args=more_args, kinds=audit_desk.event_kinds(ctx(), g.actor),
                           kind_labels=trail.KIND_LABELS)
