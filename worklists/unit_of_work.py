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

from sqlalchemy import select

from workflows import handling as engine_handling
from workflows.accounts import Actor
from workflows.cases import (
    case_view,
    complete_user_task,
    open_task_for_update,
    open_tasks,
    take_task_for_completion,
    validate_form,
)
from workflows.context import EngineContext
from workflows.models import Case, CaseCopy, CaseUrging
from workflows.trail import TrailWriter
from workflows.unit_of_work import Event, unit_open

from .repository import SqlTaskRepository, TaskRecord, TaskRepository, claim_statement


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

    # -- handling operations (worklists.handling) -------------------------------------------------
    def validate(self, completion: Completion, data: dict) -> None:
        """Check data against the task's form (422) without running the engine."""
        raise NotImplementedError

    def release(self, actor: Actor, task: TaskRecord, data: dict) -> tuple[dict, list[dict]]:
        """Run the engine step of a task whose row was completed while co-signers signed."""
        raise NotImplementedError

    def case(self, tenant_id: int, case_id: int):
        """``id, tenant_id, number, status, started_by, version, service_code`` of a case, or None."""
        raise NotImplementedError

    def case_groups(self, case_id: int) -> set[str]:
        raise NotImplementedError

    def case_view(self, tenant_id: int, case_id: int) -> dict:
        raise NotImplementedError

    def open_case(self, tenant_id: int, case_id: int):
        """The case ready for an engine step (send back, withdraw, resume)."""
        raise NotImplementedError

    def path_back(self, handle, spiff_id: str) -> list[str]:
        """Engine ids of the user tasks completed on the way to ``spiff_id``, nearest first."""
        raise NotImplementedError

    def followers(self, handle, spiff_id: str) -> list[tuple[str, bool]]:
        """Engine ids of the user tasks that followed ``spiff_id``, each with "still ready"."""
        raise NotImplementedError

    def rewind(self, actor: Actor, handle, spiff_id: str) -> dict:
        """Take the case back to the completed task ``spiff_id`` (its row re-opened by the caller)."""
        raise NotImplementedError

    def suspend(self, actor: Actor, case, reason: str) -> dict:
        raise NotImplementedError

    def resume(self, actor: Actor, handle) -> dict:
        raise NotImplementedError

    def add_copies(self, case, usernames: list[str], by: str, comment: str | None, at) -> list[dict]:
        """Copy the case to those not copied yet; returns the new copies."""
        raise NotImplementedError

    def copies(self, tenant_id: int, username: str, limit: int, before_id: int | None) -> list[dict]:
        raise NotImplementedError

    def mark_copy_read(self, tenant_id: int, username: str, copy_id: int, at) -> tuple[dict | None, bool]:
        """The copy (None if it is not the user's) and whether it was unread until now."""
        raise NotImplementedError

    def add_urging(self, case, by: str, comment: str | None, targets: list[dict], at) -> int:
        raise NotImplementedError


#: :func:`claim_alone` cannot claim here: a unit of work must (and the general path may have to).
NOT_ALONE = object()


def claim_alone(ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None, at):
    """The claim in one statement (see :meth:`SqlTaskRepository.claim_at_once`) on a pooled Core
    connection of its own, as a transaction by itself: no ORM session is made, begun, committed
    and closed for the one statement (``bench/case_instructions.py``: 1.24 M instructions per whole
    case for its three claims). Returns ``(task, case number)``, None when the statement claimed nothing (the
    general path then says why), or :data:`NOT_ALONE` where it may not run like this: the host
    gave no ``ctx.sql_engine``, a unit of work is open (a claim inside another use case joins it), the
    events go to a sink other than the trail's own writer, or the database is not PostgreSQL."""
    sink = ctx.event_sink
    engine = ctx.sql_engine
    if (engine is None or engine.dialect.name != "postgresql" or (sink is not None and type(sink) is not TrailWriter)
            or unit_open(ctx.session_factory)):
        return NOT_ALONE
    event = Event("task.claimed", actor.tenant_id, task_id=task_id, actor=actor.username, at=at, data={})
    with engine.connect() as conn:
        row = claim_statement(conn, event, actor.tenant_id, task_id, actor.username, actor.groups,
                              expected_version, alone=True)
    if row is None:
        return None
    if sink is not None:  # what the writer does after any commit: anchor closed days, hourly
        followup = sink.after_appending({actor.tenant_id})
        if followup is not None:
            followup()
    return TaskRecord.of(row), row["case_number"]


COPIES = CaseCopy.__table__
URGINGS = CaseUrging.__table__
CASES = Case.__table__


def copy_item(row, case_number: str | None) -> dict:
    return {
        "kind": "cc", "id": row.id, "case_id": row.case_id, "case_number": case_number, "username": row.username,
        "copied_by": row.copied_by, "comment": row.comment, "created_at": row.created_at, "read_at": row.read_at,
        "status": "read" if row.read_at is not None else "unread",
    }


