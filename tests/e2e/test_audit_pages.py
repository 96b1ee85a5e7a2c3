"""The auditor's desk over HTTP: the trail's export and printable page with the browser session
(the API's need a Bearer header), roles, and hostile filters answered in words."""
from __future__ import annotations

import json

import pytest

from tests.e2e.pages import Browser
from tests.e2e.test_trail_api import ok
from tests.helpers import Api, demo_files, make_users


@pytest.fixture
def case(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    return ok(api.post("/api/process-models/service_application/instances", "intake1",
                       json={"data": {"applicant_name": "王芳"}}), 201)


def test_the_trail_exports_and_prints_with_the_session(app, case):
    browser = Browser(app)
    browser.sign_in("auditor1")
    assert browser.client.get(f"/api/cases/{case['id']}/trail/print").status_code == 401  # no Bearer header
    page = browser.get(f"/audit/cases/{case['id']}")
    assert page.status_code == 200 and case["number"] in browser.text(page)
    assert "留痕完整" in browser.text(page)
    exported = browser.get(f"/audit/cases/{case['id']}/trail.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    body = json.loads(exported.get_data(as_text=True))
    assert body["case"]["id"] == case["id"] and body["verification"]["valid"] is True
    assert body["exported_by"] == "auditor1"
    printed = browser.get(f"/audit/cases/{case['id']}/print")
    assert printed.status_code == 200 and printed.mimetype == "text/html"
    assert "办事留痕" in browser.text(printed) and "完整 intact" in browser.text(printed)
    assert "'unsafe-inline'" in printed.headers["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    assert "script-src 'self';" in printed.headers["Content-Security-Policy"]


def test_the_desk_is_the_auditors_and_admins(app, case):
    clerk = Browser(app)
    clerk.sign_in("civil1")
    for path in ("/audit", f"/audit/cases/{case['id']}", f"/audit/cases/{case['id']}/trail.json",
                 f"/audit/cases/{case['id']}/print", "/audit/events"):
        assert clerk.get(path).status_code == 403, path
    assert clerk.post(f"/audit/cases/{case['id']}/queue").status_code == 403
    anonymous = Browser(app)
    assert anonymous.get(f"/audit/cases/{case['id']}/print").status_code == 302  # to the sign-in page
    admin = Browser(app)
    admin.sign_in("admin1")
    assert admin.get(f"/audit/cases/{case['id']}").status_code == 200
    assert admin.get("/audit/cases/999999").status_code == 404


def test_pulling_a_case_in_and_hostile_filters(app, case):
    auditor = Browser(app)
    auditor.sign_in("auditor1")
    auditor.post(f"/audit/cases/{case['id']}/queue")
    assert "flash ok" in auditor.text(auditor.followed)
    auditor.post(f"/audit/cases/{case['id']}/queue")
    assert "flash error" in auditor.text(auditor.followed)  # in the queue already, said in words
    assert case["number"] in auditor.text(auditor.get("/audit"))
    for query in ("from=yesterday", "from=2026-10-02&to=2026-10-01", "status=lost", "number=" + "9" * 500,
                  "applicant=%25_", "applicant=" + "1" * 30):
        assert auditor.get(f"/audit?{query}").status_code == 200, query
    assert "flash error" in auditor.text(auditor.get("/audit?from=yesterday"))
    for query in ("cursor=xyz", "from=2026-99-01", "kind=" + "k" * 300, "actor=" + "a" * 300):
        assert auditor.get(f"/audit/events?{query}").status_code == 200, query
    assert auditor.get("/audit/events?actor=%00").status_code == 400  # the app's guard against NUL characters
    found = auditor.text(auditor.get(f"/audit?number={case['number']}"))
    assert f"/audit/cases/{case['id']}" in found
