"""Eligibility and duplicate applications, checked before the window accepts (受理前审核).

Each service of the catalogue lists its rules, declaratively (``"eligibility"`` in
``bpmn/catalogue.json``); they are evaluated against what the data centre knows of the
applicant on the tenant's today and against the applicant's open cases of the same service:

=========================  ===================================================================
``min_age`` ``value``      at least ``value`` full years old (老年证 60, 高龄助医券 80 …)
``hukou_local``            local household registration (本市户籍)
``hukou_nonlocal``         registered elsewhere (居住证 is for residents without local hukou)
``certificate`` ``type``   holds a valid certificate of that type (助餐券 needs the 老年证)
``no_valid_certificate``   does not hold a valid one already (no second 老年证)
``max_disability_grade``   disability grade recorded and at most ``value`` (重度: 1–2)
``low_income_status``      recorded as one of ``any_of`` (低保, 低收入, 特困)
``vehicle``                owns a registered vehicle (居住停车证)
``no_open_case``           no open application of this service (open, waiting for the
                           applicant or suspended): a duplicate answers 409
=========================  ===================================================================

Messages are :class:`~workflows.form_problems.FormProblem` sentences (English ``str``, Chinese
through the ``forms`` catalogue), e.g. “申请人 56 岁，老年证须年满 60 周岁。”.
:func:`evaluate` is pure (a unit test runs it without a database); :func:`check_eligibility`
is the use case behind ``GET /api/services/{code}/check``; intake calls
:func:`eligibility_in` inside its own unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update

from datacentre.certificates import CERTIFICATE_TYPES, certificates_of, tenant_today
from datacentre.models import Person, Vehicle
from datacentre.registry import resident_facts
from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Forbidden
from workflows.form_problems import N_, FormProblem, Text
from workflows.models import Case

from .catalogue import Service, load_catalogue

CHECK_ROLES = ("intake", "admin")
OPEN_STATUSES = ("open", "waiting_applicant", "suspended")
DUPLICATE_RULE = "no_open_case"

MIN_AGE = N_("The applicant is %(age)s; %(service)s requires an age of at least %(limit)s.")
AGE_UNKNOWN = N_("The applicant's birth date is not recorded; %(service)s requires an age of at least %(limit)s.")
HUKOU_LOCAL = N_("The applicant has no local household registration; %(service)s is for residents registered here.")
HUKOU_NONLOCAL = N_("The applicant has local household registration; %(service)s is for residents registered elsewhere.")
CERTIFICATE = N_("The applicant holds no valid %(certificate)s, which %(service)s requires.")
ALREADY_HOLDS = N_("The applicant already holds a valid %(certificate)s (%(number)s).")
DISABILITY_GRADE = N_("The applicant's disability grade is %(grade)s; %(service)s is for grades 1 to %(limit)s.")
DISABILITY_UNKNOWN = N_("No disability grade of the applicant is recorded; %(service)s is for grades 1 to %(limit)s.")
LOW_INCOME = N_("The applicant is not recorded as %(allowed)s; %(service)s requires it.")
VEHICLE = N_("The applicant owns no registered vehicle; %(service)s is for vehicle owners.")
OPEN_CASE = N_("The resident already has an open %(service)s application: %(number)s.")

LOW_INCOME_LABELS = {
    "minimum_living": Text("低保", "receiving the minimum living allowance"),
    "low_income": Text("低收入家庭", "a low-income household"),
    "extreme_poverty": Text("特困供养人员", "supported in extreme poverty"),
}
CERTIFICATE_NAMES = {  # certificate types no catalogue service issues
    "veteran_certificate": Text("优待证", "veteran certificate"),
}

RULES = {
    "min_age": ("value",),
    "hukou_local": (),
    "hukou_nonlocal": (),
    "certificate": ("type",),
    "no_valid_certificate": ("type",),
    "max_disability_grade": ("value",),
    "low_income_status": ("any_of",),
    "vehicle": (),
    DUPLICATE_RULE: (),
}


def rule_problems(code: str, rules) -> list[str]:
    """What is wrong with a service's rules (for the catalogue loader), empty when nothing."""
    problems = []
    if not isinstance(rules, (list, tuple)):
        return [f"{code}: eligibility must be a list of rules"]
    for rule in rules:
        name = rule.get("rule") if isinstance(rule, dict) else None
        if name not in RULES:
            problems.append(f"{code}: unknown eligibility rule {name!r}")
            continue
        for key in RULES[name]:
            if key not in rule:
                problems.append(f"{code}: eligibility rule {name!r} needs {key!r}")
        if name in ("min_age", "max_disability_grade") and not (isinstance(rule.get("value"), int) and rule["value"] >= 0):
            problems.append(f"{code}: eligibility rule {name!r}: value must be a whole number")
        if name == "low_income_status" and not set(rule.get("any_of") or ()) <= set(LOW_INCOME_LABELS):
            problems.append(f"{code}: eligibility rule {name!r}: any_of lists an unknown status")
    return problems


