"""What happens when a catalogue case is decided and concluded, in the same transaction.

Two one-window reactions to a case step (``workflows.steps``), registered after the
engine's own handlers at start-up (``server.wiring``):

* :func:`issue_certificate_on_decision`: a positive decision (the user task ``decide``
  completed with ``approved``) of a service that issues a certificate puts the certificate
  into the library (证照库), issued by the case;
* :func:`queue_concluded_for_audit`: a case that concludes after ``queue_for_audit`` ran (all
  cases or the service's sample) enters the auditors' queue (``ow_audits``).

Both read the case as the step left it (no query of the case row) and are idempotent: the
certificate is keyed by its issuing case, the audit row by case.
"""
from __future__ import annotations

from sqlalchemy import select

from datacentre.certificates import default_validity, issue_certificate, tenant_today
from datacentre.models import Certificate
from workflows.models import Tenant
from workflows.steps import CompleteTask, Step

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
#: the user task whose completion with ``approved`` is the service's positive decision
DECISION_TASK = "decide"


def issue_certificate_on_decision(step: Step) -> None:
    """A step that completes the decision task with ``approved: true`` issues the service's certificate."""
    command = step.command
    if not isinstance(command, CompleteTask) or command.task_step.task.element_id != DECISION_TASK:
        return
    if (step.extra.get("submitted") or {}).get("approved") is not True:
        return
    case = step.record
    if not case.service_code or case.applicant_id is None:
        return
    service = load_catalogue().services.get(case.service_code)
    if service is None or not service.issues_certificate:
        return
    session = step.uow.session
    type_ = service.issues_certificate
    if session.scalar(select(Certificate.id).where(Certificate.issuing_case_id == case.id, Certificate.type == type_)):
        return
    zone = session.scalar(select(Tenant.timezone).where(Tenant.id == case.tenant_id)) or "Asia/Shanghai"
    today = tenant_today(step.now, zone)
    data = {k: str(case.data.get(k)) for k in CERTIFICATE_DATA.get(type_, ()) if (case.data or {}).get(k) is not None}
    issue_certificate(
        step.uow, case.tenant_id, case.applicant_id, type_, f"{PREFIX.get(type_, 'ZZ')}-{case.number}", issued_on=today,
        valid_until=default_validity(type_, today), issuing_case_id=case.id, issued_by=service.department,
        data=data, actor=step.actor, at=step.now,
    )


def queue_concluded_for_audit(step: Step) -> None:
    """A case that concludes in this step, marked ``audit_queued``, enters the auditors' queue."""
    case = step.record
    if not step.concluded_now or not (case.data or {}).get("audit_queued"):
        return
    session = step.uow.session
    if session.scalar(select(Audit.id).where(Audit.case_id == case.id)) is not None:
        return
    session.add(Audit(tenant_id=case.tenant_id, case_id=case.id, service_code=case.service_code, status="pending",
                      queued_at=step.now))
    session.flush()
    step.uow.record("case.audit_queued", case.tenant_id, case_id=case.id, at=step.now,
                    data={"service_code": case.service_code, "sample_rate": case.data.get("audit_sample_rate")})


