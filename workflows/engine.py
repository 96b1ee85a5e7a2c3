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

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition
from SpiffWorkflow.util.task import TaskState

# Task data keys a process may set to say how the case ended (e.g. a refusal at intake).
CASE_STATUS_KEY = "case_status"
FINAL_STATUSES = {"concluded", "refused", "terminated"}
# A waiting catch event in this lane means the case waits for the applicant (补正).
APPLICANT_LANE = "applicant"


@dataclass(frozen=True)
class ModelRuntime:
    """A deployed model version, parsed once and shared by every case that runs on it."""

    model_id: int
    key: str
    spec: Any
    subprocess_specs: dict
    lanes: dict[str, str]
    forms: dict[str, dict]


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


@dataclass
class IncidentInfo:
    kind: str  # script | service | engine
    message: str
    spiff_task_id: str | None = None
    element_id: str | None = None


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


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
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


class CaseEngine:
    """Starts, advances and inspects case workflows on a restricted script engine."""

    def __init__(self, script_engine):
        self.script_engine = script_engine
        self.serializer = _make_serializer()

    # -- state ---------------------------------------------------------------------------
    def dump(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.serialize_json(workflow)

    def load(self, runtime: ModelRuntime, state: str) -> BpmnWorkflow:
        dct = json.loads(state)
        self.serializer.migrate(dct)
        dct.pop("typename", None)
        workflow = self.serializer.registry.convert_from_dict[
            self.serializer.registry.typenames[BpmnWorkflow]
        ](dct, spec=runtime.spec, subprocess_specs=runtime.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    # -- commands ------------------------------------------------------------------------
    def start(self, runtime: ModelRuntime, data: dict | None = None) -> tuple[BpmnWorkflow, StepOutcome]:
        """Create a workflow for ``runtime``, seed it with ``data`` and run it until it waits."""
        workflow = BpmnWorkflow(runtime.spec, runtime.subprocess_specs, script_engine=self.script_engine)
        if data:
            workflow.task_tree.data.update(data)
            # The start task copies its data to its children when it runs.
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
        incident = self._run(workflow)
        return workflow, self.outcome(runtime, workflow, incident)

    def complete_task(
        self, runtime: ModelRuntime, workflow: BpmnWorkflow, spiff_id: str, data: dict | None = None
    ) -> StepOutcome:
        """Complete the ready human task ``spiff_id`` with ``data`` and run on."""
        task = self.find_ready_task(workflow, spiff_id)
        if task is None:
            raise LookupError(f"task {spiff_id} is not ready in this case")
        if data:
            task.data.update(data)
        incident = None
        try:
            task.run()
        except Exception as exc:  # a post-script of the task failed
            incident = self._incident_from(exc, task)
        if incident is None:
            incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    def send_message(
        self, runtime: ModelRuntime, workflow: BpmnWorkflow, name: str, payload: dict | None = None
    ) -> StepOutcome:
        """Deliver a message (e.g. "materials supplied") to the case's waiting catch event.

        The payload's keys land in the catching task's data, unless the model names a
        ``spiffworkflow:messageVariable`` to receive the payload as a whole.
        """
        payload = payload or {}
        # Event definitions only match their own class: the parsed model's are SpiffWorkflow's
        # "spiff" subclass, so the event must be built from that class, not the BPMN base.
        event = BpmnEvent(_message_definition(workflow, name), payload)
        catchers = [t for t in workflow.event_manager.tasks.values() if t.task_spec.catches(t, event)]
        if workflow.event_manager.catch(event, internal=False) == 0:
            raise LookupError(f"the case is not waiting for the message {name!r}")
        for task in catchers:
            # The spiff message definition drops a payload that has no messageVariable.
            if getattr(task.task_spec.event_definition, "message_var", None) is None and isinstance(payload, dict):
                task.data.update(payload)
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

    def retry(self, runtime: ModelRuntime, workflow: BpmnWorkflow) -> StepOutcome:
        """Put tasks stopped by an incident back to ready and run on."""
        for task in workflow.get_tasks(state=TaskState.ERROR):
            task._set_state(TaskState.READY)
        incident = self._run(workflow)
        return self.outcome(runtime, workflow, incident)

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
            result.append(
                ReadyTask(
                    spiff_id=str(task.id),
                    element_id=spec.bpmn_id or spec.name,
                    name=spec.bpmn_name or spec.bpmn_id or spec.name,
                    lane=runtime.lanes.get(spec.bpmn_id or spec.name),
                    form_key=props.get("formJsonSchemaFilename"),
                    candidate_groups=_candidates(task, props, "candidate_groups"),
                    candidate_users=_candidates(task, props, "candidate_users"),
                    priority=_int_or(task.data.get("priority", props.get("priority")), 50),
                )
            )
        return result

    def outcome(self, runtime: ModelRuntime, workflow: BpmnWorkflow, incident: IncidentInfo | None) -> StepOutcome:
        ready = self.ready_tasks(runtime, workflow)
        data = case_data(workflow)
        waiting = []
        waits_for_applicant = False
        for task in workflow.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and task.state == TaskState.WAITING:
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
        )

    # -- internals -----------------------------------------------------------------------
    def _run(self, workflow: BpmnWorkflow) -> IncidentInfo | None:
        """Run engine steps; a failing task is parked in ERROR and reported as an incident."""
        failing = []

        def remember(task):
            failing[:] = [task]

        try:
            workflow.do_engine_steps(will_complete_task=remember)
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
        )


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
        if isinstance(getattr(task.task_spec, "event_definition", None), TerminateEventDefinition):
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


def _readable(exc: Exception) -> str:
    """One line a supervisor can read: the engine's message and the root cause."""
    parts = [str(exc).strip() or type(exc).__name__]
    cause = getattr(exc, "exception", None) or exc.__cause__
    if cause is not None and str(cause) and str(cause) not in parts[0]:
        parts.append(f"{type(cause).__name__}: {cause}")
    return " — ".join(parts)[:2000]