@dataclass(frozen=True)
class Applicant:
    """What the rules need to know of an applicant (from the data centre and the cases table)."""

    age: int | None
    hukou_local: bool | None
    disability_grade: int | None = None
    low_income_status: str | None = None
    certificates: dict = field(default_factory=dict)  # type -> number of a valid certificate
    vehicles: int = 0
    open_cases: tuple = ()  # ({"id", "number", "status"}, …) of this service


@dataclass(frozen=True)
class Problem:
    rule: str
    message: FormProblem

    def view(self) -> dict:
        return {"rule": self.rule, "message": self.message}


def certificate_name(type_: str) -> Text:
    """A certificate type's name per locale (the data centre's ``"老年证 senior card"``)."""
    known = CERTIFICATE_TYPES.get(type_, {}).get("name")
    if known and " " in known:
        zh, en = known.split(" ", 1)
        return Text(zh, en)
    return CERTIFICATE_NAMES.get(type_, Text(type_, type_.replace("_", " ")))


def evaluate(service: Service, applicant: Applicant) -> list[Problem]:
    """Every rule of ``service`` the applicant does not meet, in the catalogue's order."""
    name = Text(service.name, service.name_en)
    problems: list[Problem] = []
    for rule in service.eligibility:
        kind = rule["rule"]
        base = {"service": name}
        if kind == "min_age":
            if applicant.age is None:
                problems.append(Problem(kind, FormProblem(AGE_UNKNOWN, {**base, "limit": rule["value"]}, kind)))
            elif applicant.age < rule["value"]:
                problems.append(Problem(kind, FormProblem(MIN_AGE, {**base, "age": applicant.age, "limit": rule["value"]}, kind)))
        elif kind == "hukou_local" and applicant.hukou_local is not True:
            problems.append(Problem(kind, FormProblem(HUKOU_LOCAL, base, kind)))
        elif kind == "hukou_nonlocal" and applicant.hukou_local is not False:
            problems.append(Problem(kind, FormProblem(HUKOU_NONLOCAL, base, kind)))
        elif kind == "certificate" and rule["type"] not in applicant.certificates:
            problems.append(Problem(kind, FormProblem(CERTIFICATE, {**base, "certificate": certificate_name(rule["type"])}, kind)))
        elif kind == "no_valid_certificate" and rule["type"] in applicant.certificates:
            problems.append(Problem(kind, FormProblem(ALREADY_HOLDS, {**base, "certificate": certificate_name(rule["type"]),
                                                                       "number": applicant.certificates[rule["type"]]}, kind)))
        elif kind == "max_disability_grade":
            if applicant.disability_grade is None:
                problems.append(Problem(kind, FormProblem(DISABILITY_UNKNOWN, {**base, "limit": rule["value"]}, kind)))
            elif applicant.disability_grade > rule["value"]:
                problems.append(Problem(kind, FormProblem(DISABILITY_GRADE, {**base, "grade": applicant.disability_grade,
                                                                              "limit": rule["value"]}, kind)))
        elif kind == "low_income_status" and applicant.low_income_status not in rule["any_of"]:
            labels = [LOW_INCOME_LABELS[s] for s in rule["any_of"]]
            allowed = Text("、".join(t.zh for t in labels[:-1]) + ("或" if len(labels) > 1 else "") + labels[-1].zh,
                           ", ".join(t.en for t in labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1].en)
            problems.append(Problem(kind, FormProblem(LOW_INCOME, {**base, "allowed": allowed}, kind)))
        elif kind == "vehicle" and applicant.vehicles < 1:
            problems.append(Problem(kind, FormProblem(VEHICLE, base, kind)))
        elif kind == DUPLICATE_RULE:
            for case in applicant.open_cases:
                problems.append(Problem(kind, FormProblem(OPEN_CASE, {**base, "number": case["number"]}, kind)))
    return problems


