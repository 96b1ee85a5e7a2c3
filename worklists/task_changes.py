"""What every command on a task does the same way: find it as the actor may see it, check the
``If-Match`` version, change it by compare-and-set, record the change for the trail, answer it.
Shared by :mod:`.commands` (claim … complete) and :mod:`.handling` (send back … suspend)."""
from __future__ import annotations

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Conflict, NotFound, StaleWrite

from .access import may_see, require_worklist
from .repository import TaskRecord, task_item
from .unit_of_work import SqlTaskUnitOfWork, TaskUnitOfWork


def unit(ctx: EngineContext, uow: TaskUnitOfWork | None) -> TaskUnitOfWork:
    """The caller's unit of work, or a new one on the database."""
    return uow if uow is not None else SqlTaskUnitOfWork(ctx)


def visible(uow: TaskUnitOfWork, actor: Actor, task_id: int) -> TaskRecord:
    """The task if the actor may see it (403 without a worklist, else 404)."""
    require_worklist(actor)
    task = uow.tasks.get(actor.tenant_id, task_id)
    if task is None or not may_see(actor, task):
        raise NotFound(f"task {task_id} does not exist")
    return task


def check_version(task: TaskRecord, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != task.version:
        raise StaleWrite(f"task {task.id} has changed since you read it (now version {task.version})")


def change(uow: TaskUnitOfWork, task: TaskRecord, **values) -> TaskRecord:
    """Compare-and-set on the task's version; a lost race is a Conflict (409)."""
    changed = uow.tasks.change(task, **values)
    if changed is None:
        raise Conflict("someone else changed the task at the same time; reload it and try again")
    return changed


def answer(uow: TaskUnitOfWork, task: TaskRecord) -> dict:
    return task_item(task, uow.tasks.case_number(task.case_id))


def record(uow: TaskUnitOfWork, ctx: EngineContext, kind: str, actor: Actor, task: TaskRecord, **data) -> None:
    """A trail event of the task's case (values left out when None)."""
    uow.record(
        kind, task.tenant_id, case_id=task.case_id, task_id=task.id, actor=actor.username, at=ctx.clock(),
        data={k: v for k, v in data.items() if v is not None},
    )
