"""The studio's page for moving running cases to another version (issue 12).

Pick the version the cases run on and the one to move them to; elements the new version no
longer has can be mapped to one of its elements; a dry run shows per case 可迁移 / 不可迁移 and
why; then the move starts in the background and the page follows its progress (htmx polling a
fragment) until the report is complete. Everything goes through ``workflows.case_migration``,
the use case of the API and ``redwall migrate``.
"""
from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflows import case_migration
from workflows.errors import InvalidInput

from ..background import start_migration
from .pages import is_htmx, page_blueprint
from .session import page_login_required

bp = page_blueprint("studio_migration", url_prefix="/studio/models/<key>/migrate")


def ctx():
    return current_app.extensions["redwall"]


def _int(value: str | None, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a version number", {what: ["a number"]}) from None


@bp.get("")
@page_login_required
def page(key: str):
    versions = case_migration.versions_with_cases(ctx(), g.actor, key)
    from_version = _int(request.args.get("from"), "from")
    to_version = _int(request.args.get("to"), "to")
    run = None
    run_id = _int(request.args.get("run"), "run")
    if run_id is not None:
        run = case_migration.get_run(ctx(), g.actor, key, run_id)
        from_version, to_version = run["from_version"], run["to_version"]
    if from_version is None:  # the oldest version with running cases, to the latest executable one
        from_version = next((v["version"] for v in versions if v["running"]), versions[0]["version"])
    if to_version is None:
        to_version = next((v["version"] for v in reversed(versions) if v["executable"]), versions[-1]["version"])
    comparison = None
    if from_version != to_version:
        comparison = case_migration.mapping_choices(ctx(), g.actor, key, from_version, to_version)
    mapping = (run or {}).get("mapping") or {}
    return render_template(
        "studio/migrate.html", key=key, versions=versions, from_version=from_version, to_version=to_version,
        comparison=comparison, mapping=mapping, run=run,
        runs=case_migration.list_runs(ctx(), g.actor, key, limit=5),
    )


@bp.post("")
@page_login_required
def start(key: str):
    form = request.form
    from_version = _int(form.get("from_version"), "from_version")
    to_version = _int(form.get("to_version"), "to_version")
    mapping = {name[4:]: value for name, value in form.items() if name.startswith("map:") and value}
    run_id, _report = start_migration(ctx(), g.actor, key, from_version, to_version, mapping=mapping or None,
                                      dry_run=form.get("action") != "start")
    return redirect(url_for("studio_migration.page", key=key, run=run_id) + "#report")


@bp.get("/runs/<int:run_id>")
@page_login_required
def progress(key: str, run_id: int):
    """The report fragment the page polls while a run is under way."""
    run = case_migration.get_run(ctx(), g.actor, key, run_id)
    if not is_htmx():
        return redirect(url_for("studio_migration.page", key=key, run=run_id) + "#report")
    fragment = render_template("studio/_migration_report.html", key=key, run=run)
    # once the run is over, the whole page is reloaded: the list of runs shows its new state too
    return fragment, 200, ({} if run["status"] == "running" else {"HX-Refresh": "true"})


OUTCOMES = {
    "migrated": _l("Moved"),
    "can_migrate": _l("Can be moved"),
    "blocked": _l("Cannot be moved"),
    "stale": _l("Changed meanwhile"),
    "failed": _l("Failed"),
}
STATES = {"running": _l("Running"), "done": _l("Finished"), "interrupted": _l("Stopped")}


def reason_text(reason: dict, to_version: int) -> str:
    """A reason of the report in the reader's language (the use case's message is English)."""
    code, element = reason.get("code"), reason.get("element_id") or ""
    if code == "waiting_element_gone":
        return _("Waits at %(element)s, which version %(version)s no longer has: map it to an element of that version.",
                 element=element, version=to_version)
    if code == "passed_element_gone":
        return _("Went through %(element)s, which version %(version)s no longer has: map it to an element of that version.",
                 element=element, version=to_version)
    if code == "automatic_step":
        return _("After the move it would stand on the automatic step %(element)s: map it to a user task or an event.",
                 element=element)
    if code == "missing_data":
        return _("The new form of %(element)s shows %(field)s from the case data, and the case has none.",
                 element=element, field=reason.get("field") or "")
    if code == "suspended":
        return _("The case is suspended: resume it first.")
    if code == "incident":
        return _("The case has an open incident: resolve it first.")
    if code == "subprocess_gone":
        return _("The subprocess %(element)s the case is in is gone in version %(version)s.", element=element,
                 version=to_version)
    if code == "stale":
        return _("The case changed while it was being moved and was left as it is: run again.")
    return _("Moving failed: %(detail)s", detail=reason.get("message") or "")


@bp.context_processor
def helpers():
    return {
        "outcome_label": lambda outcome: str(OUTCOMES.get(outcome, outcome)),
        "run_state": lambda state: str(STATES.get(state, state)),
        "reason_text": reason_text,
    }
