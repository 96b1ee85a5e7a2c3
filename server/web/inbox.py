"""The department inbox (待办) and the task page: group queue and "mine" with badge counts,
filters a clerk can save or share, urgency colours, keyset "more"; on the task page the case
summary, the task's form, and claim / complete / hand back / delegate / resolve."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflows.case_file import case_summary, deadline_view, urgency
from workflows.errors import InvalidInput, NotFound
from supervision.desk import open_presses_for, presses_of_case
from worklists import commands, handling, inbox, saved_filters

from ..form_labels import localise
from .forms import form_fields, form_title, parse_submission
from .pages import is_htmx, page_blueprint
from .session import page_login_required

bp = page_blueprint("inbox")
SCOPES = ("group", "mine", "delegated", "cc")
PAGE = 25


def ctx():
    return current_app.extensions["redwall"]


def _filters_from(args) -> dict:
    """The inbox's query parameters as the clerk set them (strings, for links and saved filters)."""
    keep = {}
    for key in saved_filters.FILTER_KEYS:
        value = (args.get(key) or "").strip()
        if value:
            keep[key] = value[:100]
    keep.setdefault("scope", "group")
    if keep["scope"] not in SCOPES:
        keep["scope"] = "group"
    return keep


def _list_args(filters: dict) -> dict:
    """The use case's arguments from the page's filters (a bad date is a field error in words)."""
    args = {"scope": filters["scope"], "sort": filters.get("sort", "due")}
    if filters.get("service_code"):
        args["service_code"] = filters["service_code"]
    if filters.get("group"):
        args["group"] = filters["group"]
    if filters.get("overdue") == "1":
        args["overdue"] = True
    if filters.get("warned") == "1":
        args["warned"] = True
    if filters.get("due_before"):
        try:
            day = date.fromisoformat(filters["due_before"])
        except ValueError:
            raise InvalidInput(_("“Due before” must be a date such as 2026-12-31."),
                               {"due_before": [_("Enter a date such as 2026-12-31.")]}) from None
        args["due_before"] = datetime.combine(day, time(23, 59, 59), ZoneInfo(g.actor.timezone))
    return args


def _rows(items: list[dict]) -> list[dict]:
    for item in items:
        item["urgency"] = urgency(ctx(), g.actor, item.get("due_at"), item.get("warn_at"))
    return items


@bp.get("/inbox")
@page_login_required
def home():
    filters = _filters_from(request.args)
    if filters["scope"] == "cc":
        return _copies_page(filters)
    try:
        items, cursor = inbox.list_tasks(ctx(), g.actor, limit=PAGE, cursor=request.args.get("cursor") or None,
                                         **_list_args(filters))
        problem = None
    except InvalidInput as exc:
        items, cursor, problem = [], None, exc.message
    if is_htmx() and request.args.get("cursor"):
        return render_template("inbox/_rows.html", items=_rows(items), cursor=cursor, filters=filters)
    from onewindow.catalogue import load_catalogue

    return render_template(
        "inbox/home.html", items=_rows(items), cursor=cursor, filters=filters, problem=problem,
        counts=inbox.count_tasks(ctx(), g.actor), saved=saved_filters.list_filters(ctx(), g.actor),
        services=sorted(load_catalogue().services.values(), key=lambda s: s.category),
        presses=open_presses_for(ctx(), g.actor),
    )


def _copies_page(filters: dict):
    """抄送: the cases colleagues copied to me, read-only, newest first."""
    copies, cursor = handling.list_copies(ctx(), g.actor, limit=PAGE, cursor=request.args.get("cursor") or None)
    return render_template("inbox/copies.html", copies=copies, cursor=cursor, filters=filters,
                           counts=inbox.count_tasks(ctx(), g.actor))


@bp.post("/inbox/copies/<int:copy_id>/read")
@page_login_required
def copy_read(copy_id: int):
    copy = handling.mark_copy_read(ctx(), g.actor, copy_id)
    return redirect(url_for("case_pages.case_page", case_id=copy["case_id"]))


