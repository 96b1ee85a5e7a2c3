"""Collaborations with several executable participants (issue 12): a case runs every participant,
with the message flows between them, as bare SpiffWorkflow does; none is dropped silently."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from tests.helpers import Api, make_users

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "collaboration" / "window_and_office.bpmn"


def bare_spiff_run() -> tuple[list[str], dict]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURE))
    spec, subprocesses = parser.get_collaboration("permit_collaboration")
    workflow = BpmnWorkflow(spec, subprocesses)
    workflow.do_engine_steps()
    worked = []
    inputs = {"register": {"plate": "京A12345"}, "review": {"approved": True}}
    while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
        task = ready[0]
        worked.append(task.task_spec.bpmn_id)
        task.data.update(inputs[task.task_spec.bpmn_id])
        task.run()
        workflow.do_engine_steps()
    assert workflow.completed
    return worked, {k: v for k, v in workflow.last_task.data.items() if not k.startswith("_")}


def test_every_participant_runs_with_its_message_flows_as_in_bare_spiffworkflow(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    r = api.deploy("designer1", [(FIXTURE.name, FIXTURE.read_bytes())])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["key"], body["executable"]) == ("window", True)
    [note] = [w for w in body["warnings"] if w["element_id"] == "permit_collaboration"]
    assert "window, office" in note["message"] and "runs them all" in note["message"]

    case = api.post("/api/process-models/window/instances", "intake1", json={"data": {}}).get_json()
    worked = []
    inputs = {"register": ("intake1", {"plate": "京A12345"}), "review": ("civil1", {"approved": True})}
    while case["tasks"]:
        [task] = case["tasks"]
        worked.append(task["element_id"])
        user, data = inputs[task["element_id"]]
        # each participant's lane is its group: the window's task goes to intake, the office's to civil_affairs
        assert task["group"] == {"register": "intake", "review": "civil_affairs"}[task["element_id"]]
        assert api.post(f"/api/tasks/{task['id']}/claim", user).status_code == 200
        r = api.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data})
        assert r.status_code == 200, r.get_json()
        ctx.workflows.clear()  # the next step loads the saved case, its model parsed again
        ctx.runtimes.clear()
        case = api.get(f"/api/cases/{case['id']}", "admin1").get_json()
    bare_worked, bare_data = bare_spiff_run()
    assert worked == bare_worked == ["register", "review"]
    assert case["status"] == "concluded", case
    assert case["data"] == bare_data
    assert case["data"]["answer"] == {"approved": True}  # the office's answer, through the message flow
