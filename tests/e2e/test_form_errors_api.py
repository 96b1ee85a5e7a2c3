"""Form problems over HTTP: sentences naming the field in Chinese by default, English when asked,
never a big submitted value echoed back; the eligibility check and the duplicate refusal."""
from __future__ import annotations

import pytest

from onewindow import intake
from tests.eligibility_helpers import eligible_resident, ineligible_resident
from tests.helpers import Api
from tests.onewindow_helpers import one_window


@pytest.fixture
def api(app, ctx, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    api = Api(app.test_client())
    api.actors = one_window(ctx, residents=400)
    return api


def apply(api, pid, form, code="senior_card", **headers):
    return api.post("/api/cases", "intake1", json={"service_code": code, "applicant_id": pid, "form": form},
                    headers=headers or None)


def test_a_bad_phone_is_a_chinese_sentence_naming_the_field(api, ctx):
    pid = eligible_resident(ctx, api.actors["intake1"], "senior_card")
    r = apply(api, pid, {"phone": "call me maybe", "sex": "其他"})
    assert r.status_code == 422
    body = r.get_json()
    assert set(body) >= {"code", "status", "message", "errors"}
    assert body["errors"]["form"]["phone"] == ["“联系电话”格式不正确，应为：5至20位数字，可含 +、- 和空格。"]
    assert body["errors"]["form"]["sex"] == ["“性别”只能选择：男、女。"]
    english = apply(api, pid, {"phone": "call me maybe"}, **{"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert english["errors"]["form"]["phone"] == ["“Phone” is not in the expected format: 5 to 20 digits; +, - and spaces allowed."]
    assert apply(api, pid, {"phone": "x"}, **{"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()["errors"]["form"]["phone"][0] \
        .startswith("“联系电话”")


def test_task_form_problems_are_chinese_too(api, ctx):
    pid = eligible_resident(ctx, api.actors["intake1"], "senior_card")
    case = apply(api, pid, {}).get_json()
    task = case["tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task}/claim", "intake1").status_code == 200
    r = api.post(f"/api/tasks/{task}/complete", "intake1", json={"data": {"acceptance": "refuse"}})
    assert r.status_code == 422
    assert r.get_json()["errors"]["data"] == {"refusal_reason": ["“受理意见”为“不予受理”时，须填写“不予受理理由”。"]}
    r = api.post(f"/api/tasks/{task}/complete", "intake1", json={"data": {"acceptance": "居家"}},
                 headers={"Accept-Language": "en"})
    assert r.get_json()["errors"]["data"]["acceptance"] == [
        "“Decision at the window” must be one of: Accept, Refuse, Ask for missing materials (one list)."]


def test_a_huge_value_is_never_echoed(api, ctx):
    pid = eligible_resident(ctx, api.actors["intake1"], "senior_card")
    huge = "9" * (20 * 1024 * 1024)
    r = apply(api, pid, {"phone": huge, "address": huge, "x" * 5000: 1})
    assert r.status_code in (413, 422) and len(r.data) < 2000
    assert "9" * 60 not in r.get_data(as_text=True) and "x" * 60 not in r.get_data(as_text=True)
    if r.status_code == 422:  # validated: each field named, the value's length said, the value not repeated
        errors = r.get_json()["errors"]["form"]
        assert errors["phone"][0].startswith("“联系电话”格式不正确")
        assert errors["address"] == [f"“居住地址”最多 300 个字（现有 {len(huge)} 个）。"]
        assert len([k for k in errors if k.startswith("xxx")][0]) <= 50


def test_the_check_says_why_in_words(api, ctx):
    intake1 = api.actors["intake1"]
    young = ineligible_resident(ctx, intake1, "senior_card", "min_age", hukou_local=True)
    r = api.get(f"/api/services/senior_card/check?applicant_id={young}", "intake1")
    assert r.status_code == 200
    body = r.get_json()
    assert body["eligible"] is False and body["open_cases"] == []
    [problem] = [p for p in body["problems"] if p["rule"] == "min_age"]
    assert problem["message"].startswith("申请人 ") and problem["message"].endswith("岁，老年证须年满 60 周岁。")
    english = api.get(f"/api/services/senior_card/check?applicant_id={young}", "intake1",
                      headers={"Accept-Language": "en"}).get_json()
    assert [p["message"] for p in english["problems"] if p["rule"] == "min_age"][0].startswith("The applicant is ")

    r = apply(api, young, {})  # the window refuses it: 422 with the reasons
    assert r.status_code == 422
    assert r.get_json()["errors"]["eligibility"] == body["problems"]

    pid = eligible_resident(ctx, intake1, "senior_card")
    ok = api.get(f"/api/services/senior_card/check?applicant_id={pid}", "intake1").get_json()
    assert ok == {"service_code": "senior_card", "applicant_id": pid, "eligible": True, "problems": [], "open_cases": []}
    first = apply(api, pid, {})
    assert first.status_code == 201, first.get_json()
    number = first.get_json()["number"]
    again = api.get(f"/api/services/senior_card/check?applicant_id={pid}", "intake1").get_json()
    assert again["eligible"] is False
    assert again["open_cases"] == [{"id": first.get_json()["id"], "number": number, "status": "open"}]
    assert again["problems"] == [{"rule": "no_open_case", "message": f"该居民已有在办的老年证申请：{number}。"}]
    second = apply(api, pid, {})  # a second open senior-card case: 409 naming the first
    assert second.status_code == 409 and number in second.get_json()["message"]
    assert second.get_json()["errors"]["open_cases"][0]["number"] == number


def test_the_check_is_for_the_window_only_and_bad_input_is_4xx(api, ctx):
    pid = eligible_resident(ctx, api.actors["intake1"], "senior_card")
    url = f"/api/services/senior_card/check?applicant_id={pid}"
    assert api.get(url, "admin1").status_code == 200
    for user in ("civil1", "super1", "designer1", "auditor1"):
        assert api.get(url, user).status_code == 403, user
    assert api.get(url, "intake9").status_code == 404  # another tenant's resident
    assert api.client.get(url).status_code == 401
    assert api.get(f"/api/services/no_such/check?applicant_id={pid}", "intake1").status_code == 404
    assert api.get("/api/services/senior_card/check?applicant_id=999999999", "intake1").status_code == 404
    for bad in ("", "?applicant_id=abc", "?applicant_id=0", "?applicant_id=-5", "?applicant_id=99999999999999999999"):
        r = api.get(f"/api/services/senior_card/check{bad}", "intake1")
        assert r.status_code == 422 and set(r.get_json()) >= {"code", "status", "message"}, bad
    doc = api.client.get("/api/openapi.json").get_json()
    answer = doc["paths"]["/api/services/{code}/check"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/Eligibility")
    assert {"eligible", "problems", "open_cases"} <= set(doc["components"]["schemas"]["Eligibility"]["properties"])
