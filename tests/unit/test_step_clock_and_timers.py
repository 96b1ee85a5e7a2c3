"""The step's deadline clock, BPMN timer and retry handlers without a database: the real engine,
the in-memory case repository (tests/case_fakes.py), time travel for the engine's clock.

Expected days are worked out by hand (no 2026 holiday falls in late November or December):
Wednesday 25 November 2026 + 5 working days is Wednesday 2 December.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.case_fakes import (
    FAKE_HANDLERS, THREE_TASKS, FakeUnitOfWork, InMemoryCaseRepository, actor, deploy, engine_context, fire_due,
)
from tests.helpers import FailingRegistry
from workflows.errors import Conflict
from workflows.steps import CompleteTask, DeliverMessage, RetryIncident, Start, open_task, run_step

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "bpmn"
SUPERVISED = REPO / "bpmn" / "processes" / "supervised_application"
SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 25, 10, 0, tzinfo=SH)  # a Wednesday


def beijing(*parts) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.fixture
def travel():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(travel):
    """A context whose step clock is the (travelling) wall clock, as in production."""
    ctx = engine_context(clock=lambda: datetime.now(timezone.utc))
    repo = InMemoryCaseRepository(ctx)
    return ctx, repo


def _deploy(ctx, repo, key: str, files, model_id: int):
    deploy(ctx, repo, key, files, model_id=model_id)


def _supervised(ctx, repo):
    files = sorted(SUPERVISED.iterdir(), key=lambda p: (p.suffix != ".bpmn", p.name))
    _deploy(ctx, repo, "supervised_application", [(p.name, p.read_bytes()) for p in files], 1)


def start(ctx, repo, key: str, data: dict | None = None):
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, Start(key, dict(data or {})), actor(), cases=repo)
        uow.commit()
    return step


def complete(ctx, repo, element_id: str, case_id: int, data: dict | None = None):
    [task_id] = [t["id"] for t in repo.tasks.values()
                 if t["case_id"] == case_id and t["element_id"] == element_id and t["status"] == "ready"]
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, CompleteTask(open_task(ctx, uow, repo, 1, task_id), dict(data or {})), actor(),
                        cases=repo)
        uow.commit()
    return step


def timers(repo, case_id: int, status: str | None = None) -> list[dict]:
    return [t for _, t in sorted(repo.timers.items()) if t["case_id"] == case_id
            and (status is None or t["status"] == status)]


def kinds(repo, case_id: int) -> list[str]:
    return [e.kind for e in repo.trail if e.case_id == case_id]


def start_waiting(ctx, repo, wait_for: str) -> int:
    """A case of ``timers/wait_then_follow_up.bpmn`` waiting ``wait_for`` (deployed first)."""
    _deploy(ctx, repo, "wait_then_follow_up",
            [("w.bpmn", (FIXTURES / "timers" / "wait_then_follow_up.bpmn").read_bytes())], 1)
    return start(ctx, repo, "wait_then_follow_up", {"wait_for": wait_for}).record.id


def open_tasks(repo, case_id: int) -> dict[str, dict]:
    return {t["element_id"]: t for t in repo.tasks.values() if t["case_id"] == case_id and t["status"] == "ready"}


# -- BPMN timers ----------------------------------------------------------------------------------
def test_a_timer_row_is_written_fires_when_due_and_its_boundary_timer_is_cancelled_with_its_task(world, travel):
    ctx, repo = world
    case_id = start_waiting(ctx, repo, "PT1M")
    [wait] = timers(repo, case_id)
    assert (wait["kind"], wait["status"], wait["element_id"], wait["due_at"]) == \
        ("bpmn", "pending", "wait", START + timedelta(minutes=1))
    assert repo.clocks == {}  # no time limit, no clock

    travel.shift(60)  # due, but a timer fires strictly after its time
    assert fire_due(ctx, repo) == {}
    travel.shift(0.5)
    assert fire_due(ctx, repo, "w1") == {"fired": 1}
    assert fire_due(ctx, repo) == {}  # once
    assert list(open_tasks(repo, case_id)) == ["follow_up"]
    wait, escalate = timers(repo, case_id)
    assert (wait["status"], wait["fired_by"]) == ("fired", "w1")
    assert (escalate["element_id"], escalate["status"], escalate["due_at"]) == \
        ("escalate", "pending", START + timedelta(seconds=60.5 + 3600))
    assert kinds(repo, case_id).count("timer.fired") == 1

    complete(ctx, repo, "follow_up", case_id)
    assert timers(repo, case_id)[-1]["status"] == "cancelled"  # the boundary timer went with its task
    assert repo.cases[case_id]["status"] == "concluded"
    travel.shift(3600)
    assert fire_due(ctx, repo) == {}


def test_a_boundary_timer_that_fires_cancels_its_task(world, travel):
    ctx, repo = world
    case_id = start_waiting(ctx, repo, "PT0S")
    travel.shift(0.001)
    assert fire_due(ctx, repo) == {"fired": 1}
    [follow_up] = open_tasks(repo, case_id).values()
    travel.shift(3601)
    assert fire_due(ctx, repo) == {"fired": 1}
    assert repo.tasks[follow_up["id"]]["status"] == "cancelled"
    assert repo.cases[case_id]["status"] == "concluded" and timers(repo, case_id, "pending") == []
    assert kinds(repo, case_id).count("task.cancelled") == 1


def test_timers_due_together_fire_in_one_step_and_the_other_row_is_marked_with_it(world, travel):
    ctx, repo = world
    _deploy(ctx, repo, "two_timers", [("t.bpmn", (FIXTURES / "timers" / "two_timers.bpmn").read_bytes())], 1)
    case_id = start(ctx, repo, "two_timers", {"wait_for": "PT1M"}).record.id
    first, second = timers(repo, case_id)
    assert first["due_at"] == second["due_at"] == START + timedelta(minutes=1)
    travel.shift(61)
    assert fire_due(ctx, repo, "w1") == {"fired": 1, "done": 1}
    first, second = timers(repo, case_id)
    assert (first["status"], first["fired_by"]) == ("fired", "w1")
    assert (second["status"], second["fired_by"]) == ("fired", "with another timer of the case")
    assert list(open_tasks(repo, case_id)) == ["follow_up"]
    fired = [e for e in repo.trail if e.kind == "timer.fired"]
    assert sorted(e.data["timer_id"] for e in fired) == [first["id"], second["id"]]


CYCLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="plain_cycle" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="civil_affairs"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>work</bpmn:flowNodeRef><bpmn:flowNodeRef>remind</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>reminder</bpmn:flowNodeRef><bpmn:flowNodeRef>reminded</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="Work"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="reminder"/>
    <bpmn:userTask id="reminder" name="Reminder"/>
    <bpmn:sequenceFlow id="f3" sourceRef="reminder" targetRef="reminded"/>
    <bpmn:endEvent id="reminded"/>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_cycle_timer_restarts_with_a_row_of_its_own_for_each_round_until_its_task_is_done(world, travel):
    ctx, repo = world
    _deploy(ctx, repo, "plain_cycle", [("c.bpmn", CYCLE)], 1)
    case_id = start(ctx, repo, "plain_cycle").record.id
    [first] = timers(repo, case_id)
    assert (first["element_id"], first["due_at"]) == ("remind", START + timedelta(minutes=10))
    travel.shift(601)
    assert fire_due(ctx, repo) == {"fired": 1}
    first, second = timers(repo, case_id)
    assert first["status"] == "fired"
    # the second round: a new pending row, ten minutes after the first round was due
    assert (second["element_id"], second["status"], second["due_at"]) == \
        ("remind", "pending", START + timedelta(minutes=20))
    travel.shift(601)
    assert fire_due(ctx, repo) == {"fired": 1}
    assert [t["status"] for t in timers(repo, case_id)][:2] == ["fired", "fired"]
    assert sorted(t["element_id"] for t in repo.tasks.values() if t["case_id"] == case_id) == \
        ["reminder", "reminder", "work"]
    complete(ctx, repo, "work", case_id)  # the task the timer is attached to is done: no more rounds
    assert timers(repo, case_id)[-1]["status"] == "cancelled" and timers(repo, case_id, "pending") == []


def test_a_timer_row_whose_event_is_gone_is_stale_cancelled_and_leaves_no_trail(world, travel):
    ctx, repo = world
    case_id = start_waiting(ctx, repo, "PT1M")
    [wait] = timers(repo, case_id)
    travel.shift(61)
    assert fire_due(ctx, repo) == {"fired": 1}
    # a duplicate row for the same timer event (written by a step that lost a race, say)
    repo.add_timer({**{k: wait[k] for k in ("tenant_id", "case_id", "kind", "spiff_id", "element_id", "due_at")},
                    "status": "pending", "attempt": 0, "claims": 0, "created_at": START})
    trail = len(repo.trail)
    assert fire_due(ctx, repo) == {"stale": 1}
    assert timers(repo, case_id)[-1]["status"] == "cancelled" and len(repo.trail) == trail


# -- the deadline clock ---------------------------------------------------------------------------
def test_the_clock_starts_with_the_case_and_its_levels_are_scheduled(world):
    ctx, repo = world
    _supervised(ctx, repo)
    step = start(ctx, repo, "supervised_application", {"applicant_name": "王芳"})
    case_id = step.record.id
    deadline = beijing(2026, 12, 2, 23, 59, 59)  # Thu 26 (1), Fri 27 (2), Mon 30 (3), Tue 1 (4), Wed 2 (5)
    clock = repo.clocks[case_id]
    assert (clock["state"], clock["time_limit_working_days"], clock["deadline"]) == ("running", 5, deadline)
    assert clock["warn_at"] == beijing(2026, 12, 1, 23, 59, 59) and clock["red_at"] == beijing(2026, 12, 7, 23, 59, 59)
    assert repo.cases[case_id]["deadline"] == deadline and step.record.clock_state == "running"
    levels = {t["kind"]: t["due_at"] for t in timers(repo, case_id, "pending")}
    # warned at the end of the day before; overdue and red from the first second after
    assert levels == {"warning": beijing(2026, 12, 1, 23, 59, 59), "overdue": beijing(2026, 12, 3),
                      "red": beijing(2026, 12, 8)}
    [accept] = open_tasks(repo, case_id).values()
    assert (accept["due_at"], accept["warn_at"]) == (deadline, beijing(2026, 12, 1, 23, 59, 59))
    [event] = [e for e in repo.trail if e.kind == "deadline.set"]
    assert event.data["deadline"] == deadline.astimezone(timezone.utc).isoformat()


def test_the_clock_pauses_for_the_applicant_and_resumes_with_the_days_left(world, travel):
    ctx, repo = world
    _supervised(ctx, repo)
    case_id = start(ctx, repo, "supervised_application", {"applicant_name": "李明"}).record.id
    travel.move_to(beijing(2026, 11, 26, 11, 0))
    complete(ctx, repo, "accept_application", case_id, {"acceptance": "supplement", "missing_materials": ["户口簿"]})
    assert repo.cases[case_id]["status"] == "waiting_applicant" and repo.cases[case_id]["deadline"] is None
    clock = repo.clocks[case_id]
    # left after Thu 26: Fri 27, Mon 30, Tue 1, Wed 2
    assert (clock["state"], clock["remaining_working_days"], clock["deadline"]) == ("paused", 4, None)
    assert {t["kind"] for t in timers(repo, case_id, "pending")} == {"bpmn"}  # the 30-day wait only
    assert {t["kind"] for t in timers(repo, case_id, "cancelled")} == {"warning", "overdue", "red"}
    assert "deadline.paused" in kinds(repo, case_id)

    travel.move_to(beijing(2026, 12, 7, 10, 0))  # Monday: the materials come
    with FakeUnitOfWork(repo) as uow:
        run_step(ctx, uow, DeliverMessage(case_id, "materials_supplied", {"supplied": ["户口簿"]}), actor(),
                 cases=repo)
        uow.commit()
    deadline = beijing(2026, 12, 11, 23, 59, 59)  # Tue 8, Wed 9, Thu 10, Fri 11
    clock = repo.clocks[case_id]
    assert (clock["state"], clock["deadline"], clock["remaining_working_days"]) == ("running", deadline, None)
    assert len(clock["pauses"]) == 1 and repo.cases[case_id]["deadline"] == deadline
    assert {t["kind"]: t["due_at"] for t in timers(repo, case_id, "pending")} == {
        "warning": beijing(2026, 12, 10, 23, 59, 59), "overdue": beijing(2026, 12, 12), "red": beijing(2026, 12, 17)}
    assert [t["status"] for t in timers(repo, case_id) if t["kind"] == "bpmn"] == ["cancelled"]
    [accept] = open_tasks(repo, case_id).values()
    assert (accept["due_at"], accept["warn_at"]) == (deadline, beijing(2026, 12, 10, 23, 59, 59))
    assert kinds(repo, case_id).count("deadline.resumed") == 1


def test_the_clock_stops_when_the_case_ends_and_its_timers_are_cancelled(world):
    ctx, repo = world
    _deploy(ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)], 1)
    case_id = start(ctx, repo, "three_tasks", {"time_limit_working_days": 3}).record.id
    deadline = beijing(2026, 11, 30, 23, 59, 59)  # Thu 26, Fri 27, Mon 30
    assert repo.cases[case_id]["deadline"] == deadline
    for element_id in ("accept", "review", "decide"):
        assert open_tasks(repo, case_id)[element_id]["due_at"] == deadline
        complete(ctx, repo, element_id, case_id)
    clock = repo.clocks[case_id]
    assert (clock["state"], clock["on_time"], clock["stopped_at"]) == ("stopped", True, START)
    assert timers(repo, case_id, "pending") == [] and len(timers(repo, case_id, "cancelled")) == 3
    [stopped] = [e for e in repo.trail if e.kind == "deadline.stopped"]
    assert stopped.data == {"status": "concluded", "on_time": True,
                           "deadline": deadline.astimezone(timezone.utc).isoformat()}


def test_a_time_limit_set_by_a_later_step_starts_the_clock_then(world, travel):
    ctx, repo = world
    _deploy(ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)], 1)
    case_id = start(ctx, repo, "three_tasks").record.id
    assert repo.clocks == {} and repo.cases[case_id]["deadline"] is None and timers(repo, case_id) == []
    travel.move_to(beijing(2026, 11, 27, 9, 0))  # accepted on Friday with 2 working days
    complete(ctx, repo, "accept", case_id, {"time_limit_working_days": 2, "warn_working_days": 0})
    deadline = beijing(2026, 12, 1, 23, 59, 59)  # Mon 30, Tue 1
    assert (repo.clocks[case_id]["state"], repo.clocks[case_id]["deadline"]) == ("running", deadline)
    assert repo.cases[case_id]["deadline"] == deadline
    # warned with no working day left: at the deadline itself
    assert {t["kind"]: t["due_at"] for t in timers(repo, case_id, "pending")} == {
        "warning": deadline, "overdue": beijing(2026, 12, 2), "red": beijing(2026, 12, 5)}
    assert open_tasks(repo, case_id)["review"]["due_at"] == deadline


def test_a_time_limit_in_minutes_warns_when_a_quarter_is_left(world):
    ctx, repo = world
    _deploy(ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)], 1)
    case_id = start(ctx, repo, "three_tasks", {"time_limit_minutes": 60}).record.id
    clock = repo.clocks[case_id]
    assert (clock["time_limit_minutes"], clock["deadline"], clock["warn_at"], clock["red_at"]) == \
        (60, START + timedelta(minutes=60), START + timedelta(minutes=45), START + timedelta(minutes=120))
    assert {t["kind"]: t["due_at"] for t in timers(repo, case_id, "pending")} == {
        "warning": START + timedelta(minutes=45), "overdue": START + timedelta(minutes=60, seconds=1),
        "red": START + timedelta(minutes=120, seconds=1)}


def test_a_refused_step_keeps_no_clock_and_no_timer_row(world):
    ctx, repo = world
    _supervised(ctx, repo)

    def refuse(step):
        raise Conflict("a reaction refused the step")

    ctx.step_handlers = FAKE_HANDLERS.then(("refuse", refuse))
    before = repo.snapshot()
    with pytest.raises(Conflict):
        start(ctx, repo, "supervised_application", {})
    assert repo.snapshot() == before and repo.clocks == {} and repo.timers == {}


# -- service retries ------------------------------------------------------------------------------


def _service(ctx, repo, connector: str):
    text = (FIXTURES / "cases" / "service_call.bpmn").read_text().replace("CONNECTOR", connector)
    _deploy(ctx, repo, "service_call", [("service_call.bpmn", text.encode())], 1)


def test_a_failing_service_call_is_retried_with_back_off_until_it_works(world, travel):
    ctx, repo = world
    registry = FailingRegistry(ctx, "registry_twice_down", failures=2)
    _service(ctx, repo, "registry_twice_down")
    case_id = start(ctx, repo, "service_call", {"resident_id": 7}).record.id
    assert repo.cases[case_id]["has_incident"] is False and repo.incidents == {}
    [retry] = timers(repo, case_id)
    assert (retry["kind"], retry["attempt"], retry["element_id"], retry["due_at"]) == \
        ("retry", 1, "lookup", START + timedelta(seconds=30))
    travel.shift(30.5)
    assert fire_due(ctx, repo) == {"fired": 1}
    second = timers(repo, case_id)[-1]
    assert (second["attempt"], second["status"], second["due_at"]) == (2, "pending", START + timedelta(seconds=150.5))
    travel.shift(120.5)
    assert fire_due(ctx, repo) == {"fired": 1}
    assert list(open_tasks(repo, case_id)) == ["check_result"] and registry.calls == 3
    assert repo.cases[case_id]["data"]["household"] == {"resident_id": 7, "members": 2}
    assert repo.incidents == {} and repo.cases[case_id]["has_incident"] is False
    events = kinds(repo, case_id)
    assert events.count("service.retry_scheduled") == 2 and events.count("service.retried") == 2


def test_when_the_retries_run_out_the_case_gets_its_incident_and_a_retry_by_hand_resolves_it(world, travel):
    ctx, repo = world
    registry = FailingRegistry(ctx, "registry_down", failures=10**6)
    _service(ctx, repo, "registry_down")
    case_id = start(ctx, repo, "service_call", {"resident_id": 8}).record.id
    for wait in (30, 120, 480):
        assert repo.incidents == {}
        travel.shift(wait + 0.5)
        assert fire_due(ctx, repo) == {"fired": 1}
    assert registry.calls == 4
    assert [(t["attempt"], t["status"]) for t in timers(repo, case_id)] == [(1, "fired"), (2, "fired"), (3, "fired")]
    [incident] = repo.incidents.values()
    assert (incident["kind"], incident["element_id"]) == ("service", "lookup")
    assert "tried 4 times" in incident["message"] and repo.cases[case_id]["has_incident"] is True
    assert kinds(repo, case_id).count("incident.raised") == 1

    registry.failures = 0  # the registry is back
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, RetryIncident(incident["id"]), actor(roles=("supervisor",)), cases=repo)
        uow.commit()
    assert step.extra["succeeded"] is True and repo.incidents[incident["id"]]["resolved_at"] is not None
    assert repo.cases[case_id]["has_incident"] is False and list(open_tasks(repo, case_id)) == ["check_result"]
