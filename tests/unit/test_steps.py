"""The case step (workflows.steps) and its handlers, without a database: the real engine, an
in-memory case repository (tests/case_fakes.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.case_fakes import (
    FAKE_HANDLERS, NOW, THREE_TASKS, FakeUnitOfWork, InMemoryCaseRepository, actor, deploy, engine_context,
)
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.steps import (
    CompleteTask, DeliverMessage, RetryIncident, Skipped, Start, open_task, run_step,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


@pytest.fixture
def world():
    ctx = engine_context()
    repo = InMemoryCaseRepository(ctx)
    deploy(ctx, repo, "three_tasks", [("three_tasks.bpmn", THREE_TASKS)])
    return ctx, repo


def _start(ctx, repo, key="three_tasks", data=None, who=None):
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, Start(key, dict(data or {})), who or actor(), cases=repo)
        uow.commit()
    return step


def _complete(ctx, repo, task_id, data=None, who=None):
    with FakeUnitOfWork(repo) as uow:
        task_step = open_task(ctx, uow, repo, 1, task_id)
        step = run_step(ctx, uow, CompleteTask(task_step, dict(data or {})), who or actor(), cases=repo)
        uow.commit()
    return step, uow


def test_start_inserts_the_case_with_its_number_and_its_first_task_row(world):
    ctx, repo = world
    step = _start(ctx, repo, data={"n": 1})
    case = repo.cases[step.record.id]
    assert case["number"] == f"XICHANGAN-20261125-{step.record.id:06d}" and case["version"] == 1
    assert case["status"] == "open" and case["data"] == {"n": 1}
    [task] = repo.tasks.values()
    assert task["element_id"] == "accept" and task["status"] == "ready" and task["group"] == "intake"
    assert [e.kind for e in repo.trail] == ["case.received", "task.created"]
    assert [t.element_id for t in step.created] == ["accept"] and step.tasks == step.created


def test_completing_each_task_moves_the_case_on_and_concludes_it(world):
    ctx, repo = world
    started = _start(ctx, repo)
    task_id = started.created[0].id
    for n, expected in enumerate(["review", "decide", None]):
        step, _ = _complete(ctx, repo, task_id, {f"step{n}": True})
        assert repo.tasks[task_id]["status"] == "completed" and repo.tasks[task_id]["completed_by"] == "intake1"
        if expected is None:
            assert step.created == [] and step.tasks == []
        else:
            assert [t.element_id for t in step.created] == [expected]
            task_id = step.created[0].id
    case = repo.cases[started.record.id]
    assert case["status"] == "concluded" and case["ended_at"] == NOW and case["version"] == 4
    assert case["data"] == {"step0": True, "step1": True, "step2": True}
    kinds = [e.kind for e in repo.trail]
    assert kinds.count("task.completed") == 3 and kinds.count("task.created") == 3
    assert kinds[-1] == "case.status_changed" and repo.trail[-1].data == {"from": "open", "to": "concluded"}


def test_a_task_row_completed_by_someone_else_meanwhile_refuses_the_step_and_nothing_is_kept(world):
    ctx, repo = world
    started = _start(ctx, repo)
    task_id = started.created[0].id
    before = repo.snapshot()
    with FakeUnitOfWork(repo) as uow:
        task_step = open_task(ctx, uow, repo, 1, task_id)
        repo.tasks[task_id]["status"] = "completed"  # a concurrent completion won
        with pytest.raises(Conflict):
            run_step(ctx, uow, CompleteTask(task_step, {}), actor(), cases=repo)
    repo.tasks[task_id]["status"] = "ready"
    assert repo.snapshot() == before  # no new task row, the case as it was


def test_a_case_changed_meanwhile_is_a_conflict(world):
    ctx, repo = world
    started = _start(ctx, repo)
    with FakeUnitOfWork(repo) as uow:
        task_step = open_task(ctx, uow, repo, 1, started.created[0].id)
        repo.cases[started.record.id]["version"] += 1  # another step of the case committed first
        with pytest.raises(Conflict, match="changed by someone else"):
            run_step(ctx, uow, CompleteTask(task_step, {}), actor(), cases=repo)


def test_unknown_and_other_tenants_tasks_and_cases_are_not_found(world):
    ctx, repo = world
    started = _start(ctx, repo)
    with FakeUnitOfWork(repo) as uow:
        with pytest.raises(NotFound):
            open_task(ctx, uow, repo, 2, started.created[0].id)
        with pytest.raises(NotFound):
            run_step(ctx, uow, DeliverMessage(started.record.id, "x", public=False, tenant_id=2), "supervision",
                     cases=repo)
        with pytest.raises(NotFound):
            run_step(ctx, uow, Start("no_such_model", {}), actor(), cases=repo)


def test_a_message_the_case_waits_for_moves_it_on_and_one_it_does_not_is_skipped(world):
    ctx, repo = world
    deploy(ctx, repo, "message_catch", [("m.bpmn", (FIXTURES / "engine" / "message_catch.bpmn").read_bytes())],
           model_id=2)
    started = _start(ctx, repo, "message_catch")
    with FakeUnitOfWork(repo) as uow:  # not waiting yet: the engine's own messages are dropped quietly
        assert isinstance(run_step(ctx, uow, DeliverMessage(started.record.id, "materials_supplied", public=False,
                                                            tenant_id=1), "supervision", cases=repo), Skipped)
    _complete(ctx, repo, started.created[0].id)
    with FakeUnitOfWork(repo) as uow:
        # through the API a message must be declared public for the sender's roles
        with pytest.raises(Forbidden):
            run_step(ctx, uow, DeliverMessage(started.record.id, "materials_supplied", {"ok": True}), actor(),
                     cases=repo)
    with FakeUnitOfWork(repo) as uow:
        # correlation values the message does not have are refused before anything is written
        with pytest.raises(InvalidInput):
            run_step(ctx, uow, DeliverMessage(started.record.id, "materials_supplied", {"ok": True},
                                              correlations={"case": "x"}, public=False, tenant_id=1),
                     "supervision", cases=repo)
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, DeliverMessage(started.record.id, "materials_supplied", {"ok": True},
                                                 public=False, tenant_id=1),
                        "supervision", cases=repo)
        uow.commit()
    assert [t.element_id for t in step.created] == ["check_materials"]
    received = [e for e in repo.trail if e.kind == "message.received"]
    assert len(received) == 1 and received[0].actor == "supervision"


def test_a_failing_start_gets_an_incident_and_a_retry_resolves_it_or_raises_a_new_one(world):
    ctx, repo = world
    scripted = (FIXTURES / "cases" / "scripted.bpmn").read_text().replace("SCRIPT", "x = 1 / 0").encode()
    deploy(ctx, repo, "scripted", [("scripted.bpmn", scripted)], model_id=3)
    started = _start(ctx, repo, "scripted")
    case = repo.cases[started.record.id]
    assert case["has_incident"] is True and list(repo.tasks.values()) == []
    [first] = repo.incidents.values()
    assert first["kind"] == "script" and first["resolved_at"] is None
    with FakeUnitOfWork(repo) as uow:
        step = run_step(ctx, uow, RetryIncident(first["id"]), actor(roles=("supervisor",)), cases=repo)
        uow.commit()
    assert step.extra["succeeded"] is False
    assert repo.incidents[first["id"]]["resolved_at"] == NOW and len(repo.incidents) == 2
    assert repo.cases[started.record.id]["has_incident"] is True
    with FakeUnitOfWork(repo) as uow:
        with pytest.raises(Conflict, match="resolved already"):
            run_step(ctx, uow, RetryIncident(first["id"]), actor(roles=("supervisor",)), cases=repo)


def test_handlers_run_in_their_registered_order_after_the_engine_and_may_refuse_the_step(world):
    ctx, repo = world
    seen = []
    ctx.step_handlers = FAKE_HANDLERS.then(
        ("watch", lambda step: seen.append((step.record.version, [t.element_id for t in step.created]))))
    started = _start(ctx, repo)
    _complete(ctx, repo, started.created[0].id)
    # the watcher ran last: after the task rows and the case row (version bumped)
    assert seen == [(1, ["accept"]), (2, ["review"])]

    def refuse(step):
        raise Conflict("a reaction refused the step")

    ctx.step_handlers = FAKE_HANDLERS.then(("refuse", refuse))
    before = repo.snapshot()
    with pytest.raises(Conflict):
        _complete(ctx, repo, [t for t in repo.tasks.values() if t["status"] == "ready"][0]["id"])
    assert repo.snapshot() == before


def test_a_handler_name_is_registered_once_and_the_server_states_the_order():
    with pytest.raises(ValueError):
        FAKE_HANDLERS.then(("case_row", lambda step: None))
    from server.wiring import STEP_HANDLERS

    assert STEP_HANDLERS.names() == ["retries", "deadline_clock", "bpmn_timers", "task_rows", "incidents", "case_row",
                                     "issue_certificate", "queue_for_audit"]


def test_something_that_is_not_a_command_is_refused(world):
    ctx, repo = world
    with FakeUnitOfWork(repo) as uow, pytest.raises(TypeError):
        run_step(ctx, uow, object(), actor(), cases=repo)
