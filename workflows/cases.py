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
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from referencing.exceptions import Unresolvable
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select

from .accounts import Actor
from .context import EngineContext
from .deadlines import plan_step
from .engine import CorrelationRequired, ModelRuntime, StepOutcome
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import Case, Incident, Task, TaskCandidate
from .process_models import find_model, require_executable
from .form_problems import identity_number_problems, problems_of
from .personal_data import mask_personal_data, may_read_case, personal_data_view
from .trail import remember_head, write_case_row
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
    with ctx.unit_of_work() as own:
        view = _start_in(ctx, own, actor, key, data, version, service_code, applicant_id)
        own.commit()
    return view


def _start_in(ctx: EngineContext, uow: UnitOfWork, actor: Actor, key, data, version, service_code, applicant_id) -> dict:
    s = uow.session
    model = find_model(s, actor.tenant_id, key, version)
    require_executable(s, actor.tenant_id, model)
    runtime = ctx.runtimes.get(s, model.id)
    workflow, outcome = ctx.engine.start(runtime, data)
    _check_size(outcome.data)
    now = ctx.clock()
    record = CaseRecord(
        id=0,
        tenant_id=actor.tenant_id,
        number=None,
        model_id=model.id,
        process_key=model.key,
        model_version=model.version,
        status=outcome.status,
        service_code=service_code,
        applicant_id=applicant_id,
        data=outcome.data,
        version=1,
        has_incident=False,
        started_by=actor.username,
        created_at=now,
        updated_at=now,
        ended_at=None,
        deadline=None,
    )
    values = {k: v for k, v in vars(record).items() if k != "id"}
    values["state"] = outcome.state
    conn = s.connection()
    record.id = conn.execute(_INSERT_CASE, values).scalar_one()
    remember_head(s, record.id, 0, None)  # a new case's trail starts empty
    # The application number residents quote: tenant, day of receipt, case id.
    local_day = now.astimezone(ZoneInfo(actor.timezone))
    record.number = f"{actor.tenant_code.upper()}-{local_day:%Y%m%d}-{record.id:06d}"
    conn.execute(_NUMBER_CASE, {"b_id": record.id, "b_number": record.number})
    uow.record(
        "case.received", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
        data={"number": record.number, "process_key": record.process_key, "model_version": record.model_version,
              "service_code": service_code, "applicant_id": applicant_id, "data": data},
    )
    tasks = _apply_outcome(uow, record, outcome, before=set(), now=now, previous_status=None, ctx=ctx)
    if record.has_incident:  # the start failed (a script, or a service call with no retry left)
        conn.execute(_CASE_HAS_INCIDENT, {"b_id": record.id})
    view = case_view(record, tasks)
    case_id, case_version = record.id, record.version
    uow.after_commit(lambda: ctx.workflows.put(case_id, case_version, workflow))
    return view


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


CASES = Case.__table__
TASKS = Task.__table__
INCIDENTS = Incident.__table__
TASK_CANDIDATES = TaskCandidate.__table__
_RECORD_COLUMNS = [CASES.c[f.name] for f in fields(CaseRecord)]


def _param(name: str, column):
    return bindparam(f"b_{name}", type_=column.type)


