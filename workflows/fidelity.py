"""Run a model in Redwall's engine and in bare SpiffWorkflow with the same inputs, and compare.

Used by ``tests/unit/test_camunda_fidelity.py`` (our own Camunda-dialect models) and by
``scripts/camunda_fidelity.py`` (any folder of models, e.g. SpiffWorkflow's own test models).

A run is driven step by step. A *driver* is given the human tasks offered (their element ids,
sorted) and says what to do next: complete the first ready task of an element with some data,
deliver a message from outside, let due timers fire, or stop. The same driver drives both
engines, so two engines that behave alike take the same steps. Each run records, before each
step and at the end, the tasks offered; whether the process completed; its end data; and where
it stopped on an error (an incident in Redwall, an exception in bare SpiffWorkflow).

Bare SpiffWorkflow is SpiffWorkflow as its own tests use it: its Camunda parser for a model in
Camunda Modeler's dialect (else its Spiff parser), its default script engine, one workflow
object kept in memory. Redwall is given a *runtime factory*: each step loads the saved case
state onto the runtime it returns (a model parsed afresh, as another worker would).

Pure: no Flask, no database.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessage
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessage
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import camunda_dialect
from .engine import CaseEngine, ModelRuntime, case_data

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

#: What a driver answers: ("task", element id, data), ("message", name, payload),
#: ("timers", None, None) to let due timers fire, or None to stop.
Step = tuple


@dataclass
class Run:
    """What one engine made of a model under a driver."""

    offered: list[list[str]] = field(default_factory=list)
    completed: bool = False
    data: dict = field(default_factory=dict)
    #: element id (or "-") where the run stopped on an error, with the message
    error: tuple[str, str] | None = None
    #: Redwall's case status (None for bare SpiffWorkflow)
    status: str | None = None
    steps: list[Step] = field(default_factory=list)

    def comparable(self) -> tuple:
        return (self.offered, self.completed, self.data, self.error[0] if self.error else None)


def scripted(steps: Iterable[Step]) -> Callable[[list[str]], Step | None]:
    """A driver that takes ``steps`` in order, whatever is offered."""
    pending = list(steps)

    def driver(offered: list[str]) -> Step | None:
        return pending.pop(0) if pending else None

    return driver


def every_ready_task(task_data: dict | None = None, max_steps: int = 40) -> Callable[[list[str]], Step | None]:
    """A driver that completes the first offered task (by element id) until none is offered.

    ``task_data`` gives, per element id, the data to complete it with: a dict (every time) or a
    list of dicts (one per completion, then ``{}``). At most ``max_steps`` tasks are completed
    (a model that loops on empty data would go on for ever)."""
    task_data = dict(task_data or {})
    done: dict[str, int] = {}

    def driver(offered: list[str]) -> Step | None:
        if not offered or sum(done.values()) >= max_steps:
            return None
        element = offered[0]
        given = task_data.get(element, {})
        if isinstance(given, list):
            n = done.get(element, 0)
            given = given[n] if n < len(given) else {}
        done[element] = done.get(element, 0) + 1
        return ("task", element, dict(given))

    return driver


# -- bare SpiffWorkflow -----------------------------------------------------------------------
def _trees(files: list[tuple[str, bytes]]) -> list:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return [etree.fromstring(data, parser).getroottree() for name, data in files if not name.endswith(".dmn")]


def bare_parser(files: list[tuple[str, bytes]]) -> BpmnParser:
    """SpiffWorkflow's own parser for these files: its Camunda parser for Camunda Modeler's dialect."""
    trees = _trees(files)
    parser = CamundaParser() if camunda_dialect.is_camunda_dialect(trees) else SpiffBpmnParser()
    for (name, data), tree in zip([f for f in files if not f[0].endswith(".dmn")], trees):
        parser.add_bpmn_xml(tree, filename=name)
    dmn_parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name, data in files:
        if name.endswith(".dmn"):
            parser.add_dmn_xml(etree.fromstring(data, dmn_parser), filename=name)
    return parser


def collaboration_of(files: list[tuple[str, bytes]], key: str) -> str | None:
    """The collaboration ``key`` takes part in with other executable processes, if any."""
    for tree in _trees(files):
        root = tree.getroot()
        collaboration = root.find(f"{{{BPMN_NS}}}collaboration")
        if collaboration is None:
            continue
        refs = [p.get("processRef") for p in collaboration.iter(f"{{{BPMN_NS}}}participant")]
        if key not in refs:
            continue
        executable = [
            r for r in refs
            if any(p.get("isExecutable", "true") == "true" and len(p) for p in root.iterfind(f"{{{BPMN_NS}}}process[@id='{r}']"))
        ]
        if len(executable) > 1:
            return collaboration.get("id")
    return None


def _ready_ids(workflow: BpmnWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def _error_of(exc: Exception, failing=None) -> tuple[str, str]:
    task = getattr(exc, "task", None) or (failing[0] if failing else None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None) or "-"
    return element, f"{type(exc).__name__}: {exc}"[:300]


def run_bare(files: list[tuple[str, bytes]], key: str, driver, start_data: dict | None = None) -> Run:
    """Run ``key`` (or its collaboration) in bare SpiffWorkflow under ``driver``."""
    run = Run()
    try:
        parser = bare_parser(files)
        collaboration = collaboration_of(files, key)
        if collaboration is not None:
            spec, subprocesses = parser.get_collaboration(collaboration)
        else:
            spec, subprocesses = parser.get_spec(key), parser.get_subprocess_specs(key)
        workflow = BpmnWorkflow(spec, subprocesses)
    except Exception as exc:  # noqa: BLE001 - the model does not load there either
        run.error = ("-", f"not loaded: {type(exc).__name__}: {exc}"[:300])
        return run
    if start_data:
        workflow.task_tree.data.update(start_data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(start_data)
    failing: list = []  # the task being run when an engine step fails (as Redwall's incidents name it)

    def engine_steps():
        workflow.do_engine_steps(will_complete_task=lambda task: failing.__setitem__(slice(None), [task]))

    try:
        engine_steps()
    except Exception as exc:  # noqa: BLE001
        run.error = _error_of(exc, failing)
    while run.error is None:
        offered = _ready_ids(workflow)
        step = driver(offered)
        run.offered.append(offered)
        if step is None:
            break
        run.steps.append(step)
        kind, what, data = step
        try:
            if kind == "task":
                task = next((t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                             if t.task_spec.bpmn_id == what), None)
                if task is None:
                    run.offered[-1] = [*offered, f"no ready {what}"]
                    continue
                task.data.update(data or {})
                task.run()
            elif kind == "message":
                if not _send_bare(workflow, what, data or {}):
                    run.offered[-1] = [*offered, f"not waiting for {what}"]
            elif kind == "timers":
                _wait_for_timers()
                workflow.refresh_waiting_tasks()
            failing.clear()
            engine_steps()
        except Exception as exc:  # noqa: BLE001 - reported like Redwall's incident
            run.error = _error_of(exc, failing)
    if run.error is not None:
        run.offered.append(_ready_ids(workflow))
    run.completed = workflow.completed
    last = workflow.last_task.data if workflow.last_task is not None else workflow.task_tree.data
    run.data = {k: v for k, v in last.items() if not k.startswith("_")}
    return run


def _send_bare(workflow: BpmnWorkflow, name: str, payload: dict) -> bool:
    """SpiffWorkflow's way in for a message from outside; False when nothing waits for it."""
    definition = next((
        t.task_spec.event_definition for t in workflow.get_tasks(state=TaskState.WAITING)
        if getattr(getattr(t.task_spec, "event_definition", None), "name", None) == name
    ), None)
    if isinstance(definition, CamundaMessage) or (definition is None and _is_camunda(workflow)):
        event = BpmnEvent(CamundaMessage(name), {"payload": payload, "result_var": None})
    else:
        event = BpmnEvent(SpiffMessage(name), payload)
    try:
        workflow.send_event(event)
    except WorkflowException:  # "This process is not waiting for ..."
        return False
    return True


