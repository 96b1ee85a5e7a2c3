"""Use cases of a case's life in the engine: start, advance, receive messages, read.

Every write follows one pattern: read the case row (its ``version``), take or rebuild the
workflow, run the engine, then write the new state under ``WHERE version = :seen``
(SQLAlchemy's version counter). A concurrent writer makes the update match no row and
the use case answers :class:`Conflict` with nothing applied.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from referencing.exceptions import Unresolvable
from sqlalchemy import bindparam, select

from .accounts import Actor
from .context import EngineContext
from .engine import ModelRuntime
from .errors import Forbidden, InvalidInput, NotFound
from .models import Case, CaseClock, Incident, Task, TaskCandidate
from .form_problems import identity_number_problems, problems_of
from .personal_data import mask_personal_data, may_read_case, personal_data_view
from .unit_of_work import UnitOfWork

OPEN_TASK_STATUSES = ("ready", "claimed")
FINAL_CASE_STATUSES = ("concluded", "refused", "terminated")
#: a case a supervisor suspended (挂起): nothing of it can be worked, no timer fires (workflows.handling)
SUSPENDED = "suspended"
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
        # Identity numbers masked; get_case reveals them to those entitled (and records it).
        "data": mask_personal_data(case.data or {})[0],
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
    uow: UnitOfWork | None = None,
) -> dict:
    """Start a case of the latest (or the given) version of process ``key``.

    Runs the engine until the case waits and materialises its ready user tasks. A script
    failure does not refuse the case: it is created with an open incident.

    Given ``uow``, the case is started inside the caller's unit of work (which commits, or
    not); otherwise in a unit of work of its own.
    """
    if not actor.has_role(*START_ROLES):
        raise Forbidden("your roles do not allow starting cases")
    data = dict(data or {})
    _check_id_numbers(data)
    if uow is not None:
        return _start_in(ctx, uow, actor, key, data, version, service_code, applicant_id)
    with ctx.unit_of_work(lean=True) as own:
        view = _start_in(ctx, own, actor, key, data, version, service_code, applicant_id)
        own.commit()
    return view


def _start_in(ctx: EngineContext, uow: UnitOfWork, actor: Actor, key, data, version, service_code, applicant_id) -> dict:
    from .steps import Start, run_step

    step = run_step(ctx, uow, Start(key, data, version, service_code, applicant_id), actor)
    return case_view(step.record, step.tasks)


# -- advance ----------------------------------------------------------------------------------
@dataclass
class CaseRecord:
    """The columns of a case a step reads and writes (plain values, no ORM identity)."""

    id: int
    tenant_id: int
    number: str | None
    model_id: int
    process_key: str
    model_version: int
    status: str
    service_code: str | None
    applicant_id: int | None
    data: dict
    version: int
    has_incident: bool
    started_by: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    deadline: datetime | None
    # The head of the case's trail as read with the row (workflows.trail.write_case_row).
    trail_seq: int = 0
    trail_hash: str | None = None
    # The state of the case's clock row as read with the case: None when it has none (a step
    # then sends no clock statement); UNKNOWN when the read did not look.
    clock_state: str | None = "unknown"


CASES = Case.__table__
TASKS = Task.__table__
INCIDENTS = Incident.__table__
TASK_CANDIDATES = TaskCandidate.__table__
_RECORD_COLUMNS = [CASES.c[f.name] for f in fields(CaseRecord) if f.name in CASES.c]
CLOCKS = CaseClock.__table__
# The clock's state rides along with the case row (a primary-key outer join: no round trip).
_CLOCK_STATE = CLOCKS.c.state.label("clock_state")


def _param(name: str, column):
    return bindparam(f"b_{name}", type_=column.type)


_INSERT_CASE = CASES.insert().returning(CASES.c.id)
_INSERT_TASKS = TASKS.insert().returning(TASKS.c.id, sort_by_parameter_order=True)
# Built once: constructing a statement costs more than executing its cached compiled form.
_COMPLETE_TASK = (
    TASKS.update()
    .where(TASKS.c.id == _param("id", TASKS.c.id), TASKS.c.status.in_(OPEN_TASK_STATUSES))
    .values(
        status="completed",
        completed_at=_param("now", TASKS.c.completed_at),
        completed_by=_param("by", TASKS.c.completed_by),
        version=TASKS.c.version + 1,
    )
)
_WRITE_CASE = (
    CASES.update()
    .where(CASES.c.id == _param("id", CASES.c.id), CASES.c.version == _param("version", CASES.c.version))
    .values(
        state=_param("state", CASES.c.state),
        status=_param("status", CASES.c.status),
        data=_param("data", CASES.c.data),
        updated_at=_param("updated_at", CASES.c.updated_at),
        ended_at=_param("ended_at", CASES.c.ended_at),
        has_incident=_param("has_incident", CASES.c.has_incident),
        version=CASES.c.version + 1,
    )
    # The trail's chain head, read under the row lock this update takes (no extra query).
    .returning(CASES.c.trail_seq, CASES.c.trail_hash)
)


def load_case_for_update(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, case_id: int):
    """The case's record, its model runtime and its workflow, ready to be advanced in ``uow``."""
    from .case_repository import SqlCaseRepository
    from .steps import load_case

    return load_case(ctx, uow, SqlCaseRepository(ctx, uow), tenant_id, case_id)


