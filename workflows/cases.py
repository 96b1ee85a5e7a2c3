"""Use cases of a case's life in the engine: start, advance, receive messages, read.

Every write follows one pattern: read the case row (its ``version``), take or rebuild the
workflow, run the engine, then write the new state under ``WHERE version = :seen``
(SQLAlchemy's version counter). A concurrent writer makes the update match no row and
the use case answers :class:`Conflict` with nothing applied.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from .accounts import Actor
from .context import EngineContext
from .engine import ModelRuntime, StepOutcome
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import Case, Incident, Task
from .process_models import find_model
from .unit_of_work import UnitOfWork

OPEN_TASK_STATUSES = ("ready", "claimed")
FINAL_CASE_STATUSES = ("concluded", "refused", "terminated")
START_ROLES = ("intake", "clerk", "supervisor", "designer", "admin")


# -- views ----------------------------------------------------------------------------------
def task_view(task: Task, case_number: str | None = None) -> dict:
    return {
        "id": task.id,
        "case_id": task.case_id,
        "case_number": case_number,
        "name": task.name,
        "element_id": task.element_id,
        "group": task.group,
        "candidate_groups": list(task.candidate_groups or ()),
        "candidate_users": list(task.candidate_users or ()),
        "assignee": task.assignee,
        "status": task.status,
        "priority": task.priority,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "warn_at": task.warn_at,
        "completed_at": task.completed_at,
        "completed_by": task.completed_by,
        "version": task.version,
    }


def case_view(case: Case, tasks: list[Task]) -> dict:
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "process_key": case.process_key,
        "model_version": case.model_version,
        "service_code": case.service_code,
        "applicant_id": case.applicant_id,
        "data": case.data or {},
        "deadline": case.deadline,
        "has_incident": case.has_incident,
        "started_by": case.started_by,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "ended_at": case.ended_at,
        "version": case.version,
        "tasks": [task_view(t, case.number) for t in tasks if t.status in OPEN_TASK_STATUSES],
    }


def open_tasks(session, case_id: int) -> list[Task]:
    return list(
        session.scalars(
            select(Task).where(Task.case_id == case_id, Task.status.in_(OPEN_TASK_STATUSES)).order_by(Task.id)
        )
    )


# -- start ------------------------------------------------------------------------------------
def start_case(
    ctx: EngineContext,
    actor: Actor,
    key: str,
    data: dict | None = None,
    version: int | None = None,
    service_code: str | None = None,
    applicant_id: int | None = None,
) -> dict:
    """Start a case of the latest (or the given) version of process ``key``.

    Runs the engine until the case waits and materialises its ready user tasks. A script
    failure does not refuse the case: it is created with an open incident.
    """
    if not actor.has_role(*START_ROLES):
        raise Forbidden("your roles do not allow starting cases")
    data = dict(data or {})
    with ctx.unit_of_work() as uow:
        s = uow.session
        model = find_model(s, actor.tenant_id, key, version)
        runtime = ctx.runtimes.get(s, model.id)
        workflow, outcome = ctx.engine.start(runtime, data)
        now = ctx.clock()
        case = Case(
            tenant_id=actor.tenant_id,
            model_id=model.id,
            process_key=model.key,
            model_version=model.version,
            status=outcome.status,
            service_code=service_code,
            applicant_id=applicant_id,
            data=outcome.data,
            state=outcome.state,
            started_by=actor.username,
            created_at=now,
            updated_at=now,
            ended_at=now if outcome.completed else None,
            has_incident=outcome.incident is not None,
        )
        s.add(case)
        s.flush()
        case.number = f"{actor.tenant_code.upper()}-{now:%Y%m%d}-{case.id:06d}"
        tasks = _apply_outcome(s, case, runtime, outcome, before=set(), now=now)
        s.flush()
        view = case_view(case, tasks)
        uow.commit()
        ctx.workflows.put(view["id"], view["version"], workflow)
    return view


# -- advance ----------------------------------------------------------------------------------
def load_case_for_update(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, case_id: int):
    """The case row, its model runtime and its workflow, ready to be advanced in ``uow``.

    The workflow may come from the cache when its version matches the row just read;
    if the transaction is rolled back it is dropped, so a half-run object is never reused.
    """
    s = uow.session
    case = s.get(Case, case_id)
    if case is None or case.tenant_id != tenant_id:
        raise NotFound(f"case {case_id} does not exist")
    runtime = ctx.runtimes.get(s, case.model_id)
    workflow = ctx.workflows.take(case.id, case.version)
    if workflow is None:
        workflow = ctx.engine.load(runtime, case.state)
    return case, runtime, workflow


def complete_user_task(
    ctx: EngineContext, uow: UnitOfWork, actor: Actor, task: Task, data: dict | None
) -> tuple[dict, list[dict]]:
    """Complete a materialised user task inside the caller's unit of work and run the case on.

    The caller has checked who may complete it; this validates ``data`` against the task's
    form, runs the engine and persists the result. Returns ``(case, next_tasks)``.
    """
    s = uow.session
    data = dict(data or {})
    case, runtime, workflow = load_case_for_update(ctx, uow, actor.tenant_id, task.case_id)
    spiff_task = ctx.engine.find_ready_task(workflow, task.spiff_id)
    if spiff_task is None:
        raise Conflict("this task is no longer open in its case")
    validate_form(runtime, task.form_key, data)
    before = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    outcome = ctx.engine.complete_task(runtime, workflow, task.spiff_id, data)
    now = ctx.clock()
    done = s.execute(
        update(Task)
        .where(Task.id == task.id, Task.status.in_(OPEN_TASK_STATUSES))
        .values(status="completed", completed_at=now, completed_by=actor.username, version=Task.version + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("this task was completed or cancelled by someone else")
    before.discard(task.spiff_id)
    created = _apply_outcome(s, case, runtime, outcome, before=before, now=now)
    _write_case(ctx, uow, s, case, workflow)
    view = case_view(case, created)
    next_tasks = [task_view(t, case.number) for t in created if t.spiff_id not in before]
    return view, next_tasks


def send_message(ctx: EngineContext, actor: Actor, case_id: int, name: str, payload: dict | None = None) -> dict:
    """Deliver a message such as "materials supplied" to a waiting case."""
    if not actor.has_role(*START_ROLES):
        raise Forbidden("your roles do not allow sending messages to cases")
    with ctx.unit_of_work() as uow:
        s = uow.session
        case, runtime, workflow = load_case_for_update(ctx, uow, actor.tenant_id, case_id)
        before = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        try:
            outcome = ctx.engine.send_message(runtime, workflow, name, payload)
        except LookupError as exc:
            raise Conflict(str(exc)) from None
        now = ctx.clock()
        tasks = _apply_outcome(s, case, runtime, outcome, before=before, now=now)
        _write_case(ctx, uow, s, case, workflow)
        view = case_view(case, tasks)
        uow.commit()
    return view


def _write_case(ctx: EngineContext, uow: UnitOfWork, s, case: Case, workflow) -> None:
    """Flush the case under its version check and keep the workflow for the next step."""
    case_id = case.id
    uow.after_rollback(lambda: ctx.workflows.take(case_id, -1))
    try:
        s.flush()
    except StaleDataError:
        raise Conflict("the case was changed by someone else at the same time; reload and try again") from None
    version = case.version
    uow.after_commit(lambda: ctx.workflows.put(case_id, version, workflow))


def _apply_outcome(s, case: Case, runtime: ModelRuntime, outcome: StepOutcome, before: set[str], now: datetime) -> list[Task]:
    """Persist an engine outcome: case state and status, new task rows, vanished tasks cancelled.

    Returns the case's open tasks after the step.
    """
    case.state = outcome.state
    case.status = outcome.status
    case.data = outcome.data
    case.updated_at = now
    if outcome.completed and case.ended_at is None:
        case.ended_at = now
    ready = {t.spiff_id: t for t in outcome.ready}
    gone = before - set(ready)
    if gone:
        s.execute(
            update(Task)
            .where(Task.case_id == case.id, Task.spiff_id.in_(gone), Task.status.in_(OPEN_TASK_STATUSES))
            .values(status="cancelled", completed_at=now, version=Task.version + 1)
            .execution_options(synchronize_session=False)
        )
    new_rows = []
    for spiff_id, rt in ready.items():
        if spiff_id in before:
            continue
        new_rows.append(
            Task(
                tenant_id=case.tenant_id,
                case_id=case.id,
                spiff_id=spiff_id,
                element_id=rt.element_id,
                name=rt.name,
                group=rt.lane,
                candidate_groups=rt.candidate_groups,
                candidate_users=rt.candidate_users,
                status="ready",
                priority=rt.priority,
                form_key=rt.form_key,
                created_at=now,
                due_at=case.deadline,
            )
        )
    s.add_all(new_rows)
    if outcome.incident is not None:
        case.has_incident = True
        s.add(
            Incident(
                tenant_id=case.tenant_id,
                case_id=case.id,
                spiff_task_id=outcome.incident.spiff_task_id,
                element_id=outcome.incident.element_id,
                kind=outcome.incident.kind,
                message=outcome.incident.message,
                created_at=now,
            )
        )
    if before - gone:
        kept = list(
            s.scalars(
                select(Task).where(
                    Task.case_id == case.id, Task.spiff_id.in_(before - gone), Task.status.in_(OPEN_TASK_STATUSES)
                )
            )
        )
    else:
        kept = []
    return kept + new_rows


# -- forms ------------------------------------------------------------------------------------
def task_form(runtime: ModelRuntime, form_key: str | None) -> dict | None:
    if not form_key:
        return None
    return runtime.forms.get(form_key)


def validate_form(runtime: ModelRuntime, form_key: str | None, data: dict) -> None:
    """Check submitted data against the task's JSON Schema form; 422 names each bad field."""
    schema = task_form(runtime, form_key)
    if schema is None:
        return
    problems: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if not path and error.validator == "required":
            # "'x' is a required property": name the missing field itself
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = missing or "data"
        problems.setdefault(path or "data", []).append(error.message)
    if problems:
        raise InvalidInput("the submitted data does not match the task's form", {"data": problems})


