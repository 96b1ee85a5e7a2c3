"""Prefill (数据复用): fill every form field the government already knows, with its source.

The clerk sees the form filled from the data centre (the resident's record, the household,
vehicles), the certificate library and the resident's earlier cases, and types only what is
``missing``. :func:`prefill_values` does the work inside any unit of work (intake uses it
too); :func:`prefill` is the use case behind ``GET /api/services/{code}/prefill``.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from datacentre import identity
from datacentre.certificates import certificates_of, tenant_today
from datacentre.models import Person, Vehicle
from datacentre.registry import household_facts, may_read_pii, resident_facts
from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Forbidden
from workflows import personal_data
from workflows.models import Case

from .catalogue import Service, load_catalogue
from .models import Intake

PREFILL_ROLES = ("intake", "clerk", "supervisor", "admin")


def _coerce(value, spec: dict):
    """A known value in the type the form wants, or None when it cannot be one."""
    if value is None or value == "":
        return None
    kind = spec.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value) if not isinstance(value, int) else value
        if kind == "boolean":
            return value if isinstance(value, bool) else None
        if kind == "string":
            if isinstance(value, date):
                return value.isoformat()
            value = str(value)
    except (TypeError, ValueError):
        return None
    if "enum" in spec and value not in spec["enum"]:
        return None
    return value


def _path(obj, dotted: str):
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _relative(facts: dict, relation: str, members: list[dict] | None = None) -> dict | None:
    """The household member in ``relation`` to the resident (the resident when they are it)."""
    me = facts.get("relation_to_head")
    members = members if members is not None else facts.get("household") or []
    if relation == "head":
        if me == "head":
            return facts
        return next((m for m in members if m["relation_to_head"] == "head"), None)
    if relation == "spouse":
        wanted = "spouse" if me == "head" else "head" if me == "spouse" else None
        return next((m for m in members if m["relation_to_head"] == wanted), None) if wanted else None
    if relation == "child" and me in ("head", "spouse"):
        children = [m for m in members if m["relation_to_head"] == "child"]
        return min(children, key=lambda m: m["birth_date"], default=None) if children else None
    return None


class _Known:
    """What is known of one resident, looked up lazily (a form asks for some sources only)."""

    def __init__(self, session, tenant_id: int, resident_id: int, today: date):
        self.session, self.tenant_id, self.resident_id, self.today = session, tenant_id, resident_id, today
        self.facts = resident_facts(session, tenant_id, resident_id, today, with_household=False)
        self._household = None
        self._certificates = None
        self._vehicles = None
        self._cases: dict[str, tuple | None] = {}

    @property
    def household(self) -> list[dict]:
        if self._household is None:
            self._household = household_facts(self.session, self.tenant_id, self.facts)
            self.facts["household"] = self._household
        return self._household

    def certificate(self, type_: str) -> dict | None:
        if self._certificates is None:
            self._certificates = {}
            for view in certificates_of(self.session, self.tenant_id, self.resident_id, self.today):
                if view["status"] == "valid" and view["valid_from"] <= self.today:
                    self._certificates.setdefault(view["type"], view)
        return self._certificates.get(type_)

    def vehicle_plate(self) -> str | None:
        if self._vehicles is None:
            self._vehicles = list(self.session.scalars(
                select(Vehicle.plate).where(Vehicle.owner_id == self.resident_id).order_by(Vehicle.id)))
        return self._vehicles[0] if self._vehicles else None

    def case(self, service_code: str) -> tuple | None:
        if service_code not in self._cases:
            # through the intake records: indexed by (tenant, applicant, service)
            row = self.session.execute(
                select(Case.number, Case.data).join(Intake, Intake.case_id == Case.id).where(
                    Intake.tenant_id == self.tenant_id, Intake.applicant_id == self.resident_id,
                    Intake.service_code == service_code, Case.status.not_in(("refused", "terminated")),
                ).order_by(Intake.id.desc()).limit(1)
            ).first()
            self._cases[service_code] = tuple(row) if row else None
        return self._cases[service_code]

    def lookup(self, source: str) -> tuple[object, str] | None:
        """(value, source label) for an ``x-source``, or None when nothing is known."""
        kind, _, path = source.partition(":")
        if kind == "registry":
            what, _, rest = path.partition(".")
            if what == "person":
                return _path(self.facts, rest), "registry:person"
            if what == "household":
                if rest == "size":
                    return 1 + len(self.household), "registry:household"
                relation, _, attr = rest.partition(".")
                member = _relative(self.facts, relation, self.household)
                return (member.get(attr) if member else None), "registry:household"
            if what == "vehicles":
                plate = self.vehicle_plate()
                return plate, "registry:vehicle"
            return None
        if kind == "certificate":
            type_, _, attr = path.partition(".")
            cert = self.certificate(type_)
            if cert is None:
                return None
            return _path(cert, attr), f"certificate:{type_}:{cert['number']}"
        if kind == "case":
            service_code, _, field_name = path.partition(".")
            found = self.case(service_code)
            if found is None:
                return None
            number, data = found
            return (data or {}).get(field_name), f"case:{number}"
        return None


def prefill_values(session, tenant_id: int, service: Service, resident_id: int, today: date) -> dict:
    """``{"fields": {name: {"value", "source"}}, "missing": [...], "total_fields": n}`` (unmasked)."""
    known = _Known(session, tenant_id, resident_id, today)
    properties = service.form.get("properties", {})
    if "low_income_status" in known.facts and known.facts["low_income_status"] is None:
        known.facts["low_income_status"] = "none"  # the registry knows there is none
    fields, missing = {}, []
    for name, spec in properties.items():
        source = spec.get("x-source")
        found = known.lookup(source) if source else None
        value = _coerce(found[0], spec) if found else None
        if value is None:
            missing.append(name)
        else:
            fields[name] = {"value": value, "source": found[1]}
    return {"fields": fields, "missing": missing, "total_fields": len(properties)}


def _mask(result: dict) -> dict:
    """Every value and source as someone without the right sees it (workflows.personal_data)."""
    for name, entry in result["fields"].items():
        entry["value"] = personal_data.mask_personal_data({name: entry["value"]})[0][name]
        if isinstance(entry["source"], str):
            entry["source"] = personal_data.mask_text(entry["source"])
    return result


def prefill(ctx: EngineContext, actor: Actor, code: str, applicant_id: int) -> dict:
    """The service's form filled for the applicant, each value with its source.

    Identity numbers are shown in full to PII roles (intake, admin), and that read is recorded
    in the trail (``pii.read``); others see them masked.
    """
    if not actor.has_role(*PREFILL_ROLES):
        raise Forbidden("your roles do not allow preparing applications")
    service = load_catalogue().service(code)
    full = may_read_pii(actor)
    with ctx.unit_of_work() as uow:
        today = tenant_today(ctx.clock(), actor.timezone)
        result = prefill_values(uow.session, actor.tenant_id, service, applicant_id, today)
        result["service_code"] = service.code
        result["applicant_id"] = applicant_id
        if not full:
            return _mask(result)
        uow.record("pii.read", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                   data={"resident_ids": [applicant_id], "via": "prefill", "service_code": service.code})
        uow.commit()
        return result
