"""The task endpoints over HTTP: the authorisation table, bad input, badges, delegation."""
from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import Api, make_users
from tests.worklist_helpers import deploy_lane_processes, open_task, set_task

ROLE_USERS = {
    "clerk": "civil1", "intake": "intake1", "supervisor": "super1",
    "designer": "designer1", "auditor": "auditor1", "admin": "admin1",
}
# The task "in my own group" and "in another group" for each role; "tenant" is another tenant's task.
OWN_LANE = {"clerk": "civil_affairs", "intake": "intake", "supervisor": "civil_affairs",
            "designer": "civil_affairs", "auditor": "civil_affairs", "admin": "civil_affairs"}
OTHER_LANE = {"clerk": "intake", "intake": "civil_affairs", "supervisor": "intake",
              "designer": "intake", "auditor": "intake", "admin": "intake"}
RELATIONS = ("own", "other", "tenant")
# A member of each lane other than the caller, to hold tasks the caller may not work.
MEMBER = {"intake": "intake1", "civil_affairs": "civil2", "tenant": "civil9"}
WORKS = {("clerk", "civil_affairs"), ("intake", "intake")}

# Expected status per role, for a task of the caller's own group, another group, another tenant.
EXPECTED = {
    #            clerk              intake             supervisor         designer           auditor            admin
    "list":     [(200, 200, 200), (200, 200, 200), (200, 200, 200), (403, 403, 403), (403, 403, 403), (200, 200, 200)],
    "counts":   [(200, 200, 200), (200, 200, 200), (200, 200, 200), (403, 403, 403), (403, 403, 403), (200, 200, 200)],
    "get":      [(200, 404, 404), (200, 404, 404), (200, 404, 404), (403, 403, 403), (403, 403, 403), (200, 200, 404)],
    "claim":    [(200, 404, 404), (200, 404, 404), (403, 404, 404), (403, 403, 403), (403, 403, 403), (403, 403, 404)],
    "unclaim":  [(200, 404, 404), (200, 404, 404), (200, 404, 404), (403, 403, 403), (403, 403, 403), (200, 200, 404)],
    "assign":   [(403, 404, 404), (403, 404, 404), (200, 404, 404), (403, 403, 403), (403, 403, 403), (200, 200, 404)],
    "delegate": [(200, 404, 404), (200, 404, 404), (403, 404, 404), (403, 403, 403), (403, 403, 403), (403, 403, 404)],
    "resolve":  [(200, 404, 404), (200, 404, 404), (403, 404, 404), (403, 403, 403), (403, 403, 403), (403, 403, 404)],
    "complete": [(200, 404, 404), (200, 404, 404), (403, 404, 404), (403, 403, 403), (403, 403, 403), (403, 403, 404)],
}
# For the list: is the task among the caller's items ("all" scope)?
LIST_SEES = {"clerk": (True, False, False), "intake": (True, False, False), "supervisor": (True, False, False),
             "admin": (True, True, False)}


@pytest.fixture
def desk(app, ctx):
    actors = make_users(ctx)
    deploy_lane_processes(ctx, actors["designer1"])
    deploy_lane_processes(ctx, actors["designer9"])
    return actors, Api(app.test_client())


def prepare(ctx, actors, endpoint, role, relation):
    """A fresh task in the state ``endpoint`` needs, related to ``role``'s user as ``relation`` says."""
    if relation == "tenant":
        lane, starter = "civil_affairs", actors["intake9"]
    else:
        lane, starter = (OWN_LANE if relation == "own" else OTHER_LANE)[role], actors["intake1"]
    task_id = open_task(ctx, starter, lane)
    caller = ROLE_USERS[role]
    holder = caller if relation != "tenant" and (role, lane) in WORKS else MEMBER["tenant" if relation == "tenant" else lane]
    if endpoint in ("unclaim", "delegate", "complete"):
        set_task(ctx, task_id, status="claimed", assignee=holder)
    if endpoint == "resolve":
        set_task(ctx, task_id, status="claimed", assignee="disabled1" if relation != "tenant" else "civil9",
                 delegated_by=holder)
    username = MEMBER["tenant" if relation == "tenant" else lane]
    return task_id, username


