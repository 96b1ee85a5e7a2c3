"""The residents' progress page (一网通办): the receipt's code opens the case's stages in Chinese,
with nothing personal beyond the masked name; a wrong number or code never confirms the case
exists; wrong codes are rate-limited in the database."""
from __future__ import annotations

import re

import pytest

from onewindow import intake
from tests.e2e.pages import Browser
from tests.eligibility_helpers import eligible_resident
from tests.helpers import Api
from tests.onewindow_helpers import one_window, work
from desks.window import receive_at_window

CARE = "severe_disability_care_subsidy"
FORM = {"care_arrangement": "home", "bank_account": "6222020200112233445"}


@pytest.fixture
def api(app, ctx, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    api = Api(app.test_client())
    api.actors = one_window(ctx, residents=600)
    return api


def _accepted(api, ctx) -> dict:
    resident = eligible_resident(ctx, api.actors["intake1"], CARE)
    return receive_at_window(ctx, api.actors["intake1"], CARE, resident, FORM, "accept")["case"]


def test_the_right_code_shows_the_stages_in_chinese_and_nothing_personal(api, ctx):
    case = _accepted(api, ctx)
    code = api.get(f"/api/cases/{case['id']}", "intake1").get_json()["progress_code"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{6}", code)
    assert "progress_code" not in api.get(f"/api/cases/{case['id']}", "disabled1").get_json()  # the window's, not the clerks'
    r = api.client.get(f"/api/public/progress?number={case['number']}&code={code.lower()}")  # no sign-in; any case
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["number"] == case["number"] and body["service"] == "重度残疾人护理补贴"
    assert [(s["key"], s["status"]) for s in body["stages"]] == [
        ("received", "done"), ("accepted", "done"), ("review", "current"), ("concluded", "pending"), ("ready", "pending")]
    assert body["stages"][2]["name"] == "残联审核中"
    name = case["data"]["applicant_name"]
    assert body["applicant"] == name[0] + "*" * (len(name) - 1)
    text = r.get_data(as_text=True)
    assert case["data"]["id_number"] not in text and name not in text and "6222020200112233445" not in text
    # the department decides; the result waits at the window
    work(ctx, api.actors["disabled1"], case["id"], "review", {"review_result": "meets_conditions", "review_notes": "齐全"})
    work(ctx, api.actors["disabled1"], case["id"], "decide", {"approved": True, "decision_notes": "同意"})
    stages = api.client.get(f"/api/public/progress?number={case['number']}&code={code}").get_json()["stages"]
    assert [(s["key"], s["status"]) for s in stages][-3:] == [("review", "done"), ("concluded", "done"), ("ready", "current")]
    assert stages[-1]["name"].startswith("可领取")


def test_a_wrong_number_or_code_never_confirms_the_case_and_is_rate_limited(api, ctx):
    case = _accepted(api, ctx)
    code = api.get(f"/api/cases/{case['id']}", "intake1").get_json()["progress_code"]
    wrong_code = api.client.get(f"/api/public/progress?number={case['number']}&code=ZZZZZZ")
    wrong_number = api.client.get("/api/public/progress?number=XICHANGAN-20000101-999999&code=ZZZZZZ")
    assert wrong_code.status_code == wrong_number.status_code == 404
    assert wrong_code.get_json() == wrong_number.get_json()  # the same words: nothing says the number exists
    assert api.client.get("/api/public/progress?number=&code=").status_code == 422
    for _ in range(4):  # five wrong codes for one number (the first above included) lock it
        assert api.client.get(f"/api/public/progress?number={case['number']}&code=ZZZZZZ").status_code == 404
    locked = api.client.get(f"/api/public/progress?number={case['number']}&code={code}")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0  # even the right code, for now
    # the lock is in the database: another process (a fresh client of the same app) sees it
    assert api.client.application.test_client().get(
        f"/api/public/progress?number={case['number']}&code={code}").status_code == 429


def test_the_receipt_prints_the_code_and_the_public_page_shows_the_stages(api, ctx, app):
    resident = eligible_resident(ctx, api.actors["intake1"], CARE)
    window = Browser(app)
    window.sign_in("intake1")
    sent = window.post(f"/window/residents/{resident}/apply/{CARE}",
                       {"f.care_arrangement": "home", "f.bank_account": "6222020200112233445", "acceptance": "accept"})
    receipt = window.get(sent.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="progress-code">([A-Z0-9]{6})<', receipt).group(1)
    number = re.search(r"(XICHANGAN-\d{8}-\d{6})", receipt).group(1)
    assert "<svg" in receipt and "查询码" in receipt
    resident_browser = Browser(app)  # not signed in
    page = resident_browser.get(f"/progress?number={number}&code={code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "已收件" in text and "已受理" in text and "残联审核中" in text
    wrong = resident_browser.get(f"/progress?number={number}&code=ZZZZZZ")
    wrong_text = wrong.get_data(as_text=True)
    assert wrong.status_code == 404 and "未找到" in wrong_text
    assert "重度残疾人护理补贴" not in wrong_text and "已受理" not in wrong_text


def test_waiting_for_materials_and_refused_in_the_residents_words(api, ctx):
    first = eligible_resident(ctx, api.actors["intake1"], CARE)
    second = eligible_resident(ctx, api.actors["intake1"], CARE, exclude=(first,))
    waiting = receive_at_window(ctx, api.actors["intake1"], CARE, first, FORM, "supplement",
                                missing_materials=["银行存折或卡"])["case"]
    refused = receive_at_window(ctx, api.actors["intake1"], CARE, second, FORM, "refuse",
                                refusal_reason="不符合条件")["case"]
    for case, expected in ((waiting, [("received", "done"), ("supplement", "current"), ("review", "pending"),
                                      ("concluded", "pending"), ("ready", "pending")]),
                           (refused, [("received", "done"), ("refused", "done")])):
        code = api.get(f"/api/cases/{case['id']}", "admin1").get_json()["progress_code"]
        body = api.client.get(f"/api/public/progress?number={case['number']}&code={code}").get_json()
        assert [(s["key"], s["status"]) for s in body["stages"]] == expected, body
        assert "不符合条件" not in str(body)  # the reason is on the refusal notice, not on a public page
