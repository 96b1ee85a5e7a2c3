"""Every page once in Chromium, as its user sees it: a screenshot (test-artifacts/screenshots)
and an accessibility scan with no serious violation — the documents the window prints, the
role homes, an error page, and the workplace in English."""
from __future__ import annotations

from playwright.sync_api import expect

from .workplace import CARE_SUBSIDY, care_subsidy_applicants, case_id_from


def _look(page, name, screenshot, axe_check):
    screenshot(page, name)
    axe_check(page)


def test_the_one_time_notice_and_the_refusal(page, live_server, sign_in, screenshot, axe_check):
    first, second = care_subsidy_applicants(live_server.app, count=2)
    sign_in(page, "intake1")
    page.goto(f"/window/residents/{first['id']}/apply/{CARE_SUBSIDY}")
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    page.locator("input[name=acceptance][value=supplement]").check()
    expect(page.locator("#supplement-box")).to_be_visible()  # the list appears with the choice
    page.locator("#materials input[name=presented]").first.check()  # presented: the rest is listed
    page.fill("#missing_other", "近期免冠照片两张")
    _look(page, "window_apply_supplement", screenshot, axe_check)
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    page.wait_for_url("**/documents/notice")
    expect(page.locator("article.document")).to_contain_text("近期免冠照片两张")
    _look(page, "window_notice", screenshot, axe_check)
    case_id = case_id_from(page.url)
    page.goto(f"/cases/{case_id}")
    expect(page.locator("h1 .tag")).to_have_text("等待申请人补正材料")
    _look(page, "case_waiting_for_materials", screenshot, axe_check)
    with page.expect_navigation():
        page.get_by_role("button", name="材料已补齐").click()
    expect(page.locator("h1")).to_contain_text("受理")  # acceptance reopened for the window
    _look(page, "task_acceptance_after_materials", screenshot, axe_check)

    page.goto(f"/window/residents/{second['id']}/apply/{CARE_SUBSIDY}")
    page.locator("input[name=acceptance][value=refuse]").check()
    page.fill("#refusal_reason", "申请人已享受同类补贴，不符合重复申请条件。")
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    page.wait_for_url("**/documents/refusal")
    expect(page.locator("article.document")).to_contain_text("不符合重复申请条件")
    _look(page, "window_refusal", screenshot, axe_check)


def test_the_role_homes_and_an_error_page(page, sign_in, screenshot, axe_check):
    for username, path, heading in (("super1", "/supervision", "绩效监察"), ("designer1", "/studio", "流程设计"),
                                    ("auditor1", "/audit", "审计监察"), ("admin1", "/ops", "运行监控")):
        page.context.clear_cookies()
        sign_in(page, username)
        page.wait_for_url(f"**{path}")
        expect(page.locator("h1")).to_have_text(heading)
        _look(page, f"home_{path.strip('/')}", screenshot, axe_check)
    response = page.goto("/window")  # an administrator's window is fine; a designer's is not
    assert response.status == 200
    page.context.clear_cookies()
    sign_in(page, "designer1")
    response = page.goto("/window")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("您无权进行此操作")
    _look(page, "error_forbidden", screenshot, axe_check)


def test_the_workplace_in_english_and_the_shortcuts(page, sign_in, screenshot, axe_check):
    sign_in(page, "civil1")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _look(page, "inbox_english", screenshot, axe_check)
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    _look(page, "shortcuts", screenshot, axe_check)
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.get_by_role("button", name="中文").click()
    expect(page.locator("h1")).to_have_text("待办")