def call(api, endpoint, user, task_id, username):
    url = f"/api/tasks/{task_id}"
    if endpoint == "list":
        return api.get("/api/tasks?scope=all&limit=500", user)
    if endpoint == "counts":
        return api.get("/api/tasks/counts", user)
    if endpoint == "get":
        return api.get(url, user)
    bodies = {
        "claim": None, "unclaim": None, "assign": {"username": username},
        "delegate": {"username": "disabled1"}, "resolve": {}, "complete": {"data": {"note": "ok"}},
    }
    body = bodies[endpoint]
    return api.post(f"{url}/{endpoint}", user, json=body) if body is not None else api.post(f"{url}/{endpoint}", user)


@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_authorisation_table(desk, ctx, endpoint):
    actors, api = desk
    got, want = {}, {}
    for (role, user), expected in zip(ROLE_USERS.items(), EXPECTED[endpoint]):
        for relation, status in zip(RELATIONS, expected):
            task_id, username = prepare(ctx, actors, endpoint, role, relation)
            response = call(api, endpoint, user, task_id, username)
            got[role, relation] = response.status_code
            want[role, relation] = status
            body = response.get_json()
            if response.status_code >= 400:
                assert body["code"] == response.status_code and body["message"], body
            if endpoint == "list" and response.status_code == 200:
                seen = task_id in [t["id"] for t in body["items"]]
                assert seen is LIST_SEES[role][RELATIONS.index(relation)], (role, relation)
    assert got == want


def assert_422_naming(response, name):
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["code"] == 422 and name in json.dumps(body.get("errors", {})) + body["message"], body


def cursor_of(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query, name",
    [
        ("bogus=1", "bogus"),
        ("scope=everything", "scope"),
        ("sort=urgency", "sort"),
        ("status=open", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%25%25%25", "cursor"),
        ("cursor=" + cursor_of(["priority", 50, 3]), "cursor"),  # issued for another sort
        ("cursor=" + "A" * 501, "cursor"),
        ("due_before=yesterday", "due_before"),
        ("due_before=2026-11-25T10:00:00", "due_before"),  # no offset
        ("overdue=maybe", "overdue"),
        ("applicant_id=0", "applicant_id"),
        ("scope=group&status=claimed", "status"),
    ],
)
def test_bad_inbox_queries_are_422_naming_the_problem(desk, query, name):
    _, api = desk
    assert_422_naming(api.get(f"/api/tasks?{query}", "civil1"), name)


def test_bad_command_bodies_are_422(desk, ctx):
    actors, api = desk
    task_id = open_task(ctx, actors["intake1"], "civil_affairs")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/assign", "super1", json={"username": "disabled1"}), "username")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/assign", "super1", json={"username": "nobody"}), "username")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/assign", "super1", json={}), "username")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/assign", "super1", json={"username": ""}), "username")
    api.post(f"/api/tasks/{task_id}/claim", "civil1")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/delegate", "civil1", json={"username": "auditor1"}), "username")
    assert_422_naming(api.post(f"/api/tasks/{task_id}/delegate", "civil1", json={"username": "civil9"}), "username")
    assert_422_naming(
        api.post(f"/api/tasks/{task_id}/delegate", "civil1", json={"username": "civil2", "extra": 1}), "extra"
    )
    assert_422_naming(
        api.post(f"/api/tasks/{task_id}/delegate", "civil1", json={"username": "civil2", "comment": "x" * 2001}),
        "comment",
    )
    assert_422_naming(api.post(f"/api/tasks/{task_id}/complete", "civil1", json={"data": {"note": "x" * 50}}), "note")
    # nothing was applied by any of them
    assert api.get(f"/api/tasks/{task_id}", "civil1").get_json()["assignee"] == "civil1"


