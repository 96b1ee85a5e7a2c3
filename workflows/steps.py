"""One case step, written once: ``run_step(ctx, uow, command)``.

Every way a case moves on is a command (:class:`Start`, :class:`CompleteTask`,
:class:`DeliverMessage`, :class:`FireTimers`, :class:`RetryIncident`, :class:`ResetTo`).
A step loads the case under its version (or creates it), asks the engine, brings the case
record in line with the outcome and hands the :class:`Step` to the **handlers** registered
at start-up, in their stated order. The handlers write the step's rows; no other code does.

The engine's own handlers, in order (:data:`ENGINE_HANDLERS`):

1. ``retries``: a failed service call that may work later becomes a retry timer instead of
   an incident (it must decide before the incident is written);
2. ``deadline_clock``: start, pause, resume and stop the case clock (承诺时限) and its
   supervision timers; answers the due and warning times of new tasks;
3. ``bpmn_timers``: one open timer row per timer event the case waits on;
4. ``task_rows``: the completed task's row, cancelled and new task rows and their candidates;
5. ``incidents``: resolving the retried incident, writing a new one;
6. ``case_row``: the case row under its version check, with the trail's events of the step
   appended in the same statement where the database allows (``workflows.trail``).

The host adds its reactions after them (``server.wiring``): the one window issues
certificates on a positive decision and queues concluded cases for audit
(``onewindow.conclusion``). A handler is ``handler(step) -> None``; it runs inside the
step's transaction and may raise to refuse the whole step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from SpiffWorkflow.util.task import TaskState

from .accounts import Actor
from .case_repository import CaseRepository, SqlCaseRepository
from .cases import (
    FINAL_CASE_STATUSES,
    SUSPENDED,
    CaseRecord,
    TaskStep,
    _check_size,
    data_changes,
    validate_form,
)
from .context import EngineContext
from .deadlines import StepDeadlines, plan_bpmn_timers, plan_clock, plan_retries
from .engine import CorrelationRequired, ModelRuntime, StepOutcome
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .unit_of_work import UnitOfWork


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    """Start a case of process ``key`` (its latest version, or ``version``)."""

    key: str
    data: dict
    version: int | None = None
    service_code: str | None = None
    applicant_id: int | None = None


@dataclass(frozen=True)
class CompleteTask:
    """Complete the user task opened as ``task_step`` (``workflows.cases.open_task_for_update``).

    ``row_closed``: the task's row was completed earlier while co-signers signed (加签); the
    engine step runs now and is recorded as ``task.released``.
    """

    task_step: TaskStep
    data: dict
    row_closed: bool = False
    #: the caller completed the task's row already, in this unit of work
    row_completed: bool = False


@dataclass(frozen=True)
class DeliverMessage:
    """Deliver message ``name`` to case ``case_id``.

    ``public``: sent through the API, so the model must declare it public for the sender's
    roles and a waiting case that is not waiting for it is a conflict; the engine's own
    messages (supervision) are not public and are dropped quietly when the case does not
    wait for them. ``correlations``: correlation values of the message (carried for the
    engine's message matching).
    """

    case_id: int
    name: str
    payload: dict | None = None
    correlations: dict | None = None
    public: bool = True
    tenant_id: int | None = None
    #: the step's time when the caller fixed it (a timer that fired)
    now: datetime | None = None


@dataclass(frozen=True)
class FireTimers:
    """Fire what the timer row ``timer`` (just marked fired) makes due in its case.

    ``loaded``: the case row, read already with others of a burst (``workflows.timers``).
    """

    timer: Any
    loaded: dict | None = None
    #: the time of the firing transaction (one for a whole burst)
    now: datetime | None = None


@dataclass(frozen=True)
class RetryIncident:
    """Run the stopped tasks of the incident's case again; every open incident of it is resolved."""

    incident_id: int


@dataclass(frozen=True)
class ResetTo:
    """Take a case opened for handling (``workflows.handling.open_case``) back to a completed user task."""

    handle: Any
    spiff_id: str


# -- the step --------------------------------------------------------------------------------------
@dataclass
class Step:
    """A step in progress, as the handlers see it."""

    ctx: EngineContext
    uow: UnitOfWork
    command: Any
    actor: str | None
    record: CaseRecord
    runtime: ModelRuntime
    workflow: Any
    outcome: StepOutcome
    #: engine ids of the user tasks that were ready before the step
    before: set[str]
    now: datetime
    #: the case's status before the step; None for a new case
    previous_status: str | None
    #: the state to write; None when the workflow did not change (nothing to re-serialise)
    state: str | None = None
    deadlines: StepDeadlines | None = None
    #: rows of the tasks the step created, and the case's open tasks after it
    created: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    #: whatever the command reports back (e.g. the incident retried)
    extra: dict = field(default_factory=dict)
    #: where the step's case, task and incident rows are read and written
    cases: CaseRepository | None = None

    @property
    def new_case(self) -> bool:
        return self.previous_status is None

    @property
    def concluded_now(self) -> bool:
        return self.previous_status is not None and self.outcome.status != self.previous_status \
            and self.outcome.status == "concluded"


Handler = Callable[[Step], None]


class StepHandlers:
    """The handlers every step runs, in order. Built once at start-up (``server.wiring``)."""

    def __init__(self, handlers: Iterable[tuple[str, Handler]]):
        self._handlers = tuple(handlers)
        names = [name for name, _ in self._handlers]
        if len(set(names)) != len(names):
            raise ValueError(f"step handlers registered twice: {names}")

    def names(self) -> list[str]:
        return [name for name, _ in self._handlers]

    def __iter__(self):
        return iter(self._handlers)

    def then(self, *more: tuple[str, Handler]) -> "StepHandlers":
        return StepHandlers(self._handlers + tuple(more))


#: Outcome of a command that had nothing to do (a timer whose event is gone, a message nobody waits for).
@dataclass
class Skipped:
    reason: str


def run_step(ctx: EngineContext, uow: UnitOfWork, command, actor: Actor | str | None = None,
             cases: CaseRepository | None = None) -> Step | Skipped:
    """Run one case step inside ``uow`` (the caller commits); ``cases``: the storage (default SQL).

    Returns the :class:`Step` after its handlers ran, or :class:`Skipped` when the command
    found nothing to do. Raises the command's errors (NotFound, Conflict, Forbidden,
    InvalidInput) before anything is written, or a handler's, which the caller's rollback undoes.
    """
    advance = _ADVANCE.get(type(command))
    if advance is None:
        raise TypeError(f"not a step command: {command!r}")
    cases = cases if cases is not None else SqlCaseRepository(ctx, uow)
    step = advance(ctx, uow, cases, command, actor)
    if isinstance(step, Skipped):
        return step
    step.cases = cases
    _settle(step)
    for _name, handler in ctx.step_handlers or ENGINE_HANDLERS:
        handler(step)
    cases.write_held()  # rows kept back to ride along with a write no handler made
    return step


def _actor_name(actor) -> str | None:
    return actor.username if isinstance(actor, Actor) else actor


def _ready_before(workflow) -> set[str]:
    return {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _settle(step: Step) -> None:
    """The engine's own decisions for the trail, and the record brought in line with the outcome."""
    record, outcome, now, uow = step.record, step.outcome, step.now, step.uow
    for engine_event in outcome.events:  # gateway decisions: which flow the case took
        uow.record(engine_event.kind, record.tenant_id, case_id=record.id, at=now, data=engine_event.data)
    if step.previous_status is not None and outcome.status != step.previous_status:
        uow.record("case.status_changed", record.tenant_id, case_id=record.id, at=now,
                   data={"from": step.previous_status, "to": outcome.status})
    record.status = outcome.status
    record.data = outcome.data
    record.updated_at = now
    if outcome.completed and record.ended_at is None:
        record.ended_at = now
    step.state = outcome.state


# -- what each command does before the handlers ---------------------------------------------------
def _start(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: Start, actor) -> Step:
    if not isinstance(actor, Actor):
        raise Forbidden("a case is started by a user")
    latest = command.version is None
    for _ in range(3):
        model = cases.model_to_start(actor.tenant_id, command.key, command.version)
        runtime = cases.runtime(model.id)
        workflow, outcome = ctx.engine.start(runtime, command.data)
        _check_size(outcome.data)
        now = ctx.clock()
        record = CaseRecord(
            id=0, tenant_id=actor.tenant_id, number=None, model_id=model.id, process_key=model.key,
            model_version=model.version, status=outcome.status, service_code=command.service_code,
            applicant_id=command.applicant_id, data=outcome.data, version=1, has_incident=False,
            started_by=actor.username, created_at=now, updated_at=now, ended_at=None, deadline=None, clock_state=None,
        )
        if cases.insert_case(record, outcome.state, actor.tenant_code, actor.timezone, as_latest=latest):
            break
        # the latest version this process knew of is not the latest any more: start on the new one
        cases.forget_latest(actor.tenant_id, command.key)
    else:
        raise Conflict(f"new versions of {command.key!r} are being deployed right now; try again")
    uow.record(
        "case.received", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
        data={"number": record.number, "process_key": record.process_key, "model_version": record.model_version,
              "service_code": command.service_code, "applicant_id": command.applicant_id, "data": command.data},
    )
    return Step(ctx, uow, command, actor.username, record, runtime, workflow, outcome, set(), now, None)


def _complete(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: CompleteTask, actor) -> Step:
    task_step = command.task_step
    task, record, runtime, workflow = task_step.task, task_step.record, task_step.runtime, task_step.workflow
    data = dict(command.data or {})
    spiff_task = ctx.engine.find_ready_task(workflow, task.spiff_id)
    if spiff_task is None:
        raise Conflict("this task is no longer open in its case")
    validate_form(runtime, task.form_key, data)
    before = _ready_before(workflow)
    previous_data = record.data
    outcome = ctx.engine.complete_task(runtime, workflow, task.spiff_id, data)
    now = ctx.clock()
    before.discard(task.spiff_id)
    name = _actor_name(actor)
    uow.record(
        "task.released" if command.row_closed else "task.completed", record.tenant_id, case_id=record.id,
        task_id=task.id, actor=name, at=now,
        data={"name": task.name, "element_id": task.element_id, "submitted": data,
              "case_data_changes": data_changes(previous_data, outcome.data)},
    )
    step = Step(ctx, uow, command, name, record, runtime, workflow, outcome, before, now, record.status)
    step.extra["submitted"] = data
    return step


def _deliver(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: DeliverMessage, actor) -> Step | Skipped:
    tenant_id = command.tenant_id if command.tenant_id is not None else actor.tenant_id
    record, runtime, workflow = load_case(ctx, uow, cases, tenant_id, command.case_id)
    if command.public:
        if record.status == SUSPENDED:
            raise Conflict("the case is suspended; it takes messages again when it is resumed")
        # Only messages the model declares public (api_roles), by those roles; deadlines,
        # pressing and escalation messages are the engine's own.
        roles = runtime.public_messages.get(command.name)
        if roles is None:
            raise Forbidden(f"the process does not accept the message {command.name!r} through the API")
        if not actor.has_role(*roles):
            raise Forbidden(f"the message {command.name!r} may be sent by {', '.join(roles)} only")
    elif record.status in FINAL_CASE_STATUSES:
        return Skipped("the case has ended")
    before = _ready_before(workflow)
    try:
        outcome = ctx.engine.send_message(runtime, workflow, command.name, command.payload, command.correlations)
    except CorrelationRequired as exc:
        raise InvalidInput(str(exc), {"correlation": [str(exc)]}) from None
    except LookupError as exc:
        if command.public:
            raise Conflict(str(exc)) from None
        return Skipped("the case does not wait for the message here")  # not waiting for it at this point
    now = command.now or ctx.clock()
    name = _actor_name(actor)
    uow.record("message.received", record.tenant_id, case_id=record.id, actor=name, at=now,
               data={"name": command.name, "payload": command.payload or {},
                     **({"correlation": command.correlations} if command.correlations else {})})
    return Step(ctx, uow, command, name, record, runtime, workflow, outcome, before, now, record.status)


class NotDueYet(Exception):
    """The timer's event is not due by this process's engine clock; try again at ``due_at``."""

    def __init__(self, due_at: datetime):
        self.due_at = due_at


def _fire(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: FireTimers, actor) -> Step | Skipped:
    row, loaded = command.timer, command.loaded
    if loaded is not None and loaded["tenant_id"] == row.tenant_id:
        record, runtime, workflow = advanceable(ctx, uow, cases, dict(loaded))
    else:
        record, runtime, workflow = load_case(ctx, uow, cases, row.tenant_id, row.case_id)
    if row.kind == "retry":
        if record.status in FINAL_CASE_STATUSES or not workflow.get_tasks(state=TaskState.ERROR):
            return Skipped("stale")
        before = _ready_before(workflow)
        outcome = ctx.engine.retry(runtime, workflow)
        now = command.now or ctx.clock()
        uow.record("service.retried", record.tenant_id, case_id=record.id, at=now,
                   data={"element_id": row.element_id, "attempt": row.attempt, "succeeded": outcome.incident is None})
        return Step(ctx, uow, command, _actor_name(actor), record, runtime, workflow, outcome, before, now,
                    record.status)
    task = _spiff_task(workflow, row.spiff_id)
    if task is not None and task.state == TaskState.COMPLETED and _fired_by_timer(task):
        return Skipped("fired")  # with another timer of the case, due at the same time, in this transaction
    if record.status in FINAL_CASE_STATUSES or task is None or task.state != TaskState.WAITING:
        return Skipped("stale")  # the timer event is gone (its task was cancelled or completed meanwhile)
    before = _ready_before(workflow)
    outcome = ctx.engine.fire_timers(runtime, workflow)
    now = command.now or ctx.clock()
    still = next((t for t in outcome.timers or () if t.spiff_id == row.spiff_id), None)
    if still is not None and abs((still.due_at - row.due_at).total_seconds()) < 0.001:
        # Not fired: this process's clock runs behind the one that wrote the row. Roll back.
        raise NotDueYet(max(still.due_at, now + timedelta(milliseconds=200)))
    # This row is closed already; a cycle timer's next round (``still``) gets a row of its own.
    outcome.timers_before = [t for t in outcome.timers_before or () if t.spiff_id != row.spiff_id]
    outcome.timers_fired = [s for s in outcome.timers_fired if s != row.spiff_id]
    return Step(ctx, uow, command, _actor_name(actor), record, runtime, workflow, outcome, before, now, record.status)


def _spiff_task(workflow, spiff_id: str | None):
    from uuid import UUID

    try:
        return workflow.get_task_from_id(UUID(spiff_id))
    except Exception:  # not a UUID, or no such task
        return None


def _fired_by_timer(task) -> bool:
    from .engine import fired_by_timer

    return fired_by_timer(task)


def _retry(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: RetryIncident, actor) -> Step:
    incident = cases.open_incident(actor.tenant_id, command.incident_id)
    if incident is None:
        raise NotFound(f"incident {command.incident_id} does not exist")
    if incident.resolved_at is not None:
        raise Conflict("this incident is resolved already")
    record, runtime, workflow = load_case(ctx, uow, cases, actor.tenant_id, incident.case_id)
    if record.status in FINAL_CASE_STATUSES:
        raise Conflict("the case has ended; there is nothing to retry")
    if record.status == SUSPENDED:
        raise Conflict("the case is suspended; retry it when it is resumed")
    now = ctx.clock()
    before = _ready_before(workflow)
    outcome = ctx.engine.retry(runtime, workflow)
    succeeded = outcome.incident is None
    uow.record(
        "incident.retried", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
        data={"incident_id": command.incident_id, "element_id": incident.element_id, "succeeded": succeeded},
    )
    step = Step(ctx, uow, command, actor.username, record, runtime, workflow, outcome, before, now, record.status)
    step.extra["succeeded"] = succeeded
    return step


def _reset(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, command: ResetTo, actor) -> Step:
    handle = command.handle
    record, runtime, workflow = handle.record, handle.runtime, handle.workflow
    if record.status == SUSPENDED:
        raise Conflict("the case is suspended")
    task = _spiff_task(workflow, command.spiff_id)
    if task is None or task.state != TaskState.COMPLETED:
        raise Conflict("that task is not a finished step of this case")
    before = _ready_before(workflow) | {command.spiff_id}
    outcome = ctx.engine.reset_to(runtime, workflow, command.spiff_id, data=task.data)
    if command.spiff_id not in outcome.ready_ids():
        raise Conflict("the case cannot go back to that task")
    now = ctx.clock()
    return Step(ctx, uow, command, _actor_name(actor), record, runtime, workflow, outcome, before, now, record.status)


# -- loading a case to advance it ---------------------------------------------------------------------
def advanceable(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, values: dict):
    """The record, runtime and workflow of a case row just read (``values`` with its ``state``).

    The workflow may come from the cache when its version matches the row just read; if the
    transaction is rolled back it is dropped, so a half-run object is never reused.
    """
    state = values.pop("state")
    record = CaseRecord(**values)
    runtime = cases.runtime(record.model_id)
    workflow = ctx.workflows.take(record.id, record.version)
    if workflow is None:
        workflow = ctx.engine.load(runtime, state)
    uow.after_rollback(lambda: ctx.workflows.take(record.id, -1))
    return record, runtime, workflow


def load_case(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, tenant_id: int, case_id: int):
    """The case's record, runtime and workflow, ready to be advanced in ``uow``."""
    values = cases.load(tenant_id, case_id)
    if values is None:
        raise NotFound(f"case {case_id} does not exist")
    return advanceable(ctx, uow, cases, values)


def open_task(ctx: EngineContext, uow: UnitOfWork, cases: CaseRepository, tenant_id: int, task_id: int) -> TaskStep:
    """A task and its case read together, the workflow ready to complete it (NotFound otherwise)."""
    found = cases.load_task(tenant_id, task_id)
    if found is None:
        raise NotFound(f"task {task_id} does not exist")
    task, values = found
    record, runtime, workflow = advanceable(ctx, uow, cases, values)
    return TaskStep(SimpleNamespace(**task), record, runtime, workflow)


def take_task(ctx: EngineContext, uow: UnitOfWork, cases, tenant_id: int, task_id: int, username: str,
              expected_version: int | None, now) -> TaskStep | None:
    """Like :func:`open_task` with the task's row completed in the same read
    (:meth:`~workflows.case_repository.SqlCaseRepository.take_task`), or None."""
    found = cases.take_task(tenant_id, task_id, username, expected_version, now)
    if found is None:
        return None
    task, values = found
    record, runtime, workflow = advanceable(ctx, uow, cases, values)
    return TaskStep(SimpleNamespace(**task), record, runtime, workflow)


_ADVANCE = {
    Start: _start,
    CompleteTask: _complete,
    DeliverMessage: _deliver,
    FireTimers: _fire,
    RetryIncident: _retry,
    ResetTo: _reset,
}


# -- the engine's handlers -------------------------------------------------------------------------
def retries(step: Step) -> None:
    """A failed service call that may work later: a retry timer instead of an incident."""
    plan_retries(step.ctx, step.uow, step.cases, step.record, step.outcome, step.now)


def deadline_clock(step: Step) -> None:
    """The case clock and its supervision timers; the due times of the tasks the step creates."""
    step.deadlines = plan_clock(step.ctx, step.uow, step.cases, step.record, step.outcome, step.now,
                                step.previous_status, step.runtime)


def bpmn_timers(step: Step) -> None:
    """One open timer row per timer event the case waits on."""
    plan_bpmn_timers(step.uow, step.cases, step.record, step.outcome, step.now, step.previous_status)


def task_rows(step: Step) -> None:
    """The completed task's row; rows of tasks that vanished cancelled, of new ready tasks created."""
    record, outcome, now, uow, before, cases = step.record, step.outcome, step.now, step.uow, step.before, step.cases
    command = step.command
    if isinstance(command, CompleteTask) and not (command.row_closed or command.row_completed):
        if not cases.complete_task(command.task_step.task.id, now, step.actor):
            raise Conflict("this task was completed or cancelled by someone else")
    ready = {t.spiff_id: t for t in outcome.ready}
    gone = before - set(ready)
    if gone:
        for task_id in cases.cancel_tasks(record.id, gone, now):
            uow.record("task.cancelled", record.tenant_id, case_id=record.id, task_id=task_id, at=now)
    deadlines = step.deadlines
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
        ids = cases.add_tasks(new_rows)
        created = [SimpleNamespace(id=task_id, **row) for task_id, row in zip(ids, new_rows)]
        for task in created:
            uow.record(
                "task.created", record.tenant_id, case_id=record.id, task_id=task.id, at=now,
                data={"name": task.name, "element_id": task.element_id, "group": task.group},
            )
    kept = list(cases.open_tasks(record.id, before - gone)) if before - gone else []
    step.created = created
    step.tasks = kept + created


def incidents(step: Step) -> None:
    """A retried incident resolved (with every other open one of the case); a new incident written."""
    record, outcome, now, uow, cases = step.record, step.outcome, step.now, step.uow, step.cases
    if isinstance(step.command, RetryIncident):
        if cases.resolve_incidents(record.id, now) == 0:
            raise Conflict("this incident was retried by someone else at the same time")
        # every open incident of the case was just resolved: it has one only if this attempt failed
        record.has_incident = False
    if outcome.incident is not None:
        record.has_incident = True
        uow.record(
            "incident.raised", record.tenant_id, case_id=record.id, at=now,
            data={"kind": outcome.incident.kind, "element_id": outcome.incident.element_id,
                  "message": outcome.incident.message},
        )
        cases.add_incident({
            "tenant_id": record.tenant_id, "case_id": record.id, "spiff_task_id": outcome.incident.spiff_task_id,
            "element_id": outcome.incident.element_id, "kind": outcome.incident.kind,
            "message": outcome.incident.message, "created_at": now,
        })


def case_row(step: Step) -> None:
    """The case row under its version check (the trail's events ride along where they can);
    the workflow is kept for the next step once the transaction commits."""
    ctx, uow, record, workflow, cases = step.ctx, step.uow, step.record, step.workflow, step.cases
    if step.new_case:  # inserted by the start; only a failed start changes it again
        if record.has_incident:
            cases.set_has_incident(record.id)
        cases.write_new_case(record, uow.events)  # its first task rows with its trail so far
    else:
        _check_size(record.data)
        if not cases.write_case(record, step.state, uow.events):
            raise Conflict("the case was changed by someone else at the same time; reload and try again")
    case_id, version = record.id, record.version
    uow.after_commit(lambda: ctx.workflows.put(case_id, version, workflow))


ENGINE_HANDLERS = StepHandlers([
    ("retries", retries),
    ("deadline_clock", deadline_clock),
    ("bpmn_timers", bpmn_timers),
    ("task_rows", task_rows),
    ("incidents", incidents),
    ("case_row", case_row),
])
