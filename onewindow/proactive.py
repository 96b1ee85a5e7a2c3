"""Proactive services (从"等上门"到"找上门"): the daily job that starts cases for residents.

The rules live in ``bpmn/proactive/rules.json`` (a designer edits them; see the file's
comment). For each rule the job finds the residents whose birthday for the rule's age falls
within the next days, who hold no valid certificate of the rule's type and have no open case
of its service; it starts that service's case for each (delivery to the door, the delivery
task due on the birthday), then reminds the department (a trail event listing the cases).

Idempotent: every case carries the origin key ``<rule>:<resident>:<birthday>``, unique per
tenant, so rerunning the job — or two schedulers running it at once — starts nothing twice.
:func:`run_daily_jobs` is what the scheduler calls: once per tenant and local day.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from datacentre.certificates import tenant_today, years_later
from datacentre.models import Certificate, Person
from redwall_resources import BPMN_DIR
from workflows.accounts import Actor
from workflows.cases import FINAL_CASE_STATUSES
from workflows.context import EngineContext
from workflows.errors import Forbidden, InvalidInput, RedwallError
from workflows.handling import add_notice
from workflows.models import Case, Tenant

from .catalogue import load_catalogue
from .intake import submit_application
from .models import Intake, JobRun

RULES_PATH = BPMN_DIR / "proactive" / "rules.json"
JOB = "proactive"
#: local hour from which the scheduler runs the day's job
DAILY_AT = time(6, 0)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    service: str
    age: int
    within_days: int
    hukou_local: bool
    unless_certificate: str | None
    delivery: str
    due: str
    remind: str | None


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """The rule file, checked: every problem is reported in one InvalidInput."""
    raw = json.loads(Path(path or RULES_PATH).read_text(encoding="utf-8"))
    catalogue = load_catalogue()
    rules, problems = [], []
    for entry in raw.get("rules", []):
        code = entry.get("code", "?")
        if entry.get("service") not in catalogue.services:
            problems.append(f"{code}: unknown service {entry.get('service')!r}")
        if not isinstance(entry.get("age"), int) or not 0 <= entry["age"] <= 130:
            problems.append(f"{code}: age must be a whole number 0..130")
        if not isinstance(entry.get("within_days"), int) or not 0 <= entry["within_days"] <= 366:
            problems.append(f"{code}: within_days must be 0..366")
        if entry.get("delivery", "door") not in ("door", "window"):
            problems.append(f"{code}: delivery is door or window")
        if entry.get("due", "birthday") not in ("birthday", "time_limit"):
            problems.append(f"{code}: due is birthday or time_limit")
        if not problems:
            rules.append(Rule(code=code, name=entry.get("name", code), service=entry["service"], age=entry["age"],
                              within_days=entry["within_days"], hukou_local=bool(entry.get("hukou_local", True)),
                              unless_certificate=entry.get("unless_certificate"), delivery=entry.get("delivery", "door"),
                              due=entry.get("due", "birthday"), remind=entry.get("remind")))
    if len({r.code for r in rules}) != len(rules):
        problems.append("rule codes must be unique")
    if problems:
        raise InvalidInput("the proactive rules are invalid", {"rules": problems})
    return rules


def job_actor(tenant) -> Actor:
    """The job acts as the window of the tenant (it receives applications)."""
    return Actor(user_id=0, username="proactive-job", tenant_id=tenant.id, tenant_code=tenant.code,
                 roles=frozenset({"intake"}), groups=frozenset({"intake"}), timezone=tenant.timezone)


def birthday_in(born: date, age: int) -> date:
    return years_later(born, age)


def candidates(session, tenant_id: int, rule: Rule, today: date) -> list[tuple[int, date]]:
    """(resident id, birthday) of the residents the rule picks on ``today``."""
    last = today + timedelta(days=rule.within_days)
    # born between the day that makes them `age` today and the one that makes them `age` on `last`
    earliest, latest = years_later(today, -rule.age) - timedelta(days=1), years_later(last, -rule.age) + timedelta(days=1)
    query = select(Person.id, Person.birth_date).where(
        Person.tenant_id == tenant_id, Person.status == "active",
        Person.birth_date >= earliest, Person.birth_date <= latest,
    )
    if rule.hukou_local:
        query = query.where(Person.hukou_local.is_(True))
    if rule.unless_certificate:
        query = query.where(~exists().where(
            Certificate.tenant_id == tenant_id, Certificate.holder_id == Person.id,
            Certificate.type == rule.unless_certificate, Certificate.status == "valid",
        ))
    query = query.where(~exists().where(
        Case.tenant_id == tenant_id, Case.applicant_id == Person.id, Case.service_code == rule.service,
        Case.status.not_in(FINAL_CASE_STATUSES),
    ))
    picked = []
    for resident_id, born in session.execute(query.order_by(Person.birth_date, Person.id)):
        birthday = birthday_in(born, rule.age)
        if today <= birthday <= last:
            picked.append((resident_id, birthday))
    return picked


def _tenant_rows(session, tenant_id: int | None = None) -> list:
    query = select(Tenant.id, Tenant.code, Tenant.timezone).order_by(Tenant.id)
    if tenant_id is not None:
        query = query.where(Tenant.id == tenant_id)
    return list(session.execute(query).all())


def run_proactive(ctx: EngineContext, actor: Actor, rules_path: Path | str | None = None, today: date | None = None) -> dict:
    """Run every rule once for the actor's tenant; returns what was started and skipped.

    Allowed to admins and supervisors (``redwall proactive run``) and to the scheduler.
    """
    if not actor.has_role("admin", "supervisor", "intake"):
        raise Forbidden("your roles do not allow running the proactive job")
    rules = load_rules(rules_path)
    with ctx.unit_of_work() as uow:
        tenant = _tenant_rows(uow.session, actor.tenant_id)[0]
    window = job_actor(tenant)
    today = today or tenant_today(ctx.clock(), tenant.timezone)
    report = {"day": today.isoformat(), "rules": []}
    for rule in rules:
        started, skipped, failed = [], 0, []
        with ctx.unit_of_work() as uow:
            picked = candidates(uow.session, tenant.id, rule, today)
        for resident_id, birthday in picked:
            key = f"{rule.code}:{resident_id}:{birthday.isoformat()}"
            try:
                with ctx.unit_of_work() as uow:
                    if uow.session.scalar(select(Intake.id).where(Intake.tenant_id == tenant.id, Intake.origin_key == key)):
                        skipped += 1
                        continue
                    case = submit_application(
                        ctx, window, rule.service, resident_id, {}, delivery_method=rule.delivery, origin="proactive",
                        origin_key=key,
                        extra_data={"proactive_rule": rule.code, "deliver_by": birthday.isoformat() if rule.due == "birthday" else None},
                        uow=uow,
                    )
                    if rule.remind:  # the department is reminded: an item in its inbox, with the case
                        add_notice(uow, tenant.id, case["id"], rule.remind, f"主动服务提醒 {rule.name}"[:255],
                                   f"{case['number']}: 已为居民主动发起{rule.name}，请跟进办理"
                                   + ("并于生日当天送达。" if rule.due == "birthday" else "。"),
                                   ctx.clock(), service_code=rule.service, actor=window.username)
                    uow.commit()
                started.append({"case_id": case["id"], "number": case["number"], "resident_id": resident_id,
                                "birthday": birthday.isoformat()})
            except IntegrityError:  # another run started it at the same moment
                skipped += 1
            except RedwallError as exc:
                if "exists already" in exc.message:
                    skipped += 1
                else:
                    failed.append({"resident_id": resident_id, "error": exc.message, "errors": exc.errors})
        if started and rule.remind:
            with ctx.unit_of_work() as uow:
                uow.record("proactive.reminded", tenant.id, actor=window.username, at=ctx.clock(),
                           data={"rule": rule.code, "department": rule.remind, "service_code": rule.service,
                                 "cases": [s["number"] for s in started]})
                uow.commit()
        report["rules"].append({"rule": rule.code, "service": rule.service, "candidates": len(picked),
                                "started": started, "skipped": skipped, "failed": failed})
    return report


def run_daily_jobs(ctx: EngineContext, now: datetime | None = None) -> list[dict]:
    """The scheduler's daily hook: the proactive job once per tenant and local day, from 06:00."""
    now = now or ctx.clock()
    with ctx.unit_of_work() as uow:
        tenants = _tenant_rows(uow.session)
    results = []
    for tenant in tenants:
        local = now.astimezone(ZoneInfo(tenant.timezone))
        if local.time() < DAILY_AT:
            continue
        day = local.date()
        with ctx.unit_of_work() as uow:
            if uow.session.scalar(select(JobRun.id).where(JobRun.tenant_id == tenant.id, JobRun.job == JOB, JobRun.day == day)):
                continue
            run = JobRun(tenant_id=tenant.id, job=JOB, day=day, started_at=now, result={})
            uow.session.add(run)
            try:
                uow.commit()  # the unique key: one scheduler wins the day
            except IntegrityError:
                continue
            run_id = run.id
        report = run_proactive(ctx, job_actor(tenant), today=day)
        summary = {r["rule"]: len(r["started"]) for r in report["rules"]}
        with ctx.unit_of_work() as uow:
            row = uow.session.get(JobRun, run_id)
            row.result = {"started": summary}
            uow.commit()
        results.append({"tenant": tenant.code, "day": day.isoformat(), "started": summary})
    return results