class SqlTaskUnitOfWork(TaskUnitOfWork):
    def __init__(self, ctx: EngineContext, lean: bool = False):
        self._ctx = ctx
        self._uow = ctx.unit_of_work(lean=lean)

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

    def _own_unit_on_postgresql(self) -> bool:
        """The statements that do a command at once run only in a unit of their own (a joined unit
        could not roll back what they did) on PostgreSQL."""
        return self._uow.outer is None and self._uow.session.get_bind().dialect.name == "postgresql"

    def claim_at_once(self, actor: Actor, task_id: int, expected_version: int | None, at):
        """See :meth:`SqlTaskRepository.claim_at_once`; the claim's trail event goes with it. Only
        in a unit of its own on PostgreSQL (None otherwise, having recorded nothing). The
        statement is the unit's whole work, so it runs as a transaction of its own."""
        if not self._own_unit_on_postgresql():
            return None
        event = self._uow.record("task.claimed", actor.tenant_id, task_id=task_id, actor=actor.username, at=at, data={})
        return self.tasks.claim_at_once(event, actor.tenant_id, task_id, actor.username, actor.groups,
                                        expected_version, alone=True)

    def take_for_completion(self, actor: Actor, task_id: int, expected_version: int | None, now) -> Completion | None:
        """The task its holder completes, its row completed as it is read (one statement, PostgreSQL,
        a unit of its own); None, with nothing changed, where the general path must decide."""
        if not self._own_unit_on_postgresql():
            return None
        step = take_task_for_completion(self._ctx, self._uow, actor.tenant_id, task_id, actor.username,
                                        expected_version, now)
        if step is None:
            return None
        self.tasks.remember_case(step.record.id, step.record.status, step.record.number)
        self.tasks.closed_with_its_candidates(task_id)
        return Completion(TaskRecord.of(step.task), step)

    def open_for_completion(self, tenant_id: int, task_id: int) -> Completion:
        step = open_task_for_update(self._ctx, self._uow, tenant_id, task_id)
        self.tasks.remember_case(step.record.id, step.record.status, step.record.number)
        return Completion(TaskRecord.of(step.task), step)

    def run_completion(self, actor: Actor, completion: Completion, data: dict | None) -> tuple[dict, list[dict]]:
        # ``commands.complete`` completed the row already (its compare-and-set)
        return complete_user_task(self._ctx, self._uow, actor, completion.step, data, row_completed=True)

    def validate(self, completion: Completion, data: dict) -> None:
        validate_form(completion.step.runtime, completion.task.form_key, data)

    def release(self, actor: Actor, task: TaskRecord, data: dict) -> tuple[dict, list[dict]]:
        step = open_task_for_update(self._ctx, self._uow, task.tenant_id, task.id)
        return complete_user_task(self._ctx, self._uow, actor, step, data, row_closed=True)

    def case(self, tenant_id: int, case_id: int):
        return engine_handling.case_info(self._uow, tenant_id, case_id)

    def case_groups(self, case_id: int) -> set[str]:
        return engine_handling.case_groups(self._uow, case_id)

    def case_view(self, tenant_id: int, case_id: int) -> dict:
        case = self._uow.session.get(Case, case_id)
        return case_view(case, open_tasks(self._uow.session, case_id))

    def open_case(self, tenant_id: int, case_id: int):
        return engine_handling.open_case(self._ctx, self._uow, tenant_id, case_id)

    def path_back(self, handle, spiff_id: str) -> list[str]:
        return engine_handling.path_back(handle, spiff_id)

    def followers(self, handle, spiff_id: str) -> list[tuple[str, bool]]:
        return engine_handling.followers(handle, spiff_id)

    def rewind(self, actor: Actor, handle, spiff_id: str) -> dict:
        return engine_handling.rewind(self._ctx, self._uow, actor, handle, spiff_id)

    def suspend(self, actor: Actor, case, reason: str) -> dict:
        record = engine_handling.case_record(self._uow, case.tenant_id, case.id)
        return engine_handling.suspend(self._ctx, self._uow, actor, record, reason)

    def resume(self, actor: Actor, handle) -> dict:
        return engine_handling.resume(self._ctx, self._uow, actor, handle)

    def add_copies(self, case, usernames: list[str], by: str, comment: str | None, at) -> list[dict]:
        conn = self._uow.session.connection()
        known = set(conn.execute(select(COPIES.c.username).where(
            COPIES.c.case_id == case.id, COPIES.c.username.in_(usernames))).scalars())
        fresh = [u for u in usernames if u not in known]
        if not fresh:
            return []
        rows = conn.execute(COPIES.insert().returning(*COPIES.c, sort_by_parameter_order=True), [
            {"tenant_id": case.tenant_id, "case_id": case.id, "username": u, "copied_by": by, "comment": comment,
             "created_at": at, "read_at": None} for u in fresh]).all()
        return [copy_item(row, case.number) for row in rows]

    def copies(self, tenant_id: int, username: str, limit: int, before_id: int | None) -> list[dict]:
        query = (select(COPIES, CASES.c.number).join(CASES, CASES.c.id == COPIES.c.case_id)
                 .where(COPIES.c.tenant_id == tenant_id, COPIES.c.username == username))
        if before_id is not None:
            query = query.where(COPIES.c.id < before_id)
        rows = self._uow.session.connection().execute(query.order_by(COPIES.c.id.desc()).limit(limit)).all()
        return [copy_item(row, row.number) for row in rows]

    def mark_copy_read(self, tenant_id: int, username: str, copy_id: int, at) -> tuple[dict | None, bool]:
        conn = self._uow.session.connection()
        mine = (COPIES.c.id == copy_id, COPIES.c.tenant_id == tenant_id, COPIES.c.username == username)
        fresh = conn.execute(COPIES.update().where(*mine, COPIES.c.read_at.is_(None)).values(read_at=at)).rowcount
        row = conn.execute(select(COPIES, CASES.c.number).join(CASES, CASES.c.id == COPIES.c.case_id)
                           .where(*mine)).one_or_none()
        return (copy_item(row, row.number) if row is not None else None), fresh == 1

    def add_urging(self, case, by: str, comment: str | None, targets: list[dict], at) -> int:
        return self._uow.session.connection().execute(URGINGS.insert().values(
            tenant_id=case.tenant_id, case_id=case.id, urged_by=by, comment=comment, targets=targets, created_at=at,
        ).returning(URGINGS.c.id)).scalar_one()
