"""The certificate library (证照库): what concluded cases issued, kept for later cases to reuse.

A certificate has a holder (a resident), a type, a number unique per type, a validity
period and, when a case issued it, that case. Use cases that conclude a case call
:func:`issue_certificate` inside their own unit of work; prefill and eligibility checks
read :func:`certificates_of` / :func:`current_certificate`.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.models import Case
from workflows.unit_of_work import UnitOfWork

from .identity import mask
from .models import Certificate, Person

# Known types: Chinese name, the department that issues it, and whether a holder has at most
# one valid certificate of the type (a new one supersedes the old). Other types are allowed.
CERTIFICATE_TYPES: dict[str, dict] = {
    "senior_card": {"name": "老年证 senior card", "issued_by": "civil_affairs", "single": True},
    "disability_certificate": {"name": "残疾证 disability certificate", "issued_by": "disabled_federation", "single": True},
    "disability_card": {"name": "残疾卡 disability card", "issued_by": "disabled_federation", "single": True},
    "low_income_certificate": {"name": "低保证 minimum living allowance certificate", "issued_by": "civil_affairs", "single": True},
    "severe_disability_care_subsidy": {"name": "重度残疾人护理补贴 decision", "issued_by": "disabled_federation", "single": True},
    "residential_parking_permit": {"name": "居住停车证 residential parking permit", "issued_by": "city_management", "single": True},
}
CERTIFICATE_STATUSES = ("valid", "superseded", "revoked")
_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def certificate_view(cert: Certificate, case_number: str | None = None, today: date | None = None) -> dict:
    """A certificate as readers see it; ``status`` says ``expired`` once ``valid_until`` has passed."""
    status = cert.status
    if status == "valid" and today is not None and cert.valid_until is not None and cert.valid_until < today:
        status = "expired"
    return {
        "id": cert.id,
        "holder_id": cert.holder_id,
        "type": cert.type,
        "type_name": CERTIFICATE_TYPES.get(cert.type, {}).get("name", cert.type),
        "number": cert.number,
        "status": status,
        "issued_on": cert.issued_on,
        "valid_from": cert.valid_from,
        "valid_until": cert.valid_until,
        "issuing_case_id": cert.issuing_case_id,
        "issuing_case_number": case_number,
        "issued_by": cert.issued_by,
        "data": dict(cert.data or {}),
    }


def tenant_today(clock_now, timezone: str) -> date:
    return clock_now.astimezone(ZoneInfo(timezone)).date()


def certificates_of(session, tenant_id: int, holder_id: int, today: date | None = None, types: list[str] | None = None) -> list[dict]:
    """Every certificate of a holder, newest first, each with the number of the case that issued it."""
    query = (
        select(Certificate, Case.number)
        .outerjoin(Case, Case.id == Certificate.issuing_case_id)
        .where(Certificate.tenant_id == tenant_id, Certificate.holder_id == holder_id)
    )
    if types:
        query = query.where(Certificate.type.in_(types))
    rows = session.execute(query.order_by(Certificate.valid_from.desc(), Certificate.id.desc())).all()
    return [certificate_view(cert, number, today) for cert, number in rows]


def current_certificate(session, tenant_id: int, holder_id: int, type_: str, on: date) -> dict | None:
    """The certificate of ``type_`` the holder may use on day ``on`` (valid, begun, not expired), or None."""
    for view in certificates_of(session, tenant_id, holder_id, today=on, types=[type_]):
        if view["status"] == "valid" and view["valid_from"] <= on:
            return view
    return None


def issue_certificate(
    uow: UnitOfWork,
    tenant_id: int,
    holder_id: int,
    type_: str,
    number: str,
    issued_on: date,
    valid_from: date | None = None,
    valid_until: date | None = None,
    issuing_case_id: int | None = None,
    issued_by: str | None = None,
    data: dict | None = None,
    actor: str | None = None,
    at=None,
) -> dict:
    """Put a certificate into the library, in the caller's unit of work (it does not commit).

    For single-valued types (a senior card, a disability certificate…) the holder's earlier
    valid certificate of the type becomes ``superseded``. The number must be new for its type.
    """
    s = uow.session
    if not _TYPE.match(type_ or ""):
        raise InvalidInput(f"certificate type {type_!r} is not a type name", {"type": ["lower-case letters, digits and _"]})
    number = (number or "").strip()
    if not number or len(number) > 64:
        raise InvalidInput("a certificate needs a number of at most 64 characters", {"number": ["required"]})
    valid_from = valid_from or issued_on
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("a certificate cannot expire before it begins", {"valid_until": ["before valid_from"]})
    holder = s.get(Person, holder_id)
    if holder is None or holder.tenant_id != tenant_id:
        raise NotFound(f"resident {holder_id} does not exist")
    if issuing_case_id is not None:
        case_tenant = s.scalar(select(Case.tenant_id).where(Case.id == issuing_case_id))
        if case_tenant != tenant_id:
            raise NotFound(f"case {issuing_case_id} does not exist")
    taken = s.scalar(
        select(Certificate.id).where(Certificate.tenant_id == tenant_id, Certificate.type == type_, Certificate.number == number)
    )
    if taken is not None:
        raise Conflict(f"a {type_} numbered {number} exists already")
    known = CERTIFICATE_TYPES.get(type_, {})
    superseded = []
    if known.get("single"):
        superseded = list(
            s.scalars(
                select(Certificate.id).where(
                    Certificate.tenant_id == tenant_id, Certificate.holder_id == holder_id,
                    Certificate.type == type_, Certificate.status == "valid",
                )
            )
        )
        if superseded:
            s.execute(update(Certificate).where(Certificate.id.in_(superseded)).values(status="superseded"))
    cert = Certificate(
        tenant_id=tenant_id, holder_id=holder_id, type=type_, number=number, status="valid",
        issued_on=issued_on, valid_from=valid_from, valid_until=valid_until,
        issuing_case_id=issuing_case_id, issued_by=issued_by if issued_by is not None else known.get("issued_by", ""),
        data=dict(data or {}),
    )
    if at is not None:
        cert.created_at = cert.updated_at = at
    s.add(cert)
    s.flush()
    uow.record(
        "certificate.issued", tenant_id, case_id=issuing_case_id, actor=actor, at=at,
        # A disability certificate number embeds the holder's identity number: not in the trail.
        data={"certificate_id": cert.id, "holder_id": holder_id, "type": type_,
              "number": number.replace(holder.id_number, mask(holder.id_number)),
              "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat() if valid_until else None,
              "superseded": superseded},
    )
    case_number = s.scalar(select(Case.number).where(Case.id == issuing_case_id)) if issuing_case_id else None
    return certificate_view(cert, case_number)


def revoke_certificate(uow: UnitOfWork, tenant_id: int, certificate_id: int, reason: str, actor: str | None = None, at=None) -> dict:
    """Withdraw a certificate (e.g. a decision reversed); it stays in the library as ``revoked``."""
    s = uow.session
    cert = s.get(Certificate, certificate_id)
    if cert is None or cert.tenant_id != tenant_id:
        raise NotFound(f"certificate {certificate_id} does not exist")
    if cert.status == "revoked":
        raise Conflict(f"certificate {certificate_id} is revoked already")
    cert.status = "revoked"
    s.flush()
    uow.record("certificate.revoked", tenant_id, case_id=cert.issuing_case_id, actor=actor, at=at,
               data={"certificate_id": cert.id, "type": cert.type, "number": cert.number, "reason": reason})
    return certificate_view(cert)


def years_later(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def default_validity(type_: str, valid_from: date) -> date | None:
    """Validity rule of a known type: disability certificates 10 years, allowances 1 year, cards open-ended."""
    if type_ == "disability_certificate":
        return years_later(valid_from, 10) - timedelta(days=1)
    if type_ in ("low_income_certificate", "severe_disability_care_subsidy", "residential_parking_permit"):
        return years_later(valid_from, 1) - timedelta(days=1)
    return None


def issued_by_case(ctx, actor, case_id: int) -> list[dict]:
    """The certificates a case issued (the case page), numbers masked for roles without PII rights."""
    from .registry import may_read_pii

    with ctx.unit_of_work() as uow:
        s = uow.session
        rows = s.execute(
            select(Certificate, Case.number, Person.id_number)
            .join(Case, Case.id == Certificate.issuing_case_id)
            .join(Person, Person.id == Certificate.holder_id)
            .where(Certificate.tenant_id == actor.tenant_id, Certificate.issuing_case_id == case_id)
            .order_by(Certificate.id)
        ).all()
        full = may_read_pii(actor)
        views = []
        for cert, number, id_number in rows:
            view = certificate_view(cert, number)
            if not full and id_number:
                view["number"] = view["number"].replace(id_number, mask(id_number))
            views.append(view)
        return views