_INSERT_CASE = CASES.insert().returning(CASES.c.id)
_NUMBER_CASE = CASES.update().where(CASES.c.id == bindparam("b_id")).values(number=bindparam("b_number"))
_CASE_HAS_INCIDENT = CASES.update().where(CASES.c.id == bindparam("b_id")).values(has_incident=True)
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
    row = uow.session.connection().execute(
        select(*_RECORD_COLUMNS, CASES.c.state).where(CASES.c.id == case_id, CASES.c.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    return _advanceable(ctx, uow, row._asdict())


@dataclass
class TaskStep:
    """A task about to be completed: its row, its case and the case's live workflow."""

    task: Any  # a row of ``tasks`` (attribute access like the ORM class)
    record: CaseRecord
    runtime: ModelRuntime
    workflow: Any


_TASK_COLUMNS = [c.label(f"task_{c.name}") for c in TASKS.c]
_TASK_AND_CASE = (
    select(*_TASK_COLUMNS, *_RECORD_COLUMNS, CASES.c.state)
    .join_from(TASKS, CASES, CASES.c.id == TASKS.c.case_id)
    .where(TASKS.c.id == bindparam("task_id"), TASKS.c.tenant_id == bindparam("tenant_id"))
)


def open_task_for_update(ctx: EngineContext, uow: UnitOfWork, tenant_id: int, task_id: int) -> TaskStep:
    """Read a task and its case in one query and get the workflow ready to advance.

    Raises NotFound for unknown ids and other tenants' tasks; the caller decides who may
    complete the task (see ``worklists.commands.complete``).
    """
    row = uow.session.connection().execute(_TASK_AND_CASE, {"task_id": task_id, "tenant_id": tenant_id}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    values = row._asdict()
    task = SimpleNamespace(**{c.name: values.pop(f"task_{c.name}") for c in TASKS.c})
    record, runtime, workflow = _advanceable(ctx, uow, values)
    return TaskStep(task, record, runtime, workflow)


def _advanceable(ctx: EngineContext, uow: UnitOfWork, values: dict):
    """Build the record and take (or rebuild) the workflow at the row's version.

    The workflow may come from the cache when its version matches the row just read;
    if the transaction is rolled back it is dropped, so a half-run object is never reused.
    """
    state = values.pop("state")
    record = CaseRecord(**values)
    runtime = ctx.runtimes.get(uow.session, record.model_id)
    workflow = ctx.workflows.take(record.id, record.version)
    if workflow is None:
        workflow = ctx.engine.load(runtime, state)
    uow.after_rollback(lambda: ctx.workflows.take(record.id, -1))
    return record, runtime, workflow


def complete_user_task(
    ctx: EngineContext, uow: UnitOfWork, actor: Actor, step: TaskStep, data: dict | None, *, row_closed: bool = False
) -> tuple[dict, list[dict]]:
    """Complete a materialised user task inside the caller's unit of work and run the case on.

    The caller opened ``step`` (:func:`open_task_for_update`) and checked who may complete
    it; this validates ``data`` against the task's form, runs the engine and persists the
    result. Returns ``(case, next_tasks)``.

    ``row_closed``: the clerk completed the task's row earlier and the engine step waited for
    co-signers (加签, ``worklists.handling``); it runs now and is recorded as ``task.released``.
    """
    s = uow.session
    data = dict(data or {})
    task, record, runtime, workflow = step.task, step.record, step.runtime, step.workflow
    spiff_task = ctx.engine.find_ready_task(workflow, task.spiff_id)
    if spiff_task is None:
        raise Conflict("this task is no longer open in its case")
    validate_form(runtime, task.form_key, data)
    before = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    previous_data = record.data
    outcome = ctx.engine.complete_task(runtime, workflow, task.spiff_id, data)
    now = ctx.clock()
    if not row_closed:
        done = s.connection().execute(_COMPLETE_TASK, {"b_id": task.id, "b_now": now, "b_by": actor.username})
        if done.rowcount != 1:
            raise Conflict("this task was completed or cancelled by someone else")
    before.discard(task.spiff_id)
    uow.record(
        "task.released" if row_closed else "task.completed", record.tenant_id, case_id=record.id, task_id=task.id,
        actor=actor.username, at=now,
        data={"name": task.name, "element_id": task.element_id, "submitted": data,
              "case_data_changes": data_changes(previous_data, outcome.data)},
    )
    tasks = _apply_outcome(uow, record, outcome, before=before, now=now, previous_status=record.status, ctx=ctx)
    _write_case(ctx, uow, s, record, outcome, workflow)
    view = case_view(record, tasks)
    next_tasks = [task_view(t, record.number) for t in tasks if t.spiff_id not in before]
    return view, next_tasks


def send_message(
    ctx: EngineContext, actor: Actor, case_id: int, name: str, payload: dict | None = None,
    correlation: dict | None = None,
) -> dict:
    """Deliver a message such as "materials supplied" to a waiting case; ``correlation`` gives the
    values of its correlation properties when the model correlates it (see CaseEngine.send_message)."""
    if not actor.has_role(*START_ROLES):
        raise Forbidden("your roles do not allow sending messages to cases")
    _check_id_numbers(payload or {})
    with ctx.unit_of_work() as uow:
        s = uow.session
        record, runtime, workflow = load_case_for_update(ctx, uow, actor.tenant_id, case_id)
        if record.status == SUSPENDED:
            raise Conflict("the case is suspended; it takes messages again when it is resumed")
        # Only messages the model declares public (api_roles), by those roles; deadlines,
        # pressing and escalation messages are the engine's own.
        roles = runtime.public_messages.get(name)
        if roles is None:
            raise Forbidden(f"the process does not accept the message {name!r} through the API")
        if not actor.has_role(*roles):
            raise Forbidden(f"the message {name!r} may be sent by {', '.join(roles)} only")
        before = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        try:
            outcome = ctx.engine.send_message(runtime, workflow, name, payload, correlation)
        except CorrelationRequired as exc:
            raise InvalidInput(str(exc), {"correlation": [str(exc)]}) from None
        except LookupError as exc:
            raise Conflict(str(exc)) from None
        now = ctx.clock()
        uow.record(
            "message.received", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
            data={"name": name, "payload": payload or {}, **({"correlation": correlation} if correlation else {})},
        )
        tasks = _apply_outcome(uow, record, outcome, before=before, now=now, previous_status=record.status, ctx=ctx)
        _write_case(ctx, uow, s, record, outcome, workflow)
        view = case_view(record, tasks)
        uow.commit()
    return view


def _write_case(ctx: EngineContext, uow: UnitOfWork, s, record: CaseRecord, outcome: StepOutcome, workflow) -> None:
    """Write the new state under the version check; keep the workflow for the next step."""
    _check_size(record.data)
    params = {
        "b_id": record.id,
        "b_version": record.version,
        "b_state": outcome.state,
        "b_status": record.status,
        "b_data": record.data,
        "b_updated_at": record.updated_at,
        "b_ended_at": record.ended_at,
        "b_has_incident": record.has_incident,
    }
    # The trail's events so far ride along in the same statement where it can (workflows.trail).
    if write_case_row(ctx, uow, s.connection(), _WRITE_CASE, params, record) is None:
        raise Conflict("the case was changed by someone else at the same time; reload and try again")
    record.version += 1
    case_id, version = record.id, record.version
    uow.after_commit(lambda: ctx.workflows.put(case_id, version, workflow))


def _apply_outcome(
    uow: UnitOfWork, record: CaseRecord, outcome: StepOutcome, before: set[str], now: datetime, previous_status: str | None,
    ctx: EngineContext | None = None,
) -> list:
    """Persist an engine outcome's tasks and incident, and update ``record`` to match.

    New ready tasks become rows, tasks that vanished (a terminate end, a boundary event)
    are cancelled; each change is recorded for the trail. Returns the case's open tasks
    after the step.
    """
    s = uow.session
    for engine_event in outcome.events:  # gateway decisions: which flow the case took
        uow.record(engine_event.kind, record.tenant_id, case_id=record.id, at=now, data=engine_event.data)
    if previous_status is not None and outcome.status != previous_status:
        uow.record(
            "case.status_changed", record.tenant_id, case_id=record.id, at=now,
            data={"from": previous_status, "to": outcome.status},
        )
    record.status = outcome.status
    record.data = outcome.data
    record.updated_at = now
    if outcome.completed and record.ended_at is None:
        record.ended_at = now
    # Deadline clock, supervision and timer rows, service retries (workflows.deadlines).
    deadlines = plan_step(ctx, uow, record, outcome, now, previous_status) if ctx is not None else None
    conn = s.connection()
    ready = {t.spiff_id: t for t in outcome.ready}
    gone = before - set(ready)
    if gone:
        cancelled = conn.execute(
            TASKS.update()
            .where(TASKS.c.case_id == record.id, TASKS.c.spiff_id.in_(gone), TASKS.c.status.in_(OPEN_TASK_STATUSES))
            .values(status="cancelled", completed_at=now, version=TASKS.c.version + 1)
            .returning(TASKS.c.id)
        ).scalars().all()
        # co-signers' tasks (加签) go with the task they sign for (open, or completed and held for them)
        signed_for = select(TASKS.c.id).where(TASKS.c.case_id == record.id, TASKS.c.spiff_id.in_(gone))
        cancelled += conn.execute(
            TASKS.update()
            .where(TASKS.c.case_id == record.id, TASKS.c.parent_id.in_(signed_for),
                   TASKS.c.status.in_(OPEN_TASK_STATUSES))
            .values(status="cancelled", completed_at=now, version=TASKS.c.version + 1)
            .returning(TASKS.c.id)
        ).scalars().all()
        for task_id in cancelled:
            uow.record("task.cancelled", record.tenant_id, case_id=record.id, task_id=task_id, at=now)
        if cancelled:  # candidates index open tasks only (worklists)
            conn.execute(TASK_CANDIDATES.delete().where(TASK_CANDIDATES.c.task_id.in_(cancelled)))
    new_rows = [
        {
            "tenant_id": record.tenant_id,
            "case_id": record.id,
            "spiff_id": spiff_id,
            "element_id": rt.element_id,
            "name": rt.name,
            "group": rt.lane,
            "candidate_groups": rt.candidate_groups,
            "candidate_users": rt.candidate_users,
            "status": "claimed" if rt.assignee else "ready",  # camunda:assignee: claimed by that user
            "assignee": rt.assignee,
            "delegated_by": None,
            "service_code": record.service_code,
            "priority": rt.priority,
            "form_key": rt.form_key,
            "created_at": now,
            "due_at": deadlines.due_at(rt) if deadlines else record.deadline,
            "warn_at": deadlines.warn_at(rt) if deadlines else None,
            "completed_at": None,
            "completed_by": None,
            "version": 1,
        }
        for spiff_id, rt in ready.items()
        if spiff_id not in before
    ]
    created = []
    if new_rows:
        ids = conn.execute(_INSERT_TASKS, new_rows).scalars().all()
        created = [SimpleNamespace(id=task_id, **row) for task_id, row in zip(ids, new_rows)]
        candidates = [  # the worklists find candidate tasks through this side table
            {"task_id": t.id, "kind": kind, "name": name, "tenant_id": t.tenant_id}
            for t in created
            for kind, names in (("group", t.candidate_groups), ("user", t.candidate_users))
            for name in sorted(set(names or ()))
            if len(name) <= 150  # longer than any group code or username: names nobody
        ]
        if candidates:
            conn.execute(TASK_CANDIDATES.insert(), candidates)
        for task in created:
            uow.record(
                "task.created", record.tenant_id, case_id=record.id, task_id=task.id, at=now,
                data={"name": task.name, "element_id": task.element_id, "group": task.group},
            )
    if outcome.incident is not None:
        record.has_incident = True
        uow.record(
            "incident.raised", record.tenant_id, case_id=record.id, at=now,
            data={"kind": outcome.incident.kind, "element_id": outcome.incident.element_id,
                  "message": outcome.incident.message},
        )
        conn.execute(
            INCIDENTS.insert().values(
                tenant_id=record.tenant_id,
                case_id=record.id,
                spiff_task_id=outcome.incident.spiff_task_id,
                element_id=outcome.incident.element_id,
                kind=outcome.incident.kind,
                message=outcome.incident.message,
                created_at=now,
            )
        )
    kept = []
    if before - gone:
        kept = conn.execute(
            select(TASKS).where(
                TASKS.c.case_id == record.id,
                TASKS.c.spiff_id.in_(before - gone),
                TASKS.c.status.in_(OPEN_TASK_STATUSES),
            ).order_by(TASKS.c.id)
        ).all()
    return list(kept) + created


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
