"""Operations and administration (admins): health, cases by status, incidents with a retry button,
and the users of the tenant — add, change roles and groups, reset the password, disable."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from people import user_admin
from workflows.accounts import ROLES
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.incidents import list_incidents, retry_incident
from workflows.operations import cases_by_status

from ..api.ops import health_report
from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("ops_pages")


def ctx():
    return current_app.extensions["redwall"]


def _require() -> None:
    if not g.actor.is_admin:
        raise Forbidden("this desk belongs to admins")


def _codes(text: str) -> list[str]:
    return [c for c in (text or "").replace("，", ",").replace(" ", ",").split(",") if c]


@bp.get("/ops")
@page_login_required
def home():
    _require()
    health, _code = health_report()
    incidents, _cursor = list_incidents(ctx(), g.actor, status="open", limit=50)
    return render_template("ops/home.html", health=health, cases=cases_by_status(ctx(), g.actor),
                           incidents=incidents, users=user_admin.list_users(ctx(), g.actor),
                           groups=user_admin.tenant_groups(ctx(), g.actor), roles=ROLES)


@bp.post("/ops/incidents/<int:incident_id>/retry")
@page_login_required
def retry(incident_id: int):
    _require()
    result = retry_incident(ctx(), g.actor, incident_id)
    if result.get("succeeded"):
        flash(_("The failed step ran again and the case went on."), "ok")
    else:
        flash(_("The step failed again; see the new incident."), "error")
    return redirect(url_for("ops_pages.home"))


def _user_form_problem(exc: InvalidInput) -> None:
    fields = ", ".join(sorted((exc.errors or {}).keys()))
    flash(_("Please check the user's fields: %(fields)s.", fields=fields or exc.message), "error")


@bp.post("/ops/users")
@page_login_required
def add_user():
    _require()
    form = request.form
    try:
        user_admin.create_user(ctx(), g.actor, form.get("username", "").strip(), form.get("password", ""),
                               form.getlist("roles"), _codes(form.get("groups", "")), _codes(form.get("supervises", "")),
                               form.get("display_name", ""))
    except InvalidInput as exc:
        _user_form_problem(exc)
    except Conflict:
        flash(_("That username is taken."), "error")
    else:
        flash(_("User %(name)s added.", name=form.get("username", "").strip()), "ok")
    return redirect(url_for("ops_pages.home", _anchor="users"))


@bp.get("/ops/users/<username>")
@page_login_required
def user_page(username: str):
    _require()
    user = next((u for u in user_admin.list_users(ctx(), g.actor) if u["username"] == username), None)
    if user is None:
        from workflows.errors import NotFound

        raise NotFound(f"no user {username!r}")
    return render_template("ops/user.html", user=user, roles=ROLES, groups=user_admin.tenant_groups(ctx(), g.actor))


@bp.post("/ops/users/<username>")
@page_login_required
def change_user(username: str):
    _require()
    form = request.form
    try:
        user_admin.update_user(ctx(), g.actor, username, form.getlist("roles"), _codes(form.get("groups", "")),
                               _codes(form.get("supervises", "")), form.get("display_name"))
    except InvalidInput as exc:
        _user_form_problem(exc)
    except Conflict:
        flash(_("You cannot take the admin role from yourself."), "error")
    else:
        flash(_("User %(name)s changed.", name=username), "ok")
    return redirect(url_for("ops_pages.user_page", username=username))


@bp.post("/ops/users/<username>/password")
@page_login_required
def reset_password(username: str):
    _require()
    try:
        user_admin.reset_password(ctx(), g.actor, username, request.form.get("password", ""))
    except InvalidInput:
        flash(_("A password needs at least 8 characters."), "error")
    else:
        flash(_("New password set; the user's old sessions and tokens no longer work."), "ok")
    return redirect(url_for("ops_pages.user_page", username=username))


@bp.post("/ops/users/<username>/active")
@page_login_required
def set_active(username: str):
    _require()
    active = request.form.get("active") == "1"
    try:
        user_admin.set_active(ctx(), g.actor, username, active)
    except Conflict:
        flash(_("You cannot disable yourself."), "error")
    else:
        flash(_("User %(name)s enabled.", name=username) if active else
              _("User %(name)s disabled: their sessions and tokens stopped working.", name=username), "ok")
    return redirect(url_for("ops_pages.home", _anchor="users"))


# -- the working-day calendar ---------------------------------------------------------------------
@bp.get("/ops/calendar")
@page_login_required
def calendar_page():
    _require()
    from workflows import calendar as calendar_cases

    raw = (request.args.get("year") or "").strip()
    today_year = ctx().calendar.for_tenant(g.actor.tenant_id).local_date(ctx().clock()).year
    year = int(raw) if raw.isdigit() and len(raw) == 4 and 1900 <= int(raw) <= 2200 else today_year
    view = calendar_cases.year_view(ctx(), g.actor, year)
    return render_template("ops/calendar.html", view=view, year=year, today_year=today_year)


@bp.post("/ops/calendar/days")
@page_login_required
def calendar_set_day():
    _require()
    from datetime import date

    from workflows import calendar as calendar_cases

    form = request.form
    try:
        day = date.fromisoformat((form.get("day") or "").strip())
    except ValueError:
        flash(_("Enter a date such as 2026-12-31."), "error")
        return redirect(url_for("ops_pages.calendar_page"))
    working = form.get("kind") == "workday"
    calendar_cases.set_overrides(ctx(), g.actor, [(day, working, (form.get("name") or "").strip()[:100])])
    flash(_("%(day)s saved.", day=day.isoformat()), "ok")
    return redirect(url_for("ops_pages.calendar_page", year=day.year))


@bp.post("/ops/calendar/days/<day>/remove")
@page_login_required
def calendar_remove_day(day: str):
    _require()
    from datetime import date

    from workflows import calendar as calendar_cases

    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        from workflows.errors import NotFound

        raise NotFound(f"no day {day!r}") from None
    calendar_cases.remove_overrides(ctx(), g.actor, [parsed])
    flash(_("%(day)s follows the national calendar again.", day=parsed.isoformat()), "ok")
    return redirect(url_for("ops_pages.calendar_page", year=parsed.year))


@bp.post("/ops/calendar/import")
@page_login_required
def calendar_import():
    _require()
    from workflows import calendar_desk

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the notice's file first."), "error")
        return redirect(url_for("ops_pages.calendar_page"))
    try:
        result = calendar_desk.import_notice(ctx(), g.actor, upload.read(calendar_desk.MAX_NOTICE_BYTES + 1))
    except InvalidInput as exc:
        flash(_("The file could not be read: %(problem)s", problem=exc.message), "error")
        return redirect(url_for("ops_pages.calendar_page"))
    flash(_("%(n)s days imported. Recompute the open cases' deadlines now.", n=result["days"]), "ok")
    return redirect(url_for("ops_pages.calendar_page", year=result["years"][0]))


@bp.post("/ops/calendar/recompute")
@page_login_required
def calendar_recompute():
    _require()
    from workflows import calendar_desk

    result = calendar_desk.recompute_deadlines(ctx(), g.actor)
    flash(_("%(checked)s deadlines checked, %(changed)s changed, %(skipped)s skipped (paused for the applicant).",
            checked=result["checked"], changed=len(result["changed"]), skipped=len(result["skipped"])), "ok")
    return redirect(url_for("ops_pages.calendar_page", year=request.form.get("year") or None))