def _is_camunda(workflow: BpmnWorkflow) -> bool:
    return type(workflow.spec).__module__.startswith("SpiffWorkflow.camunda") or any(
        type(s).__module__.startswith("SpiffWorkflow.camunda") for s in workflow.spec.task_specs.values()
    )


def _wait_for_timers(seconds: float = 0.05) -> None:
    time.sleep(seconds)  # the test models' timers are a few hundredths of a second


# -- Redwall ----------------------------------------------------------------------------------
def run_redwall(runtime_of: Callable[[], ModelRuntime], engine: CaseEngine, driver,
                start_data: dict | None = None) -> Run:
    """Run a model in Redwall's engine under ``driver``: each step loads the saved case state
    onto ``runtime_of()`` (the model parsed afresh) and saves it again, as cases are."""
    run = Run()
    runtime = runtime_of()
    workflow, outcome = engine.start(runtime, start_data)
    while outcome.incident is None:
        offered = sorted(t.element_id for t in outcome.ready)
        step = driver(offered)
        run.offered.append(offered)
        if step is None:
            break
        run.steps.append(step)
        kind, what, data = step
        runtime = runtime_of()
        workflow = engine.load(runtime, outcome.state)
        if kind == "task":
            task = next((t for t in outcome.ready if t.element_id == what), None)
            if task is None:
                run.offered[-1] = [*offered, f"no ready {what}"]
                continue
            outcome = engine.complete_task(runtime, workflow, task.spiff_id, data or {})
        elif kind == "message":
            try:
                outcome = engine.send_message(runtime, workflow, what, data or {})
            except LookupError:  # cases answer 409
                run.offered[-1] = [*offered, f"not waiting for {what}"]
        elif kind == "timers":
            _wait_for_timers()
            outcome = engine.fire_timers(runtime, workflow)
    if outcome.incident is not None:
        run.error = (outcome.incident.element_id or "-", outcome.incident.message[:300])
        run.offered.append(sorted(t.element_id for t in outcome.ready))
    workflow = engine.load(runtime_of(), outcome.state)
    run.completed = workflow.completed
    run.data = case_data(workflow)
    run.status = outcome.status
    return run


def differences(bare: Run, redwall: Run) -> list[str]:
    """How two runs differ, in words (empty: the same outcome)."""
    found = []
    if bare.offered != redwall.offered:
        at = next((i for i, (a, b) in enumerate(zip(bare.offered, redwall.offered)) if a != b),
                  min(len(bare.offered), len(redwall.offered)))
        a = bare.offered[at] if at < len(bare.offered) else "(ended)"
        b = redwall.offered[at] if at < len(redwall.offered) else "(ended)"
        found.append(f"tasks offered at step {at}: SpiffWorkflow {a}, Redwall {b}")
    if bare.completed != redwall.completed:
        found.append(f"completed: SpiffWorkflow {bare.completed}, Redwall {redwall.completed}")
    if (bare.error or ("",))[0] != (redwall.error or ("",))[0]:
        found.append(f"error: SpiffWorkflow {bare.error}, Redwall {redwall.error}")
    if bare.data != redwall.data:
        keys = sorted(set(bare.data) ^ set(redwall.data)) or sorted(
            k for k in bare.data if bare.data[k] != redwall.data.get(k))
        found.append(f"end data differs in {', '.join(map(str, keys[:6]))}")
    return found
