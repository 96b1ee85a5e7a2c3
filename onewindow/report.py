"""The article's figures as a report: a simulated working day of intake.

:func:`intake_day_report` draws ``applications`` applications over the 22 services for
random residents the data centre knows and who fit the service (disabled residents for
disability services, the old for senior services, vehicle owners for the parking permit …),
prefills each form exactly as the window does, lets a simulated clerk type what is missing
(every missing required field, and an optional one half of the time), and counts per
service and overall the typed and prefilled fields against the full forms. Nothing is
written: it is a read-only simulation on the live data. (Real applications record their own
counts, ``ow_intakes``, when the window receives them.)

The issue's thresholds, checked in the report: for the severe-disability care subsidy and
the disabled persons' family situation form a median of at most 3 typed fields; over all
services at least 50 % fewer typed fields than the full forms.
"""
from __future__ import annotations

import random
import statistics
from datetime import date

from sqlalchemy import exists, select

from datacentre.certificates import tenant_today, years_later
from datacentre.models import Certificate, Person, Vehicle
from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Forbidden, InvalidInput

from .catalogue import Service, load_catalogue
from .prefill import prefill_values

REPORT_ROLES = ("supervisor", "auditor", "admin", "intake")
MEDIAN_SERVICES = ("severe_disability_care_subsidy", "disabled_family_form")
MAX_MEDIAN_TYPED = 3
MIN_REDUCTION = 0.5
MAX_APPLICATIONS = 5000  # the command line (redwall intake-report)
# Over HTTP a call must not hold a worker for seconds (about 3.3 ms of CPU per application):
MAX_API_APPLICATIONS = 200


def _pool_query(service: Service, tenant_id: int, today: date):
    """The residents who would apply for a service (its eligibility, roughly)."""
    q = select(Person.id).where(Person.tenant_id == tenant_id, Person.status == "active")
    born_before = lambda years: Person.birth_date <= years_later(today, -years)  # noqa: E731
    born_after = lambda years: Person.birth_date > years_later(today, -years)  # noqa: E731
    has_cert = lambda type_: exists().where(Certificate.holder_id == Person.id, Certificate.type == type_,  # noqa: E731
                                            Certificate.status == "valid")
    code = service.code
    if service.category.startswith("disability") or code == "disabled_family_form":
        q = q.where(Person.disability_grade.is_not(None))
        if code == "severe_disability_care_subsidy":
            q = q.where(Person.disability_grade <= 2)
    elif code == "senior_card":
        q = q.where(born_before(59), Person.hukou_local.is_(True))
    elif code == "elderly_health_voucher":
        q = q.where(born_before(80))
    elif service.category == "elderly_care":
        q = q.where(born_before(60), has_cert("senior_card"))
    elif code in ("low_income_certificate", "temporary_assistance"):
        q = q.where(Person.low_income_status.is_not(None), Person.relation_to_head == "head")
    elif code == "birth_service_registration":
        q = q.where(Person.sex == "female", born_before(22), born_after(41), Person.marital_status == "married")
    elif code == "only_child_parents_award":
        q = q.where(Person.relation_to_head.in_(("head", "spouse")), born_before(30), born_after(60))
    elif code == "residential_parking_permit":
        q = q.where(exists().where(Vehicle.owner_id == Person.id))
    elif code == "residence_permit":
        q = q.where(Person.hukou_local.is_(False), born_before(18))
    else:
        q = q.where(born_before(18))
    return q


def _typed(service: Service, result: dict, rng: random.Random) -> int:
    required = set(service.form.get("required", []))
    return sum(1 for name in result["missing"] if name in required or rng.random() < 0.5)


