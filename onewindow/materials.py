"""A service's materials checklist (申请材料清单) and what the certificate library can stand in for.

Each catalogue service lists its materials: ``code``, ``name`` (Chinese) and ``name_en``,
``original`` (the original is shown; else a copy is handed in), ``count``, ``required``, an
optional ``condition`` on the form data (``{"field", "equals"}``: the item is asked for only
when the field has that value) and ``certificate_type``: an electronic certificate
(电子证照) of that type in the library stands in for the paper (国办发〔2022〕3号).

:func:`checklist` gives the items for one applicant, each with the library's certificate
that covers it (type and number) or None; :func:`missing` names the required items of a
checklist that are neither covered nor presented — exactly what the one-time notice
(一次性告知单) lists.
"""
from __future__ import annotations

import re
from datetime import date

from datacentre.certificates import current_certificate

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
KEYS = {"code", "name", "name_en", "original", "count", "required", "condition", "certificate_type"}


def material_problems(service_code: str, materials, fields: list[str]) -> list[str]:
    """What is wrong with a service's materials list (the catalogue reports every problem at once)."""
    if not isinstance(materials, list):
        return [f"{service_code}: materials must be a list"]
    problems, seen = [], set()
    for index, item in enumerate(materials):
        where = f"{service_code}.materials[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: an object")
            continue
        unknown = set(item) - KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        code = item.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            problems.append(f"{where}: code must be lower-case letters, digits and _")
        elif code in seen:
            problems.append(f"{where}: {code} listed twice")
        seen.add(code)
        for key in ("name", "name_en"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                problems.append(f"{where}: {key} is required")
        for key in ("original", "required"):
            if not isinstance(item.get(key), bool):
                problems.append(f"{where}: {key} must be true or false")
        count = item.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20:
            problems.append(f"{where}: count must be 1..20")
        cert = item.get("certificate_type")
        if cert is not None and (not isinstance(cert, str) or not _CODE.match(cert)):
            problems.append(f"{where}: certificate_type must be null or a certificate type")
        condition = item.get("condition")
        if condition is not None:
            if not isinstance(condition, dict) or set(condition) != {"field", "equals"}:
                problems.append(f"{where}: condition is {{\"field\", \"equals\"}}")
            elif condition["field"] not in fields:
                problems.append(f"{where}: condition names {condition['field']!r}, not a field of the form")
            if item.get("required"):
                problems.append(f"{where}: a conditional item is not required unconditionally (required: false)")
    return problems


def material_view(item: dict) -> dict:
    """A material as the API lists it."""
    return {"code": item["code"], "name": item["name"], "name_en": item["name_en"], "original": item["original"],
            "count": item["count"], "required": item["required"], "condition": item.get("condition"),
            "certificate_type": item.get("certificate_type")}


def applies(item: dict, form: dict | None) -> bool:
    """Is the item asked for? Required ones always; conditional ones when the form meets the condition."""
    if item.get("required"):
        return True
    condition = item.get("condition")
    return bool(condition) and (form or {}).get(condition["field"]) == condition["equals"]


def checklist_in(session, tenant_id: int, materials, applicant_id: int | None, today: date,
                 form: dict | None = None) -> list[dict]:
    """The service's items for this applicant: ``applies`` and the ``certificate`` that covers it."""
    items = []
    for item in materials:
        view = {**material_view(item), "applies": applies(item, form), "certificate": None}
        cert_type = item.get("certificate_type")
        if cert_type and applicant_id is not None:
            found = current_certificate(session, tenant_id, applicant_id, cert_type, today)
            if found is not None:
                view["certificate"] = {"type": found["type"], "number": found["number"], "id": found["id"]}
        items.append(view)
    return items


def missing(items: list[dict], presented) -> list[dict]:
    """The items the applicant still owes: asked for, not covered by a certificate, not presented."""
    presented = set(presented or ())
    return [i for i in items if i["applies"] and i["certificate"] is None and i["code"] not in presented]


def record(items: list[dict], presented) -> dict:
    """What the window checked, kept on the case: presented codes, certificates used, what was owed."""
    presented = set(presented or ())
    known = {i["code"] for i in items}
    return {
        "materials_presented": sorted(c for c in presented if c in known),
        "materials_from_certificates": {i["code"]: i["certificate"]["number"] for i in items if i["certificate"]},
        "materials_owed": [i["code"] for i in missing(items, presented)],
    }


CHECKLIST_ROLES = ("intake", "admin")


def service_checklist(ctx, actor, service_code: str, applicant_id: int, form: dict | None = None) -> dict:
    """The window's checklist for an applicant (intake, admin): ``{"service_code", "applicant_id", "items"}``."""
    from datacentre.certificates import tenant_today
    from datacentre.models import Person
    from workflows.errors import Forbidden, NotFound

    from .catalogue import load_catalogue

    if not actor.has_role(*CHECKLIST_ROLES):
        raise Forbidden("only the intake window checks materials")
    service = load_catalogue().service(service_code)
    with ctx.unit_of_work() as uow:
        s = uow.session
        person = s.get(Person, applicant_id)
        if person is None or person.tenant_id != actor.tenant_id:
            raise NotFound(f"resident {applicant_id} does not exist")
        items = checklist_in(s, actor.tenant_id, service.materials, applicant_id,
                             tenant_today(ctx.clock(), actor.timezone), form)
    return {"service_code": service.code, "applicant_id": applicant_id, "items": items}
