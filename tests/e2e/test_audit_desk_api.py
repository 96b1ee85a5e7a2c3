"""The auditor's desk over HTTP: case search, events outside cases (pii.read, deployments …),
pulling a case into the audit queue — the contract, the roles and bad input."""
from __future__ import annotations

from datetime import date

import pytest

from datacentre import synthetic
from tests.e2e.test_trail_api import ok
from tests.helpers import Api, demo_files, make_users


@pytest.fixture
def api(app, ctx):
    actors = make_users(ctx)
    synthetic.generate_demo_data(ctx, actors["admin1"], 30, seed=3, as_of=date(2026, 11, 25))
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    return api


def start(api, name: str) -> dict:
    return ok(api.post("/api/process-models/service_application/instances", "intake1",
                       json={"data": {"applicant_name": name}}), 201)


def test_search_cases_by_number_status_and_period(api):
    first, second = start(api, "王芳"), start(api, "李雷")
    found = ok(api.get("/api/audit/cases", "auditor1"))["items"]
    assert [c["id"] for c in found] == [second["id"], first["id"]]  # newest first
    assert found[0]["in_audit_queue"] is False and found[0]["status"] == "open"
    by_number = ok(api.get(f"/api/audit/cases?number={first['number'][-6:]}", "auditor1"))["items"]
    assert [c["id"] for c in by_number] == [first["id"]]
    assert ok(api.get("/api/audit/cases?status=concluded", "auditor1"))["items"] == []
    assert ok(api.get("/api/audit/cases?from=2000-01-01&to=2000-01-02", "admin1"))["items"] == []
    assert ok(api.get("/api/audit/cases?number=%25", "auditor1"))["items"] == []  # a LIKE wildcard is a character
    assert ok(api.get("/api/audit/cases?limit=1", "auditor1"))["items"][0]["id"] == second["id"]


def test_events_outside_cases_are_listed_filtered_and_paged(api):
    # a full-number resident search by the window records pii.read outside any case
    assert api.get("/api/residents?q=王", "intake1").status_code == 200
    items = ok(api.get("/api/trail/events", "auditor1"))["items"]
    kinds = [e["kind"] for e in items]
    assert "model.deployed" in kinds and "pii.read" in kinds
    assert [e["seq"] for e in items] == sorted((e["seq"] for e in items), reverse=True)
    pii = ok(api.get("/api/trail/events?kind=pii.read", "auditor1"))["items"]
    assert pii and all(e["kind"] == "pii.read" and e["actor"] == "intake1" for e in pii)
    assert pii[0]["data"]["via"] == "search"
    models = ok(api.get("/api/trail/events?kind=model.", "auditor1"))["items"]
    assert models and {e["kind"] for e in models} == {"model.deployed"}
    assert ok(api.get("/api/trail/events?actor=designer1", "admin1"))["items"]
    assert ok(api.get("/api/trail/events?actor=nobody", "admin1"))["items"] == []
    everything = ok(api.get("/api/trail/events?limit=200", "auditor1"))["items"]  # (admin1 signed in meanwhile)
    page = ok(api.get("/api/trail/events?limit=1", "auditor1"))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = ok(api.get(f"/api/trail/events?limit=200&cursor={page['next_cursor']}", "auditor1"))["items"]
    assert len(rest) == len(everything) - 1 and rest[0]["seq"] < page["items"][0]["seq"]
    # nothing of another tenant
    assert all(e["actor"] != "designer9" for e in items)


def test_an_auditor_pulls_any_case_into_the_queue(api):
    case = start(api, "王芳")
    r = api.post("/api/audits/queue", "auditor1", json={"case_id": case["id"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["case_id"] == case["id"] and r.get_json()["status"] == "pending"
    assert api.post("/api/audits/queue", "auditor1", json={"case_id": case["id"]}).status_code == 409
    queue = ok(api.get("/api/audits", "auditor1"))["items"]
    assert case["id"] in [a["case_id"] for a in queue]
    trail = ok(api.get(f"/api/cases/{case['id']}/trail", "auditor1"))["events"]
    assert trail[-1]["kind"] == "case.audit_queued" and trail[-1]["data"]["pulled_by"] == "auditor1"
    assert ok(api.get(f"/api/audit/cases?number={case['number']}", "auditor1"))["items"][0]["in_audit_queue"] is True


@pytest.mark.parametrize("call", [
    ("get", "/api/audit/cases?status=lost", None), ("get", "/api/audit/cases?from=yesterday", None),
    ("get", "/api/audit/cases?from=2026-10-02&to=2026-10-01", None), ("get", "/api/audit/cases?limit=0", None),
    ("get", "/api/audit/cases?colour=red", None), ("get", "/api/trail/events?cursor=not-a-cursor", None),
    ("get", "/api/trail/events?limit=201", None), ("get", "/api/trail/events?from=2026-13-01", None),
    ("post", "/api/audits/queue", {}), ("post", "/api/audits/queue", {"case_id": "one"}),
    ("post", "/api/audits/queue", {"case_id": 0}), ("post", "/api/audits/queue", {"case_id": 1, "x": 1}),
])
def test_bad_input_is_422(api, call):
    method, url, body = call
    r = getattr(api, method)(url, "auditor1", **({"json": body} if body is not None else {}))
    assert r.status_code == 422, (url, r.get_json())
    assert set(r.get_json()) >= {"code", "status", "message"}


def test_who_may_use_the_desk(api):
    case = start(api, "王芳")
    for user in ("intake1", "civil1", "super1", "designer1"):
        assert api.get("/api/audit/cases", user).status_code == 403
        assert api.get("/api/trail/events", user).status_code == 403
        assert api.post("/api/audits/queue", user, json={"case_id": case["id"]}).status_code == 403
    assert api.post("/api/audits/queue", "auditor1", json={"case_id": 10 ** 9}).status_code == 404
    assert api.get("/api/trail/events").status_code == 401


def test_sign_ins_and_failed_sign_ins_are_events_the_auditor_reads(api):
    api.client.post("/api/auth/token", json={"username": "civil1", "password": "wrong"})
    api.token("civil1")  # a successful sign-in
    api.client.post("/api/auth/token", json={"username": "no-such-user", "password": "x"})
    signed = ok(api.get("/api/trail/events?kind=user.signed_in&actor=civil1", "auditor1"))["items"]
    failed = ok(api.get("/api/trail/events?kind=user.sign_in_failed", "auditor1"))["items"]
    assert signed and signed[0]["data"]["username"] == "civil1"
    assert [e["data"]["username"] for e in failed] == ["civil1"]  # unknown names belong to no tenant
    assert ok(api.get("/api/trail/verify", "auditor1"))["valid"] is True
