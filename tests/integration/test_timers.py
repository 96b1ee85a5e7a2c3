"""Timer rows on the real databases: claimed by one scheduler each, fired exactly once, service
calls retried with back-off until the case gets its incident, incidents retried by hand."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from tests.helpers import FailingRegistry, make_users
from tests.timekeeping import beijing, record_events, run_due, tasks_of, timers_of
from workflows import incidents, timers
from workflows.cases import get_case, start_case
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.models import Incident
from workflows.process_models import deploy_model
from worklists import commands

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
WAITING = "wait_then_follow_up"
START = beijing(2026, 11, 25, 10, 0)


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("w.bpmn", (FIXTURES / "timers" / f"{WAITING}.bpmn").read_bytes())])
    return actors


def waiting_cases(ctx, actors, n: int, wait_for: str = "PT1M") -> list[dict]:
    return [start_case(ctx, actors["civil1"], WAITING, {"wait_for": wait_for}) for _ in range(n)]


def test_a_timer_fires_once_however_often_it_is_dispatched(ctx, actors):
    events = record_events(ctx)
    try:
        with time_machine.travel(START, tick=False) as traveller:
            [case] = waiting_cases(ctx, actors, 1)
            assert case["tasks"] == []
            [row] = timers_of(ctx, case["id"])
            assert (row.kind, row.status, row.element_id, row.due_at) == ("bpmn", "pending", "wait", START + timedelta(minutes=1))
            assert timers.claim_due_timers(ctx, "s1").ids == []
            assert timers.fire_timer(ctx, row.id) == "not-due"  # dispatched early: nothing happens

            traveller.shift(60)  # due, but a timer fires strictly after its time, as in SpiffWorkflow
            assert timers.claim_due_timers(ctx, "s1").ids == []
            traveller.shift(0.5)
            claim = timers.claim_due_timers(ctx, "s1")
            assert claim.ids == [row.id] and claim.lag_seconds == 0.5
            assert [timers.fire_timer(ctx, row.id, "w1") for _ in range(3)] == ["fired", "done", "done"]
            [follow_up] = get_case(ctx, actors["civil1"], case["id"])["tasks"]
            assert follow_up["element_id"] == "follow_up"
            rows = {t.element_id: t for t in timers_of(ctx, case["id"])}
            assert rows["wait"].status == "fired" and rows["wait"].fired_by == "w1"
            assert rows["escalate"].status == "pending" and rows["escalate"].due_at == START + timedelta(seconds=3660.5)

            commands.claim(ctx, actors["civil1"], follow_up["id"])
            commands.complete(ctx, actors["civil1"], follow_up["id"], {})
            assert timers_of(ctx, case["id"])[-1].status == "cancelled"  # the boundary timer went with its task
            traveller.shift(3600)
            assert run_due(ctx) == {}
            assert timers.fire_timer(ctx, rows["escalate"].id) == "done"
    finally:
        events.restore()
    fired = [e for e in events if e.kind == "timer.fired"]
    assert len(fired) == 1 and fired[0].data["timer_id"] == rows["wait"].id


def test_a_boundary_timer_interrupts_a_task_left_alone(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        [case] = waiting_cases(ctx, actors, 1, "PT0S")
        traveller.shift(0.001)
        assert run_due(ctx) == {"fired": 1}
        assert [t["element_id"] for t in get_case(ctx, actors["civil1"], case["id"])["tasks"]] == ["follow_up"]
        traveller.shift(3601)
        assert run_due(ctx) == {"fired": 1}
        ended = get_case(ctx, actors["civil1"], case["id"])
        assert ended["status"] == "concluded" and ended["tasks"] == []
        assert [t.status for t in tasks_of(ctx, case["id"])] == ["cancelled"]


def test_schedulers_claim_disjoint_sets_and_a_lost_claim_comes_back_after_its_lease(app, ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        cases = waiting_cases(ctx, actors, 40)
        traveller.shift(61)
        claimed: dict[str, list[int]] = {"a": [], "b": []}
        barrier = threading.Barrier(2)

        def scheduler(name):
            with app.app_context():
                barrier.wait()
                while True:
                    try:
                        ids = timers.claim_due_timers(ctx, name, 7).ids
                    except Conflict:  # SQLite: the other writer held the lock too long
                        continue
                    if not ids:
                        return
                    claimed[name] += ids

        threads = [threading.Thread(target=scheduler, args=(n,)) for n in claimed]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        all_ids = {t.id for c in cases for t in timers_of(ctx, c["id"]) if t.kind == "bpmn"}
        assert set(claimed["a"]).isdisjoint(claimed["b"])
        assert sorted(claimed["a"] + claimed["b"]) == sorted(all_ids)

        # Both "died" before dispatching: after the lease another scheduler takes the lot.
        assert timers.claim_due_timers(ctx, "c").ids == []
        traveller.shift(ctx.timing.lease_seconds + 1)
        again = timers.claim_due_timers(ctx, "c", 1000)
        assert sorted(again.ids) == sorted(all_ids) and again.lag_seconds > 60
        assert timers.fire_timers(ctx, again.ids, "c") == {"fired": 40}
        status = timers.timer_status(ctx)
        assert status["due"] == 0 and status["pending"] == 40  # the follow-ups' boundary timers
        assert {s["name"] for s in status["schedulers"]} >= {"a", "b", "c"}


def test_timer_status_shows_how_late_the_oldest_due_timer_is(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        waiting_cases(ctx, actors, 3)
        assert timers.timer_status(ctx)["lag_seconds"] == 0
        traveller.shift(60 + 45)
        status = timers.timer_status(ctx)
        assert status["due"] == 3 and status["lag_seconds"] == 45


# -- service retries and incidents ------------------------------------------------------------------
def deploy_service(ctx, actors, connector: str):
    text = (FIXTURES / "cases" / "service_call.bpmn").read_text().replace("CONNECTOR", connector)
    deploy_model(ctx, actors["designer1"], [("service_call.bpmn", text.encode())])




def test_a_failing_service_call_is_retried_with_back_off(ctx, actors):
    registry = FailingRegistry(ctx, "registry_twice_down", failures=2)
    deploy_service(ctx, actors, "registry_twice_down")
    events = record_events(ctx)
    try:
        with time_machine.travel(START, tick=False) as traveller:
            case = start_case(ctx, actors["intake1"], "service_call", {"resident_id": 7})
            assert case["has_incident"] is False and case["tasks"] == []
            [retry] = timers_of(ctx, case["id"])
            assert (retry.kind, retry.attempt, retry.due_at) == ("retry", 1, START + timedelta(seconds=30))
            traveller.shift(30)
            assert run_due(ctx) == {}
            traveller.shift(0.5)
            assert run_due(ctx) == {"fired": 1}
            second = timers_of(ctx, case["id"])[-1]
            assert (second.attempt, second.due_at) == (2, START + timedelta(seconds=30.5 + 120))
            traveller.shift(120.5)
            assert run_due(ctx) == {"fired": 1}
            done = get_case(ctx, actors["intake1"], case["id"])
            assert [t["element_id"] for t in done["tasks"]] == ["check_result"] and not done["has_incident"]
            assert done["data"]["household"] == {"resident_id": 7, "members": 2}
            assert registry.calls == 3
    finally:
        events.restore()
    kinds = [e.kind for e in events]
    assert kinds.count("service.retry_scheduled") == 2 and kinds.count("service.retried") == 2
    assert "incident.raised" not in kinds


def test_when_retries_run_out_the_case_gets_an_incident_that_can_be_retried_by_hand(ctx, actors):
    registry = FailingRegistry(ctx, "registry_down", failures=10**6)
    deploy_service(ctx, actors, "registry_down")
    with time_machine.travel(START, tick=False) as traveller:
        case = start_case(ctx, actors["intake1"], "service_call", {"resident_id": 8})
        for wait in (30, 120, 480):
            traveller.shift(wait + 0.5)
            assert run_due(ctx) == {"fired": 1}
        assert registry.calls == 4
        broken = get_case(ctx, actors["intake1"], case["id"])
        assert broken["has_incident"] is True
        items, cursor = incidents.list_incidents(ctx, actors["admin1"])
        assert cursor is None and len(items) == 1
        incident = items[0]
        assert incident["case_id"] == case["id"] and incident["element_id"] == "lookup"
        assert incident["kind"] == "service" and "tried 4 times" in incident["message"]
        assert incident["status"] == "open"

        with pytest.raises(Forbidden):
            incidents.retry_incident(ctx, actors["civil1"], incident["id"])
        with pytest.raises(NotFound):  # another tenant's incident
            incidents.retry_incident(ctx, actors["designer9"], incident["id"])
        assert incidents.list_incidents(ctx, actors["designer9"]) == ([], None)
        with pytest.raises(NotFound):
            incidents.retry_incident(ctx, actors["admin1"], 10**9)

        registry.failures = 0  # the registry is back
        result = incidents.retry_incident(ctx, actors["admin1"], incident["id"])
        assert result["succeeded"] is True and result["incident"]["status"] == "resolved"
        assert result["case"]["has_incident"] is False
        assert [t["element_id"] for t in result["case"]["tasks"]] == ["check_result"]
        with pytest.raises(Conflict):
            incidents.retry_incident(ctx, actors["admin1"], incident["id"])
        assert incidents.list_incidents(ctx, actors["admin1"])[0] == []
        assert incidents.list_incidents(ctx, actors["auditor1"], status="resolved")[0][0]["id"] == incident["id"]


def test_a_missing_connector_is_not_retried(ctx, actors):
    deploy_service(ctx, actors, "no_such_connector_here")
    case = start_case(ctx, actors["intake1"], "service_call", {"resident_id": 9})
    assert case["has_incident"] is True and timers_of(ctx, case["id"]) == []
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(Incident.kind).where(Incident.case_id == case["id"])) == "service"


def test_a_batch_fires_what_is_due_together_and_leaves_the_rest(ctx, actors):
    deploy_model(ctx, actors["designer1"], [("t.bpmn", (FIXTURES / "timers" / "two_timers.bpmn").read_bytes())])
    events = record_events(ctx)
    try:
        with time_machine.travel(START, tick=False) as traveller:
            twins = start_case(ctx, actors["civil1"], "two_timers", {"wait_for": "PT1M"})
            [single] = waiting_cases(ctx, actors, 1)
            [later] = waiting_cases(ctx, actors, 1, "PT10M")
            first, second = timers_of(ctx, twins["id"])
            [single_row], [later_row] = timers_of(ctx, single["id"]), timers_of(ctx, later["id"])
            traveller.shift(61)
            batch = [first.id, second.id, single_row.id, later_row.id, 10**9]
            assert timers.fire_timers(ctx, batch, "batch") == {"fired": 3, "not-due": 1, "done": 1}
            assert timers.fire_timers(ctx, batch, "batch") == {"done": 4, "not-due": 1}
            assert {t.status for t in timers_of(ctx, twins["id"])} == {"fired"}
            assert [t["element_id"] for t in get_case(ctx, actors["civil1"], twins["id"])["tasks"]] == ["follow_up"]
            assert timers_of(ctx, later["id"])[0].status == "pending"
    finally:
        events.restore()
    fired = sorted(e.data["timer_id"] for e in events if e.kind == "timer.fired")
    assert fired == sorted([first.id, second.id, single_row.id])  # one event per row, none twice


def test_a_suspended_case_fires_no_timer_and_resuming_moves_its_timers_on(ctx, actors):
    """挂起: the timer stands still while the case is suspended, and is due that much later on resume."""
    from worklists import handling

    with time_machine.travel(START, tick=False) as traveller:
        [case] = waiting_cases(ctx, actors, 1)
        traveller.shift(30)
        assert handling.suspend(ctx, actors["admin1"], case["id"], "等待批示")["status"] == "suspended"
        assert [(t.kind, t.status) for t in timers_of(ctx, case["id"])] == [("bpmn", "cancelled")]
        traveller.shift(600)  # long past the minute the case was waiting for
        assert run_due(ctx) == {}
        assert get_case(ctx, actors["civil1"], case["id"])["tasks"] == []
        assert handling.resume(ctx, actors["admin1"], case["id"])["status"] == "open"
        pending = [t for t in timers_of(ctx, case["id"]) if t.status == "pending"]
        assert [(t.element_id, t.due_at) for t in pending] == [("wait", START + timedelta(seconds=60 + 600))]
        traveller.shift(30.5)  # the 30 s the case had left
        assert run_due(ctx) == {"fired": 1}
        [follow_up] = get_case(ctx, actors["civil1"], case["id"])["tasks"]
        assert follow_up["element_id"] == "follow_up"


def test_signers_go_with_the_task_a_boundary_timer_takes_away(ctx, actors):
    """加签: the holder completed (held for the co-signer) when the interrupting timer fires: the
    signer's task is cancelled with the task it signs for, not left in an inbox forever."""
    from worklists import handling

    with time_machine.travel(START, tick=False) as traveller:
        [case] = waiting_cases(ctx, actors, 1)
        traveller.shift(60.5)
        run_due(ctx)
        [follow_up] = get_case(ctx, actors["civil1"], case["id"])["tasks"]
        commands.claim(ctx, actors["civil1"], follow_up["id"])
        [signer] = handling.add_signers(ctx, actors["civil1"], follow_up["id"], ["civil2"], "parallel")["signers"]
        case_view, _ = commands.complete(ctx, actors["civil1"], follow_up["id"], {})
        assert [t["id"] for t in case_view["tasks"]] == [signer["id"]]
        traveller.shift(3601)
        assert run_due(ctx) == {"fired": 1}
        statuses = {t.id: t.status for t in tasks_of(ctx, case["id"])}
        assert statuses[signer["id"]] == "cancelled"
