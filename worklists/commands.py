"""Commands clerks and supervisors give on tasks: claim, unclaim, assign, complete.

Claim and unclaim are single compare-and-set UPDATEs, correct under concurrency on
SQLite and PostgreSQL alike; completion runs the engine inside the same transaction.
"""
from __future__ import annotations

from sqlalchemy import update

from workflows.accounts import Actor, group_members
from workflows.cases import OPEN_TASK_STATUSES, complete_user_task, open_task_for_update, task_view
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from workflows.models import Case, Task

from .access import may_see, may_work, supervises


def _load(s, actor: Actor, task_id: int) -> Task:
    task = s.get(Task, task_id)
    if task is None or not may_see(actor, task):
        raise NotFound(f"task {task_id} does not exist")
    return task


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != task.version:
        raise StaleWrite(f"task {task.id} has changed since you read it (version {task.version})")


def _set(s, task: Task, expect: dict, values: dict) -> bool:
    query = update(Task).where(Task.id == task.id, Task.version == task.version)
    for column, value in expect.items():
        query = query.where(getattr(Task, column) == value)
    result = s.execute(query.values(version=Task.version + 1, **values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _view(s, task_id: int) -> dict:
    s.expire_all()
    task = s.get(Task, task_id)
    return task_view(task, s.get(Case, task.case_id).number)


def claim(ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None = None) -> dict:
    """Take a ready task of one's group. Exactly one of many simultaneous claims wins."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        task = _load(s, actor, task_id)
        if not may_work(actor, task):
            raise Forbidden("you are not a member of this task's group")
        _check_version(task, expected_version)
        if task.status == "claimed" and task.assignee == actor.username:
            return task_view(task, s.get(Case, task.case_id).number)
        if task.status != "ready" or not _set(s, task, {"status": "ready"}, {"status": "claimed", "assignee": actor.username}):
            raise Conflict("the task is already claimed or no longer open")
        uow.record("task.claimed", task.tenant_id, case_id=task.case_id, task_id=task.id, actor=actor.username, at=ctx.clock())
        view = _view(s, task_id)
        uow.commit()
        return view


def unclaim(ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None = None) -> dict:
    """Hand a claimed task back to its group (the holder, or a supervisor of the group)."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        task = _load(s, actor, task_id)
        if task.assignee != actor.username and not supervises(actor, task):
            raise Forbidden("only the clerk holding the task or a supervisor may hand it back")
        _check_version(task, expected_version)
        if task.status != "claimed" or not _set(s, task, {"status": "claimed"}, {"status": "ready", "assignee": None}):
            raise Conflict("the task is not claimed")
        uow.record(
            "task.unclaimed", task.tenant_id, case_id=task.case_id, task_id=task.id, actor=actor.username,
            at=ctx.clock(), data={"previous_assignee": task.assignee},
        )
        view = _view(s, task_id)
        uow.commit()
        return view


def assign(ctx: EngineContext, actor: Actor, task_id: int, username: str, expected_version: int | None = None) -> dict:
    """A supervisor gives an open task to a named member of its group."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        task = _load(s, actor, task_id)
        if not supervises(actor, task):
            raise Forbidden("only a supervisor of this task's group may assign it")
        _check_version(task, expected_version)
        groups = {task.group} | set(task.candidate_groups or ())
        members = {m for g in groups if g for m in group_members(s, actor.tenant_id, g)}
        if username not in members and username not in (task.candidate_users or ()):
            raise InvalidInput(f"{username!r} is not a member of this task's group", {"username": ["not a member"]})
        if task.status not in OPEN_TASK_STATUSES or not _set(
            s, task, {"status": task.status}, {"status": "claimed", "assignee": username}
        ):
            raise Conflict("the task is no longer open")
        uow.record(
            "task.assigned", task.tenant_id, case_id=task.case_id, task_id=task.id, actor=actor.username,
            at=ctx.clock(), data={"assignee": username, "previous_assignee": task.assignee},
        )
        view = _view(s, task_id)
        uow.commit()
        return view


def complete(
    ctx: EngineContext, actor: Actor, task_id: int, data: dict | None, expected_version: int | None = None
) -> tuple[dict, list[dict]]:
    """Complete a task one holds; the case runs on in the same transaction."""
    with ctx.unit_of_work() as uow:
        step = open_task_for_update(ctx, uow, actor.tenant_id, task_id)
        task = step.task
        if not may_see(actor, task):
            raise NotFound(f"task {task_id} does not exist")
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict("the task is no longer open")
        if task.status != "claimed" or task.assignee != actor.username:
            if not may_work(actor, task):
                raise Forbidden("you may not work this task")
            raise Conflict("claim the task before completing it")
        _check_version(task, expected_version)
        case, next_tasks = complete_user_task(ctx, uow, actor, step, data)
        uow.commit()
        return case, next_tasks
