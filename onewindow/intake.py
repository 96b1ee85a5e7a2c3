"""Intake at the one window (一窗受理): a catalogue application becomes a case.

The clerk picks the resident and the service; the form comes prefilled (:mod:`.prefill`);
the clerk types what is missing and submits. :func:`submit_application` validates the whole
form against the service's JSON Schema (422 naming each bad field), checks the service's
eligibility rules (422, ``errors.eligibility``) and open duplicates (409 naming the open
case; :mod:`.eligibility`), starts the case on the department's process with the
service's time limit and audit sampling, and records on the case how many fields were typed and how many came prefilled — the figures of the article.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from datacentre.certificates import tenant_today
from workflows.accounts import Actor
from workflows.model_parsing import form_validator
from workflows.cases import start_case
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.form_problems import problems_of
from workflows.models import ProcessModel
from workflows.unit_of_work import UnitOfWork

from .catalogue import Service, load_catalogue
from .eligibility import DUPLICATE_RULE, eligibility_in
from .models import Intake
from .prefill import prefill_values
from .progress import new_code

INTAKE_ROLES = ("intake", "admin")
ORIGINS = ("window", "proactive", "bulk")


def form_problems(service: Service, form: dict, partial: bool = False) -> dict[str, list[str]]:
    """Every problem of a submitted form, by field name (``form`` for the form as a whole).

    Each problem is a :class:`workflows.form_problems.FormProblem`: an English sentence naming
    the field that the API localises (Chinese by default). ``partial``: missing required fields
    are not problems (a proactive case is started with what the data centre knows; the window
    completes it at acceptance).
    """
    return problems_of(service.form, form, partial=partial, root="form")


def audit_draw(tenant_id: int, service: Service, applicant_id: int, at: datetime) -> bool:
    """Whether the case falls in the service's audit sample (deterministic for the same inputs)."""
    rate = service.audit_sample_rate
    if rate >= 1:
        return True
    digest = hashlib.sha256(f"{tenant_id}:{service.code}:{applicant_id}:{at.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


def count_fields(prefilled: dict, submitted: dict, final: dict) -> tuple[int, int, dict]:
    """(typed, prefilled, sources): a field counts as prefilled when its prefilled value was kept."""
    kept = {name: entry["source"] for name, entry in prefilled.items()
            if name in final and final[name] == entry["value"]}
    typed = sum(1 for name, value in submitted.items() if name not in kept)
    return typed, len(kept), kept


def submit_application(
    ctx: EngineContext, actor: Actor, service_code: str, applicant_id: int, form: dict | None,
    delivery_method: str | None = None, origin: str = "window", origin_key: str | None = None,
    extra_data: dict | None = None, uow: UnitOfWork | None = None,
) -> dict:
    """Receive an application: validate, start the case, record typed/prefilled counts.

    Prefilled values the client leaves out are taken as they are; a value the client sends
    that differs from the prefilled one counts as typed. Given ``uow`` the case is started in
    the caller's unit of work (the proactive job), else in one of its own.
    """
    if not actor.has_role(*INTAKE_ROLES):
        raise Forbidden("only the intake window receives applications")
    try:
        service = load_catalogue().service(service_code)
    except NotFound:
        raise InvalidInput(f"there is no service {service_code!r}", {"service_code": ["not a service of the catalogue"]}) from None
    if not isinstance(form, dict):
        raise InvalidInput("the form must be an object", {"form": ["an object of field values"]})
    if delivery_method not in (None, "window", "door"):
        raise InvalidInput("unknown delivery method", {"delivery_method": ["window or door"]})
    if origin not in ORIGINS:
        raise InvalidInput("unknown origin", {"origin": [f"one of {', '.join(ORIGINS)}"]})
    if uow is not None:
        return _receive(ctx, uow, actor, service, applicant_id, form, delivery_method, origin, origin_key, extra_data)
    with ctx.unit_of_work() as own:
        view = _receive(ctx, own, actor, service, applicant_id, form, delivery_method, origin, origin_key, extra_data)
        own.commit()
    return view


def _receive(ctx, uow, actor, service: Service, applicant_id, form, delivery_method, origin, origin_key, extra_data) -> dict:
    s = uow.session
    now = ctx.clock()
    today = tenant_today(now, actor.timezone)
    known = prefill_values(s, actor.tenant_id, service, applicant_id, today)  # NotFound: unknown resident
    prefilled = known["fields"]
    final = {name: entry["value"] for name, entry in prefilled.items()}
    final.update(form)
    ineligible = []
    if origin != "proactive":  # the proactive rules choose their residents themselves
        check = eligibility_in(s, actor.tenant_id, service, applicant_id, today, lock=True)
        duplicates = [p for p in check["problems"] if p["rule"] == DUPLICATE_RULE]
        if duplicates:
            numbers = ", ".join(str(c["number"]) for c in check["open_cases"])
            raise Conflict(f"the resident already has an open application for this service: {numbers}",
                           {"eligibility": duplicates, "open_cases": check["open_cases"]})
        ineligible = [p for p in check["problems"] if p["rule"] != DUPLICATE_RULE]
    problems = form_problems(service, final, partial=origin == "proactive")
    if problems or ineligible:
        errors = {"form": problems} if problems else {}
        if ineligible:
            errors["eligibility"] = ineligible
        message = ("the form does not match the service's form" if problems
                   else "the applicant does not meet the conditions of this service")
        raise InvalidInput(message, errors)
    if s.scalar(select(ProcessModel.id).where(ProcessModel.tenant_id == actor.tenant_id,
                                              ProcessModel.key == service.process_key).limit(1)) is None:
        raise Conflict(f"the process {service.process_key!r} of this service is not deployed in your tenant")
    if origin_key is not None and s.scalar(select(Intake.id).where(
            Intake.tenant_id == actor.tenant_id, Intake.origin_key == origin_key)) is not None:
        raise Conflict(f"a case for {origin_key!r} exists already")
    typed, kept, sources = count_fields(prefilled, form, final)
    data = {
        **final,
        **(extra_data or {}),
        "service_code": service.code,
        "service_name": service.name,
        "applicant_id": applicant_id,
        "department": service.department,
        "time_limit_working_days": service.time_limit_working_days,
        "delivery_method": delivery_method or (extra_data or {}).get("delivery_method") or "window",
        "audit_sample_rate": service.audit_sample_rate,
        "audit_sampled": audit_draw(actor.tenant_id, service, applicant_id, now),
        "materials_required": [m["code"] for m in service.materials],
        "fields_missing": [name for name in service.form.get("required", []) if name not in final],
    }
    case = start_case(ctx, actor, service.process_key, data, service_code=service.code,
                      applicant_id=applicant_id, uow=uow)
    intake = Intake(
        tenant_id=actor.tenant_id, case_id=case["id"], service_code=service.code, applicant_id=applicant_id,
        origin=origin, origin_key=origin_key, total_fields=known["total_fields"], prefilled_fields=kept,
        typed_fields=typed, sources=sources, received_by=actor.username, created_at=now, progress_code=new_code(),
    )
    s.add(intake)
    s.flush()
    counts = {"total_fields": known["total_fields"], "prefilled_fields": kept, "typed_fields": typed}
    uow.record("case.intake", actor.tenant_id, case_id=case["id"], actor=actor.username, at=now,
               data={"service_code": service.code, "origin": origin, **counts, "sources": sources})
    case["intake"] = {**counts, "origin": origin, "sources": sources}
    case["progress_code"] = intake.progress_code
    return case


def intake_of(session, tenant_id: int, case_id: int) -> dict | None:
    row = session.scalar(select(Intake).where(Intake.tenant_id == tenant_id, Intake.case_id == case_id))
    if row is None:
        return None
    return {"total_fields": row.total_fields, "prefilled_fields": row.prefilled_fields,
            "typed_fields": row.typed_fields, "origin": row.origin, "sources": dict(row.sources or {})}




MAX_BULK = 200


def submit_bulk(ctx: EngineContext, actor: Actor, service_code: str, entries: list[dict]) -> dict:
    """Bulk entry (e.g. the disabled persons' family situation form, 《残疾人家庭情况表》).

    Each entry ``{"applicant_id", "form"}`` is received as its own application (origin
    ``bulk``), in its own transaction: a bad entry is reported with its index and problems
    and does not hold back the others. Returns the cases created, the entries rejected and
    the typed/prefilled totals of the batch.
    """
    if not actor.has_role(*INTAKE_ROLES):
        raise Forbidden("only the intake window receives applications")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BULK:
        raise InvalidInput("a batch holds 1 to 200 entries", {"entries": [f"1..{MAX_BULK} entries"]})
    created, rejected = [], []
    for index, entry in enumerate(entries):
        applicant_id = entry.get("applicant_id") if isinstance(entry, dict) else None
        if isinstance(applicant_id, bool) or not isinstance(applicant_id, int):
            rejected.append({"index": index, "message": "applicant_id is required", "errors": {"applicant_id": ["an id"]}})
            continue
        try:
            case = submit_application(ctx, actor, service_code, applicant_id, entry.get("form") or {}, origin="bulk")
        except (InvalidInput, NotFound, Conflict) as exc:
            if isinstance(exc, InvalidInput) and "service_code" in exc.errors:
                raise
            rejected.append({"index": index, "message": exc.message, "errors": exc.errors})
            continue
        created.append({"index": index, "case_id": case["id"], "number": case["number"], "applicant_id": applicant_id,
                        "typed_fields": case["intake"]["typed_fields"], "prefilled_fields": case["intake"]["prefilled_fields"],
                        "total_fields": case["intake"]["total_fields"]})
    typed = sum(c["typed_fields"] for c in created)
    total = sum(c["total_fields"] for c in created)
    return {"service_code": service_code, "created": created, "rejected": rejected,
            "typed_fields": typed, "prefilled_fields": sum(c["prefilled_fields"] for c in created),
            "full_form_fields": total, "typed_per_form": round(typed / len(created), 2) if created else None}