def intake_day_report(ctx: EngineContext, actor: Actor, applications: int = 500, seed: int = 1,
                      limit: int = MAX_APPLICATIONS) -> dict:
    """Simulate a day of intake (read-only) and return per-service and overall figures."""
    if not actor.has_role(*REPORT_ROLES):
        raise Forbidden("your roles do not allow the intake report")
    if not 1 <= applications <= limit:
        raise InvalidInput("applications out of range", {"applications": [f"1..{limit}"]})
    catalogue = load_catalogue()
    services = list(catalogue.services.values())
    rng = random.Random(seed)
    rows = {s.code: {"typed": [], "prefilled": 0, "total": 0} for s in services}
    with ctx.unit_of_work() as uow:
        s = uow.session
        today = tenant_today(ctx.clock(), actor.timezone)
        pools = {svc.code: list(s.scalars(_pool_query(svc, actor.tenant_id, today).order_by(Person.id))) for svc in services}
        usable = [svc for svc in services if pools[svc.code]]
        if not usable:
            raise InvalidInput("the data centre holds no residents; load some first (redwall demo-data)",
                               {"residents": ["none"]})
        for _ in range(applications):
            svc = rng.choice(usable)
            resident = rng.choice(pools[svc.code])
            result = prefill_values(s, actor.tenant_id, svc, resident, today)
            row = rows[svc.code]
            row["typed"].append(_typed(svc, result, rng))
            row["prefilled"] += len(result["fields"])
            row["total"] += result["total_fields"]
    per_service = []
    all_typed = all_total = all_prefilled = 0
    for svc in services:
        row = rows[svc.code]
        n = len(row["typed"])
        typed = sum(row["typed"])
        all_typed += typed
        all_total += row["total"]
        all_prefilled += row["prefilled"]
        per_service.append({
            "code": svc.code, "name": svc.name, "applications": n, "form_fields": len(svc.fields),
            "full_form_fields": row["total"], "typed_fields": typed, "prefilled_fields": row["prefilled"],
            "median_typed": statistics.median(row["typed"]) if n else None,
            "mean_typed": round(typed / n, 2) if n else None,
            "reduction": round(1 - typed / row["total"], 3) if row["total"] else None,
        })
    reduction = 1 - all_typed / all_total if all_total else 0.0
    checks = []
    for code in MEDIAN_SERVICES:
        entry = next(r for r in per_service if r["code"] == code)
        checks.append({"check": f"median typed fields of {code} <= {MAX_MEDIAN_TYPED}", "value": entry["median_typed"],
                       "passed": entry["median_typed"] is not None and entry["median_typed"] <= MAX_MEDIAN_TYPED})
    checks.append({"check": f"typed fields at least {MIN_REDUCTION:.0%} fewer than the full forms",
                   "value": round(reduction, 3), "passed": reduction >= MIN_REDUCTION})
    return {
        "applications": applications, "seed": seed, "day": today.isoformat(),
        "services": per_service,
        "overall": {"applications": applications, "full_form_fields": all_total, "typed_fields": all_typed,
                    "prefilled_fields": all_prefilled, "reduction": round(reduction, 3),
                    "mean_typed": round(all_typed / applications, 2)},
        "checks": checks, "passed": all(c["passed"] for c in checks),
    }


def format_report(report: dict) -> str:
    """The report as a table for the terminal."""
    lines = [f"Intake day {report['day']}: {report['applications']} applications (seed {report['seed']})", "",
             f"{'service':<34} {'apps':>5} {'fields':>6} {'typed':>6} {'prefilled':>9} {'median':>6} {'mean':>6} {'reduction':>9}"]
    for r in report["services"]:
        median = "-" if r["median_typed"] is None else f"{r['median_typed']:g}"
        mean = "-" if r["mean_typed"] is None else f"{r['mean_typed']:.2f}"
        red = "-" if r["reduction"] is None else f"{r['reduction']:.0%}"
        lines.append(f"{r['code']:<34} {r['applications']:>5} {r['form_fields']:>6} {r['typed_fields']:>6} "
                     f"{r['prefilled_fields']:>9} {median:>6} {mean:>6} {red:>9}")
    o = report["overall"]
    lines += ["", f"overall: {o['typed_fields']} typed of {o['full_form_fields']} fields in full forms "
                  f"({o['prefilled_fields']} prefilled), {o['mean_typed']:.2f} typed per application, "
                  f"{o['reduction']:.0%} fewer typed fields", ""]
    for c in report["checks"]:
        lines.append(f"[{'PASS' if c['passed'] else 'FAIL'}] {c['check']}: {c['value']}")
    return "\n".join(lines)
