"""The handling operations over HTTP: the contract of ../shared/API.md (Handling operations),
ETag / If-Match, error shapes, the copied-to-me view, and withdraw racing a claim."""
from __future__ import annotations

import pytest

from tests.e2e.test_worklist_races import race, racing, recorded, start, task_rows, window  # noqa: F401 (fixtures)

ACCEPT = {"acceptance": "accept", "department": "civil_affairs"}
REVIEW = {"review_result": "meets_conditions"}


def at_review(api) -> tuple[int, int, int]:
    """(case id, accept task id, review task id): intake1 accepted; the review is ready for civil_affairs."""
    case = start(api)
    accept = case["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{accept}/claim", "intake1").status_code == 200
    r = api.post(f"/api/tasks/{accept}/complete", "intake1", json={"data": ACCEPT})
    assert r.status_code == 200, r.get_json()
    return case["id"], accept, r.get_json()["next_tasks"][0]["id"]


def error(r, code):
    assert r.status_code == code, r.get_json()
    body = r.get_json()
    assert body["code"] == code and body["message"] and "Traceback" not in r.get_data(as_text=True)
    return body


@pytest.mark.parametrize("round_", range(6))
def test_withdraw_racing_a_claim_of_the_next_task_exactly_one_wins(racing, ctx, window, recorded, round_):
    _, api = window
    api.token("civil1")
    case_id, accept, review = at_review(api)
    recorded.clear()
    withdraw, claim = race(racing, api, [
        lambda c: c.post(f"/api/tasks/{accept}/withdraw", "intake1"),
        lambda c: c.post(f"/api/tasks/{review}/claim", "civil1"),
    ])
    assert sorted([withdraw.status_code, claim.status_code]) == [200, 409]
    rows = task_rows(ctx, case_id)
    kinds = [e.kind for e in recorded]
    if withdraw.status_code == 200:
        assert rows == [("accept_application", "claimed", "intake1"), ("review_civil_affairs", "cancelled", None)]
        assert kinds == ["task.withdrawn", "task.cancelled"]
        assert withdraw.get_json()["id"] == accept and withdraw.headers["ETag"]
    else:
        assert rows == [("accept_application", "completed", "intake1"), ("review_civil_affairs", "claimed", "civil1")]
        assert kinds == ["task.claimed"]
        error(withdraw, 409)


def test_send_back_honours_if_match_and_answers_the_reopened_task(racing, ctx, window):
    _, api = window
    api.token("civil1")
    case_id, accept, review = at_review(api)
    r = api.post(f"/api/tasks/{review}/claim", "civil1")
    etag = r.headers["ETag"]
    stale = etag.replace(f"-v{r.get_json()['version']}", f"-v{r.get_json()['version'] - 1}")
    error(api.post(f"/api/tasks/{review}/send-back", "civil1", json={"reason": "x"}, headers={"If-Match": stale}), 412)
    error(api.post(f"/api/tasks/{review}/send-back", "civil1", json={"reason": "x", "to": "decide"}), 409)
    body = error(api.post(f"/api/tasks/{review}/send-back", "civil1", json={"to": None}), 422)
    assert "reason" in body["errors"]["json"]
    error(api.post(f"/api/tasks/{review}/send-back", "civil1", json={"reason": "x", "sideways": 1}), 422)
    r = api.post(f"/api/tasks/{review}/send-back", "civil1", json={"reason": "材料不全", "to": None},
                 headers={"If-Match": etag})
    assert r.status_code == 200, r.get_json()
    task = r.get_json()
    assert (task["id"], task["assignee"], task["status"], task["note"]) == (accept, "intake1", "claimed", "材料不全")
    assert r.headers["ETag"] == f'"task-{accept}-v{task["version"]}"'
    listed = api.get("/api/tasks?scope=mine", "intake1").get_json()["items"]
    assert [(t["id"], t["note"]) for t in listed] == [(accept, "材料不全")]


