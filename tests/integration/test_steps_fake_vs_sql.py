"""The same case steps against the in-memory case repository (tests/case_fakes.py) and against
the real databases: the cases, task rows, timer rows, clocks, incidents and trail events they
leave are the same. On PostgreSQL the timers fire as the scheduler fires them (in bursts,
``workflows.timers``); on the fake one by one (``tests.case_fakes.fire_due``)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from tests.case_fakes import (
    THREE_TASKS, FakeUnitOfWork, InMemoryCaseRepository, actor, deploy, engine_context, fire_due,
)
from tests.helpers import make_users
from tests.timekeeping import beijing, supervised_files
from workflows import timers
from workflows.case_repository import SqlCaseRepository
from workflows.models import Case, Incident, Task, Timer, TrailEvent
from workflows.process_models import deploy_model
from workflows.steps import CompleteTask, DeliverMessage, Start, open_task, run_step


def scenario(ctx, unit, repository, who) -> list[int]:
    """Start two cases of three_tasks; complete the first one's three tasks, the second's first."""
    case_ids = []
    for n in range(2):
        with unit() as uow:
            step = run_step(ctx, uow, Start("three_tasks", {"n": n}), who, cases=repository(uow))
            uow.commit()
        case_ids.append(step.record.id)
        task_id = step.created[0].id
        for k in range(3 if n == 0 else 1):
            with unit() as uow:
                cases = repository(uow)
                task_step = open_task(ctx, uow, cases, who.tenant_id, task_id)
                step = run_step(ctx, uow, CompleteTask(task_step, {f"step{k}": k}), who, cases=cases)
                uow.commit()
            task_id = step.created[0].id if step.created else None
    return case_ids


def _number_shape(number: str) -> str:
    return re.sub(r"\d{6}$", "NNNNNN", re.sub(r"-\d{8}-", "-DAY-", number))


def test_the_fake_and_the_database_agree_on_what_the_steps_leave(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS)])
    who = actors["intake1"]
    sql_ids = scenario(ctx, ctx.unit_of_work, lambda uow: SqlCaseRepository(ctx, uow), who)
    sql = []
    with ctx.unit_of_work() as uow:
        for case_id in sql_ids:
            case = uow.session.get(Case, case_id)
            tasks = uow.session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)).all()
            kinds = uow.session.scalars(
                select(TrailEvent.kind).where(TrailEvent.case_id == case_id).order_by(TrailEvent.seq)).all()
            sql.append((case.status, case.data, case.version, case.has_incident, _number_shape(case.number),
                        case.ended_at is not None,
                        [(t.element_id, t.status, t.group, t.completed_by) for t in tasks], list(kinds)))

    fake_ctx = engine_context()
    repo = InMemoryCaseRepository(fake_ctx)
    deploy(fake_ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)])
    fake_who = actor(username=who.username)
    fake_ids = scenario(fake_ctx, lambda: FakeUnitOfWork(repo), lambda uow: repo, fake_who)
    fake = []
    for case_id in fake_ids:
        case = repo.cases[case_id]
        tasks = [t for _, t in sorted(repo.tasks.items()) if t["case_id"] == case_id]
        kinds = [e.kind for e in repo.trail if e.case_id == case_id]
        fake.append((case["status"], case["data"], case["version"], case["has_incident"],
                     _number_shape(case["number"]), case["ended_at"] is not None,
                     [(t["element_id"], t["status"], t["group"], t["completed_by"]) for t in tasks], kinds))

    assert fake == sql
    assert sql[0][0] == "concluded" and sql[1][0] == "open"  # the scenario did what it says


@pytest.fixture
def app(pg_app):
    """This comparison runs against PostgreSQL (the production database)."""
    return pg_app


# -- timers, the deadline clock and service retries -----------------------------------------------------
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
WORKER = "test-scheduler"
START = beijing(2026, 11, 25, 10, 0)


class Flaky:
    """A registry connector: resident 8's lookups always fail, every other resident's first two."""

    def __init__(self):
        self.calls: dict[int, int] = {}

    def __call__(self, resident_id, purpose):
        self.calls[resident_id] = self.calls.get(resident_id, 0) + 1
        if resident_id == 8 or self.calls[resident_id] <= 2:
            raise ConnectionError("the household registry did not answer")
        return {"resident_id": resident_id, "members": 2}


def fire_one_by_one(ctx) -> dict[str, int]:
    """A scheduler pass firing each due timer in its own transaction (``fire_due`` does the same
    on the fake; bursts are compared with single firings in tests/integration/test_timer_burst.py)."""
    counts: dict[str, int] = {}
    while True:
        claim = timers.claim_due_timers(ctx, WORKER, 100)
        if not claim.ids:
            return counts
        for outcome, n in timers.fire_timers(ctx, sorted(claim.ids), WORKER, together=False).items():
            counts[outcome] = counts.get(outcome, 0) + n


def _files(name: str) -> list[tuple[str, bytes]]:
    if name == "supervised_application":
        return supervised_files()
    if name == "service_call":
        text = (FIXTURES / "cases" / "service_call.bpmn").read_text().replace("CONNECTOR", "flaky_registry")
        return [("service_call.bpmn", text.encode())]
    return [(f"{name}.bpmn", (FIXTURES / "timers" / f"{name}.bpmn").read_bytes())]


class Side:
    """One side of the comparison: how to run a unit of work, a step, the timer scheduler."""

    def __init__(self, ctx, unit, repository, who, fire):
        self.ctx, self.unit, self.repository, self.who, self.fire = ctx, unit, repository, who, fire

    def start(self, key: str, data: dict) -> int:
        with self.unit() as uow:
            step = run_step(self.ctx, uow, Start(key, data), self.who, cases=self.repository(uow))
            uow.commit()
        return step.record.id

    def complete(self, task_id: int, data: dict) -> None:
        with self.unit() as uow:
            cases = self.repository(uow)
            task_step = open_task(self.ctx, uow, cases, self.who.tenant_id, task_id)
            run_step(self.ctx, uow, CompleteTask(task_step, data), self.who, cases=cases)
            uow.commit()

    def deliver(self, case_id: int, name: str, payload: dict) -> None:
        with self.unit() as uow:
            run_step(self.ctx, uow, DeliverMessage(case_id, name, payload), self.who, cases=self.repository(uow))
            uow.commit()


def _open_task_id(ctx, unit, repository, who, case_id: int, element_id: str) -> int:
    for task in _rows_of(ctx, unit, repository, case_id)["tasks"]:
        if task["element_id"] == element_id and task["status"] in ("ready", "claimed"):
            return task["id"]
    raise AssertionError(f"no open task {element_id} in case {case_id}")


def _rows_of(ctx, unit, repository, case_id: int) -> dict:
    """The case's rows as plain dictionaries, from either side."""
    with unit() as uow:
        cases = repository(uow)
        if isinstance(cases, InMemoryCaseRepository):
            return {
                "case": dict(cases.cases[case_id]),
                "tasks": [dict(t) for _, t in sorted(cases.tasks.items()) if t["case_id"] == case_id],
                "timers": [dict(t) for _, t in sorted(cases.timers.items()) if t["case_id"] == case_id],
                "clock": cases.clock(case_id),
                "incidents": [dict(i) for _, i in sorted(cases.incidents.items()) if i["case_id"] == case_id],
                "trail": [e.kind for e in cases.trail if e.case_id == case_id],
            }
        s = uow.session
        return {
            "case": {c.name: getattr(s.get(Case, case_id), c.key) for c in Case.__table__.c},
            "tasks": [{c.name: getattr(t, c.key) for c in Task.__table__.c} for t in s.scalars(
                select(Task).where(Task.case_id == case_id).order_by(Task.id))],
            "timers": [{c.name: getattr(t, c.key) for c in Timer.__table__.c} for t in s.scalars(
                select(Timer).where(Timer.case_id == case_id).order_by(Timer.id))],
            "clock": cases.clock(case_id),
            "incidents": [{c.name: getattr(i, c.key) for c in Incident.__table__.c} for i in s.scalars(
                select(Incident).where(Incident.case_id == case_id).order_by(Incident.id))],
            "trail": list(s.scalars(select(TrailEvent.kind).where(TrailEvent.case_id == case_id)
                                    .order_by(TrailEvent.seq))),
        }


