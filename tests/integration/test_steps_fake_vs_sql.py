"""The same case steps against the in-memory case repository (tests/case_fakes.py) and against
the real databases: the cases, task rows and trail events they leave are the same."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.case_fakes import THREE_TASKS, FakeUnitOfWork, InMemoryCaseRepository, actor, deploy, engine_context
from tests.helpers import make_users
from workflows.case_repository import SqlCaseRepository
from workflows.models import Case, Task, TrailEvent
from workflows.process_models import deploy_model
from workflows.steps import CompleteTask, Start, open_task, run_step


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
def app(postgres_app):
    """This comparison runs against PostgreSQL (the production database)."""
    from tests.conftest import _truncate

    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app
