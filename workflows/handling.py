"""The engine's side of the handling operations (``worklists.handling``): taking a case back
to an earlier user task (退回 send back, 撤回 withdraw), and suspending and resuming it (挂起 / 恢复).

Each function runs inside the caller's unit of work and writes the case row under its version
check, like every other step (``workflows.cases``); the caller decides who may do it.

* :func:`rewind` resets the workflow to a completed user task (SpiffWorkflow's
  ``reset_from_task_id``): whatever followed it is dropped, its open tasks are cancelled, its
  timers too, and the task is ready again with the data it held. The deadline clock keeps running.
* :func:`suspend` cancels every timer of the case, pauses the deadline clock (if it runs) and
  sets the status ``suspended``; :func:`resume` puts the previous status back, restarts the
  clock with the working days it had left and writes the timers again, each BPMN timer moved
  later by the time the case stood still.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .accounts import Actor
from .cases import (
    _RECORD_COLUMNS,
    CASES,
    SUSPENDED,
    TASKS,
    CaseRecord,
    case_view,
    load_case_for_update,
    open_tasks,
)
from .case_repository import SqlCaseRepository
from .context import EngineContext
from .deadlines import _cancel, _pause, _resume, _schedule
from .engine import ModelRuntime, waiting_timers
from .errors import Conflict
from .models import Case, CaseSuspension
from .unit_of_work import UnitOfWork

SUSPENSIONS = CaseSuspension.__table__


@dataclass
class CaseHandle:
    """A case opened for a handling operation: its record, model and live workflow."""

    record: CaseRecord
    runtime: ModelRuntime
    workflow: Any


def open_case(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, case_id: int) -> CaseHandle:
    return CaseHandle(*load_case_for_update(ctx, uow, tenant_id, case_id))


def _spiff(workflow, spiff_id: str):
    try:
        return workflow.get_task_from_id(UUID(spiff_id))
    except Exception:  # not a UUID, or not in the tree any more
        return None


def case_record(uow: UnitOfWork, tenant_id: int, case_id: int) -> CaseRecord:
    """The case's record without its workflow (suspending needs no engine)."""
    row = uow.session.connection().execute(
        select(*_RECORD_COLUMNS).where(CASES.c.id == case_id, CASES.c.tenant_id == tenant_id)).one()
    return CaseRecord(**row._asdict())


def path_back(handle: CaseHandle, spiff_id: str) -> list[str]:
    """The completed user tasks on the path the case took to ``spiff_id``, nearest first."""
    task = _spiff(handle.workflow, spiff_id)
    found = []
    node = task.parent if task is not None else None
    while node is not None:
        if node.task_spec.manual and node.state == TaskState.COMPLETED:
            found.append(str(node.id))
        node = node.parent
    return found


def followers(handle: CaseHandle, spiff_id: str) -> list[tuple[str, bool]]:
    """The user tasks that followed ``spiff_id``: ``(spiff id, still ready)`` each."""
    task = _spiff(handle.workflow, spiff_id)
    if task is None:
        return []
    return [
        (str(t.id), t.state == TaskState.READY)
        for t in task
        if t is not task and t.task_spec.manual and t.state in (TaskState.READY, TaskState.COMPLETED)
    ]


def task_data(handle: CaseHandle, spiff_id: str) -> dict | None:
    task = _spiff(handle.workflow, spiff_id)
    return dict(task.data) if task is not None else None


def rewind(ctx: EngineContext, uow: UnitOfWork, actor: Actor, handle: CaseHandle, spiff_id: str) -> dict:
    """Take the case back to the completed user task ``spiff_id``; returns the case.

    The caller has put the task's row back to open (it is the same engine task, so the same
    row); the tasks that followed are cancelled here, with their timers.
    """
    from .steps import ResetTo, run_step

    step = run_step(ctx, uow, ResetTo(handle, spiff_id), actor)
    return case_view(step.record, step.tasks)


# -- suspend and resume -------------------------------------------------------------------------
def _set_status(uow: UnitOfWork, record: CaseRecord, status: str, now: datetime, state: str | None = None) -> None:
    values = {"status": status, "updated_at": now, "version": CASES.c.version + 1}
    if state is not None:
        values["state"] = state
    done = uow.session.connection().execute(
        CASES.update().where(CASES.c.id == record.id, CASES.c.version == record.version).values(**values)
    ).rowcount
    if done != 1:
        raise Conflict("the case was changed by someone else at the same time; reload and try again")
    record.status, record.updated_at, record.version = status, now, record.version + 1