def test_inbox_over_http(desk, ctx):
    actors, api = desk
    first = open_task(ctx, actors["intake1"], "civil_affairs", service_code="senior_card")
    second = open_task(ctx, actors["intake1"], "civil_affairs")
    set_task(ctx, first, priority=10)
    set_task(ctx, second, priority=90)
    page = api.get("/api/tasks?scope=group&sort=priority&limit=1", "civil1").get_json()
    assert [t["id"] for t in page["items"]] == [second]
    item = page["items"][0]
    assert {"id", "case_id", "case_number", "name", "group", "assignee", "status", "priority", "created_at",
            "due_at", "warn_at", "delegated_by"} <= set(item)
    rest = api.get(f"/api/tasks?scope=group&sort=priority&limit=1&cursor={page['next_cursor']}", "civil1").get_json()
    assert [t["id"] for t in rest["items"]] == [first] and rest["next_cursor"] is None
    assert rest["items"][0]["service_code"] == "senior_card"
    counts = api.get("/api/tasks/counts", "civil1").get_json()
    assert counts["views"]["group"]["total"] == 2
    assert counts["groups"] == [{"group": "civil_affairs", "ready": 2, "claimed": 0, "overdue": 0, "warned": 0}]


def test_delegation_over_http(desk, ctx):
    actors, api = desk
    task_id = open_task(ctx, actors["intake1"], "civil_affairs")
    api.post(f"/api/tasks/{task_id}/claim", "civil1")
    etag = api.get(f"/api/tasks/{task_id}", "civil1").headers["ETag"]
    r = api.post(f"/api/tasks/{task_id}/delegate", "civil1", json={"username": "disabled1", "comment": "请核对"},
                 headers={"If-Match": etag})
    assert r.status_code == 200 and r.get_json()["delegated_by"] == "civil1" and r.headers["ETag"] != etag
    # a stale tag no longer applies
    again = api.post(f"/api/tasks/{task_id}/resolve", "disabled1", json={}, headers={"If-Match": etag})
    assert again.status_code == 412
    assert [t["id"] for t in api.get("/api/tasks?scope=mine", "disabled1").get_json()["items"]] == [task_id]
    assert [t["id"] for t in api.get("/api/tasks?scope=delegated", "civil1").get_json()["items"]] == [task_id]
    assert api.get(f"/api/tasks/{task_id}", "disabled1").status_code == 200
    assert api.post(f"/api/tasks/{task_id}/complete", "disabled1", json={"data": {}}).status_code == 409
    assert api.post(f"/api/tasks/{task_id}/unclaim", "disabled1").status_code == 409
    r = api.post(f"/api/tasks/{task_id}/resolve", "disabled1")  # no body at all
    assert r.status_code == 200 and r.get_json()["assignee"] == "civil1"
    assert api.get(f"/api/tasks/{task_id}", "disabled1").status_code == 404  # back in civil affairs only
    done = api.post(f"/api/tasks/{task_id}/complete", "civil1", json={"data": {"note": "ok"}})
    assert done.status_code == 200 and done.get_json()["case"]["status"] == "concluded"
    assert api.post(f"/api/tasks/{task_id}/resolve", "civil1").status_code == 409


def test_openapi_describes_the_worklist_endpoints(desk):
    _, api = desk
    spec = api.client.get("/api/openapi.json").get_json()
    for path in ("/api/tasks/counts", "/api/tasks/{task_id}/delegate", "/api/tasks/{task_id}/resolve"):
        assert path in spec["paths"], path
    listing = spec["paths"]["/api/tasks"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "scope", "group", "service_code", "case_number", "applicant_id", "status", "due_before", "overdue",
        "warned", "sort", "limit", "cursor",
    }
    counts = spec["paths"]["/api/tasks/counts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert counts == {"$ref": "#/components/schemas/TaskCounts"}
