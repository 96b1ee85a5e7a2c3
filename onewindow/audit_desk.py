"""The auditor's desk (审计 / 监察室): find cases, read events that belong to no case, pull a case
into the audit queue.

* :func:`search_cases` — by number (or its part), service, applicant (name or registry id),
  period of receipt and status; newest first.
* :func:`tenant_events` — the tenant's case-less trail chain (``pii.read``, sign-ins and
  lockouts, user and role changes, deployments …), newest first, filterable by kind (or a kind
  prefix such as ``user.``), actor and period; keyset pages by ``seq``.
* :func:`pull_into_audit` — besides the sample drawn at conclusion, an auditor puts any case of
  the tenant in the queue; recorded as ``case.audit_queued`` with who pulled it.

Auditors and admins only; everything is scoped to the actor's tenant.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from datacentre.models import Person
from workflows.accounts import Actor
from workflows.cases import decode_cursor, encode_cursor
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case, TrailEvent

from .audits import audit_view
from .models import Audit

DESK_ROLES = ("auditor", "admin")
CASE_STATUSES = ("open", "waiting_applicant", "concluded", "refused", "terminated")
MAX_LIMIT = 200


def _require(actor: Actor) -> None:
    if not actor.has_role(*DESK_ROLES):
        raise Forbidden("the audit desk belongs to auditors and admins")


def _limit(limit) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit out of range", {"limit": [f"between 1 and {MAX_LIMIT}"]})
    return limit


def _bounds(actor: Actor, date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("'from' is after 'to'", {"from": ["must not be after 'to'"]})
    zone = ZoneInfo(actor.timezone)
    start = datetime.combine(date_from, time.min, zone) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time.min, zone) if date_to else None
    return start, end


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_cases(ctx: EngineContext, actor: Actor, number: str | None = None, service_code: str | None = None,
                 applicant: str | None = None, date_from: date | None = None, date_to: date | None = None,
                 status: str | None = None, limit: int = 50) -> list[dict]:
    """Cases of the tenant matching every criterion given, newest first (at most ``limit``)."""
    _require(actor)
    limit = _limit(limit)
    if status is not None and status not in CASE_STATUSES:
        raise InvalidInput("unknown status", {"status": list(CASE_STATUSES)})
    start, end = _bounds(actor, date_from, date_to)
    query = (select(Case.id, Case.number, Case.status, Case.service_code, Case.process_key, Case.created_at,
                    Case.ended_at, Case.deadline, Case.applicant_id, Person.name.label("applicant_name"))
             .select_from(Case).outerjoin(Person, Person.id == Case.applicant_id)
             .where(Case.tenant_id == actor.tenant_id))
    if number and number.strip():
        query = query.where(Case.number.ilike(_like(number.strip()), escape="\\"))
    if service_code and service_code.strip():
        query = query.where(Case.service_code == service_code.strip())
    if applicant and applicant.strip():
        who = applicant.strip()
        query = query.where(Case.applicant_id == int(who)) if who.isdigit() and len(who) < 18 else \
            query.where(Person.name.ilike(_like(who), escape="\\"))
    if start is not None:
        query = query.where(Case.created_at >= start)
    if end is not None:
        query = query.where(Case.created_at < end)
    if status:
        query = query.where(Case.status == status)
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(query.order_by(Case.id.desc()).limit(limit)).all()
        queued = set(uow.session.scalars(select(Audit.case_id).where(Audit.case_id.in_([r.id for r in rows])))) if rows else set()
    return [{"id": r.id, "number": r.number, "status": r.status, "service_code": r.service_code or r.process_key,
             "applicant_id": r.applicant_id, "applicant_name": r.applicant_name, "created_at": r.created_at,
             "ended_at": r.ended_at, "deadline": r.deadline, "in_audit_queue": r.id in queued} for r in rows]


def tenant_events(ctx: EngineContext, actor: Actor, kind: str | None = None, who: str | None = None,
                  date_from: date | None = None, date_to: date | None = None, limit: int = 50,
                  cursor: str | None = None) -> tuple[list[dict], str | None]:
    """The events that belong to no case, newest first. ``kind`` is exact, or a prefix ending in
    a dot (``user.``); ``who`` the acting username."""
    _require(actor)
    limit = _limit(limit)
    start, end = _bounds(actor, date_from, date_to)
    events = TrailEvent.__table__
    query = select(events.c.seq, events.c.at, events.c.kind, events.c.actor, events.c.data).where(
        events.c.tenant_id == actor.tenant_id, events.c.case_id.is_(None))
    if kind and kind.strip():
        kind = kind.strip()
        query = query.where(events.c.kind.startswith(kind, autoescape=True) if kind.endswith(".") else events.c.kind == kind)
    if who and who.strip():
        query = query.where(events.c.actor == who.strip())
    if start is not None:
        query = query.where(events.c.at >= start)
    if end is not None:
        query = query.where(events.c.at < end)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if not isinstance(before, int):
            raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
        query = query.where(events.c.seq < before)
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(query.order_by(events.c.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"seq": r.seq, "at": r.at, "kind": r.kind, "actor": r.actor,
              "data": json.loads(r.data) if isinstance(r.data, str) else (r.data or {})} for r in rows]
    return items, (encode_cursor([rows[-1].seq]) if more else None)


def event_kinds(ctx: EngineContext, actor: Actor) -> list[str]:
    """The kinds that occur in the tenant's case-less chain (for the filter's choices)."""
    _require(actor)
    events = TrailEvent.__table__
    with ctx.unit_of_work() as uow:
        return list(uow.session.scalars(select(events.c.kind).where(
            events.c.tenant_id == actor.tenant_id, events.c.case_id.is_(None)).distinct().order_by(events.c.kind)))


def pull_into_audit(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    """Put a case of the tenant in the audit queue (409 if it is there already)."""
    _require(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id:
            raise NotFound(f"case {case_id} does not exist")
        if s.scalar(select(Audit.id).where(Audit.case_id == case_id)) is not None:
            raise Conflict(f"case {case.number or case_id} is in the audit queue already")
        now = ctx.clock()
        audit = Audit(tenant_id=actor.tenant_id, case_id=case_id, service_code=case.service_code, status="pending",
                      queued_at=now)
        s.add(audit)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"case {case.number or case_id} is in the audit queue already") from None
        uow.record("case.audit_queued", actor.tenant_id, case_id=case_id, actor=actor.username, at=now,
                   data={"service_code": case.service_code, "pulled_by": actor.username})
        view = audit_view(audit, case.number)
        uow.commit()
        return view


def audit_item_of(ctx: EngineContext, actor: Actor, case_id: int) -> dict | None:
    """The case's audit item (pending or done), or None when it is not in the queue."""
    _require(actor)
    with ctx.unit_of_work() as uow:
        row = uow.session.execute(select(Audit, Case.number).join(Case, Case.id == Audit.case_id)
                                  .where(Audit.case_id == case_id, Audit.tenant_id == actor.tenant_id)).one_or_none()
        return audit_view(row[0], row[1]) if row else None
