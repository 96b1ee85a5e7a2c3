"""Shared setup of the one-window tests: users, every shipped model, a small data centre."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from datacentre import synthetic
from datacentre.models import Certificate, Person
from server.demo import model_files, model_folders
from tests.helpers import make_users
from workflows import accounts
from workflows.models import Task
from workflows.process_models import deploy_model
from worklists import commands

ONE_WINDOW_USERS = [
    # username, roles, groups, supervises (tenant xichangan)
    ("lane1", ["clerk"], ["street_lane_chief"], []),
    ("grid1", ["clerk"], ["grid_center", "city_management"], []),
    ("emerg1", ["clerk"], ["emergency_management"], []),
    ("community1", ["clerk"], ["community"], []),
    ("leader1", ["clerk"], ["duty_leader"], []),
]


def one_window(ctx, residents: int = 400) -> dict:
    """Users (tests.helpers plus the one window's), all shipped models, synthetic residents."""
    actors = make_users(ctx)
    with ctx.unit_of_work() as uow:
        for username, roles, groups, supervises in ONE_WINDOW_USERS:
            accounts.add_user(uow.session, "xichangan", username, "correct-horse-battery", roles, groups, supervises)
        uow.commit()
    with ctx.unit_of_work() as uow:
        for username, *_ in ONE_WINDOW_USERS:
            actors[username] = accounts.authenticate(uow.session, username, "correct-horse-battery")
    for folder in model_folders():
        deploy_model(ctx, actors["designer1"], model_files(folder))
    if residents:
        synthetic.generate_demo_data(ctx, actors["admin1"], residents, seed=1, as_of=date.today())
    return actors


def resident_with(ctx, certificate: str | None = None, **where) -> int:
    """Id of the first resident (of xichangan) holding ``certificate`` and matching ``where``."""
    with ctx.unit_of_work() as uow:
        query = select(Person.id).order_by(Person.id)
        if certificate:
            query = query.join(Certificate, Certificate.holder_id == Person.id).where(
                Certificate.type == certificate, Certificate.status == "valid")
        for column, value in where.items():
            column = getattr(Person, column)
            query = query.where(column.is_(None) if value is None else column == value)
        found = uow.session.scalar(query.limit(1))
        assert found is not None, f"no resident with {certificate} {where}"
        return found


def open_task(ctx, case_id: int, element_id: str | None = None):
    with ctx.unit_of_work() as uow:
        query = select(Task).where(Task.case_id == case_id, Task.status.in_(("ready", "claimed"))).order_by(Task.id)
        if element_id:
            query = query.where(Task.element_id == element_id)
        task = uow.session.scalar(query.limit(1))
        assert task is not None, f"case {case_id} has no open task {element_id or ''}"
        uow.session.expunge(task)
        return task


def work(ctx, actor, case_id: int, element_id: str, data: dict):
    """Claim and complete the case's open task ``element_id`` as ``actor``."""
    task = open_task(ctx, case_id, element_id)
    commands.claim(ctx, actor, task.id)
    return commands.complete(ctx, actor, task.id, data)
