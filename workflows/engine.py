"""The SpiffWorkflow adapter: runs a case's workflow and reports what changed.

Pure engine code: no database, no Flask. The use cases in ``workflows.cases`` load the
state, call :class:`CaseEngine`, and persist the :class:`StepOutcome` it returns.

Two costs dominate a persisted engine and are kept off the hot path here:

* the process spec is never serialised with a case; it is parsed once per model
  version (:class:`ModelRuntime`, cached by model id) and handed back on load;
* a deserialised workflow can be reused while its version still matches the stored
  row (:class:`WorkflowCache`); the database stays the only source of truth.
"""
from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterable

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.util.task import TaskState

from .calendar import tenant_scope
from .scripting import ServiceCallError

log = logging.getLogger(__name__)
# Task data keys a process may set to say how the case ended (e.g. a refusal at intake).
CASE_STATUS_KEY = "case_status"
FINAL_STATUSES = {"concluded", "refused", "terminated"}
# A waiting catch event in this lane means the case waits for the applicant (补正).
APPLICANT_LANE = "applicant"
# A user task property: "true" makes the task's (first) candidate group its group instead of the
# lane's, so that the lane's members do not work it for that group (each department for itself).
GROUP_FROM_CANDIDATES = "group_from_candidates"


@dataclass(frozen=True)
class ModelRuntime:
    """A deployed model version, parsed once and shared by every case that runs on it."""

    model_id: int
    key: str
    spec: Any
    subprocess_specs: dict
    lanes: dict[str, str]
    forms: dict[str, dict]
    # The owning tenant: scripts' calendar helpers count that tenant's working days.
    tenant_id: int | None = None

    @cached_property
    def has_timers(self) -> bool:
        """Whether any task of the model waits on a timer event (else no timer rows to keep)."""
        specs = [self.spec, *self.subprocess_specs.values()]
        return any(
            isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
            or any(isinstance(d, TimerEventDefinition) for d in getattr(getattr(task_spec, "event_definition", None), "event_definitions", ()) or ())
            for spec in specs
            for task_spec in spec.task_specs.values()
        )

    @cached_property
    def caught_messages(self) -> frozenset[str]:
        """Names of the messages some event of the model catches (intermediate, boundary, start)."""
        names = set()
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                if not isinstance(task_spec, CatchingEvent):
                    continue
                for definition in _definitions(getattr(task_spec, "event_definition", None)):
                    if isinstance(definition, MessageEventDefinition):
                        names.add(definition.name)
        return frozenset(names)

    @cached_property
    def public_messages(self) -> dict[str, tuple[str, ...]]:
        """Messages that may be sent through the API, with the roles that may send them.

        A catching event declares its message public with the property ``api_roles``
        (``intake,clerk``); every other message (deadlines, pressing, escalation) is sent by
        the engine only.
        """
        def roles_of(task_spec) -> set[str]:
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}
            return {r.strip() for r in str(props.get("api_roles") or "").split(",") if r.strip()}

        public: dict[str, set[str]] = {}
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                if not isinstance(task_spec, CatchingEvent):
                    continue
                if isinstance(task_spec, EventBasedGateway):
                    # SpiffWorkflow moves the events after the gateway onto it, in the order of its
                    # outputs; the properties stay on the catch events themselves.
                    pairs = zip(task_spec.event_definition.event_definitions, task_spec.outputs)
                else:
                    pairs = ((d, task_spec) for d in _definitions(getattr(task_spec, "event_definition", None)))
                for definition, declared_on in pairs:
                    roles = roles_of(declared_on)
                    if roles and isinstance(definition, MessageEventDefinition):
                        public.setdefault(definition.name, set()).update(roles)
        return {name: tuple(sorted(roles)) for name, roles in public.items()}

    @cached_property
    def start_properties(self) -> dict:
        """``spiffworkflow:properties`` of the process's start event(s), e.g. ``time_limit_working_days``."""
        props: dict = {}
        spec = self.spec
        if spec.name != self.key and self.key in self.subprocess_specs:
            spec = self.subprocess_specs[self.key]  # a collaboration: the key's own process
        for task_spec in spec.task_specs.values():
            if type(task_spec).__name__.endswith("StartEvent"):
                props.update((getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {})
        return props


@dataclass
class ReadyTask:
    """A human task the engine is waiting on."""

    spiff_id: str
    element_id: str
    name: str
    lane: str | None
    form_key: str | None
    candidate_groups: list[str] = field(default_factory=list)
    candidate_users: list[str] = field(default_factory=list)
    priority: int = 50
    # the task's spiffworkflow:properties (e.g. time_limit_working_days)
    properties: dict = field(default_factory=dict)
    # the user the model assigns the task to (camunda:assignee): it starts claimed by them
    assignee: str | None = None


@dataclass(frozen=True)
class WaitingTimer:
    """A timer event the case waits on, and when it is due."""

    spiff_id: str
    element_id: str
    due_at: datetime


@dataclass
class EngineEvent:
    """Something the engine decided on its own during a run, for the trail (e.g. a gateway's choice)."""

    kind: str
    data: dict


@dataclass
class IncidentInfo:
    kind: str  # script | service | engine
    message: str
    spiff_task_id: str | None = None
    element_id: str | None = None
    # A service call that may work when tried again later (not a missing connector or bad parameters).
    retryable: bool = False


@dataclass
class StepOutcome:
    """What one engine run left behind, ready to be persisted."""

    state: str
    status: str
    data: dict
    ready: list[ReadyTask]
    completed: bool
    incident: IncidentInfo | None = None
    waiting_messages: list[str] = field(default_factory=list)
    # What the engine decided by itself in this run (gateway decisions), in order.
    events: list[EngineEvent] = field(default_factory=list)
    # Timer events the case waits on; None when its model has none (nothing to keep in step).
    timers: list[WaitingTimer] | None = None
    # ... and those it waited on before this step (None: not known, e.g. a new case), and which of
    # those fired during the step (the rest of the vanished ones were cancelled).
    timers_before: list[WaitingTimer] | None = None
    timers_fired: list[str] = field(default_factory=list)

    def ready_ids(self) -> set[str]:
        return {t.spiff_id for t in self.ready}


class _CaseStateConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its spec: the spec comes from the model's files."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer(base: dict = SPIFF_CONFIG) -> BpmnWorkflowSerializer:
    config = dict(base)
    config[BpmnWorkflow] = _CaseStateConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


class WorkflowCache:
    """Deserialised workflows by case id, valid only for the stored version they came from.

    A hit saves the deserialisation; correctness never depends on it, since every use
    is checked against the version read from the database in the same transaction, and
    a workflow that took part in a failed transaction is evicted.
    """

    def __init__(self, size: int = 2048):
        self.size = size
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> BpmnWorkflow | None:
        """Remove and return the cached workflow if it is at ``version``.

        Taking (not peeking) keeps two threads from mutating the same object.
        """
        with self._lock:
            item = self._items.pop(case_id, None)
        if item is not None and item[0] == version:
            return item[1]
        return None

    def put(self, case_id: int, version: int, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[case_id] = (version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_TIMERS_BEFORE = "_redwall_timers_before"


def _in_tenant_scope(method):
    """Run an engine command with its model's tenant as the calendar of script helpers, noting
    the timer events the workflow waits on before it runs (``StepOutcome.timers_before``)."""

    @functools.wraps(method)
    def scoped(self, runtime, *args, **kwargs):
        workflow = args[0] if args and isinstance(args[0], BpmnWorkflow) else None
        if workflow is not None and runtime.has_timers:
            workflow.__dict__[_TIMERS_BEFORE] = waiting_timers(workflow)
        with tenant_scope(runtime.tenant_id):
            return method(self, runtime, *args, **kwargs)

    return scoped


class CaseEngine:
    """Starts, advances and inspects case workflows on a restricted script engine."""

    def __init__(self, script_engine):
        self.script_engine = script_engine
        self.serializer = _make_serializer()
        # Models from Camunda Modeler run on SpiffWorkflow's Camunda specs (workflows.camunda_dialect)
        self.camunda_serializer = _make_serializer(CAMUNDA_CONFIG)

    def _serializer_for(self, spec) -> BpmnWorkflowSerializer:
        if getattr(spec, "redwall_dialect", None) == "camunda":
            return self.camunda_serializer
        return self.serializer

    # -- state ---------------------------------------------------------------------------
    def dump(self, workflow: BpmnWorkflow) -> str:
        return self._serializer_for(workflow.spec).serialize_json(workflow)

    def load(self, runtime: ModelRuntime, state: str) -> BpmnWorkflow:
        serializer = self._serializer_for(runtime.spec)
        dct = json.loads(state)
        serializer.migrate(dct)
        dct.pop("typename", None)
        spec = _own_spec(runtime.spec)
        workflow = serializer.registry.convert_from_dict[
            serializer.registry.typenames[BpmnWorkflow]
        ](dct, spec=spec, subprocess_specs=runtime.subprocess_specs)
        _reconnect_triggered_participants(workflow)
        workflow.script_engine = self.script_engine
        return workflow

    # -- commands ------------------------------------------------------------------------
    @_in_tenant_scope
    def start(self, runtime: ModelRuntime, data: dict | None = None) -> tuple[BpmnWorkflow, StepOutcome]:
        """Create a workflow for ``runtime``, seed it with ``data`` and run it until it waits."""
        workflow = BpmnWorkflow(_own_spec(runtime.spec), runtime.subprocess_specs, script_engine=self.script_engine)
        if data:
            workflow.task_tree.data.update(data)
            # The start task copies its data to its children when it runs.
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
        incident = self._run(workflow)
        return workflow, self.outcome(runtime, workflow, incident)

    @_in_tenant_scope
    def complete_task(
        self, runtime: ModelRuntime, workflow: BpmnWorkflow, spiff_id: str, data: dict | None = None
    ) -> StepOutcome:
        """Complete the ready human task ``spiff_id`` with ``data`` and run on."""
        task = self.find_ready_task(workflow, spiff_id)
        if task is None:
            raise LookupError(f"task {spiff_id} is not ready in this case")
        variable = getattr(task.task_spec, "variable", None)  # spiffworkflow:variableName
        if variable:
            task.data[variable] = dict(data or {})  # the form's fields, nested under that name (as Spiff does)
        elif data:
            task.data.update(data)
        incident = None
        try:
            task.run()
        except Exception as exc:  # a post-script of the task failed
            incident = self._incident_from(exc, task)
        if incident is None:
            incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    @_in_tenant_scope
    def send_message(
        self, runtime: ModelRuntime, workflow: BpmnWorkflow, name: str, payload: dict | None = None,
        correlation: dict | None = None,
    ) -> StepOutcome:
        """Deliver a message (e.g. "materials supplied") to the case's waiting catch event.

        The payload's keys land in the catching task's data, unless the model names a
        ``spiffworkflow:messageVariable`` to receive the payload as a whole (as SpiffWorkflow).

        A message whose catch event takes part in a conversation (BPMN correlation keys: the
        case already holds values for them) is caught only with the matching values, as in
        SpiffWorkflow: ``correlation`` gives them by correlation property id
        (``{"application_no": "A-7"}``); without it they are taken from the payload with the
        message's retrieval expressions, as SpiffWorkflow does for a message thrown by a process.
        Missing or unknown values raise :class:`CorrelationRequired`, values that differ
        from the case's :class:`CorrelationMismatch`.
        """
        payload = payload if isinstance(payload, dict) else {}
        # Event definitions only match their own class: the parsed model's are SpiffWorkflow's
        # "spiff" subclass, so the event must be built from that class, not the BPMN base.
        definition = _message_definition(workflow, name)
        correlations, payload = _event_correlations(workflow, name, payload, correlation)
        if isinstance(definition, CamundaMessageEventDefinition):
            # SpiffWorkflow's Camunda messages carry {"payload", "result_var"}: the catching task's
            # data gets the payload under result_var (by default "<task>_Response")
            event = BpmnEvent(definition, {"payload": payload, "result_var": None}, correlations)
        else:
            event = BpmnEvent(definition, payload, correlations)
        catchers = [t for t in workflow.event_manager.tasks.values() if t.task_spec.catches(t, event)]
        try:
            caught = workflow.event_manager.catch(event, internal=False)
        except Exception as exc:  # SpiffWorkflow reads the correlations from the payload as it catches
            raise CorrelationRequired(
                f"the message {name!r} could not be correlated: its payload lacks what the message's "
                f"correlation retrieval expressions read ({_readable(exc)[:300]}); send the values "
                "in the payload or as \"correlation\""
            ) from None
        if caught == 0:
            if correlations:
                raise CorrelationMismatch(
                    f"the case waits for the message {name!r}, but for other correlation values "
                    f"({', '.join(sorted({p for values in correlations.values() for p in values}))}): "
                    "this message belongs to another case"
                )
            raise LookupError(f"the case is not waiting for the message {name!r}")
        for task in catchers:
            # The spiff message definition drops a payload that has no messageVariable.
            # (a Camunda message puts it under its result variable itself)
            definition_of_task = task.task_spec.event_definition
            if not isinstance(definition_of_task, CamundaMessageEventDefinition) \
                    and getattr(definition_of_task, "message_var", None) is None and isinstance(payload, dict):
                task.data.update(payload)
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    @_in_tenant_scope
    def retry(self, runtime: ModelRuntime, workflow: BpmnWorkflow) -> StepOutcome:
        """Put tasks stopped by an incident back to ready and run on."""
        for task in workflow.get_tasks(state=TaskState.ERROR):
            task._set_state(TaskState.READY)
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    @_in_tenant_scope
    def fire_timers(self, runtime: ModelRuntime, workflow: BpmnWorkflow) -> StepOutcome:
        """Let the timer events that are due fire, then run on.

        SpiffWorkflow decides what is due by comparing with the current time, so a timer
        that is not yet due (a clock running behind) simply stays in ``outcome.timers``.
        """
        try:
            workflow.refresh_timers()
        except Exception as exc:  # a timer expression that fails on its first evaluation
            return self.outcome(runtime, workflow, self._incident_from(exc, getattr(exc, "task", None)))
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    @_in_tenant_scope
    def reset_to(self, runtime: ModelRuntime, workflow: BpmnWorkflow, spiff_id: str, data: dict | None = None) -> StepOutcome:
        """Take the case back to the user task ``spiff_id`` (completed earlier): what followed it
        is dropped and it is ready again, with ``data`` (退回, 撤回)."""
        from copy import deepcopy
        from uuid import UUID

        task = workflow.get_task_from_id(UUID(spiff_id))
        workflow.reset_from_task_id(task.id, deepcopy(data) if data is not None else None)
        workflow.last_task = task  # the case data is what the task holds again
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    @staticmethod
    def shift_timers(workflow: BpmnWorkflow, delta) -> None:
        """Move every waiting timer event ``delta`` later (a suspended case's timers stood still)."""
        for task in workflow.event_manager.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            value = task._get_internal_data("event_value")
            if value is None:
                continue
            if isinstance(value, dict) and "next" in value:
                value = dict(value, next=(datetime.fromisoformat(value["next"]) + delta).isoformat())
            elif isinstance(value, datetime):
                value = value + delta
            elif isinstance(value, str):
                try:
                    due = TimerEventDefinition.get_datetime(value)
                except Exception:  # a duration not yet turned into a time: nothing to move
                    continue
                value = (due + delta).isoformat()
            else:
                continue
            task._set_internal_data(event_value=value)

    # -- queries -------------------------------------------------------------------------
    @staticmethod
    def find_ready_task(workflow: BpmnWorkflow, spiff_id: str):
        from uuid import UUID

        try:
            task = workflow.get_task_from_id(UUID(spiff_id))
        except Exception:
            return None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            return None
        return task

    def ready_tasks(self, runtime: ModelRuntime, workflow: BpmnWorkflow) -> list[ReadyTask]:
        result = []
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            props = (getattr(spec, "extensions", None) or {}).get("properties", {}) or {}
            lane = runtime.lanes.get(spec.bpmn_id or spec.name)
            candidate_groups = _candidates(task, props, "candidate_groups")
            if str(props.get(GROUP_FROM_CANDIDATES, "")).lower() == "true" and candidate_groups:
                # e.g. one acknowledgement per notified department: that department's alone
                lane = candidate_groups[0]
            result.append(
                ReadyTask(
                    spiff_id=str(task.id),
                    element_id=spec.bpmn_id or spec.name,
                    name=spec.bpmn_name or spec.bpmn_id or spec.name,
                    lane=lane,
                    form_key=props.get("formJsonSchemaFilename"),
                    candidate_groups=candidate_groups,
                    candidate_users=_candidates(task, props, "candidate_users"),
                    priority=_int_or(task.data.get("priority", props.get("priority")), 50),
                    properties=dict(props),
                    assignee=str(props["assignee"]) if props.get("assignee") else None,
                )
            )
        return result

    def outcome(self, runtime: ModelRuntime, workflow: BpmnWorkflow, incident: IncidentInfo | None) -> StepOutcome:
        ready = self.ready_tasks(runtime, workflow)
        data = case_data(workflow)
        waiting = []
        waits_for_applicant = False
        for task in workflow.event_manager.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            # an event-based gateway waits on several definitions at once (e.g. materials or a timer)
            for definition in _definitions(getattr(task.task_spec, "event_definition", None)):
                if isinstance(definition, MessageEventDefinition):
                    waiting.append(definition.name)
                    if runtime.lanes.get(task.task_spec.bpmn_id) == APPLICANT_LANE:
                        waits_for_applicant = True
        if workflow.completed:
            status = _final_status(workflow, data)
        elif waits_for_applicant and not ready:
            status = "waiting_applicant"
        else:
            status = "open"
        return StepOutcome(
            state=self.dump(workflow),
            status=status,
            data=data,
            ready=ready,
            completed=workflow.completed,
            incident=incident,
            waiting_messages=waiting,
            events=workflow.__dict__.pop(_ENGINE_EVENTS, []),
            **_timer_changes(workflow, runtime),
        )

    # -- internals -----------------------------------------------------------------------
    def _run(self, workflow: BpmnWorkflow) -> IncidentInfo | None:
        """Run engine steps; a failing task is parked in ERROR and reported as an incident."""
        failing = []

        def remember(task):
            failing[:] = [task]

        decisions = workflow.__dict__.setdefault(_ENGINE_EVENTS, [])  # taken by outcome()

        def decided(task):
            event = gateway_decision(task)
            if event is not None:
                decisions.append(event)

        try:
            workflow.do_engine_steps(will_complete_task=remember, did_complete_task=decided)
        except Exception as exc:
            task = getattr(exc, "task", None) or (failing[0] if failing else None)
            return self._incident_from(exc, task)
        return None

    @staticmethod
    def _incident_from(exc: Exception, task) -> IncidentInfo:
        if task is not None and task.state in (TaskState.READY, TaskState.STARTED):
            task._set_state(TaskState.ERROR)
        spec = getattr(task, "task_spec", None)
        kind = "engine"
        if spec is not None:
            kind = "service" if "ServiceTask" in type(spec).__name__ else "script"
        return IncidentInfo(
            kind=kind,
            message=_readable(exc),
            spiff_task_id=str(task.id) if task is not None else None,
            element_id=getattr(spec, "bpmn_id", None) if spec is not None else None,
            retryable=kind == "service" and not isinstance(_root_cause(exc), _PERMANENT_SERVICE_ERRORS),
        )


def _own_spec(spec):
    """The spec a workflow runs on: the model's, shared by every case, except for a collaboration.

    SpiffWorkflow connects a participant that a message starts to the collaboration's start when
    the message arrives (``BpmnStartTask.trigger_wf``), i.e. it changes the spec: shared, every later
    case would start that participant at once. Each case of a collaboration gets its own copy of
    the (small) collaboration spec; the participants' process specs stay shared.
    """
    if getattr(spec.start, "trigger_specs", None):
        return copy.deepcopy(spec)
    return spec


def _reconnect_triggered_participants(workflow: BpmnWorkflow) -> None:
    """Redo on a loaded case the connections ``trigger_wf`` made while it ran (the spec is not saved
    with the case): a participant started by a message hangs off the collaboration's start."""
    spec = workflow.spec
    triggered = set(getattr(spec.start, "trigger_specs", None) or ())
    if not triggered:
        return
    for task in workflow.tasks.values():
        task_spec = task.task_spec
        if task_spec.name in triggered and spec.start not in task_spec.inputs:
            spec.start.connect(task_spec)
            task_spec.connect(spec.end)


def _definitions(definition) -> list:
    """A task's event definition, or the ones it combines (event-based gateway, multiple events)."""
    if definition is None:
        return []
    inner = getattr(definition, "event_definitions", None)
    return list(inner) if inner is not None else [definition]


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """The timer events ``workflow`` waits on, with their due times (UTC).

    A task combining several events (event-based gateway) counts with its (first) timer:
    SpiffWorkflow keeps one timer value per task.
    """
    result = []
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        definition = next((d for d in _definitions(getattr(task.task_spec, "event_definition", None))
                           if isinstance(d, TimerEventDefinition)), None)
        if definition is None:
            continue
        due = _timer_due(definition, task)
        if due is None:
            log.warning("timer %s of a case has no readable due time; it is not scheduled", task.task_spec.bpmn_id)
            continue
        result.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due))
    return result


def _timer_changes(workflow: BpmnWorkflow, runtime: ModelRuntime) -> dict:
    before = workflow.__dict__.pop(_TIMERS_BEFORE, None)
    if not runtime.has_timers:
        return {}
    after = waiting_timers(workflow)
    fired = []
    if before:
        from uuid import UUID

        waiting = {t.spiff_id for t in after}
        for timer in before:
            if timer.spiff_id not in waiting:
                try:
                    task = workflow.get_task_from_id(UUID(timer.spiff_id))
                except Exception:  # gone with a subprocess
                    task = None
                if task is not None and task.state == TaskState.COMPLETED and fired_by_timer(task):
                    fired.append(timer.spiff_id)
    return {"timers": after, "timers_before": before, "timers_fired": fired}


def fired_by_timer(task) -> bool:
    """A completed catching task went on because of its timer (not a message of an event-based gateway)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return True
    seen = task.internal_data.get("seen_events") or []
    return any(isinstance(getattr(event, "event_definition", None), TimerEventDefinition) for event in seen)


def _timer_due(definition: TimerEventDefinition, task) -> datetime | None:
    value = task._get_internal_data("event_value")
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            if not isinstance(value, dict):
                return None
            if value.get("cycles") == 0:
                return datetime.now(timezone.utc)
            due = datetime.fromisoformat(value["next"])
        elif isinstance(value, datetime):
            due = value
        elif isinstance(definition, DurationTimerEventDefinition):
            due = TimerEventDefinition.get_datetime(value)
        else:
            due = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return None
    if not isinstance(due, datetime):
        return None
    return due if due.tzinfo else due.replace(tzinfo=timezone.utc)


class CorrelationRequired(ValueError):
    """A message needs correlation values that were not given (or names ones it does not have)."""


class CorrelationMismatch(LookupError):
    """The case waits for the message, but with other correlation values."""


def _event_correlations(workflow: BpmnWorkflow, name: str, payload: dict, given: dict | None) -> tuple[dict, dict]:
    """``(correlations, payload)`` of a message from outside: the correlations in SpiffWorkflow's
    shape (``{correlation key: {property id: value}}``) for the keys the waiting process holds
    values for, and the payload to deliver.

    SpiffWorkflow catches a correlated message without checking while its process holds no
    values yet (the first message), and reads the values from the payload with the message's
    retrieval expressions when it catches one: a value given in ``given`` whose retrieval
    expression is a plain name the payload lacks is added to the payload under that name.
    """
    properties: dict = {}
    held: dict = {}
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        for definition in _definitions(getattr(task.task_spec, "event_definition", None)):
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                for prop in definition.correlation_properties:
                    properties.setdefault(prop.name, prop)
                held.update(task.workflow.correlations or {})
    given = dict(given or {})
    unknown = sorted(set(given) - set(properties))
    if unknown:
        known = ", ".join(map(repr, sorted(properties))) or "none: send it without \"correlation\""
        raise CorrelationRequired(
            f"the message {name!r} has no correlation properties {', '.join(map(repr, unknown))} "
            f"(its correlation properties: {known})"
        )
    payload = dict(payload)
    values = dict(given)
    for prop_id, prop in properties.items():
        expression = (prop.retrieval_expression or "").strip()
        if prop_id in given:
            if expression.isidentifier() and expression not in payload:
                payload[expression] = given[prop_id]
            continue
        try:  # as SpiffWorkflow computes them for a message a process throws
            values[prop_id] = workflow.script_engine.environment.evaluate(expression, dict(payload))
        except Exception:  # noqa: BLE001 - not in the payload: reported as missing below
            continue
    needed_keys = sorted({key for prop in properties.values() for key in prop.correlation_keys if key in held})
    needed = sorted({prop_id for key in needed_keys for prop_id in held[key]})
    missing = [prop_id for prop_id in needed if prop_id not in values]
    if missing:
        raise CorrelationRequired(
            f"the message {name!r} needs the correlation values {', '.join(map(repr, missing))} "
            "to find its conversation in the case: send them as \"correlation\": {"
            + ", ".join(f'"{p}": ...' for p in needed) + "} (or in the payload)"
        )
    correlations = {key: {prop_id: values[prop_id] for prop_id in held[key]} for key in needed_keys}
    return correlations, payload


def _message_definition(workflow: BpmnWorkflow, name: str) -> MessageEventDefinition:
    """The definition a waiting task uses for message ``name`` (the spiff class by default)."""
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return type(definition)(name)
    return SpiffMessageEventDefinition(name)


def case_data(workflow: BpmnWorkflow) -> dict:
    """The case's business data: what the most recently finished task carried."""
    if workflow.last_task is not None:
        data = workflow.last_task.data
    else:
        data = workflow.task_tree.data
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _final_status(workflow: BpmnWorkflow, data: dict) -> str:
    declared = data.get(CASE_STATUS_KEY)
    if declared in FINAL_STATUSES:
        return declared
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        # A terminate end event ends the process it sits in: one inside a call activity or
        # subprocess ends that, and the case goes on (and may end normally).
        if task.workflow is workflow and isinstance(
            getattr(task.task_spec, "event_definition", None), TerminateEventDefinition
        ):
            return "terminated"
    if any(type(e.event_definition).__name__ == "ErrorEventDefinition" for e in workflow.bpmn_events):
        return "terminated"
    return "concluded"


def _candidates(task, props: dict, key: str) -> list[str]:
    value = task.data.get(key, props.get(key))
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return []


def _int_or(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# Failures of a service task that trying again cannot fix: an unknown connector (LookupError),
# parameters the connector does not take (TypeError), a result that is not JSON.
_PERMANENT_SERVICE_ERRORS = (LookupError, TypeError, ValueError, ServiceCallError)


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "exception", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _readable(exc: Exception) -> str:
    """One line a supervisor can read: the engine's message and the root cause."""
    parts = [str(exc).strip() or type(exc).__name__]
    cause = getattr(exc, "exception", None) or exc.__cause__
    if cause is not None and str(cause) and str(cause) not in parts[0]:
        parts.append(f"{type(cause).__name__}: {cause}")
    return " — ".join(parts)[:2000]


# Engine events of the current run wait on the workflow object until outcome() takes them;
# a workflow from a rolled-back transaction is dropped from the cache with them.
_ENGINE_EVENTS = "_redwall_engine_events"


def gateway_decision(task) -> EngineEvent | None:
    """The flows a completed exclusive or inclusive gateway took, or None for anything else.

    A completed choice keeps exactly the children it chose; each is named with its target
    element and the condition that sent the token there (None for the default flow).
    Joins and parallel gateways decide nothing and are not reported.
    """
    spec = task.task_spec
    if not isinstance(spec, MultiChoice) or len(spec.outputs) < 2 or task.state != TaskState.COMPLETED:
        return None
    conditions = {name: getattr(condition, "args", [None])[0] for condition, name in spec.cond_task_specs}
    # (an exclusive gateway's default flow is not among the conditions; an inclusive one's has None)
    taken = []
    for child in task.children:
        target = child.task_spec
        taken.append({
            "target": getattr(target, "bpmn_id", None) or target.name,
            "target_name": getattr(target, "bpmn_name", None),
            "condition": conditions.get(target.name),
            "default": conditions.get(target.name) is None,
        })
    return EngineEvent("gateway.decided", {
        "gateway": spec.bpmn_id or spec.name,
        "name": getattr(spec, "bpmn_name", None),
        "taken": taken,
    })
