"""The trail over HTTP and the command line: the story of a case, verification, exports."""
from __future__ import annotations

from tests.helpers import trail_guards

import hashlib
import json

import pytest
from sqlalchemy import text

from server.extensions import db
from tests.helpers import Api, demo_files, make_users

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    return api


def ok(response, code=200):
    assert response.status_code == code, response.get_json()
    return response.get_json()


def claim_and_complete(api, user, task_id, data):
    ok(api.post(f"/api/tasks/{task_id}/claim", user))
    return ok(api.post(f"/api/tasks/{task_id}/complete", user, json={"data": data}))


def walk(api) -> dict:
    """A case from the window to the decision, with one round of missing materials (补正)."""
    case = ok(api.post("/api/process-models/service_application/instances", "intake1",
                       json={"data": {"applicant_name": "王芳", "applicant_id_number": ID_NUMBER}}), 201)
    first = case["tasks"][0]["id"]
    claim_and_complete(api, "intake1", first, {"acceptance": "supplement", "missing_materials": ["户口簿"]})
    back = ok(api.post(f"/api/cases/{case['id']}/messages", "intake1", json={"name": "materials_supplied", "payload": {}}))
    again = back["tasks"][0]["id"]
    [review] = claim_and_complete(api, "intake1", again, {"acceptance": "accept", "department": "civil_affairs"})["next_tasks"]
    ok(api.post(f"/api/tasks/{review['id']}/claim", "civil1"))
    ok(api.post(f"/api/tasks/{review['id']}/unclaim", "civil1"))
    ok(api.post(f"/api/tasks/{review['id']}/assign", "super1", json={"username": "civil2"}))
    [decide] = ok(api.post(f"/api/tasks/{review['id']}/complete", "civil2",
                           json={"data": {"review_result": "meets_conditions"}}))["next_tasks"]
    final = claim_and_complete(api, "civil1", decide["id"], {"approved": True})["case"]
    assert final["status"] == "concluded"
    return case


