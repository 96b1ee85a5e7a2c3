"""GET /api/supervision/metrics over HTTP: the contract's fields, roles and bad input."""
from __future__ import annotations

import pytest
import time_machine

from tests.helpers import Api, demo_files, make_users
from tests.timekeeping import beijing

FIELDS = {"key", "received", "concluded", "concluded_on_time", "on_time_rate", "overdue_open", "warned",
          "avg_working_hours"}


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def walk(api, days: int, department: str, conclude: bool) -> dict:
    r = api.post("/api/process-models/service_application/instances", "intake1",
                 json={"data": {"time_limit_working_days": days}})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["deadline"] is not None
    steps = [("intake1", {"acceptance": "accept", "department": department})]
    if conclude:
        reviewer = "civil1" if department == "civil_affairs" else "disabled1"
        steps += [(reviewer, {"review_result": "meets_conditions"}), ("civil1", {"approved": True})]
    task = case["tasks"][0]
    for user, data in steps:
        assert api.post(f"/api/tasks/{task['id']}/claim", user).status_code == 200
        r = api.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data})
        assert r.status_code == 200, r.get_json()
        task = (r.get_json()["next_tasks"] or [None])[0]
    return case


def test_metrics_follow_the_contract(api):
    with time_machine.travel(beijing(2026, 9, 30, 10, 0), tick=False) as traveller:
        assert api.deploy("designer1", demo_files()).status_code == 201
        walk(api, 2, "civil_affairs", conclude=False)       # due Fri 9 Oct (1–7 October are holidays)
        traveller.move_to(beijing(2026, 10, 8, 11, 0))
        api.tokens.clear()  # tokens of a week ago have expired
        walk(api, 2, "disabled_federation", conclude=True)  # received and concluded the same day
        traveller.move_to(beijing(2026, 10, 12, 9, 0))      # the first case is now late
        api.tokens.clear()
        r = api.get("/api/supervision/metrics?from=2026-09-28&to=2026-10-11&group_by=department", "super1")
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["group_by"] == "department" and body["from"] == "2026-09-28" and body["to"] == "2026-10-11"
        rows = {row["key"]: row for row in body["rows"]}
        assert all(FIELDS <= set(row) for row in rows.values())
        assert rows["civil_affairs"]["received"] == 1 and rows["civil_affairs"]["overdue_open"] == 1
        assert rows["civil_affairs"]["on_time_rate"] is None
        federation = rows["disabled_federation"]
        assert federation["concluded"] == federation["concluded_on_time"] == 1 and federation["on_time_rate"] == 1.0
        assert federation["avg_working_hours"] == 0.0  # all within one minute of 8 October

        # times with an offset are read as days in the caller's zone; defaults cover the last 30 days
        r = api.get("/api/supervision/metrics?from=2026-09-28T00:00:00%2B08:00&group_by=service", "auditor1")
        assert r.status_code == 200 and r.get_json()["to"] == "2026-10-12"
        assert {row["key"] for row in r.get_json()["rows"]} == {"service_application"}
        assert api.get("/api/supervision/metrics?group_by=clerk", "admin1").status_code == 200


@pytest.mark.parametrize("query", [
    "from=2026-10-11&to=2026-09-28", "from=yesterday", "from=2026-02-30", "group_by=planet",
    "from=2026-10-01T10:00:00", "colour=red", "from=1900-01-01&to=2026-01-01", "from=" + "9" * 50,
])
def test_bad_queries_are_422(api, query):
    r = api.get(f"/api/supervision/metrics?{query}", "admin1")
    assert r.status_code == 422, (query, r.get_json())
    assert set(r.get_json()) >= {"code", "status", "message"}


def test_who_may_read_metrics(api):
    assert api.get("/api/supervision/metrics").status_code == 401
    assert api.get("/api/supervision/metrics", "intake1").status_code == 403
    assert api.get("/api/supervision/metrics", "civil1").status_code == 403
    for user in ("super1", "auditor1", "admin1"):
        assert api.get("/api/supervision/metrics", user).status_code == 200


def test_the_openapi_document_describes_the_new_endpoints(api):
    spec = api.get("/api/openapi.json").get_json()
    metrics = spec["paths"]["/api/supervision/metrics"]["get"]
    assert {p["name"] for p in metrics["parameters"]} >= {"from", "to", "group_by"}
    for path in ("/api/ops/incidents", "/api/ops/incidents/{incident_id}/retry", "/api/ops/health"):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"MetricRow", "Incident", "OpsHealth"} <= set(schemas)
