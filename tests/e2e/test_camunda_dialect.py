"""Models from Camunda Modeler (issue 12): ``camunda:`` attributes are honoured or named in the
deploy answer, and a Camunda-dialect model runs in Redwall as it does in bare SpiffWorkflow's
Camunda parser (same inputs, same tasks in the same order, same end data)."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tests.e2e.test_api import assert_error_shape
from tests.helpers import Api, make_users

DATA = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "camunda"
FILES = ("camunda_permit.bpmn", "permit_fee.dmn")
INPUTS = {
    "apply": {"plate": "京A12345", "vehicles": 3, "documents": ["id_card", "licence"], "check_by": "2026-12-07"},
    "check_document": {"document_ok": True},
    "approve": {"approved": True},
}
PAYMENT = {"amount": 200}


def files():
    return [(name, (DATA / name).read_bytes()) for name in FILES]


def bare_spiffworkflow(inputs=INPUTS) -> tuple[list[str], bool, dict]:
    """The model in bare SpiffWorkflow (its Camunda parser): worked tasks, completed, end data."""
    parser = CamundaParser()
    parser.add_bpmn_file(str(DATA / "camunda_permit.bpmn"))
    parser.add_dmn_file(str(DATA / "permit_fee.dmn"))
    workflow = BpmnWorkflow(parser.get_spec("camunda_permit"))
    workflow.do_engine_steps()
    worked = []
    while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
        task = ready[0]
        worked.append(task.task_spec.bpmn_id)
        task.data.update(inputs[task.task_spec.bpmn_id])
        task.run()
        workflow.do_engine_steps()
    if inputs["approve"]["approved"]:
        workflow.catch(BpmnEvent(MessageEventDefinition("payment_received"), {"payload": PAYMENT, "result_var": None}))
        workflow.do_engine_steps()
    data = {k: v for k, v in workflow.last_task.data.items() if not k.startswith("_")}
    return worked, workflow.completed, data


def test_camunda_attributes_are_honoured_or_named(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    r = api.deploy("designer1", files())
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["key"], body["executable"]) == ("camunda_permit", True)
    named = {(w["element_id"], w["message"].split(" ")[0]) for w in body["warnings"]}
    # what Redwall does not honour, by name, with its line; nothing else (versionTag & co. are bookkeeping)
    assert named == {("apply", "camunda:formKey"), ("check_document", "camunda:asyncBefore")}
    assert all(w["line"] and "not honoured" in w["message"] for w in body["warnings"])


def test_a_camunda_model_runs_as_in_bare_spiffworkflow(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", files()).status_code == 201
    case = api.post("/api/process-models/camunda_permit/instances", "intake1", json={"data": {}}).get_json()
    worked = []
    seen = {}
    while case["tasks"]:
        task = case["tasks"][0]
        element = task["element_id"]
        worked.append(element)
        seen.setdefault(element, []).append(task)
        user = {"apply": "intake1", "check_document": "civil1", "approve": "civil2"}[element]
        if task["status"] == "ready":
            assert api.post(f"/api/tasks/{task['id']}/claim", user).status_code == 200
        r = api.post(f"/api/tasks/{task['id']}/complete", user, json={"data": INPUTS[element]})
        assert r.status_code == 200, r.get_json()
        ctx.workflows.clear()  # the next step loads the saved case, its model parsed again
        ctx.runtimes.clear()
        case = api.get(f"/api/cases/{case['id']}", "admin1").get_json()

    # candidateGroups → candidate groups; candidateUsers → candidate users; assignee → claimed by them
    [apply] = seen["apply"]
    assert apply["candidate_groups"] == ["intake"] and apply["status"] == "ready"
    assert all(t["candidate_groups"] == ["civil_affairs"] for t in seen["check_document"])
    [approve] = seen["approve"]
    assert (approve["status"], approve["assignee"]) == ("claimed", "civil2")
    assert approve["candidate_users"] == ["civil1", "civil2"]
    # dueDate: a fixed day, or ${field} naming a date in the case data — the task's deadline that day
    assert apply["due_at"].startswith("2026-12-01")
    assert all(t["due_at"].startswith("2026-12-07") for t in seen["check_document"])

    assert case["status"] == "open"  # waiting for the payment message
    r = api.post(f"/api/cases/{case['id']}/messages", "intake1", json={"name": "payment_received", "payload": PAYMENT})
    assert r.status_code == 200, r.get_json()
    case = r.get_json()

    bare_worked, bare_completed, bare_data = bare_spiffworkflow()
    assert worked == bare_worked == ["apply", "check_document", "check_document", "approve"]
    assert bare_completed and case["status"] == "concluded"
    assert case["data"] == bare_data
    # the decision ran (camunda:decisionRef), each document was checked (camunda:collection/elementVariable),
    # and the payment landed where SpiffWorkflow's Camunda message puts it
    assert (case["data"]["fee"], case["data"]["permit_no"], case["data"]["paid"]) == (200, "P-京A12345", 200)
    assert case["data"]["await_payment_Response"] == PAYMENT


def test_a_refusal_in_camunda_ends_as_in_bare_spiffworkflow(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", files()).status_code == 201
    inputs = {**INPUTS, "apply": {**INPUTS["apply"], "vehicles": 1, "documents": ["id_card"]},
              "approve": {"approved": False}}
    case = api.post("/api/process-models/camunda_permit/instances", "intake1", json={"data": {}}).get_json()
    worked = []
    while case["tasks"]:
        task = case["tasks"][0]
        worked.append(task["element_id"])
        user = {"apply": "intake1", "check_document": "civil1", "approve": "civil2"}[task["element_id"]]
        if task["status"] == "ready":
            api.post(f"/api/tasks/{task['id']}/claim", user)
        r = api.post(f"/api/tasks/{task['id']}/complete", user, json={"data": inputs[task["element_id"]]})
        assert r.status_code == 200, r.get_json()
        case = r.get_json()["case"] if "case" in r.get_json() else api.get(f"/api/cases/{case['id']}", "admin1").get_json()
    bare_worked, bare_completed, bare_data = bare_spiffworkflow(inputs)
    assert worked == bare_worked and bare_completed
    assert case["status"] == "concluded" and case["data"] == bare_data and case["data"]["fee"] == 0


def test_a_camunda_service_task_is_refused_naming_what_it_would_have_run(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    bpmn = (DATA / "camunda_permit.bpmn").read_bytes().replace(
        b'<bpmn:sequenceFlow id="f7" sourceRef="issue" targetRef="issued" />',
        b'<bpmn:sequenceFlow id="f7" sourceRef="issue" targetRef="notify" />\n'
        b'    <bpmn:serviceTask id="notify" name="Notify" camunda:class="org.example.Notify" />\n'
        b'    <bpmn:sequenceFlow id="f8" sourceRef="notify" targetRef="issued" />',
    )
    body = assert_error_shape(api.deploy("designer1", [("camunda_permit.bpmn", bpmn), files()[1]]), 422)
    [problem] = body["errors"]["bpmn"]
    assert problem["element_id"] == "notify" and "camunda:class" in problem["message"]
    assert "names no connector" in problem["message"]