def _comparable(rows: dict) -> dict:
    """What the steps decided, without the ids each store draws and the serialised state."""
    case, clock = rows["case"], rows["clock"]
    return {
        "case": {k: case[k] for k in ("status", "data", "version", "has_incident", "deadline")}
        | {"ended": case["ended_at"] is not None},
        "tasks": [(t["element_id"], t["status"], t["group"], t["due_at"], t["warn_at"], t["completed_by"])
                  for t in rows["tasks"]],
        "timers": [(t["kind"], t["element_id"], t["status"], t["due_at"], t["attempt"], t["fired_by"])
                   for t in rows["timers"]],
        "clock": None if clock is None else {k: clock[k] for k in (
            "state", "time_limit_working_days", "time_limit_minutes", "deadline", "warn_at", "red_at",
            "remaining_working_days", "remaining_seconds", "level", "on_time")} | {"pauses": len(clock["pauses"])},
        "incidents": [(i["kind"], i["element_id"], i["message"], i["resolved_at"] is not None)
                      for i in rows["incidents"]],
        "trail": rows["trail"],
    }


def timer_scenario(side: Side, traveller, task_id_of) -> list[int]:
    """A timer fires and its follow-up is done; a boundary timer fires and takes its task away;
    a cycle of the two-timers model fires both events in one step."""
    done = side.start("wait_then_follow_up", {"wait_for": "PT1M"})
    escalated = side.start("wait_then_follow_up", {"wait_for": "PT0S"})
    both = side.start("two_timers", {"wait_for": "PT1M"})
    traveller.shift(60)
    assert side.fire() == {"fired": 1}  # PT0S only: the others are due, not past due
    traveller.shift(0.5)
    assert side.fire() == {"fired": 2, "done": 1}  # two_timers: its second row went with the first
    side.complete(task_id_of(done, "follow_up"), {"note": "called back"})
    traveller.shift(3601)
    assert side.fire() == {"fired": 1}  # the boundary timer of `escalated`
    return [done, escalated, both]


