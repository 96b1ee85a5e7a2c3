"""The service catalogue (17 categories, 22 services) as data: ``bpmn/catalogue.json``.

Each service has a code, Chinese and English names, a category, its time limit in working
days (承诺时限), the deciding department and the process it runs on, the certificate a
positive decision issues, the share of concluded cases the auditors review, the required
materials, and a JSON Schema form whose fields say where their value may come from
(``x-source``):

* ``registry:person.<attribute>`` — the resident's record (``residence.address`` …);
* ``registry:household.size`` / ``registry:household.<head|spouse|child>.<attribute>``;
* ``registry:vehicles.plate`` — the resident's first registered vehicle;
* ``certificate:<type>.<number|valid_until|data.<key>>`` — the certificate library;
* ``case:<service>.<field>`` — the resident's latest earlier case of that service.

A field without ``x-source`` is typed by the clerk. Fields carry a Chinese ``title`` and their
English in ``x-en``; choices their labels (``x-enum-labels``, ``x-boolean-labels``). A service's
``eligibility`` lists the rules checked before acceptance (:mod:`.eligibility`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from redwall_resources import BPMN_DIR
from workflows.errors import NotFound

CATALOGUE_PATH = BPMN_DIR / "catalogue.json"
SOURCE = re.compile(
    r"^(?:registry:person\.[a-z_]+(?:\.[a-z_]+)?"
    r"|registry:household\.(?:size|(?:head|spouse|child)\.[a-z_]+)"
    r"|registry:vehicles\.plate"
    r"|certificate:[a-z][a-z0-9_]*\.(?:number|valid_until|valid_from|data\.[a-z_]+)"
    r"|case:[a-z][a-z0-9_]*\.[a-z_]+)$"
)


class CatalogueError(ValueError):
    """The catalogue file is not what the loader expects (a designer's mistake, reported whole)."""


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    category: str
    category_name: str
    time_limit_working_days: int
    department: str
    process_key: str
    issues_certificate: str | None
    audit_sample_rate: float
    materials: tuple
    form: dict = field(hash=False, compare=False)
    eligibility: tuple = ()

    @property
    def fields(self) -> list[str]:
        return list(self.form.get("properties", {}))

    @property
    def sources(self) -> dict[str, str]:
        return {name: spec["x-source"] for name, spec in self.form["properties"].items() if "x-source" in spec}

    def summary(self) -> dict:
        return {
            "code": self.code, "name": self.name, "name_en": self.name_en, "category": self.category,
            "category_name": self.category_name, "time_limit_working_days": self.time_limit_working_days,
            "process_key": self.process_key, "department": self.department,
            "issues_certificate": self.issues_certificate, "audit_sample_rate": self.audit_sample_rate,
            "total_fields": len(self.fields),
        }

    def detail(self) -> dict:
        from .materials import material_view

        return {**self.summary(), "materials": [material_view(m) for m in self.materials], "form": self.form,
                "eligibility": [dict(rule) for rule in self.eligibility]}


@dataclass(frozen=True)
class Catalogue:
    categories: dict[str, dict]
    departments: dict[str, str]
    services: dict[str, Service]
    departments_en: dict[str, str] = field(default_factory=dict)

    def service(self, code: str) -> Service:
        found = self.services.get(code) if isinstance(code, str) else None
        if found is None:
            raise NotFound(f"there is no service {code!r} in the catalogue")
        return found

    def by_process_key(self, key: str) -> list[Service]:
        return [s for s in self.services.values() if s.process_key == key]


def parse_catalogue(raw: dict) -> Catalogue:
    """Check and build a catalogue; every problem found is reported in one error."""
    from .eligibility import rule_problems  # the rules live with their evaluation
    from .materials import material_problems

    problems = []
    categories = {c["code"]: c for c in raw.get("categories", [])}
    departments = {d["code"]: d["name"] for d in raw.get("departments", [])}
    departments_en = {d["code"]: d.get("name_en") or d["name"] for d in raw.get("departments", [])}
    services = {}
    for entry in raw.get("services", []):
        code = entry.get("code", "?")
        if code in services:
            problems.append(f"{code}: listed twice")
        if entry.get("category") not in categories:
            problems.append(f"{code}: unknown category {entry.get('category')!r}")
        if entry.get("department") not in departments:
            problems.append(f"{code}: unknown department {entry.get('department')!r}")
        limit = entry.get("time_limit_working_days")
        if not isinstance(limit, int) or not 0 < limit <= 200:
            problems.append(f"{code}: time_limit_working_days must be 1..200")
        rate = entry.get("audit_sample_rate")
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            problems.append(f"{code}: audit_sample_rate must be between 0 and 1")
        form = entry.get("form") or {}
        props = form.get("properties") or {}
        if not props:
            problems.append(f"{code}: the form has no fields")
        for name, spec in props.items():
            source = spec.get("x-source")
            if source is not None and not SOURCE.match(source):
                problems.append(f"{code}.{name}: x-source {source!r} is not a known source")
        problems.extend(rule_problems(code, entry.get("eligibility", [])))
        problems.extend(material_problems(code, entry.get("materials", []), list(props)))
        for name in form.get("required", []):
            if name not in props:
                problems.append(f"{code}: required field {name!r} is not in the form")
        try:
            services[code] = Service(
                code=code, name=entry["name"], name_en=entry["name_en"], category=entry["category"],
                category_name=categories.get(entry["category"], {}).get("name", ""),
                time_limit_working_days=limit, department=entry["department"], process_key=entry["process_key"],
                issues_certificate=entry.get("issues_certificate"), audit_sample_rate=float(rate or 0),
                materials=tuple(entry.get("materials", [])), form=form,
                eligibility=tuple(dict(rule) for rule in entry.get("eligibility", [])),
            )
        except (KeyError, TypeError) as exc:
            problems.append(f"{code}: missing {exc}")
    codes = {entry.get("code") for entry in raw.get("services", [])}
    for service in services.values():
        for name, source in service.sources.items():
            if source.startswith("case:") and source[5:].split(".")[0] not in codes:
                problems.append(f"{service.code}.{name}: {source!r} names no service of the catalogue")
    if problems:
        raise CatalogueError("; ".join(problems))
    return Catalogue(categories=categories, departments=departments, services=services, departments_en=departments_en)


@lru_cache(maxsize=4)
def load_catalogue(path: str | None = None) -> Catalogue:
    """The shipped catalogue (read once per process; the file is deployed with the code)."""
    text = Path(path or CATALOGUE_PATH).read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))
