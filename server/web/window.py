"""The intake window (综合窗口): find the resident, pick the service, see the form prefilled,
type what is missing, and accept, refuse or list what is missing — then print the document."""
from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from datacentre.registry import get_resident, search_residents
from onewindow.catalogue import load_catalogue
from onewindow.eligibility import check_eligibility
from onewindow.materials import missing as missing_materials_of, record as materials_record, service_checklist
from onewindow.prefill import prefill
from workflows.errors import Forbidden, InvalidInput
from desks.window import receive_at_window

from ..form_labels import localise
from .forms import form_fields, parse_submission
from .pages import is_htmx, page_blueprint
from .session import page_login_required

bp = page_blueprint("window", url_prefix="/window")
WINDOW_ROLES = ("intake", "admin")


def ctx():
    return current_app.extensions["redwall"]


def _require_window() -> None:
    if not g.actor.has_role(*WINDOW_ROLES):
        raise Forbidden("only the intake window receives applications")


@bp.get("")
@page_login_required
def home():
    _require_window()
    q = (request.args.get("q") or "").strip()
    results, more = [], None
    if q:
        results, more = search_residents(ctx(), g.actor, q[:50], limit=20)
        if len(results) == 1 and request.args.get("go") == "1":
            # Enter on an unambiguous search goes straight to the resident.
            return redirect(url_for("window.resident", resident_id=results[0]["id"]))
    template = "window/_results.html" if is_htmx() else "window/home.html"
    return render_template(template, q=q, results=results, more=more)


def _services_by_category():
    catalogue = load_catalogue()
    groups = {}
    for service in catalogue.services.values():
        groups.setdefault(service.category, []).append(service)
    return [(catalogue.categories[code], services) for code, services in groups.items()]


@bp.get("/residents/<int:resident_id>")
@page_login_required
def resident(resident_id: int):
    _require_window()
    person = get_resident(ctx(), g.actor, resident_id)
    return render_template("window/resident.html", person=person, categories=_services_by_category())


def _application_page(resident_id: int, code: str, submitted: dict | None = None, errors: dict | None = None,
                      decision: dict | None = None, status: int = 200, presented: list[str] | None = None):
    service = load_catalogue().service(code)
    person = get_resident(ctx(), g.actor, resident_id)
    known = prefill(ctx(), g.actor, code, resident_id)
    values = {name: entry["value"] for name, entry in known["fields"].items()}
    values.update(submitted or {})
    sources = {name: entry["source"] for name, entry in known["fields"].items()}
    field_errors = (errors or {}).get("form") or {}
    required = set(service.form.get("required") or ())
    missing = sorted((name for name in service.fields if name not in known["fields"]), key=lambda n: n not in required)
    fields = form_fields(service.form, values, sources, field_errors, first=missing)
    return render_template(
        "window/apply.html", service=service, person=person, fields=fields, missing=missing,
        prefilled=len(known["fields"]), total=known["total_fields"], decision=decision or {"acceptance": "accept"},
        decision_errors=(errors or {}).get("decision") or {}, other_errors=_other_errors(errors),
        check=_eligibility(code, resident_id), presented=set(presented or ()),
        checklist=service_checklist(ctx(), g.actor, code, resident_id, values)["items"],
    ), status


def _other_errors(errors: dict | None) -> list[str]:
    if not errors:
        return []
    return [f"{k}: {'; '.join(map(str, v))}" for k, v in errors.items() if k not in ("form", "decision") and isinstance(v, list)]


def _eligibility(code: str, resident_id: int) -> dict:
    """Eligibility and open cases, in the page's words (the same check the API offers)."""
    return localise(check_eligibility(ctx(), g.actor, code, resident_id))


@bp.get("/residents/<int:resident_id>/apply/<code>")
@page_login_required
def apply(resident_id: int, code: str):
    _require_window()
    return _application_page(resident_id, code)


@bp.post("/residents/<int:resident_id>/apply/<code>")
@page_login_required
def apply_submit(resident_id: int, code: str):
    _require_window()
    service = load_catalogue().service(code)
    values, problems = parse_submission(service.form, request.form)
    presented = [c for c in request.form.getlist("presented") if c.strip()][:50]
    # The checklist as the clerk ticked it: what the library covers and what was presented;
    # the one-time notice lists exactly the required items left unticked (and anything typed).
    items = service_checklist(ctx(), g.actor, code, resident_id, values)["items"]
    owed = [item["name"] for item in missing_materials_of(items, presented)]
    other = [line.strip() for line in request.form.get("missing_other", "").splitlines() if line.strip()]
    decision = {
        "acceptance": request.form.get("acceptance", "accept"),
        "refusal_reason": request.form.get("refusal_reason", ""),
        "missing_materials": owed + other,
        "missing_other": "\n".join(other),
        "delivery_method": request.form.get("delivery_method") or None,
    }
    if problems:
        return _application_page(resident_id, code, values, {"form": problems}, decision, 422, presented)
    try:
        result = receive_at_window(ctx(), g.actor, code, resident_id, values, decision["acceptance"],
                                   refusal_reason=decision["refusal_reason"],
                                   missing_materials=decision["missing_materials"],
                                   delivery_method=decision["delivery_method"],
                                   materials=materials_record(items, presented))
    except InvalidInput as exc:
        return _application_page(resident_id, code, values, localise(exc.errors or {}), decision, 422, presented)
    case = result["case"]
    if not result["decided"]:
        return redirect(url_for("case_pages.case_page", case_id=case["id"], undecided=1))
    document = {"accept": "receipt", "refuse": "refusal", "supplement": "notice"}[decision["acceptance"]]
    return redirect(url_for("case_pages.document", case_id=case["id"], kind=document))