@dataclass
class TaskStep:
    """A task about to be completed: its row, its case and the case's live workflow."""

    task: Any  # a row of ``tasks`` (attribute access like the ORM class)
    record: CaseRecord
    runtime: ModelRuntime
    workflow: Any


_TASK_COLUMNS = [c.label(f"task_{c.name}") for c in TASKS.c]
_TASK_AND_CASE = (
    select(*_TASK_COLUMNS, *_RECORD_COLUMNS, CASES.c.state, _CLOCK_STATE)
    .join_from(TASKS, CASES, CASES.c.id == TASKS.c.case_id)
    .outerjoin(CLOCKS, CLOCKS.c.case_id == CASES.c.id)
    .where(TASKS.c.id == bindparam("task_id"), TASKS.c.tenant_id == bindparam("tenant_id"))
)


def open_task_for_update(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, task_id: int) -> TaskStep:
    """Read a task and its case in one query and get the workflow ready to advance.

    Raises NotFound for unknown ids and other tenants' tasks; the caller decides who may
    complete the task (see ``worklists.commands.complete``).
    """
    from .case_repository import SqlCaseRepository
    from .steps import open_task

    return open_task(ctx, uow, SqlCaseRepository(ctx, uow), tenant_id, task_id)


def take_task_for_completion(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, task_id: int, username: str,
                             expected_version: int | None, now) -> TaskStep | None:
    """PostgreSQL: the task its holder completes, its row completed in the read that locks its case
    (``workflows.steps.take_task``); None, with nothing changed, where the general path must decide."""
    from .case_repository import SqlCaseRepository
    from .steps import take_task

    return take_task(ctx, uow, SqlCaseRepository(ctx, uow), tenant_id, task_id, username, expected_version, now)


def _advanceable(ctx: EngineContext, uow: UnitOfWork, values: dict):
    """Build the record and take (or rebuild) the workflow at the row's version (``workflows.steps``)."""
    from .case_repository import SqlCaseRepository
    from .steps import advanceable

    return advanceable(ctx, uow, SqlCaseRepository(ctx, uow), values)


def complete_user_task(
    ctx: EngineContext, uow: UnitOfWork, actor: Actor, step: TaskStep, data: dict | None, *, row_closed: bool = False,
    row_completed: bool = False,
) -> tuple[dict, list[dict]]:
    """Complete a materialised user task inside the caller's unit of work and run the case on.

    The caller opened ``step`` (:func:`open_task_for_update`) and checked who may complete
    it; this validates ``data`` against the task's form, runs the engine and persists the
    result. Returns ``(case, next_tasks)``.

    ``row_closed``: the clerk completed the task's row earlier and the engine step waited for
    co-signers (加签, ``worklists.handling``); it runs now and is recorded as ``task.released``.
    ``row_completed``: the caller completed the task's row in this unit of work (its
    compare-and-set, ``worklists.commands.complete``); the step leaves it alone.
    """
    from .steps import CompleteTask, run_step

    done = run_step(ctx, uow, CompleteTask(step, dict(data or {}), row_closed, row_completed), actor)
    view = case_view(done.record, done.tasks)
    next_tasks = [task_view(t, done.record.number) for t in done.created]
    return view, next_tasks