def test_signers_copies_urging_over_http(racing, ctx, window):
    _, api = window
    for name in ("civil1", "civil2", "super1", "disabled1"):
        api.token(name)
    case_id, _, review = at_review(api)
    assert api.post(f"/api/tasks/{review}/claim", "civil1").status_code == 200
    error(api.post(f"/api/tasks/{review}/add-signers", "civil1", json={"usernames": ["civil2"], "mode": "later"}), 422)
    error(api.post(f"/api/tasks/{review}/add-signers", "civil1", json={"usernames": ["ghost"], "mode": "before"}), 422)
    r = api.post(f"/api/tasks/{review}/add-signers", "civil1",
                 json={"usernames": ["civil2"], "mode": "before", "comment": "请先看"})
    assert r.status_code == 200, r.get_json()
    [signer] = r.get_json()["signers"]
    assert signer["kind"] == "sign" and signer["note"] == "请先看" and signer["signing"] == {"mode": "before",
                                                                                             "for": "civil1"}
    error(api.post(f"/api/tasks/{review}/complete", "civil1", json={"data": REVIEW}), 409)
    error(api.post(f"/api/tasks/{signer['id']}/complete", "civil2", json={"data": {"opinion": ""}}), 422)
    r = api.post(f"/api/tasks/{signer['id']}/complete", "civil2", json={"data": {"opinion": "同意", "agree": True}})
    assert r.status_code == 200, r.get_json()
    assert api.post(f"/api/tasks/{review}/complete", "civil1", json={"data": REVIEW}).status_code == 200

    r = api.post(f"/api/cases/{case_id}/cc", "super1", json={"usernames": ["disabled1"], "comment": "知悉"})
    assert r.status_code == 200 and [c["username"] for c in r.get_json()["copies"]] == ["disabled1"]
    error(api.post(f"/api/cases/{case_id}/cc", "super1", json={"usernames": []}), 422)
    page = api.get("/api/tasks?scope=cc", "disabled1").get_json()
    [item] = page["items"]
    assert (item["kind"], item["case_id"], item["copied_by"], item["comment"]) == ("cc", case_id, "super1", "知悉")
    assert page["next_cursor"] is None
    error(api.post(f"/api/cc/{item['id']}/read", "civil1"), 404)
    assert api.post(f"/api/cc/{item['id']}/read", "disabled1").get_json()["status"] == "read"

    r = api.post(f"/api/cases/{case_id}/urge", "super1", json={"comment": "今天办结"})
    assert r.status_code == 201, r.get_json()
    [urged] = r.get_json()["tasks"]
    assert urged["element_id"] == "decide" and urged["urged_count"] == 1
    [mine] = [t for t in api.get("/api/tasks?scope=group", "civil2").get_json()["items"] if t["id"] == urged["id"]]
    assert mine["urged_count"] == 1 and mine["urged_at"]
    error(api.post(f"/api/cases/{case_id}/urge", "civil1", json={}), 403)


def test_suspend_and_resume_over_http(racing, ctx, window):
    _, api = window
    api.token("super1")
    api.token("civil1")
    case_id, _, review = at_review(api)
    r = api.get(f"/api/cases/{case_id}", "super1")
    etag = r.headers["ETag"]
    stale = f'"case-{case_id}-v{r.get_json()["version"] - 1}"'
    error(api.post(f"/api/cases/{case_id}/suspend", "super1", json={"reason": "x"}, headers={"If-Match": stale}), 412)
    error(api.post(f"/api/cases/{case_id}/suspend", "super1", json={}), 422)
    error(api.post(f"/api/cases/{case_id}/resume", "super1"), 409)
    r = api.post(f"/api/cases/{case_id}/suspend", "super1", json={"reason": "等待上级批示"}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.get_json()["status"] == "suspended", r.get_json()
    assert api.get(f"/api/cases/{case_id}", "civil1").get_json()["status"] == "suspended"
    error(api.post(f"/api/tasks/{review}/claim", "civil1"), 409)
    error(api.post(f"/api/cases/{case_id}/suspend", "super1", json={"reason": "again"}), 409)
    r = api.post(f"/api/cases/{case_id}/resume", "super1", headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.get_json()["status"] == "open"
    assert api.post(f"/api/tasks/{review}/claim", "civil1").status_code == 200


def test_openapi_describes_the_operations(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    for path, body in (("/api/tasks/{task_id}/send-back", "SendBackRequest"),
                       ("/api/tasks/{task_id}/transfer", "TransferRequest"),
                       ("/api/tasks/{task_id}/add-signers", "AddSignersRequest"),
                       ("/api/cases/{case_id}/cc", "CopyRequest"), ("/api/cases/{case_id}/urge", "UrgeRequest"),
                       ("/api/cases/{case_id}/suspend", "SuspendRequest")):
        post = spec["paths"][path]["post"]
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(body), path
    for path, code, schema in (("/api/tasks/{task_id}/withdraw", "200", "InboxTask"),
                               ("/api/tasks/{task_id}/add-signers", "200", "SignersResponse"),
                               ("/api/cases/{case_id}/urge", "201", "Urging"),
                               ("/api/cases/{case_id}/resume", "200", "Case"),
                               ("/api/cc/{copy_id}/read", "200", "Copy")):
        content = spec["paths"][path]["post"]["responses"][code]["content"]["application/json"]
        assert content["schema"]["$ref"].endswith(schema), path
    assert set(spec["components"]["schemas"]["Signing"]["properties"]) >= {"mode", "opinion", "agree", "for"}