# -- read -------------------------------------------------------------------------------------
def get_case(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id:
            raise NotFound(f"case {case_id} does not exist")
        return case_view(case, open_tasks(s, case.id))


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]}) from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
    return values


def list_cases(
    ctx: EngineContext,
    actor: Actor,
    status: str | None = None,
    service_code: str | None = None,
    applicant_id: int | None = None,
    process_key: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """Cases of the caller's tenant, newest first, keyset-paginated by id."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        query = select(Case).where(Case.tenant_id == actor.tenant_id)
        if status:
            query = query.where(Case.status == status)
        if service_code:
            query = query.where(Case.service_code == service_code)
        if applicant_id is not None:
            query = query.where(Case.applicant_id == applicant_id)
        if process_key:
            query = query.where(Case.process_key == process_key)
        if overdue:
            query = query.where(
                Case.deadline.is_not(None), Case.deadline < ctx.clock(), Case.status.not_in(FINAL_CASE_STATUSES)
            )
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            if not isinstance(last_id, int):
                raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
            query = query.where(Case.id < last_id)
        rows = list(s.scalars(query.order_by(Case.id.desc()).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        items = [case_view(c, open_tasks(s, c.id)) for c in rows]
        return items, (encode_cursor([rows[-1].id]) if more else None)
