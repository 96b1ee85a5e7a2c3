"""Identity numbers over HTTP: validated where they enter, masked unless the caller may see them,
and every full read recorded in the trail."""
from __future__ import annotations

import json

import pytest

from tests.helpers import Api, demo_files, make_users

FULL = "11010519491231002X"
MASKED = "110105********002X"
BAD = "110105194912310021"  # wrong check digit


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def with_guardian_field(files):
    """The demo model with a form field declared ``"format": "id-number"`` (any name)."""
    out = []
    for name, content in files:
        if name == "accept_application.json":
            form = json.loads(content)
            form["properties"]["guardian"] = {"type": "string", "format": "id-number"}
            content = json.dumps(form).encode()
        out.append((name, content))
    return out


@pytest.fixture
def case(api):
    assert api.deploy("designer1", with_guardian_field(demo_files())).status_code == 201
    r = api.post("/api/process-models/service_application/instances", "intake1",
                 json={"data": {"applicant_name": "王芳", "applicant_id_number": FULL}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def trail_kinds(api, case_id):
    return [(e["kind"], e["actor"], e["data"]) for e in api.get(f"/api/cases/{case_id}/trail", "auditor1").get_json()["events"]]


def pii_reads(api, case_id):
    return [(actor, data) for kind, actor, data in trail_kinds(api, case_id) if kind == "pii.read"]


def test_invalid_numbers_are_refused_where_they_enter(api, case):
    r = api.post("/api/process-models/service_application/instances", "intake1",
                 json={"data": {"applicant_id_number": BAD}}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "check digit" in r.get_json()["errors"]["data"]["applicant_id_number"][0]
    r = api.post("/api/process-models/service_application/instances", "intake1",
                 json={"data": {"applicant_id_number": BAD}})  # Chinese unless English is asked for
    assert r.status_code == 422 and "校验位不符" in r.get_json()["errors"]["data"]["applicant_id_number"][0]
    task = case["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task}/claim", "intake1").status_code == 200
    r = api.post(f"/api/tasks/{task}/complete", "intake1",
                 json={"data": {"acceptance": "accept", "department": "civil_affairs", "guardian": BAD}})
    assert r.status_code == 422 and "guardian" in r.get_json()["errors"]["data"]  # declared by the form's format
    r = api.post(f"/api/tasks/{task}/complete", "intake1",
                 json={"data": {"acceptance": "accept", "department": "civil_affairs", "spouse_id_number": "12345"}})
    assert r.status_code == 422 and "spouse_id_number" in r.get_json()["errors"]["data"]  # by its name
    r = api.post(f"/api/tasks/{task}/complete", "intake1",
                 json={"data": {"acceptance": "supplement", "missing_materials": ["x"], "guardian": FULL}})
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/cases/{case['id']}/messages", "intake1",
                 json={"name": "materials_supplied", "payload": {"agent_id_number": BAD}})
    assert r.status_code == 422


def test_answers_to_writes_and_lists_are_masked(api, case):
    assert case["data"]["applicant_id_number"] == MASKED  # the 201 itself
    for user in ("intake1", "auditor1", "admin1"):
        items = api.get("/api/cases", user).get_json()["items"]
        assert [c["data"]["applicant_id_number"] for c in items] == [MASKED], user
    assert pii_reads(api, case["id"]) == []


def test_who_reads_the_full_number_and_that_it_is_recorded(api, case):
    url = f"/api/cases/{case['id']}"
    seen = {user: api.get(url, user).get_json()["data"]["applicant_id_number"]
            for user in ("intake1", "admin1", "auditor1", "super1", "civil1")}
    assert seen == {"intake1": FULL, "admin1": FULL, "auditor1": MASKED, "super1": MASKED,
                    "civil1": MASKED}  # the case is at the window, not yet in civil affairs
    assert api.get(url, "designer1").status_code == 404  # designers read their own test cases only
    assert pii_reads(api, case["id"]) == [
        ("intake1", {"fields": ["applicant_id_number"], "via": "case"}),
        ("admin1", {"fields": ["applicant_id_number"], "via": "case"}),
    ]
    assert api.get(f"/api/cases/{case['id']}/trail/verify", "auditor1").get_json()["valid"]


def test_clerks_read_full_numbers_while_they_work_the_case(api, case):
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    done = api.post(f"/api/tasks/{task}/complete", "intake1", json={"data": {"acceptance": "accept", "department": "civil_affairs"}})
    [review] = done.get_json()["next_tasks"]
    case_url, task_url = f"/api/cases/{case['id']}", f"/api/tasks/{review['id']}"
    assert api.get(case_url, "civil1").get_json()["data"]["applicant_id_number"] == FULL  # ready in civil1's group
    assert api.get(task_url, "civil1").get_json()["data"]["applicant_id_number"] == FULL
    assert api.get(task_url, "super1").get_json()["data"]["applicant_id_number"] == MASKED  # supervises, does not work it
    api.post(f"/api/tasks/{review['id']}/claim", "civil2")
    assert api.get(case_url, "civil1").get_json()["data"]["applicant_id_number"] == MASKED  # a colleague holds it now
    assert api.get(task_url, "civil2").get_json()["data"]["applicant_id_number"] == FULL
    api.post(f"/api/tasks/{review['id']}/complete", "civil2", json={"data": {"review_result": "meets_conditions"}})
    assert api.get(task_url, "civil2").get_json()["data"]["applicant_id_number"] == MASKED  # done: no more need
    reads = pii_reads(api, case["id"])
    assert [actor for actor, _ in reads] == ["civil1", "civil1", "civil2"]
    assert reads[1][1] == {"fields": ["applicant_id_number"], "via": f"task {review['id']}"}


def test_the_trail_holds_no_full_number(api, case):
    api.get(f"/api/cases/{case['id']}", "intake1")
    body = json.dumps(api.get(f"/api/cases/{case['id']}/trail", "auditor1").get_json(), ensure_ascii=False)
    assert FULL not in body and MASKED in body
