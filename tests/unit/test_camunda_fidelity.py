"""Camunda-dialect models run in Redwall's engine as in bare SpiffWorkflow (issue 12).

Each model runs twice with the same inputs: in bare SpiffWorkflow (its Camunda parser, its own
script engine) and in Redwall (the deploy parser, the restricted script engine, the case state
saved and loaded between steps, on a model parsed afresh each time, as cases are). The tasks offered at every step, whether the
process completed and its end data must be the same.

SpiffWorkflow's own Camunda test models are not among these: the public-code index this project
may read marks that repository's content as not to be committed here, and holds its test models
only at assorted older commits, not at the pinned 3.2.0 (one of them, multi_instance_array.bpmn,
even has a completion condition that is not Python). The models below were drawn for these
tests, in Camunda Modeler's dialect, to cover what that suite covers: user tasks with Camunda
forms and assignment, sequential and parallel multi-instance (collection, elementVariable,
cardinality), business rule tasks with decisionRef, interrupting and non-interrupting message
boundary events, message catch events, embedded subprocesses, call activities, default flows.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from workflows.engine import CaseEngine, ModelRuntime, case_data
from workflows.model_parsing import parse_model_files
from workflows.scripting import RestrictedScriptEngine

DATA = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "camunda"

PERMIT_APPLY = {"plate": "京A12345", "vehicles": 3, "documents": ["id_card", "licence"], "check_by": "2026-12-07"}
# model files, key, and scenarios: ("task", element id, data) completes the first ready task of that
# element; ("message", name, payload) delivers a message from outside
SCENARIOS = {
    "permit approved": (("camunda_permit.bpmn", "permit_fee.dmn"), "camunda_permit", [
        ("task", "apply", PERMIT_APPLY),
        ("task", "check_document", {"document_ok": True}),
        ("task", "check_document", {"document_ok": False}),
        ("task", "approve", {"approved": True}),
        ("message", "payment_received", {"amount": 200}),
    ]),
    "permit refused": (("camunda_permit.bpmn", "permit_fee.dmn"), "camunda_permit", [
        ("task", "apply", {**PERMIT_APPLY, "vehicles": 1, "documents": ["id_card"]}),
        ("task", "check_document", {"document_ok": True}),
        ("task", "approve", {"approved": False}),
    ]),
    "reminders then done": (("camunda_boundary.bpmn",), "camunda_boundary", [
        ("message", "reminder", {"from": "applicant"}),
        ("message", "reminder", {"from": "supervisor"}),
        ("task", "prepare", {"pages": 12}),
    ]),
    "withdrawn": (("camunda_boundary.bpmn",), "camunda_boundary", [
        ("message", "reminder", {"from": "applicant"}),
        ("message", "withdrawn", {"reason": "moved away"}),
    ]),
    "signatures, subprocess, call activity": (("camunda_subprocess_mi.bpmn",), "camunda_subprocess_mi", [
        ("task", "sign", {"signature": "A"}),
        ("task", "sign", {"signature": "B"}),
        ("task", "sign", {"signature": "C"}),
        ("task", "shelve", {"shelf": "urgent"}),
    ]),
}


def files_of(names):
    return [(name, (DATA / name).read_bytes()) for name in names]


def _ready(tasks) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in tasks)


def run_bare(names, key, steps) -> tuple[list[list[str]], bool, dict]:
    parser = CamundaParser()
    for name in names:
        path = str(DATA / name)
        parser.add_dmn_file(path) if name.endswith(".dmn") else parser.add_bpmn_file(path)
    workflow = BpmnWorkflow(parser.get_spec(key), parser.get_subprocess_specs(key))
    workflow.do_engine_steps()
    offered = []
    for kind, what, data in steps:
        offered.append(_ready(workflow.get_tasks(state=TaskState.READY, manual=True)))
        if kind == "task":
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == what)
            task.data.update(data)
            task.run()
        else:
            try:  # SpiffWorkflow's way in for an event from outside
                workflow.send_event(BpmnEvent(MessageEventDefinition(what), {"payload": data, "result_var": None}))
            except WorkflowException:
                offered[-1] = [*offered[-1], f"not waiting for {what}"]
        workflow.do_engine_steps()
    offered.append(_ready(workflow.get_tasks(state=TaskState.READY, manual=True)))
    return offered, workflow.completed, {k: v for k, v in workflow.last_task.data.items() if not k.startswith("_")}


def parsed_runtime(names, key) -> ModelRuntime:
    parsed = parse_model_files(files_of(names), key=key)
    assert parsed.dialect == "camunda"
    return ModelRuntime(1, parsed.key, parsed.spec, parsed.subprocess_specs, parsed.lanes, parsed.forms)


def run_redwall(names, key, steps) -> tuple[list[list[str]], bool, dict, str]:
    runtime = parsed_runtime(names, key)
    engine = CaseEngine(RestrictedScriptEngine())
    workflow, outcome = engine.start(runtime)
    offered = []
    for kind, what, data in steps:
        assert outcome.incident is None, outcome.incident
        offered.append(sorted(t.element_id for t in outcome.ready))
        # every step starts from the saved case and a model parsed afresh (another worker, a restart)
        runtime = parsed_runtime(names, key)
        workflow = engine.load(runtime, outcome.state)
        if kind == "task":
            task = next(t for t in outcome.ready if t.element_id == what)
            outcome = engine.complete_task(runtime, workflow, task.spiff_id, data)
        else:
            try:
                outcome = engine.send_message(runtime, workflow, what, data)
            except LookupError:  # cases answer 409
                offered[-1] = [*offered[-1], f"not waiting for {what}"]
    assert outcome.incident is None, outcome.incident
    offered.append(sorted(t.element_id for t in outcome.ready))
    workflow = engine.load(runtime, outcome.state)
    return offered, workflow.completed, case_data(workflow), outcome.status


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_camunda_model_runs_as_in_bare_spiffworkflow(scenario):
    names, key, steps = SCENARIOS[scenario]
    bare = run_bare(names, key, steps)
    offered, completed, data, status = run_redwall(names, key, steps)
    assert (offered, completed, data) == bare
    assert completed and status in ("concluded", "terminated")
    assert offered[-1] == []


def test_the_scenarios_reach_what_they_are_meant_to():
    """The comparisons above would pass for two engines that did nothing: pin what happens."""
    _, _, data = run_bare(*SCENARIOS["permit approved"][:2], SCENARIOS["permit approved"][2])
    assert (data["fee"], data["permit_no"], data["paid"]) == (200, "P-京A12345", 200)
    offered, _, data = run_bare(*SCENARIOS["reminders then done"][:2], SCENARIOS["reminders then done"][2])
    # a non-interrupting boundary event fires once in SpiffWorkflow 3.2 (and in Redwall: 409)
    assert offered[:3] == [["prepare"], ["prepare", "not waiting for reminder"], ["prepare"]]
    assert data["pages"] == 12
    _, _, data = run_bare(*SCENARIOS["withdrawn"][:2], SCENARIOS["withdrawn"][2])
    assert data["withdrawn_because"] == "moved away" and data["on_reminder_Response"] == {"from": "applicant"}
    offered, _, data = run_bare(*SCENARIOS["signatures, subprocess, call activity"][:2],
                                SCENARIOS["signatures, subprocess, call activity"][2])
    assert offered[0] == ["sign", "sign", "sign"]  # parallel instances
    assert (data["file_no"], data["stamped"]) == ("F-3", "F-3/stamped")