@bp.get("/inbox/counts")
@page_login_required
def counts():
    """The badges alone (refreshed by htmx every 30 seconds without reloading the page)."""
    filters = _filters_from(request.args)
    return render_template("inbox/_tabs.html", counts=inbox.count_tasks(ctx(), g.actor), filters=filters)


@bp.post("/inbox/filters")
@page_login_required
def save_filter():
    filters = _filters_from(request.form)
    share = request.form.get("shared_with") or None
    saved = saved_filters.save_filter(ctx(), g.actor, request.form.get("name", ""), filters, share)
    flash(_("Filter “%(name)s” saved.", name=saved["name"]), "ok")
    return redirect(url_for("inbox.home", **filters))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@page_login_required
def delete_filter(filter_id: int):
    saved_filters.delete_filter(ctx(), g.actor, filter_id)
    flash(_("Filter deleted."), "ok")
    return redirect(url_for("inbox.home"))


@bp.post("/inbox/tasks/<int:task_id>/claim")
@page_login_required
def claim_from_inbox(task_id: int):
    task = commands.claim(ctx(), g.actor, task_id)
    if is_htmx():
        return render_template("inbox/_row.html", item=_rows([task])[0], claimed_now=True)
    return redirect(url_for("inbox.task_page", task_id=task_id))


# -- the task page -------------------------------------------------------------------------
def _task_page(task_id: int, submitted: dict | None = None, errors: dict | None = None, status: int = 200):
    task = inbox.get_task(ctx(), g.actor, task_id)
    summary = case_summary(ctx(), g.actor, task["case_id"])
    schema = task.get("form") or {}
    values = dict(task.get("data") or {})
    values.update(submitted or {})
    fields = form_fields(schema, values, errors=errors or {})
    me = g.actor.username
    holder = task["status"] == "claimed" and task["assignee"] == me
    withdrawable = task["status"] == "completed" and task.get("completed_by") == me and task.get("kind", "user") == "user"
    colleagues = inbox.colleagues(ctx(), g.actor, task["group"]) if holder and task.get("group") else []
    return render_template(
        "inbox/task.html", task=task, summary=summary, fields=fields, form_title=form_title(schema),
        deadline=deadline_view(ctx(), g.actor, summary.get("deadline")),
        urgency=urgency(ctx(), g.actor, task.get("due_at"), task.get("warn_at")),
        holder=holder, delegated_to_me=holder and bool(task.get("delegated_by")), colleagues=colleagues,
        withdrawable=withdrawable, plain=task.get("kind", "user") == "user",
        etag_version=task["version"], presses=presses_of_case(ctx(), g.actor, task["case_id"]),
        files=_files(summary, task),
    ), status


def _files(summary: dict, task: dict) -> dict | None:
    """The case's files with previews on the task page (and the upload form while the task is open)."""
    from onewindow.catalogue import load_catalogue

    from .cases import files_panel

    try:
        service = load_catalogue().service(summary["service_code"]) if summary.get("service_code") else None
    except NotFound:
        service = None
    return files_panel(summary, service, task_id=task["id"], back=url_for("inbox.task_page", task_id=task["id"]))


def _expected_version() -> int | None:
    raw = request.form.get("version")
    return int(raw) if raw and raw.isdigit() and len(raw) < 18 else None


@bp.get("/tasks/<int:task_id>")
@page_login_required
def task_page(task_id: int):
    return _task_page(task_id)