def send_message(ctx: EngineContext, actor: Actor, case_id: int, name: str, payload: dict | None = None,
                 correlations: dict | None = None) -> dict:
    """Deliver a message such as "materials supplied" to a waiting case."""
    if not actor.has_role(*START_ROLES):
        raise Forbidden("your roles do not allow sending messages to cases")
    _check_id_numbers(payload or {})
    from .steps import DeliverMessage, run_step

    with ctx.unit_of_work() as uow:
        step = run_step(ctx, uow, DeliverMessage(case_id, name, payload, correlations), actor)
        view = case_view(step.record, step.tasks)
        uow.commit()
    return view


def data_changes(before: dict, after: dict) -> dict:
    """What a step changed in the case data: ``{"set": {...}, "removed": [...]}``."""
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    removed = sorted(k for k in before if k not in after)
    return {"set": changed, "removed": removed}


# -- forms ------------------------------------------------------------------------------------
#: Largest case data (as JSON) a step may leave; larger input is refused before anything is written.
MAX_DATA_BYTES = 256 * 1024


def _check_size(data, what: str = "data") -> None:
    from .scripting import json_size_estimate

    if json_size_estimate(data, MAX_DATA_BYTES) > MAX_DATA_BYTES:
        raise InvalidInput(f"the {what} is larger than {MAX_DATA_BYTES:,} bytes as JSON",
                           {what: [f"at most {MAX_DATA_BYTES:,} bytes"]})


def _check_id_numbers(data: dict) -> None:
    """Identity numbers entering a case (fields named ``id_number``/``*_id_number``) pass GB 11643."""
    _check_size(data)
    problems = identity_number_problems(data)
    if problems:
        raise InvalidInput("the data holds invalid identity numbers", {"data": problems})


def task_form(runtime: ModelRuntime, form_key: str | None) -> dict | None:
    if not form_key:
        return None
    return runtime.forms.get(form_key)


def validate_form(runtime: ModelRuntime, form_key: str | None, data: dict) -> None:
    """Check submitted data against the task's JSON Schema form; 422 names each bad field.

    Problems are :class:`~workflows.form_problems.FormProblem` sentences naming the field
    (English as ``str``; the API renders them in the caller's locale). Identity numbers
    (fields named ``*id_number``, or ``"format": "id-number"``) must pass GB 11643. A form
    refers only to schemas inside its model: nothing is fetched or opened.
    """
    _check_size(data)
    schema = task_form(runtime, form_key)
    if schema is None:
        problems = identity_number_problems(data)
        if problems:
            raise InvalidInput("the submitted data holds invalid identity numbers", {"data": problems})
        return
    try:
        problems = problems_of(schema, data, root="data", id_numbers_by_key=True)
    except Unresolvable as exc:
        raise InvalidInput("the task's form refers to a schema outside its model; ask the designer to fix it",
                           {"form": [str(getattr(exc, "ref", ""))[:200]]}) from None
    if problems:
        raise InvalidInput("the submitted data does not match the task's form", {"data": problems})


# -- read -------------------------------------------------------------------------------------
def get_case(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id or not may_read_case(actor, case.started_by):
            raise NotFound(f"case {case_id} does not exist")
        tasks = open_tasks(s, case.id)
        view = case_view(case, tasks)
        view["data"] = personal_data_view(uow, actor, case.data or {}, tenant_id=case.tenant_id, case_id=case.id,
                                          open_tasks=tasks, via="case", at=ctx.clock())
        if uow.events:  # a full identity number was read: that is in the trail too
            uow.commit()
        return view


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
        if not may_read_case(actor, None):  # designers: their own test cases only
            query = query.where(Case.started_by == actor.username)
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