def suspend(ctx: EngineContext, uow: UnitOfWork, actor: Actor, record: CaseRecord, reason: str) -> dict:
    """Suspend an open case (or one waiting for the applicant); returns the case."""
    conn = uow.session.connection()
    cases = SqlCaseRepository(ctx, uow)
    now = ctx.clock()
    previous = record.status
    _cancel(cases, record.id)  # every timer: BPMN events, supervision levels, service retries
    if previous == "open":
        # (waiting for the applicant: paused already)
        _pause(uow, cases, cases.calendar(record.tenant_id), record, now)
    conn.execute(SUSPENSIONS.insert().values(
        tenant_id=record.tenant_id, case_id=record.id, previous_status=previous, reason=reason,
        suspended_by=actor.username, suspended_at=now))
    _set_status(uow, record, SUSPENDED, now)
    uow.record("case.suspended", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
               data={"reason": reason, "previous_status": previous})
    uow.record("case.status_changed", record.tenant_id, case_id=record.id, at=now,
               data={"from": previous, "to": SUSPENDED})
    return case_view(record, open_tasks(uow.session, record.id))


def resume(ctx: EngineContext, uow: UnitOfWork, actor: Actor, handle: CaseHandle) -> dict:
    """Resume a suspended case: its status, clock and timers as they were, the timers moved on."""
    record, workflow = handle.record, handle.workflow
    conn = uow.session.connection()
    cases = SqlCaseRepository(ctx, uow)
    now = ctx.clock()
    row = conn.execute(
        select(SUSPENSIONS).where(SUSPENSIONS.c.case_id == record.id, SUSPENSIONS.c.resumed_at.is_(None))
        .order_by(SUSPENSIONS.c.id.desc()).limit(1)
    ).one_or_none()
    previous = row.previous_status if row is not None else "open"
    stood = now - row.suspended_at if row is not None else None
    if row is not None:
        conn.execute(SUSPENSIONS.update().where(SUSPENSIONS.c.id == row.id).values(resumed_at=now,
                                                                                  resumed_by=actor.username))
    state = None
    rescheduled = []
    if handle.runtime.has_timers:
        if stood is not None:
            ctx.engine.shift_timers(workflow, stood)
            state = ctx.engine.dump(workflow)
        for timer in waiting_timers(workflow):
            _schedule(cases, record, "bpmn", timer.due_at, now, spiff_id=timer.spiff_id, element_id=timer.element_id)
            rescheduled.append({"element_id": timer.element_id, "due_at": timer.due_at.isoformat()})
    if previous == "open":
        _resume(uow, cases, cases.calendar(record.tenant_id), record, now)
    _set_status(uow, record, previous, now, state=state)
    uow.record("case.resumed", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
               data={"status": previous, "suspended_seconds": round(stood.total_seconds(), 3) if stood else None,
                     "timers": rescheduled})
    uow.record("case.status_changed", record.tenant_id, case_id=record.id, at=now,
               data={"from": SUSPENDED, "to": previous})
    return case_view(record, open_tasks(uow.session, record.id))


def case_info(uow: UnitOfWork, tenant_id: int, case_id: int):
    """The few columns the handling rules look at, or None for an unknown case or another tenant's."""
    return uow.session.execute(
        select(Case.id, Case.tenant_id, Case.number, Case.status, Case.started_by, Case.version, Case.service_code)
        .where(Case.id == case_id, Case.tenant_id == tenant_id)
    ).one_or_none()


def case_groups(uow: UnitOfWork, case_id: int) -> set[str]:
    """Every group a task of the case ever belonged to (its lanes and candidate groups)."""
    groups = set()
    for group, candidates in uow.session.execute(
        select(TASKS.c.group, TASKS.c.candidate_groups).where(TASKS.c.case_id == case_id)
    ):
        if group:
            groups.add(group)
        groups.update(candidates or ())
    return groups


# -- notices --------------------------------------------------------------------------------------
NOTICE = "notice"


def add_notice(uow: UnitOfWork, tenant_id: int, case_id: int, group: str, name: str, note: str, now: datetime,
               service_code: str | None = None, actor: str | None = None) -> int:
    """A notice for a department about a case (e.g. 找上门: a senior card was started for a resident):
    an item in the group's inbox, not a step of the process. A clerk of the group claims it and
    completes it to acknowledge it (``worklists.handling.acknowledge_notice``). Returns its id."""
    task_id = uow.session.connection().execute(TASKS.insert().values(
        tenant_id=tenant_id, case_id=case_id, spiff_id=f"notice-{uuid4().hex[:29]}", element_id=NOTICE,
        name=name[:255], group=group, candidate_groups=[], candidate_users=[], status="ready", assignee=None,
        delegated_by=None, service_code=service_code, priority=60, form_key=None, created_at=now, due_at=None,
        warn_at=None, completed_at=None, completed_by=None, version=1, kind=NOTICE, parent_id=None,
        note=note[:2000], urged_count=0, urged_at=None, handling=None,
    ).returning(TASKS.c.id)).scalar_one()
    uow.record("task.created", tenant_id, case_id=case_id, task_id=task_id, actor=actor, at=now,
               data={"name": name, "element_id": NOTICE, "group": group, "task_kind": NOTICE, "note": note})
    return task_id