@bp.post("/tasks/<int:task_id>/claim")
@page_login_required
def claim(task_id: int):
    commands.claim(ctx(), g.actor, task_id, _expected_version())
    flash(_("You claimed the task. It is yours until you complete it or hand it back."), "ok")
    return redirect(url_for("inbox.task_page", task_id=task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@page_login_required
def unclaim(task_id: int):
    commands.unclaim(ctx(), g.actor, task_id, _expected_version())
    flash(_("The task is back in the group's queue."), "ok")
    return redirect(url_for("inbox.home"))


@bp.post("/tasks/<int:task_id>/delegate")
@page_login_required
def delegate(task_id: int):
    username = (request.form.get("username") or "").strip()[:150]
    commands.delegate(ctx(), g.actor, task_id, username, request.form.get("comment") or None, _expected_version())
    flash(_("Delegated to %(user)s; it comes back to you when they resolve it.", user=username), "ok")
    return redirect(url_for("inbox.home"))


@bp.post("/tasks/<int:task_id>/resolve")
@page_login_required
def resolve(task_id: int):
    commands.resolve(ctx(), g.actor, task_id, request.form.get("comment") or None, _expected_version())
    flash(_("Resolved: the task went back to the colleague who delegated it."), "ok")
    return redirect(url_for("inbox.home"))


def _usernames(raw: str | None) -> list[str]:
    return [u for u in (raw or "").replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if u][:20]


@bp.post("/tasks/<int:task_id>/send-back")
@page_login_required
def send_back(task_id: int):
    """退回: the case goes back to the previous step on its path, with the reason."""
    earlier = handling.send_back(ctx(), g.actor, task_id, request.form.get("reason", ""),
                                 expected_version=_expected_version())
    flash(_("Sent back to “%(task)s” (%(user)s), with your reason.", task=earlier["name"],
            user=earlier.get("assignee") or ""), "ok")
    return redirect(url_for("inbox.home"))


@bp.post("/tasks/<int:task_id>/transfer")
@page_login_required
def transfer(task_id: int):
    """转办: the task goes to a colleague for good."""
    username = (request.form.get("username") or "").strip()[:150]
    handling.transfer(ctx(), g.actor, task_id, username, request.form.get("comment") or None, _expected_version())
    flash(_("Transferred to %(user)s.", user=username), "ok")
    return redirect(url_for("inbox.home"))


@bp.post("/tasks/<int:task_id>/add-signers")
@page_login_required
def add_signers(task_id: int):
    """加签: colleagues who must also sign, before, after or alongside the holder."""
    usernames = _usernames(request.form.get("usernames"))
    handling.add_signers(ctx(), g.actor, task_id, usernames, request.form.get("mode", "parallel"),
                         request.form.get("comment") or None, _expected_version())
    flash(_("Co-signers added: %(users)s.", users="、".join(usernames)), "ok")
    return redirect(url_for("inbox.task_page", task_id=task_id))


@bp.post("/tasks/<int:task_id>/withdraw")
@page_login_required
def withdraw(task_id: int):
    """撤回: take back what one just completed, while the next step is not yet claimed."""
    reopened = handling.withdraw(ctx(), g.actor, task_id, _expected_version())
    flash(_("Withdrawn: the task is yours again."), "ok")
    return redirect(url_for("inbox.task_page", task_id=reopened["id"]))


@bp.post("/tasks/<int:task_id>/complete")
@page_login_required
def complete(task_id: int):
    task = inbox.get_task(ctx(), g.actor, task_id)
    values, problems = parse_submission(task.get("form") or {}, request.form)
    if problems:
        return _task_page(task_id, values, problems, 422)
    try:
        case, next_tasks = commands.complete(ctx(), g.actor, task_id, values, _expected_version())
    except InvalidInput as exc:
        errors = localise(exc.errors or {}).get("data") or {}
        if not isinstance(errors, dict):
            errors = {}
        return _task_page(task_id, values, errors, 422)
    flash(_("Done: “%(task)s” of case %(number)s is completed.", task=task["name"], number=task["case_number"]), "ok")
    mine_next = [t for t in next_tasks if t.get("assignee") == g.actor.username]
    if mine_next:
        return redirect(url_for("inbox.task_page", task_id=mine_next[0]["id"]))
    return redirect(url_for("inbox.home"))
