"""The unit of work of a worklist command: one transaction, the task repository, the trail.

Commands are written against :class:`TaskUnitOfWork`; in production it is
:class:`SqlTaskUnitOfWork`, which joins the engine's unit of work (the same session, the
same event sink, rollback unless committed). Unit tests pass an in-memory one.

Completion is the one command that runs the engine: ``open_for_completion`` and
``run_completion`` are the engine's own steps (``workflows.cases.open_task_for_update``
and ``complete_user_task``), not a copy of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.accounts import Actor
from workflows.cases import complete_user_task, open_task_for_update
from workflows.context import EngineContext

from .repository import SqlTaskRepository, TaskRecord, TaskRepository


@dataclass
class Completion:
    """A task about to be completed: its record and the engine's handle on the live case."""

    task: TaskRecord
    step: Any


class TaskUnitOfWork:
    """What a command needs: ``tasks``, ``record`` (the trail), ``commit`` and the engine step."""

    tasks: TaskRepository

    def __enter__(self) -> TaskUnitOfWork:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        raise NotImplementedError

    def record(self, kind: str, tenant_id: int, **details) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def open_for_completion(self, tenant_id: int, task_id: int) -> Completion:
        raise NotImplementedError

    def run_completion(self, actor: Actor, completion: Completion, data: dict | None) -> tuple[dict, list[dict]]:
        raise NotImplementedError


class SqlTaskUnitOfWork(TaskUnitOfWork):
    def __init__(self, ctx: EngineContext):
        self._ctx = ctx
        self._uow = ctx.unit_of_work()

    def __enter__(self) -> SqlTaskUnitOfWork:
        self._uow.__enter__()
        self.tasks = SqlTaskRepository(self._uow.session)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._uow.__exit__(exc_type, exc, tb)

    def record(self, kind: str, tenant_id: int, **details) -> None:
        self._uow.record(kind, tenant_id, **details)

    def commit(self) -> None:
        self._uow.commit()

    def open_for_completion(self, tenant_id: int, task_id: int) -> Completion:
        step = open_task_for_update(self._ctx, self._uow, tenant_id, task_id)
        return Completion(TaskRecord.of(step.task), step)

    def run_completion(self, actor: Actor, completion: Completion, data: dict | None) -> tuple[dict, list[dict]]:
        return complete_user_task(self._ctx, self._uow, actor, completion.step, data)