def open_cases_of(session, tenant_id: int, service_code: str, applicant_id: int) -> list[dict]:
    """The applicant's cases of this service that are not finished (oldest first)."""
    rows = session.execute(
        select(Case.id, Case.number, Case.status).where(
            Case.tenant_id == tenant_id, Case.applicant_id == applicant_id, Case.service_code == service_code,
            Case.status.in_(OPEN_STATUSES),
        ).order_by(Case.id)
    ).all()
    return [{"id": r.id, "number": r.number, "status": r.status} for r in rows]


def applicant_of(session, tenant_id: int, service: Service, applicant_id: int, today: date) -> Applicant:
    """What the rules of ``service`` need to know of the applicant (NotFound: unknown resident)."""
    facts = resident_facts(session, tenant_id, applicant_id, today, with_household=False)
    kinds = {rule["rule"] for rule in service.eligibility}
    types = sorted({rule["type"] for rule in service.eligibility if "type" in rule})
    certificates = {}
    if types:
        for view in certificates_of(session, tenant_id, applicant_id, today, types=types):
            if view["status"] == "valid" and view["valid_from"] <= today and (
                    view.get("valid_until") is None or view["valid_until"] >= today):
                certificates.setdefault(view["type"], view["number"])
    vehicles = 0
    if "vehicle" in kinds:
        vehicles = len(session.scalars(select(Vehicle.id).where(Vehicle.owner_id == applicant_id).limit(1)).all())
    open_cases = open_cases_of(session, tenant_id, service.code, applicant_id)
    return Applicant(age=facts.get("age"), hukou_local=facts.get("hukou_local"),
                     disability_grade=facts.get("disability_grade"), low_income_status=facts.get("low_income_status"),
                     certificates=certificates, vehicles=vehicles, open_cases=tuple(open_cases))


def eligibility_in(session, tenant_id: int, service: Service, applicant_id: int, today: date,
                   lock: bool = False) -> dict:
    """``{"eligible", "problems", "open_cases"}`` inside the caller's unit of work.

    ``lock``: lock the applicant first, until the caller's transaction ends, so that two windows
    receiving the same resident's application at once cannot both pass the duplicate check:
    PostgreSQL locks the resident's row (``FOR UPDATE``); SQLite, which locks the whole database
    for a writer, takes its write lock now with an update that changes nothing.
    """
    if lock:
        mine = (Person.id == applicant_id) & (Person.tenant_id == tenant_id)
        if session.get_bind().dialect.name == "sqlite":
            session.execute(update(Person).where(mine).values(id=Person.id))
        else:
            session.execute(select(Person.id).where(mine).with_for_update())
    applicant = applicant_of(session, tenant_id, service, applicant_id, today)
    problems = evaluate(service, applicant)
    return {"eligible": not problems, "problems": [p.view() for p in problems],
            "open_cases": list(applicant.open_cases)}


def check_eligibility(ctx: EngineContext, actor: Actor, code: str, applicant_id: int) -> dict:
    """The use case behind ``GET /api/services/{code}/check``: may this resident apply?"""
    if not actor.has_role(*CHECK_ROLES):
        raise Forbidden("only the intake window checks applications")
    service = load_catalogue().service(code)  # NotFound
    with ctx.unit_of_work() as uow:
        today = tenant_today(ctx.clock(), actor.timezone)
        result = eligibility_in(uow.session, actor.tenant_id, service, applicant_id, today)
    return {"service_code": service.code, "applicant_id": applicant_id, **result}