def test_a_full_case_trail_reads_as_its_story(api):
    case = walk(api)
    body = ok(api.get(f"/api/cases/{case['id']}/trail", "auditor1"))
    story = [(e["kind"], e["actor"]) for e in body["events"]]
    assert story == [
        ("case.received", "intake1"),
        ("task.created", None),                       # accept application 受理, at the window
        ("task.claimed", "intake1"),
        ("task.completed", "intake1"),                # materials missing
        ("gateway.decided", None),                    # → wait for materials
        ("case.status_changed", None),                # open → waiting_applicant
        ("message.received", "intake1"),              # materials supplied 补齐补正
        ("case.status_changed", None),                # → open
        ("task.created", None),                       # accept again
        ("task.claimed", "intake1"),
        ("task.completed", "intake1"),                # accepted, civil affairs
        ("gateway.decided", None),                    # accepted
        ("gateway.decided", None),                    # → civil affairs
        ("task.created", None),                       # review 审查
        ("task.claimed", "civil1"),
        ("task.unclaimed", "civil1"),
        ("task.assigned", "super1"),
        ("task.completed", "civil2"),
        ("task.created", None),                       # decide 决定
        ("task.claimed", "civil1"),
        ("task.completed", "civil1"),
        ("case.status_changed", None),                # → concluded
    ]
    events = body["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[4]["data"]["taken"][0]["target"] == "wait_for_materials"
    assert events[12]["data"]["taken"][0]["target"] == "review_civil_affairs"
    assert events[16]["data"]["assignee"] == "civil2"
    assert events[-1]["data"] == {"from": "open", "to": "concluded"}
    assert events[0]["data"]["data"]["applicant_id_number"] == "110105********002X"
    assert body["case"]["number"] == case["number"]
    assert events[0]["at"].endswith("+08:00")


def test_verify_a_case_and_the_tenant(api):
    case = walk(api)
    result = ok(api.get(f"/api/cases/{case['id']}/trail/verify", "auditor1"))
    assert result["valid"] is True and result["first_bad_seq"] is None and result["checked"] == 22
    tenant = ok(api.get("/api/trail/verify", "auditor1"))
    # + the deployment and the sign-ins (one per user who took a token), outside the case
    outside = ok(api.get("/api/trail/events?limit=200", "auditor1"))["items"]
    assert {e["kind"] for e in outside} == {"model.deployed", "user.signed_in"}
    assert tenant["valid"] is True and tenant["checked"] == 22 + len(outside) and tenant["chains"] == 2


def tamper(statement: str) -> None:
    with db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            trail_guards(conn, on=False)
        conn.execute(text(statement))
        if postgres:
            trail_guards(conn, on=True)


def test_tampering_shows_in_the_api_and_the_command_line(api, app):
    case = walk(api)
    other = walk(api)
    tamper(f"UPDATE trail_events SET actor = 'admin1' WHERE case_id = {case['id']} AND seq = 18")
    result = ok(api.get(f"/api/cases/{case['id']}/trail/verify", "auditor1"))
    assert (result["valid"], result["first_bad_seq"]) == (False, 18) and "altered" in result["reason"]
    tenant = ok(api.get("/api/trail/verify", "auditor1"))
    assert (tenant["valid"], tenant["case_id"], tenant["first_bad_seq"]) == (False, case["id"], 18)
    assert ok(api.get(f"/api/cases/{other['id']}/trail/verify", "auditor1"))["valid"]

    runner = app.test_cli_runner()
    bad = runner.invoke(args=["trail", "verify", "--case", str(case["id"])])
    assert bad.exit_code == 1 and "event 18" in bad.output and "altered" in bad.output, bad.output
    good = runner.invoke(args=["trail", "verify", "--case", str(other["id"])])
    assert good.exit_code == 0 and "valid" in good.output
    everything = runner.invoke(args=["trail", "verify"])
    assert everything.exit_code == 1 and f"case {case['id']} event 18" in everything.output
    assert "tenant jinrong: valid" in everything.output
    assert runner.invoke(args=["trail", "verify", "--case", "999999"]).exit_code == 2
    assert runner.invoke(args=["trail", "verify", "--tenant", "nowhere"]).exit_code == 2


def test_the_json_export_rehashes_offline(api):
    case = walk(api)
    r = api.get(f"/api/cases/{case['id']}/trail/export", "auditor1")
    body = ok(r)
    assert r.headers["Content-Disposition"] == f'attachment; filename="trail-{case["number"]}.json"'
    assert body["verification"]["valid"] and body["exported_by"] == "auditor1"
    # An outside verifier needs only the documented encoding and the export itself.
    from datetime import datetime, timezone

    prev = body["encoding"]["genesis_prev_hash"]
    for event in body["events"]:
        at = datetime.fromisoformat(event["at"]).astimezone(timezone.utc).isoformat(timespec="microseconds")
        header = json.dumps([1, body["tenant_id"], body["case"]["id"], event["seq"], at, event["kind"], event["actor"],
                             event["task"]], separators=(",", ":"), ensure_ascii=False)
        data = json.dumps(event["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["prev_hash"] == prev
        assert hashlib.sha256(f"{prev}\n{header}\n{data}".encode()).hexdigest() == event["hash"], event["seq"]
        prev = event["hash"]


def test_the_printable_page(api):
    case = walk(api)
    r = api.get(f"/api/cases/{case['id']}/trail/print", "auditor1")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert case["number"] in page and "办事留痕" in page and "完整 intact" in page
    assert "收件 received" in page and "流转 flow decided" in page and "civil2" in page
    assert ID_NUMBER not in page and "110105********002X" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page  # offline, nothing to load
    tamper(f"DELETE FROM trail_events WHERE case_id = {case['id']} AND seq = 3")
    page = api.get(f"/api/cases/{case['id']}/trail/print", "auditor1").get_data(as_text=True)
    assert "NOT INTACT" in page and "event 3 is missing" in page


@pytest.mark.parametrize("path", ["trail", "trail/verify", "trail/export", "trail/print"])
def test_who_reads_a_case_trail(api, path):
    case = walk(api)
    url = f"/api/cases/{case['id']}/{path}"
    for user in ("auditor1", "super1", "admin1", "intake1", "civil1"):
        assert api.get(url, user).status_code == 200, user
    assert api.get(url, "designer1").status_code == 403
    assert api.get(url, "civil9").status_code == 404  # another tenant's case
    assert api.get(f"/api/cases/999999/{path}", "auditor1").status_code == 404
    assert api.get(url).status_code == 401


def test_who_verifies_the_tenant(api):
    for user, code in (("auditor1", 200), ("admin1", 200), ("super1", 403), ("civil1", 403), ("designer1", 403)):
        assert api.get("/api/trail/verify", user).status_code == code, user


def test_the_trail_is_documented(api):
    paths = api.client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/cases/{case_id}/trail", "/api/cases/{case_id}/trail/verify", "/api/cases/{case_id}/trail/export",
                 "/api/cases/{case_id}/trail/print", "/api/trail/verify"):
        assert path in paths, path
    schema = paths["/api/cases/{case_id}/trail/verify"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Verification"}
