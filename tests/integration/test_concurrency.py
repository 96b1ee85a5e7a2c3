"""Races with real concurrent connections: one winner, clean 409s, nothing applied twice."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.helpers import demo_files, make_users, window_clerks
from workflows.cases import start_case
from workflows.errors import Conflict
from workflows.models import Case, Task
from workflows.process_models import deploy_model
from worklists import commands


def run_at_once(app, n, action):
    """Run ``action(i)`` in ``n`` threads released together, each with its own app context and session."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = ("ok", action(i))
            except Conflict as exc:
                results[i] = ("conflict", exc)
            except Exception as exc:  # pragma: no cover - shows up in the assertion
                results[i] = ("error", repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def case_with_claimed_task(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    case = start_case(ctx, actors["intake1"], "service_application")
    task_id = case["tasks"][0]["id"]
    commands.claim(ctx, actors["intake1"], task_id)
    return actors, case, task_id


def test_simultaneous_completions_of_one_task(app, ctx, case_with_claimed_task):
    actors, case, task_id = case_with_claimed_task
    data = {"acceptance": "accept", "department": "civil_affairs"}
    results = run_at_once(app, 8, lambda i: commands.complete(ctx, actors["intake1"], task_id, data))
    kinds = sorted(r[0] for r in results)
    assert kinds == ["conflict"] * 7 + ["ok"], results
    with ctx.unit_of_work() as uow:
        s = uow.session
        tasks = s.execute(select(Task.element_id, Task.status).where(Task.case_id == case["id"]).order_by(Task.id)).all()
        assert tasks == [("accept_application", "completed"), ("review_civil_affairs", "ready")]
        stored = s.get(Case, case["id"])
        assert stored.version == case["version"] + 1
    # the case still moves on from the state the winner left
    review = tasks[1]
    with ctx.unit_of_work() as uow:
        review_id = uow.session.scalar(select(Task.id).where(Task.case_id == case["id"], Task.status == "ready"))
    commands.claim(ctx, actors["civil1"], review_id)
    result, next_tasks = commands.complete(ctx, actors["civil1"], review_id, {"review_result": "meets_conditions"})
    assert [t["element_id"] for t in next_tasks] == ["decide"]


def test_simultaneous_claims(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    task_id = start_case(ctx, actors["intake1"], "service_application")["tasks"][0]["id"]
    clerks = window_clerks(ctx, 6)  # six intake clerks: every racer may claim the task
    results = run_at_once(app, 6, lambda i: commands.claim(ctx, clerks[i], task_id))
    winners = [r[1]["assignee"] for r in results if r[0] == "ok"]
    assert len(winners) == 1 and sorted(r[0] for r in results) == ["conflict"] * 5 + ["ok"], results
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(Task.assignee).where(Task.id == task_id)) == winners[0]


def test_claim_racing_completion_ends_consistent(app, ctx, case_with_claimed_task):
    actors, case, task_id = case_with_claimed_task
    data = {"acceptance": "accept", "department": "civil_affairs"}

    def action(i):
        if i == 0:
            return commands.complete(ctx, actors["intake1"], task_id, data)
        return commands.unclaim(ctx, actors["intake1"], task_id)

    results = run_at_once(app, 2, action)
    with ctx.unit_of_work() as uow:
        s = uow.session
        status = s.scalar(select(Task.status).where(Task.id == task_id))
        ready_reviews = s.scalar(select(func.count()).select_from(Task).where(Task.case_id == case["id"], Task.element_id == "review_civil_affairs"))
    if results[0][0] == "ok":
        assert status == "completed" and ready_reviews == 1
    else:
        assert status == "ready" and ready_reviews == 0 and results[1][0] == "ok"
