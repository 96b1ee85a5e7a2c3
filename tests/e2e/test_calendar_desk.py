"""The working-day calendar managed over HTTP: unknown years make deadlines provisional (marked on
the case, the task, the inbox row and the receipt); importing the year's notice and recomputing
moves them to the right dates (hand-worked below), each change in the trail."""
from __future__ import annotations

import io

import pytest
import time_machine

from tests.e2e.pages import Browser
from tests.helpers import Api, demo_files, make_users
from tests.timekeeping import beijing

NOTICE_2027 = "# 2027 (test notice)\n2027-01-01,holiday,元旦\n2027-02-06,workday,春节调休\n"


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def upload(api, user, text: str):
    return api.post("/api/calendar/import", user, data={"file": (io.BytesIO(text.encode()), "2027.csv")},
                    content_type="multipart/form-data")


def test_a_2027_notice_makes_provisional_deadlines_final_and_right(app, api):
    with time_machine.travel(beijing(2026, 12, 15, 10, 0), tick=False):
        assert api.deploy("designer1", demo_files()).status_code == 201
        r = api.post("/api/process-models/service_application/instances", "intake1",
                     json={"data": {"time_limit_working_days": 20, "applicant_name": "王芳"}})
        case = r.get_json()
        # Hand-worked: 20 working days after Tue 15 Dec 2026 — 16–18, 21–25, 28–31 Dec (12),
        # Fri 1 Jan (13, Monday–Friday assumed), 4–8 Jan (18), 11 Jan (19), 12 Jan (20).
        assert case["deadline"].startswith("2027-01-12T23:59:59"), case["deadline"]
        assert api.get("/api/calendar/2027", "civil1").get_json()["source"] == "weekends only"

        clerk = Browser(app)
        clerk.sign_in("intake1")
        for path in (f"/cases/{case['id']}", f"/tasks/{case['tasks'][0]['id']}", "/inbox?scope=group"):
            html = clerk.text(clerk.get(path))
            assert "tag provisional" in html, path

        assert upload(api, "civil1", NOTICE_2027).status_code == 403
        assert upload(api, "admin1", "2027-13-01,holiday").status_code == 422
        assert upload(api, "admin1", "").status_code == 422
        r = upload(api, "admin1", NOTICE_2027)
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == {"days": 2, "years": [2027]}
        year = api.get("/api/calendar/2027", "civil1").get_json()
        assert year["source"] == "overrides"
        assert {d["day"]: d["working"] for d in year["exceptions"]} == {"2027-01-01": False, "2027-02-06": True}

        assert api.post("/api/calendar/recompute", "civil1").status_code == 403
        r = api.post("/api/calendar/recompute", "admin1")
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        # With New Year's Day a holiday the 20th working day is Wed 13 Jan 2027.
        assert [(c["case_id"], c["from"][:10], c["to"][:10]) for c in body["changed"]] == \
            [(case["id"], "2027-01-12", "2027-01-13")]
        after = api.get(f"/api/cases/{case['id']}", "intake1").get_json()
        assert after["deadline"].startswith("2027-01-13T23:59:59")
        task = api.get(f"/api/tasks/{case['tasks'][0]['id']}", "intake1").get_json()
        if task.get("due_at"):
            assert task["due_at"].startswith("2027-01-13")
        trail = api.get(f"/api/cases/{case['id']}/trail", "auditor1").get_json()["events"]
        recomputed = [e for e in trail if e["kind"] == "deadline.recomputed"]
        assert len(recomputed) == 1 and recomputed[0]["data"]["deadline"].startswith("2027-01-13")
        assert api.post("/api/calendar/recompute", "admin1").get_json()["changed"] == []  # nothing moves twice

        for path in (f"/cases/{case['id']}", f"/tasks/{case['tasks'][0]['id']}", "/inbox?scope=group"):
            assert "tag provisional" not in clerk.text(clerk.get(path)), path


