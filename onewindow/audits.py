"""The auditors' queue (办事留痕 → 审计): concluded cases to review, and the findings.

Cases enter the queue when they conclude (all of them, or the sample each service's
``audit_sample_rate`` draws; see :mod:`.conclusion`). An auditor takes a queued case, reads
its trail, and records a finding: the use case verifies the case's hash chain first and
keeps the verification with the finding, so a finding always rests on a verified trail (an
unverifiable trail can only be recorded as ``irregular``).
"""
from __future__ import annotations

from sqlalchemy import select, update

from workflows.accounts import Actor
from workflows.cases import decode_cursor, encode_cursor
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case
from workflows.trail import verify_case_chain

from .models import Audit

READ_ROLES = ("auditor", "admin", "supervisor")
FINDING_ROLES = ("auditor", "admin")
RESULTS = ("compliant", "irregular")
STATUSES = ("pending", "done")


def audit_view(audit: Audit, case_number: str | None) -> dict:
    return {"id": audit.id, "case_id": audit.case_id, "case_number": case_number, "service_code": audit.service_code,
            "status": audit.status, "queued_at": audit.queued_at, "trail_valid": audit.trail_valid,
            "trail_checked": audit.trail_checked, "result": audit.result, "finding": audit.finding,
            "audited_by": audit.audited_by, "audited_at": audit.audited_at}


def audit_queue(ctx: EngineContext, actor: Actor, status: str | None = "pending", limit: int = 50,
                cursor: str | None = None) -> tuple[list[dict], str | None]:
    """The tenant's audit items, oldest first (keyset by id)."""
    if not actor.has_role(*READ_ROLES):
        raise Forbidden("your roles do not allow reading the audit queue")
    if status is not None and status not in STATUSES:
        raise InvalidInput("unknown status", {"status": list(STATUSES)})
    with ctx.unit_of_work() as uow:
        query = select(Audit, Case.number).join(Case, Case.id == Audit.case_id).where(Audit.tenant_id == actor.tenant_id)
        if status:
            query = query.where(Audit.status == status)
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            if not isinstance(last_id, int):
                raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
            query = query.where(Audit.id > last_id)
        rows = uow.session.execute(query.order_by(Audit.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [audit_view(a, n) for a, n in rows], (encode_cursor([rows[-1][0].id]) if more else None)


def record_finding(ctx: EngineContext, actor: Actor, audit_id: int, result: str, finding: str) -> dict:
    """Verify the case's trail and record the auditor's finding (once per queued case)."""
    if not actor.has_role(*FINDING_ROLES):
        raise Forbidden("only auditors record audit findings")
    if result not in RESULTS:
        raise InvalidInput("unknown result", {"result": list(RESULTS)})
    finding = (finding or "").strip()
    if not finding or len(finding) > 4000:
        raise InvalidInput("a finding needs a text of at most 4000 characters", {"finding": ["1..4000 characters"]})
    with ctx.unit_of_work() as uow:
        audit = uow.session.get(Audit, audit_id)
        if audit is None or audit.tenant_id != actor.tenant_id:
            raise NotFound(f"audit item {audit_id} does not exist")
        case_id = audit.case_id
    verification = verify_case_chain(ctx, actor.tenant_id, case_id)
    if not verification["valid"] and result == "compliant":
        raise InvalidInput("the case's trail does not verify: the finding cannot be compliant",
                           {"result": [f"trail broken at seq {verification['first_bad_seq']}"]})
    with ctx.unit_of_work() as uow:
        s = uow.session
        now = ctx.clock()
        done = s.execute(update(Audit).where(Audit.id == audit_id, Audit.status == "pending").values(
            status="done", result=result, finding=finding, trail_valid=verification["valid"],
            trail_checked=verification["checked"], audited_by=actor.username, audited_at=now,
        ))
        if done.rowcount != 1:  # compare-and-set: of two auditors at once, one records
            raise Conflict("a finding has been recorded for this case already")
        audit = s.get(Audit, audit_id)
        s.refresh(audit)
        uow.record("case.audited", actor.tenant_id, case_id=case_id, actor=actor.username, at=now,
                   data={"result": result, "finding": finding, "trail_valid": verification["valid"],
                         "trail_checked": verification["checked"]})
        number = s.scalar(select(Case.number).where(Case.id == case_id))
        view = audit_view(audit, number)
        uow.commit()
        return view
