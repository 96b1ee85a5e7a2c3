"""Messages with correlation keys through the API (issue 12): a case that waits for a correlated
message takes it with the right values, refuses missing, unknown and wrong ones with a clear 4xx,
and the payload lands where SpiffWorkflow puts it (compared with bare SpiffWorkflow)."""
from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tests.e2e.test_api import assert_error_shape
from tests.helpers import Api, make_users

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "messages" / "payment_correlated.bpmn"
REGISTERED = {"application_no": "A-7", "office": "east"}


def bare_spiff_data(payload: dict) -> dict:
    """The same case in bare SpiffWorkflow: the message thrown with its correlations computed
    from the payload, as SpiffWorkflow does for a message a process throws."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURE))
    workflow = BpmnWorkflow(parser.get_spec("fee_payment"))
    workflow.do_engine_steps()
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    task.data.update(REGISTERED)
    task.run()
    workflow.do_engine_steps()
    [waiting] = workflow.event_manager.tasks.values()
    definition = waiting.task_spec.event_definition
    correlations = definition.calculate_correlations(workflow.script_engine, definition.correlation_properties, payload)
    event = BpmnEvent(MessageEventDefinition("payment_received"), payload, correlations)
    assert workflow.event_manager.catch(event, internal=False) == 1
    workflow.do_engine_steps()
    [ready] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ready.task_spec.bpmn_id == "issue"
    return {k: v for k, v in ready.data.items() if not k.startswith("_")}


def waiting_case(api) -> tuple[dict, str]:
    case = api.post("/api/process-models/fee_payment/instances", "intake1", json={"data": {}}).get_json()
    [task] = case["tasks"]
    assert api.post(f"/api/tasks/{task['id']}/claim", "intake1").status_code == 200
    r = api.post(f"/api/tasks/{task['id']}/complete", "intake1", json={"data": REGISTERED})
    assert r.status_code == 200, r.get_json()
    return case, f"/api/cases/{case['id']}/messages"


def test_a_correlated_message_is_delivered_with_its_values_and_lands_as_in_spiffworkflow(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", [(FIXTURE.name, FIXTURE.read_bytes())]).status_code == 201
    case, url = waiting_case(api)

    # missing: the values are named, nothing changes
    body = assert_error_shape(api.post(url, "intake1", json={"name": "payment_received", "payload": {"amount": 5}}), 422)
    assert "'application_no'" in body["message"] and "'office'" in body["message"] and "correlation" in body["message"]
    # a part of the key only
    body = assert_error_shape(api.post(url, "intake1", json={
        "name": "payment_received", "payload": {"amount": 5}, "correlation": {"application_no": "A-7"}}), 422)
    assert "'office'" in body["message"]
    # unknown property
    body = assert_error_shape(api.post(url, "intake1", json={
        "name": "payment_received", "correlation": {"application_no": "A-7", "office": "east", "plate": "x"}}), 422)
    assert "'plate'" in body["message"] and "'application_no'" in body["message"]
    # not an object
    assert_error_shape(api.post(url, "intake1", json={"name": "payment_received", "correlation": ["A-7"]}), 422)
    # another conversation's values
    body = assert_error_shape(api.post(url, "intake1", json={
        "name": "payment_received", "payload": {"amount": 5}, "correlation": {"application_no": "A-8", "office": "east"}}), 409)
    assert "another case" in body["message"]
    after = api.get(f"/api/cases/{case['id']}", "admin1").get_json()
    assert after["tasks"] == [] and "payment" not in after["data"]  # still waiting, nothing delivered

    r = api.post(url, "intake1", json={
        "name": "payment_received", "payload": {"amount": 5}, "correlation": {"application_no": "A-7", "office": "east"}})
    assert r.status_code == 200, r.get_json()
    delivered = r.get_json()
    assert [t["element_id"] for t in delivered["tasks"]] == ["issue"]
    assert delivered["data"] == bare_spiff_data({"amount": 5, **REGISTERED})
    assert delivered["data"]["payment"] == {"amount": 5, **REGISTERED}  # under the messageVariable


def test_correlation_values_may_come_in_the_payload_as_spiffworkflow_reads_them(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", [(FIXTURE.name, FIXTURE.read_bytes())]).status_code == 201
    _, url = waiting_case(api)
    wrong = {"amount": 9, "application_no": "A-7", "office": "west"}
    assert_error_shape(api.post(url, "intake1", json={"name": "payment_received", "payload": wrong}), 409)
    payload = {"amount": 9, **REGISTERED}
    r = api.post(url, "intake1", json={"name": "payment_received", "payload": payload})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["data"] == bare_spiff_data(payload)


def test_a_message_without_correlation_refuses_correlation_values(app, ctx):
    from server.demo import BPMN_DIR, model_files
    from workflows.process_models import deploy_model

    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], model_files(BPMN_DIR / "civil_affairs_service"))
    api = Api(app.test_client())
    case = api.post("/api/process-models/civil_affairs_service/instances", "intake1",
                    json={"data": {"time_limit_working_days": 5, "audit_sampled": False}}).get_json()
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    api.post(f"/api/tasks/{task}/complete", "intake1",
             json={"data": {"acceptance": "supplement", "missing_materials": ["户口簿"]}})
    url = f"/api/cases/{case['id']}/messages"
    body = assert_error_shape(api.post(url, "intake1", json={
        "name": "materials_supplied", "correlation": {"application_no": "A-7"}}), 422)
    assert "no correlation properties 'application_no'" in body["message"]
    assert api.post(url, "intake1", json={"name": "materials_supplied"}).status_code == 200
