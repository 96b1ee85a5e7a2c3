"""Operations over HTTP: health with scheduler lag, pending timers and the calendar; incidents."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import time_machine

from tests.helpers import Api, make_users
from tests.timekeeping import beijing, run_due

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def test_health_reports_timers_scheduler_lag_and_unknown_calendar_years(api, ctx):
    with time_machine.travel(beijing(2026, 11, 25, 10, 0), tick=False) as traveller:
        r = api.get("/api/ops/health")
        body = r.get_json()
        assert r.status_code == 200, body
        assert body["database"] == "ok" and body["broker"] == "none" and body["mode"] == "embedded"
        assert body["timers"] == {"pending": 0, "due": 0} and body["scheduler"]["lag_seconds"] == 0
        assert body["calendar"]["library_years"] == [2004, 2026]
        assert body["calendar"]["weekends_only_years"] == [2027]  # said, not a failure
        assert any("2027" in w for w in body["warnings"])

        r = api.deploy("designer1", [("w.bpmn", (FIXTURES / "timers" / "wait_then_follow_up.bpmn").read_bytes())])
        assert r.status_code == 201
        for _ in range(2):
            r = api.post("/api/process-models/wait_then_follow_up/instances", "civil1", json={"data": {"wait_for": "PT1M"}})
            assert r.status_code == 201
        traveller.shift(90)
        r = api.get("/api/ops/health")
        body = r.get_json()
        # due for 30 s and no scheduler: degraded, and it says why
        assert r.status_code == 503 and body["status"] == "degraded"
        assert body["timers"] == {"pending": 2, "due": 2} and body["scheduler"]["lag_seconds"] == 30
        assert any("no scheduler" in w for w in body["warnings"])

        assert run_due(ctx, "scheduler@test") == {"fired": 2}
        body = api.get("/api/ops/health").get_json()
        assert body["status"] == "ok" and body["timers"]["due"] == 0 and body["scheduler"]["running"] == 1
        assert body["scheduler"]["schedulers"][0]["name"] == "scheduler@test"


@pytest.fixture
def incident(api, ctx):
    """A case stopped by a connector that does not exist (yet): a permanent failure, no retries."""
    connector = f"missing_{uuid.uuid4().hex[:8]}"  # connectors stay registered for the session
    text = (FIXTURES / "cases" / "service_call.bpmn").read_text().replace("CONNECTOR", connector)
    assert api.deploy("designer1", [("service_call.bpmn", text.encode())]).status_code == 201
    r = api.post("/api/process-models/service_call/instances", "intake1", json={"data": {"resident_id": 3}})
    assert r.status_code == 201 and r.get_json()["has_incident"] is True
    return {**r.get_json(), "connector": connector}


def test_incidents_are_listed_and_retried(api, ctx, incident):
    r = api.get("/api/ops/incidents", "admin1")
    assert r.status_code == 200, r.get_json()
    [item] = r.get_json()["items"]
    assert item["case_id"] == incident["id"] and item["case_number"] == incident["number"]
    assert item["element_id"] == "lookup" and item["kind"] == "service" and item["status"] == "open"
    assert incident["connector"] in item["message"]

    @ctx.connectors.register(incident["connector"])
    def now_present(resident_id, purpose):
        return {"resident_id": resident_id}

    r = api.post(f"/api/ops/incidents/{item['id']}/retry", "admin1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["succeeded"] is True and body["incident"]["status"] == "resolved"
    assert body["case"]["has_incident"] is False and body["case"]["tasks"][0]["element_id"] == "check_result"
    assert api.post(f"/api/ops/incidents/{item['id']}/retry", "admin1").status_code == 409
    assert api.get("/api/ops/incidents", "admin1").get_json()["items"] == []
    resolved = api.get("/api/ops/incidents?status=resolved", "auditor1").get_json()["items"]
    assert [i["id"] for i in resolved] == [item["id"]]


def test_incident_endpoints_refuse_what_they_must(api, incident):
    [item] = api.get("/api/ops/incidents", "admin1").get_json()["items"]
    assert api.get("/api/ops/incidents").status_code == 401
    assert api.get("/api/ops/incidents", "civil1").status_code == 403
    assert api.post(f"/api/ops/incidents/{item['id']}/retry", "auditor1").status_code == 403
    assert api.get("/api/ops/incidents", "designer9").get_json()["items"] == []  # another tenant sees none
    assert api.post(f"/api/ops/incidents/{item['id']}/retry", "designer9").status_code == 404
    assert api.post("/api/ops/incidents/99999999/retry", "admin1").status_code == 404
    assert api.post("/api/ops/incidents/999999999999999999999/retry", "admin1").status_code == 404
    for query in ("status=wat", "limit=0", "limit=501", "cursor=%%%", "case_id=-1", "nonsense=1"):
        r = api.get(f"/api/ops/incidents?{query}", "admin1")
        assert r.status_code == 422, (query, r.get_json())
        assert set(r.get_json()) >= {"code", "status", "message"}


def test_incident_pages_follow_the_cursor(api, ctx, incident):
    for _ in range(2):
        assert api.post("/api/process-models/service_call/instances", "intake1",
                        json={"data": {"resident_id": 4}}).status_code == 201
    first = api.get("/api/ops/incidents?limit=2", "admin1").get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"/api/ops/incidents?limit=2&cursor={first['next_cursor']}", "admin1").get_json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
