"""The REST contract end to end, through Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from tests.helpers import Api, demo_files, make_users


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


@pytest.fixture
def deployed(api):
    r = api.deploy("designer1", demo_files())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def start(api, user="intake1", data=None):
    r = api.post("/api/process-models/service_application/instances", user, json={"data": data or {}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def assert_error_shape(response, code):
    body = response.get_json()
    assert response.status_code == code, body
    assert body["code"] == code and isinstance(body["status"], str) and isinstance(body["message"], str)
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# -- auth ---------------------------------------------------------------------------------------
def test_token_and_identity(api):
    r = api.client.post("/api/auth/token", json={"username": "super1", "password": "correct-horse-battery"})
    body = r.get_json()
    assert r.status_code == 200
    assert body["user"] == {
        "username": "super1", "roles": ["supervisor"], "groups": [],
        "supervises": ["civil_affairs", "disabled_federation"], "tenant": "xichangan",
    }
    assert datetime.fromisoformat(body["expires_at"]).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"username": "super1", "password": "wrong"}, 401),
        ({"username": "nobody", "password": "whatever"}, 401),
        ({"username": "super1"}, 422),
        ({"username": 5, "password": []}, 422),
        ({"username": "super1", "password": "x", "extra": 1}, 422),
    ],
)
def test_token_refusals(api, payload, code):
    assert_error_shape(api.client.post("/api/auth/token", json=payload), code)


def test_missing_bad_and_expired_tokens(api, app):
    assert_error_shape(api.client.get("/api/tasks"), 401)
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": "Bearer nonsense"}), 401)
    expired = jwt.encode(
        {"sub": "1", "exp": datetime.now(timezone.utc) - timedelta(seconds=5)}, app.config["SECRET_KEY"], algorithm="HS256"
    )
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": f"Bearer {expired}"}), 401)
    forged = jwt.encode({"sub": "1", "exp": datetime.now(timezone.utc) + timedelta(hours=1)}, "another-key-entirely-000000000000", algorithm="HS256")
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_a_token_accepted_before_is_refused_once_expired_or_altered(api, app):
    # A process may remember that it verified a token (server.auth.VerifiedTokens): expiry, and the
    # signature of any other token string, are still checked at every request.
    claims = jwt.decode(api.token("intake1"), options={"verify_signature": False})
    expires = int(time.time()) + 2
    token = jwt.encode({**claims, "exp": expires}, app.config["SECRET_KEY"], algorithm="HS256")
    assert api.client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    head, payload, signature = token.split(".")
    altered = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": f"Bearer {head}.{payload}.{altered}"}), 401)
    resigned = jwt.encode({**claims, "exp": expires}, "another-key-entirely-000000000000", algorithm="HS256")
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": f"Bearer {resigned}"}), 401)
    assert api.client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    assert_error_shape(api.client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}), 401)


@pytest.mark.parametrize("body", [
    b'{"data": {"name": "a\\u0000b"}}', b'{"data": {"name": "a\\U0000b"}}', b'{"data": {"name": "a\x00b"}}',
])
def test_nul_characters_in_json_bodies_are_refused(api, deployed, body):
    r = api.post("/api/process-models/service_application/instances", "intake1", data=body,
                 content_type="application/json")
    assert assert_error_shape(r, 400)["message"] == "NUL characters are not allowed in requests"
    r = api.post("/api/process-models/service_application/instances", "intake1",
                 data=body.replace(b"\\u0000", b"").replace(b"\\U0000", b"").replace(b"\x00", b""),
                 content_type="application/json")
    assert r.status_code == 201, r.get_json()


def test_malformed_json_is_a_clean_400(api, deployed):
    r = api.post(
        "/api/process-models/service_application/instances", "intake1",
        data="{not json", content_type="application/json",
    )
    assert_error_shape(r, 400)


def test_unknown_route_and_method(api):
    assert_error_shape(api.get("/api/nothing-here", "intake1"), 404)
    assert_error_shape(api.client.delete("/api/auth/token"), 405)


# -- process models -----------------------------------------------------------------------------
def test_deploy_versions_and_identical_content(api, deployed):
    assert deployed["key"] == "service_application" and deployed["version"] == 1 and deployed["executable"] is True
    again = api.deploy("designer1", demo_files())
    assert again.status_code == 200 and again.get_json()["version"] == 1
    changed = [(n, c.replace("Decide 决定".encode(), "Decide 决定 (v2)".encode())) for n, c in demo_files()]
    v2 = api.deploy("designer1", changed)
    assert v2.status_code == 201 and v2.get_json()["version"] == 2
    listed = api.get("/api/process-models", "designer1").get_json()["items"]
    assert [(m["key"], m["version"]) for m in listed] == [("service_application", 2)]
    versions = api.get("/api/process-models/service_application", "designer1").get_json()["items"]
    assert [m["version"] for m in versions] == [2, 1]
    xml = api.get("/api/process-models/service_application/versions/1/xml", "designer1")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"(v2)" not in xml.data
    assert b"(v2)" in api.get("/api/process-models/service_application/versions/2/xml", "designer1").data


def test_running_cases_stay_on_their_version(api, deployed):
    case = start(api)
    changed = [(n, c.replace("Decide 决定".encode(), b"Decide v2")) for n, c in demo_files()]
    assert api.deploy("designer1", changed).status_code == 201
    assert api.get(f"/api/cases/{case['id']}", "intake1").get_json()["model_version"] == 1
    assert start(api)["model_version"] == 2


def test_deploy_refusals(api):
    assert_error_shape(api.deploy("intake1", demo_files()), 403)
    body = assert_error_shape(api.deploy("designer1", [("broken.bpmn", b"<bpmn:definitions")]), 422)
    problem = body["errors"]["bpmn"][0]
    assert problem["file"] == "broken.bpmn" and set(problem) == {"file", "line", "element_id", "message"}
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>'
    )
    r = api.deploy("designer1", [("xxe.bpmn", xxe)])
    assert_error_shape(r, 422)
    assert b"root:" not in r.data
    assert_error_shape(api.post("/api/process-models", "designer1", data={}, content_type="multipart/form-data"), 422)


def test_models_of_another_tenant_are_invisible(api, deployed):
    assert_error_shape(api.get("/api/process-models/service_application", "designer9"), 404)
    assert api.get("/api/process-models", "designer9").get_json()["items"] == []
    assert_error_shape(api.post("/api/process-models/service_application/instances", "intake9", json={"data": {}}), 404)


# -- a case from the window to the decision -----------------------------------------------------
def test_full_case_walk(api, deployed):
    case = start(api, data={"applicant_name": "王芳"})
    assert case["status"] == "open" and case["number"].startswith("XICHANGAN-")
    [accept] = case["tasks"]
    assert accept["group"] == "intake" and accept["status"] == "ready" and accept["name"].startswith("Accept application")

    inbox = api.get("/api/tasks?scope=group", "intake1").get_json()["items"]
    assert [t["id"] for t in inbox] == [accept["id"]]
    assert api.get("/api/tasks?scope=group", "civil1").get_json()["items"] == []

    detail = api.get(f"/api/tasks/{accept['id']}", "intake1")
    assert detail.status_code == 200 and detail.headers["ETag"]
    assert detail.get_json()["form"]["required"] == ["acceptance"]
    assert detail.get_json()["data"]["applicant_name"] == "王芳"

    assert_error_shape(api.post(f"/api/tasks/{accept['id']}/complete", "intake1", json={"data": {"acceptance": "accept"}}), 409)
    claimed = api.post(f"/api/tasks/{accept['id']}/claim", "intake1")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "intake1"
    bad = api.post(f"/api/tasks/{accept['id']}/complete", "intake1", json={"data": {"acceptance": "maybe"}})
    assert "acceptance" in assert_error_shape(bad, 422)["errors"]["data"]

    done = api.post(
        f"/api/tasks/{accept['id']}/complete", "intake1",
        json={"data": {"acceptance": "accept", "department": "civil_affairs"}},
    )
    assert done.status_code == 200, done.get_json()
    [review] = done.get_json()["next_tasks"]
    assert review["group"] == "civil_affairs" and review["name"].startswith("Review")

    assert_error_shape(api.post(f"/api/tasks/{review['id']}/claim", "disabled1"), 404)
    assert api.post(f"/api/tasks/{review['id']}/claim", "civil1").status_code == 200
    assert_error_shape(api.post(f"/api/tasks/{review['id']}/claim", "civil2"), 409)
    r = api.post(f"/api/tasks/{review['id']}/complete", "civil1", json={"data": {"review_result": "meets_conditions"}})
    [decide] = r.get_json()["next_tasks"]
    api.post(f"/api/tasks/{decide['id']}/claim", "civil2")
    r = api.post(f"/api/tasks/{decide['id']}/complete", "civil2", json={"data": {"approved": True}})
    final = r.get_json()["case"]
    assert final["status"] == "concluded" and final["tasks"] == [] and final["ended_at"]
    assert final["data"]["approved"] is True and final["data"]["applicant_name"] == "王芳"
    assert_error_shape(api.post(f"/api/tasks/{decide['id']}/complete", "civil2", json={"data": {"approved": True}}), 409)


def test_refusal_and_supplement_loop(api, deployed):
    case = start(api)
    task = case["tasks"][0]
    api.post(f"/api/tasks/{task['id']}/claim", "intake1")
    r = api.post(
        f"/api/tasks/{task['id']}/complete", "intake1",
        json={"data": {"acceptance": "supplement", "missing_materials": ["户口簿复印件"]}},
    )
    waiting = r.get_json()["case"]
    assert waiting["status"] == "waiting_applicant" and waiting["tasks"] == []
    assert_error_shape(api.post(f"/api/cases/{case['id']}/messages", "intake1", json={"name": "no_such_message"}), 403)
    r = api.post(f"/api/cases/{case['id']}/messages", "intake1", json={"name": "materials_supplied", "payload": {"supplied": True}})
    back = r.get_json()
    assert r.status_code == 200 and back["status"] == "open" and back["tasks"][0]["element_id"] == "accept_application"
    again = back["tasks"][0]
    api.post(f"/api/tasks/{again['id']}/claim", "intake1")
    r = api.post(f"/api/tasks/{again['id']}/complete", "intake1", json={"data": {"acceptance": "refuse", "refusal_reason": "不符合条件"}})
    assert r.get_json()["case"]["status"] == "refused"


def test_stale_if_match_is_412(api, deployed):
    task = start(api)["tasks"][0]
    etag = api.get(f"/api/tasks/{task['id']}", "intake1").headers["ETag"]
    assert api.post(f"/api/tasks/{task['id']}/claim", "intake1", headers={"If-Match": etag}).status_code == 200
    assert_error_shape(api.post(f"/api/tasks/{task['id']}/unclaim", "intake1", headers={"If-Match": etag}), 412)
    fresh = api.get(f"/api/tasks/{task['id']}", "intake1").headers["ETag"]
    assert api.post(f"/api/tasks/{task['id']}/unclaim", "intake1", headers={"If-Match": fresh}).status_code == 200


def test_assign_by_supervisor(api, deployed):
    task = start(api)["tasks"][0]
    api.post(f"/api/tasks/{task['id']}/claim", "intake1")
    done = api.post(f"/api/tasks/{task['id']}/complete", "intake1", json={"data": {"acceptance": "accept", "department": "civil_affairs"}})
    assert done.status_code == 200, done.get_json()
    review = api.get("/api/tasks?scope=group", "civil1").get_json()["items"][0]
    assert_error_shape(api.post(f"/api/tasks/{review['id']}/assign", "civil1", json={"username": "civil2"}), 403)
    assert_error_shape(api.post(f"/api/tasks/{review['id']}/assign", "super1", json={"username": "disabled1"}), 422)
    assert_error_shape(api.post(f"/api/tasks/{review['id']}/assign", "super1", json={"username": 7}), 422)
    r = api.post(f"/api/tasks/{review['id']}/assign", "super1", json={"username": "civil2"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "civil2"
    mine = api.get("/api/tasks?scope=mine", "civil2").get_json()["items"]
    assert [t["id"] for t in mine] == [review["id"]]


def test_other_tenant_and_unknown_ids_are_404(api, deployed):
    case = start(api)
    task = case["tasks"][0]
    for url in (f"/api/cases/{case['id']}", f"/api/tasks/{task['id']}", "/api/cases/999999", "/api/tasks/999999"):
        assert_error_shape(api.get(url, "civil9"), 404)
    assert_error_shape(api.post(f"/api/tasks/{task['id']}/claim", "intake9"), 404)
    assert_error_shape(api.post("/api/tasks/999999/complete", "intake1", json={"data": {}}), 404)


@pytest.mark.parametrize(
    "query",
    ["scope=everything", "limit=0", "limit=501", "limit=abc", "cursor=%%%", "due_before=yesterday", "bogus=1"],
)
def test_bad_task_queries_are_422(api, query):
    assert_error_shape(api.get(f"/api/tasks?{query}", "intake1"), 422)


def test_pagination_is_keyset(api, deployed):
    ids = {start(api)["tasks"][0]["id"] for _ in range(5)}
    page1 = api.get("/api/tasks?scope=group&limit=2", "intake1").get_json()
    seen = [t["id"] for t in page1["items"]]
    start(api)  # a task arriving between pages does not shift what follows
    cursor = page1["next_cursor"]
    while cursor:
        page = api.get(f"/api/tasks?scope=group&limit=2&cursor={cursor}", "intake1").get_json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert ids <= set(seen) and len(seen) == len(set(seen)) == 6


def test_openapi_describes_every_endpoint(api):
    spec = api.client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in (
        "/api/auth/token", "/api/process-models", "/api/process-models/{key}",
        "/api/process-models/{key}/versions/{version}/xml", "/api/process-models/{key}/instances",
        "/api/cases", "/api/cases/{case_id}", "/api/tasks", "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/claim", "/api/tasks/{task_id}/unclaim", "/api/tasks/{task_id}/assign",
        "/api/tasks/{task_id}/complete",
    ):
        assert path in paths, path
    ok = paths["/api/tasks/{task_id}/complete"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/CompleteResponse"}
    docs = api.client.get("/api/docs")
    assert docs.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in docs.data
    assert api.client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert b"/api/docs" in api.client.get("/").data