def clock_scenario(side: Side, traveller, task_id_of) -> list[int]:
    """The clock starts, pauses for the applicant, resumes with the days left; another case's
    clock stops when it is refused."""
    paused = side.start("supervised_application", {"applicant_name": "李明"})
    refused = side.start("supervised_application", {"applicant_name": "王芳", "time_limit_working_days": 3})
    traveller.move_to(beijing(2026, 11, 26, 11, 0))
    side.complete(task_id_of(paused, "accept_application"),
                  {"acceptance": "supplement", "missing_materials": ["户口簿"]})
    side.complete(task_id_of(refused, "accept_application"),
                  {"acceptance": "refuse", "refusal_reason": "not resident in the sub-district"})
    traveller.move_to(beijing(2026, 12, 7, 10, 0))
    side.deliver(paused, "materials_supplied", {"supplied": ["户口簿"]})
    return [paused, refused]


def retry_scenario(side: Side, traveller, task_id_of) -> list[int]:
    """A failing service call retried until it works; another retried until its case gets an incident."""
    works = side.start("service_call", {"resident_id": 7})
    broken = side.start("service_call", {"resident_id": 8})
    for wait in (30, 120, 480):
        traveller.shift(wait + 0.5)
        side.fire()
    return [works, broken]


SCENARIOS = {
    "timers": (timer_scenario, ["wait_then_follow_up", "two_timers"]),
    "clock": (clock_scenario, ["supervised_application"]),
    "retries": (retry_scenario, ["service_call"]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_fake_and_the_database_agree_on_timers_clocks_and_retries(ctx, name):
    scenario, models = SCENARIOS[name]
    actors = make_users(ctx)
    for model in models:
        deploy_model(ctx, actors["designer1"], _files(model))
    ctx.connectors.register("flaky_registry", Flaky())
    who = actors["intake1"]

    def sql_repository(uow):
        return SqlCaseRepository(ctx, uow)

    with time_machine.travel(START, tick=False) as traveller:
        sql_side = Side(ctx, ctx.unit_of_work, sql_repository, who, lambda: fire_one_by_one(ctx))
        sql_ids = scenario(sql_side, traveller, lambda case_id, element_id: _open_task_id(
            ctx, ctx.unit_of_work, sql_repository, who, case_id, element_id))
    sql = [_comparable(_rows_of(ctx, ctx.unit_of_work, sql_repository, case_id)) for case_id in sql_ids]

    fake_ctx = engine_context(clock=lambda: datetime.now(timezone.utc))
    fake_ctx.connectors.register("flaky_registry", Flaky())
    repo = InMemoryCaseRepository(fake_ctx)
    for model_id, model in enumerate(models, start=1):
        deploy(fake_ctx, repo, model, _files(model), model_id=model_id)
    fake_who = actor(username=who.username)

    def fake_unit():
        return FakeUnitOfWork(repo)

    with time_machine.travel(START, tick=False) as traveller:
        fake_side = Side(fake_ctx, fake_unit, lambda uow: repo, fake_who, lambda: fire_due(fake_ctx, repo, WORKER))
        fake_ids = scenario(fake_side, traveller, lambda case_id, element_id: _open_task_id(
            fake_ctx, fake_unit, lambda uow: repo, fake_who, case_id, element_id))
    fake = [_comparable(_rows_of(fake_ctx, fake_unit, lambda uow: repo, case_id)) for case_id in fake_ids]

    assert len(fake) == len(sql)
    for n, (on_fake, on_sql) in enumerate(zip(fake, sql)):
        for part in on_sql:
            assert (n, part, on_fake[part]) == (n, part, on_sql[part])
    _the_scenario_did_what_it_says(name, sql)


def _the_scenario_did_what_it_says(name: str, cases: list[dict]) -> None:
    if name == "timers":
        done, escalated, both = cases
        assert done["case"]["status"] == escalated["case"]["status"] == "concluded"
        assert [t[2] for t in done["timers"]] == ["fired", "cancelled"]
        assert [t[2] for t in escalated["timers"]] == ["fired", "fired"]
        assert [t[1] for t in escalated["tasks"] if t[1] == "cancelled"] == ["cancelled"]
        assert [t[5] for t in both["timers"]] == [WORKER, "with another timer of the case"]
    elif name == "clock":
        paused, refused = cases
        assert paused["clock"]["state"] == "running" and paused["clock"]["pauses"] == 1
        assert paused["case"]["deadline"] == beijing(2026, 12, 11, 23, 59, 59)
        assert refused["case"]["status"] == "refused" and refused["clock"]["state"] == "stopped"
        assert refused["clock"]["on_time"] is True
    else:
        works, broken = cases
        assert works["case"]["has_incident"] is False and [t[0] for t in works["tasks"]] == ["check_result"]
        assert [t[4] for t in works["timers"]] == [1, 2]
        assert broken["case"]["has_incident"] is True and len(broken["incidents"]) == 1
        assert "tried 4 times" in broken["incidents"][0][2]


def repository_calls(cases, case_id: int, no_clock_case_id: int, now: datetime) -> list:
    """Each clock and timer method of the repository, called as the handlers and use cases call them;
    what each answers."""
    later, latest = now + timedelta(days=3), now + timedelta(days=9)
    deadline = cases.clock(case_id)["deadline"]
    answers = []
    cases.clear_task_due(case_id, deadline + timedelta(seconds=1))  # no task is due then: nothing changes
    cases.clear_task_due(case_id, deadline)  # paused
    cases.set_task_due(case_id, later, later - timedelta(days=1))  # resumed
    answers.append(cases.update_clock(no_clock_case_id, {"state": "paused"}))
    answers.append(cases.update_clock(case_id, {"state": "paused", "paused_at": now, "remaining_working_days": 2}))
    cases.add_clock({"case_id": no_clock_case_id, "tenant_id": 1, "time_limit_working_days": None,
                     "warn_working_days": 0, "red_after_working_days": 0, "state": "paused", "started_at": now,
                     "paused_at": now, "pauses": [], "level": "none"})
    answers.append({k: cases.clock(no_clock_case_id)[k] for k in ("state", "warn_working_days", "pauses", "level")})
    cases.set_deadline(case_id, latest)
    for n, spiff_id in enumerate(("s1", "s2", "s3", "s4")):
        cases.add_timer(dict(tenant_id=1, case_id=case_id, kind="bpmn", spiff_id=spiff_id, element_id=f"e{n}",
                             due_at=later, status="pending", attempt=0, claims=0, created_at=now))
    for attempt, spiff_id in ((1, "r1"), (2, "r1"), (1, "r2")):
        cases.add_timer(dict(tenant_id=1, case_id=case_id, kind="retry", spiff_id=spiff_id, element_id="lookup",
                             due_at=later, status="pending", attempt=attempt, claims=0, created_at=now))
    answers.append(sorted(cases.open_bpmn_timers(case_id).items()))
    cases.move_bpmn_timer(case_id, "s1", latest)
    answers.append([(row.element_id, row.due_at) for row in cases.fire_bpmn_timers(case_id, ["s2", "s9"], now, "w")])
    cases.cancel_bpmn_timers(case_id, ["s3"])
    answers.append(sorted(cases.open_bpmn_timers(case_id).items()))
    answers.append((cases.retry_attempts(case_id, "r1"), cases.retry_attempts(case_id, "r2"),
                    cases.retry_attempts(case_id, "nothing")))
    cases.cancel_timers(case_id, ("retry",))
    answers.append(cases.retry_attempts(case_id, "r1"))
    cases.cancel_timers(case_id, ("warning", "overdue"))
    answers.append(sorted(cases.open_bpmn_timers(case_id).items()))
    cases.cancel_timers(case_id)
    answers.append(cases.open_bpmn_timers(case_id))
    return answers


def test_the_fake_and_the_database_repositories_answer_the_clock_and_timer_calls_alike(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS)])
    who = actors["intake1"]
    now = START + timedelta(hours=1)

    def both_cases(side: Side) -> tuple[int, int]:
        return side.start("three_tasks", {"time_limit_working_days": 3}), side.start("three_tasks", {})

    with time_machine.travel(START, tick=False):
        with_clock, without = both_cases(Side(ctx, ctx.unit_of_work, lambda uow: SqlCaseRepository(ctx, uow), who,
                                              None))
    with ctx.unit_of_work() as uow:
        sql_answers = repository_calls(SqlCaseRepository(ctx, uow), with_clock, without, now)
        uow.commit()
    sql = [_comparable(_rows_of(ctx, ctx.unit_of_work, lambda uow: SqlCaseRepository(ctx, uow), case_id))
           for case_id in (with_clock, without)]

    fake_ctx = engine_context(clock=lambda: datetime.now(timezone.utc))
    repo = InMemoryCaseRepository(fake_ctx)
    deploy(fake_ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)])
    with time_machine.travel(START, tick=False):
        fake_ids = both_cases(Side(fake_ctx, lambda: FakeUnitOfWork(repo), lambda uow: repo,
                                   actor(username=who.username), None))
    with FakeUnitOfWork(repo) as uow:
        fake_answers = repository_calls(repo, *fake_ids, now)
        uow.commit()
    fake = [_comparable(_rows_of(fake_ctx, lambda: FakeUnitOfWork(repo), lambda uow: repo, case_id))
            for case_id in fake_ids]

    assert fake_answers == sql_answers
    for n, (on_fake, on_sql) in enumerate(zip(fake, sql)):
        for part in on_sql:
            assert (n, part, on_fake[part]) == (n, part, on_sql[part])
    # the calls did what they say
    assert sql_answers[:2] == [0, 1] and sql_answers[-1] == {}
    assert [t[3] for t in sql[0]["tasks"]] == [now + timedelta(days=3)]  # cleared, then set again
    assert [t[2] for t in sql[0]["timers"] if t[0] == "bpmn"] == ["cancelled", "fired", "cancelled", "cancelled"]
