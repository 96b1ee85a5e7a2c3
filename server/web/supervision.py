"""The supervisor's dashboard (电子监察): figures per department, service or clerk for a period,
the weekly trend (ECharts, data from ``/supervision/trend.json``), the overdue and warned lists,
pressing (督办) with a comment; and the pressed department's answer (from the inbox, task or case)."""
from __future__ import annotations

from datetime import date

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from supervision import desk as supervision_desk
from workflows.errors import Forbidden, InvalidInput
from workflows.supervision import GROUP_BY, metrics

from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("supervision_desk")


def ctx():
    return current_app.extensions["redwall"]


def _require(*roles: str) -> None:
    if not g.actor.has_role(*roles):
        raise Forbidden("this desk belongs to another role")


def _day(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidInput(_("Enter a date such as 2026-12-31."), {name: [_("Enter a date such as 2026-12-31.")]}) from None


def _totals(rows: list[dict]) -> dict:
    return supervision_desk._sum_rows(rows, None, None)


@bp.get("/supervision")
@page_login_required
def dashboard():
    _require("supervisor", "admin")
    group_by = request.args.get("group_by") or "department"
    if group_by not in GROUP_BY:
        group_by = "department"
    problem = None
    try:
        figures = metrics(ctx(), g.actor, _day("from"), _day("to"), group_by)
    except InvalidInput as exc:
        problem = exc.message
        figures = metrics(ctx(), g.actor, None, None, group_by)
    return render_template(
        "supervision/dashboard.html", figures=figures, totals=_totals(figures["rows"]), group_by=group_by,
        problem=problem, overdue=supervision_desk.watchlist(ctx(), g.actor, "overdue"),
        warned=supervision_desk.watchlist(ctx(), g.actor, "warned"),
    )


@bp.get("/supervision/trend.json")
@page_login_required
def trend():
    _require("supervisor", "admin")
    result = supervision_desk.weekly_trend(ctx(), g.actor, 8)
    weeks = [dict(w, week_start=w["week_start"].isoformat(), week_end=w["week_end"].isoformat()) for w in result["weeks"]]
    labels = {"on_time_rate": _("On-time rate"), "early_rate": _("Early rate"), "overdue_open": _("Overdue open"),
              "warned": _("Warnings"), "rate_axis": _("Rate %"), "count_axis": _("Cases")}
    return jsonify({"weeks": weeks, "labels": labels})


@bp.post("/supervision/cases/<int:case_id>/press")
@page_login_required
def press(case_id: int):
    _require("supervisor", "admin")
    try:
        supervision_desk.press_case(ctx(), g.actor, case_id, request.form.get("comment", ""))
    except InvalidInput:
        flash(_("Write a comment (at most 1,000 characters) to press a case."), "error")
    else:
        flash(_("Pressed. The department sees your comment in its inbox."), "ok")
    return redirect(url_for("supervision_desk.dashboard", _anchor=f"case-{case_id}"))


@bp.post("/presses/<int:press_id>/answer")
@page_login_required
def answer(press_id: int):
    try:
        supervision_desk.answer_press(ctx(), g.actor, press_id, request.form.get("answer", ""))
    except InvalidInput:
        flash(_("Write an answer (at most 1,000 characters)."), "error")
    else:
        flash(_("Your answer was sent to the supervisor."), "ok")
    back = request.form.get("back") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("inbox.home")
    return redirect(back)


@bp.get("/supervision/parking")
@page_login_required
def parking():
    """The parking pressure map: where a car park should be built."""
    _require("supervisor", "admin")
    from datacentre.parking_map import parking_map

    result = parking_map(ctx(), g.actor)
    chosen = (request.args.get("grid") or "").strip()[:40]
    selected = next((c for c in result["cells"] if c["grid"] == chosen), None)
    return render_template("supervision/parking.html", map=result, selected=selected)