def test_override_days_set_and_removed(api):
    r = api.post("/api/calendar/days", "admin1", json={"days": [{"day": "2026-12-31", "working": False, "name": "x"}]})
    assert r.status_code == 200 and r.get_json() == {"days": 1}
    days = {d["day"]: d for d in api.get("/api/calendar/2026", "admin1").get_json()["exceptions"]}
    assert days["2026-12-31"]["working"] is False and days["2026-12-31"]["source"] == "override"
    assert api.post("/api/calendar/days", "civil1", json={"days": [{"day": "2026-12-31", "working": False}]}).status_code == 403
    assert api.post("/api/calendar/days", "admin1", json={"days": []}).status_code == 422
    assert api.post("/api/calendar/days", "admin1", json={"days": [{"day": "someday", "working": True}]}).status_code == 422
    assert api.post("/api/calendar/days/remove", "admin1", json={"days": ["2026-12-31"]}).get_json() == {"days": 1}
    assert api.get("/api/calendar/1800", "admin1").status_code == 422


def test_the_calendar_page_imports_and_recomputes(app, api, ctx):
    with time_machine.travel(beijing(2026, 12, 15, 10, 0), tick=False):
        assert api.deploy("designer1", demo_files()).status_code == 201
        case = api.post("/api/process-models/service_application/instances", "intake1",
                        json={"data": {"time_limit_working_days": 20}}).get_json()
        admin = Browser(app)
        admin.sign_in("admin1")
        page = admin.text(admin.get("/ops/calendar?year=2027"))
        assert 'id="unknown-year"' in page
        admin.post("/ops/calendar/import", {"file": (io.BytesIO(b"not a calendar"), "x.csv")},
                   content_type="multipart/form-data")
        assert "flash error" in admin.text(admin.followed)
        admin.post("/ops/calendar/import", {"file": (io.BytesIO(NOTICE_2027.encode()), "2027.csv")},
                   content_type="multipart/form-data")
        assert "flash ok" in admin.text(admin.followed) and 'id="unknown-year"' not in admin.text(admin.followed)
        admin.post("/ops/calendar/recompute", {"year": "2027"})
        assert "flash ok" in admin.text(admin.followed)
        assert api.get(f"/api/cases/{case['id']}", "intake1").get_json()["deadline"].startswith("2027-01-13")
        admin.post("/ops/calendar/days", {"day": "2027-01-04", "kind": "holiday", "name": "test"})
        assert "2027-01-04" in admin.text(admin.followed)
        admin.post("/ops/calendar/days/2027-01-04/remove")
        assert "2027-01-04" not in admin.text(admin.get("/ops/calendar?year=2027")).split("calendar-days")[1].split("</table>")[0]
        admin.post("/ops/calendar/days", {"day": "someday", "kind": "holiday"})
        assert "flash error" in admin.text(admin.followed)
        clerk = Browser(app)
        clerk.sign_in("civil1")
        assert clerk.get("/ops/calendar").status_code == 403


def test_the_recompute_command(app, api, tmp_path):
    with time_machine.travel(beijing(2026, 12, 15, 10, 0), tick=False):
        assert api.deploy("designer1", demo_files()).status_code == 201
        case = api.post("/api/process-models/service_application/instances", "intake1",
                        json={"data": {"time_limit_working_days": 20}}).get_json()
        notice = tmp_path / "2027.csv"
        notice.write_text(NOTICE_2027, encoding="utf-8")
        runner = app.test_cli_runner()
        assert runner.invoke(args=["calendar", "import", str(notice), "--tenant", "xichangan"]).exit_code == 0
        result = runner.invoke(args=["calendar", "recompute"])
        assert result.exit_code == 0, result.output
        assert f"case {case['number']}: 2027-01-12" in result.output and "-> 2027-01-13" in result.output
        assert "xichangan: 1 deadlines checked, 1 changed" in result.output
        assert runner.invoke(args=["calendar", "recompute", "--tenant", "xichangna"]).exit_code == 2


def test_the_receipt_says_a_deadline_is_provisional(app, ctx):
    from tests.e2e.test_pages import CARE, _apply
    from tests.eligibility_helpers import eligible_resident
    from tests.onewindow_helpers import one_window

    actors = one_window(ctx, residents=600)
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    with time_machine.travel(beijing(2026, 12, 15, 10, 0), tick=False):
        browser = Browser(app)
        browser.sign_in("intake1")
        response = _apply(browser, resident)
        assert response.status_code == 302 and response.headers["Location"].endswith("/documents/receipt")
        receipt = browser.text(browser.get(response.headers["Location"]))
        assert "受理回执" in receipt and "暂定：该年节假日安排尚未公布" in receipt
