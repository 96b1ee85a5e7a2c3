"""What happens when a catalogue case is decided and concluded, in the same transaction.

Cases advance through many use cases (task completion in the worklists, timers, messages),
so the one window listens to the events every unit of work records, just before its commit
(:class:`ConclusionListener` wraps the context's event sink):

* a positive decision (task ``decide`` completed with ``approved``) of a service that issues
  a certificate puts the certificate into the library (证照库), issued by the case;
* a case that concludes after ``queue_for_audit`` ran (all cases or the service's sample)
  enters the auditors' queue (``ow_audits``).

Both are idempotent: the certificate is keyed by its issuing case, the audit row by case.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from datacentre.certificates import default_validity, issue_certificate, tenant_today
from datacentre.models import Certificate
from workflows.context import EngineContext
from workflows.models import Case, Tenant
from workflows.unit_of_work import Event

from .catalogue import load_catalogue
from .models import Audit

# Certificate number prefixes by type (the number also names the issuing case).
PREFIX = {
    "senior_card": "LNZ", "disability_certificate": "CJZ", "disability_card": "CJK",
    "low_income_certificate": "DB", "severe_disability_care_subsidy": "HLBT", "residential_parking_permit": "TCZ",
}
CERTIFICATE_DATA = {  # what a certificate states, taken from the case's data
    "disability_certificate": ("disability_grade", "disability_kind"),
    "severe_disability_care_subsidy": ("disability_grade", "care_arrangement"),
    "low_income_certificate": ("household_no", "household_size"),
    "residential_parking_permit": ("vehicle_plate", "grid"),
}


@dataclass
class _Joined:
    """The committing transaction, seen as a unit of work by the data centre's functions."""

    session: object
    events: list = field(default_factory=list)

    def record(self, kind: str, tenant_id: int, **details) -> Event:
        event = Event(kind=kind, tenant_id=tenant_id, **details)
        self.events.append(event)
        return event


def _case(session, case_id: int):
    return session.execute(
        select(Case.id, Case.tenant_id, Case.number, Case.service_code, Case.applicant_id, Case.data).where(Case.id == case_id)
    ).one_or_none()


def issue_for_decision(session, event: Event, joined: _Joined, now) -> None:
    case = _case(session, event.case_id)
    if case is None or not case.service_code or case.applicant_id is None:
        return
    service = load_catalogue().services.get(case.service_code)
    if service is None or not service.issues_certificate:
        return
    type_ = service.issues_certificate
    if session.scalar(select(Certificate.id).where(Certificate.issuing_case_id == case.id, Certificate.type == type_)):
        return
    zone = session.scalar(select(Tenant.timezone).where(Tenant.id == case.tenant_id)) or "Asia/Shanghai"
    today = tenant_today(now, zone)
    data = {k: str(case.data.get(k)) for k in CERTIFICATE_DATA.get(type_, ()) if (case.data or {}).get(k) is not None}
    issue_certificate(
        joined, case.tenant_id, case.applicant_id, type_, f"{PREFIX.get(type_, 'ZZ')}-{case.number}", issued_on=today,
        valid_until=default_validity(type_, today), issuing_case_id=case.id, issued_by=service.department,
        data=data, actor=event.actor, at=now,
    )


def queue_for_audit(session, event: Event, joined: _Joined, now) -> None:
    case = _case(session, event.case_id)
    if case is None or not (case.data or {}).get("audit_queued"):
        return
    if session.scalar(select(Audit.id).where(Audit.case_id == case.id)) is not None:
        return
    session.add(Audit(tenant_id=case.tenant_id, case_id=case.id, service_code=case.service_code, status="pending",
                      queued_at=now))
    session.flush()
    joined.record("case.audit_queued", case.tenant_id, case_id=case.id, at=now,
                  data={"service_code": case.service_code, "sample_rate": case.data.get("audit_sample_rate")})


class ConclusionListener:
    """An event sink that reacts to decisions and conclusions, then hands every event on."""

    def __init__(self, ctx: EngineContext, inner):
        self.ctx = ctx
        self.inner = inner

    def __call__(self, session, events: list[Event]):
        joined = _Joined(session)
        now = self.ctx.clock()
        for event in list(events):
            if event.case_id is None:
                continue
            if (event.kind == "task.completed" and (event.data or {}).get("element_id") == "decide"
                    and ((event.data or {}).get("submitted") or {}).get("approved") is True):
                issue_for_decision(session, event, joined, event.at or now)
            elif event.kind == "case.status_changed" and (event.data or {}).get("to") == "concluded":
                queue_for_audit(session, event, joined, event.at or now)
        events.extend(joined.events)
        return self.inner(session, events) if self.inner is not None else None


def install(ctx: EngineContext) -> EngineContext:
    """Wire the one window into a context (the app factory and the workers call this once)."""
    if not isinstance(ctx.event_sink, ConclusionListener):
        ctx.event_sink = ConclusionListener(ctx, ctx.event_sink)
    return ctx
