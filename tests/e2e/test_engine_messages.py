"""Only messages a process declares public may be sent through the API, by the roles it names
(issue 10, item 8): a clerk created three forged 督办 pressing tasks with ``case_overdue``."""
from __future__ import annotations

from server.demo import BPMN_DIR, model_files
from tests.e2e.test_api import assert_error_shape
from tests.helpers import Api, make_users
from workflows.process_models import deploy_model


def test_internal_messages_are_the_engines_own(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], model_files(BPMN_DIR / "civil_affairs_service"))
    api = Api(app.test_client())
    case = api.post("/api/process-models/civil_affairs_service/instances", "intake1",
                    json={"data": {"time_limit_working_days": 5, "audit_sampled": False}}).get_json()
    url = f"/api/cases/{case['id']}/messages"
    for user in ("civil1", "intake1", "admin1", "super1"):
        for name in ("case_overdue", "case_warning", "case_seriously_overdue", "no_such_message"):
            body = assert_error_shape(api.post(url, user, json={"name": name}), 403)
            assert name in body["message"]
    after = api.get(f"/api/cases/{case['id']}", "admin1").get_json()
    assert [t["element_id"] for t in after["tasks"]] == ["accept_application"]  # no forged pressing task
    # The public message: the roles the model names may send it, others may not.
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    r = api.post(f"/api/tasks/{task}/complete", "intake1",
                 json={"data": {"acceptance": "supplement", "missing_materials": ["户口簿"]}})
    assert r.status_code == 200, r.get_json()
    assert_error_shape(api.post(url, "designer1", json={"name": "materials_supplied"}), 403)
    r = api.post(url, "intake1", json={"name": "materials_supplied", "payload": {"supplied": ["户口簿"]}})
    assert r.status_code == 200 and r.get_json()["status"] == "open"
