"""The web workplace in Chromium: a whole case from the window to the department and back,
what a clerk of another group sees, errors on their fields in Chinese, the keyboard."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from .workplace import CARE_SUBSIDY, Interactions, care_subsidy_applicants, case_id_from


def _apply_for_care_subsidy(page, resident, interactions: Interactions, screenshot=None, axe_check=None):
    """From the window's home to the printed receipt, counting every interaction."""
    page.wait_for_url("**/window")
    if screenshot:
        screenshot(page, "window_home")
        axe_check(page)
    interactions.type("#q", resident["name"])  # the list appears as the clerk types (htmx)
    row = page.locator("#results tr", has_text=resident["id_number"])
    expect(row).to_have_count(1)
    if screenshot:
        screenshot(page, "window_search_results")
        axe_check(page)
    with page.expect_navigation():
        interactions.click(f"#results tr:has-text('{resident['id_number']}') a.strong")
    page.wait_for_url(f"**/window/residents/{resident['id']}")
    if screenshot:
        screenshot(page, "window_resident")
        axe_check(page)
    interactions.type("#service-filter", "护理")
    with page.expect_navigation():
        interactions.press("#service-filter", "Enter")  # opens the first service shown
    page.wait_for_url(f"**/apply/{CARE_SUBSIDY}")
    if screenshot:
        screenshot(page, "window_apply_prefilled")
        axe_check(page)
    return page


def test_a_whole_case_through_the_browser(page, live_server, sign_in, screenshot, axe_check, browser):
    resident = care_subsidy_applicants(live_server.app)[0]
    sign_in(page, "intake1")
    clerk = Interactions(page)
    _apply_for_care_subsidy(page, resident, clerk, screenshot, axe_check)
    # the missing fields come first in the tab order, the required ones leading
    fields = page.locator("form#application .field")
    prefilled = [("prefilled" in (fields.nth(i).get_attribute("class") or "")) for i in range(fields.count())]
    assert prefilled == sorted(prefilled), prefilled
    expect(fields.first).to_have_attribute("data-field", re.compile("care_arrangement|bank_account"))
    assert page.locator(".field.prefilled .source").count() >= 10  # each prefilled value says where it came from
    expect(page.locator("#eligibility")).to_have_class(re.compile(r"\bok\b"))
    clerk.click("input[name='f.care_arrangement'][value='home']")
    clerk.type("#f\\.bank_account", "6222020200112233445")
    with page.expect_navigation():
        clerk.press("#f\\.bank_account", "Enter")
    page.wait_for_url("**/documents/receipt")
    receipt = page.locator("article.document")
    expect(receipt).to_contain_text("受理回执")
    expect(receipt).to_contain_text(resident["name"])
    expect(receipt).to_contain_text(resident["id_number"][:6] + "********" + resident["id_number"][-4:])
    assert resident["id_number"] not in receipt.inner_text()  # the applicant's number is masked on paper
    expect(receipt).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))  # the promised date
    expect(receipt).to_contain_text("intake1")
    page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    clerk.click("[data-action=print]")
    assert page.evaluate("window.__printed") == 1
    assert clerk.total <= 8, clerk.figures()
    screenshot(page, "window_receipt")
    axe_check(page)
    case_id = case_id_from(page.url)
    number = page.locator("article.document .mono").first.inner_text().split()[-1]

    # the department clerk works the inbox with the keyboard
    department = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1440, "height": 900})
    try:
        tab = department.new_page()
        sign_in(tab, "disabled1")
        tab.wait_for_url("**/inbox")
        row = tab.locator("#inbox-rows tr", has_text=number)
        expect(row).to_have_count(1)
        screenshot(tab, "inbox_group")
        axe_check(tab)
        for _ in range(50):  # j moves down the list until our case's row is selected
            if "selected" in (row.get_attribute("class") or ""):
                break
            tab.keyboard.press("j")
        expect(row).to_have_class(re.compile("selected"))
        tab.keyboard.press("c")  # claims in place (htmx), without leaving the list
        expect(tab.locator("#inbox-rows tr", has_text=number)).to_contain_text("已认领")
        expect(tab.locator("#inbox-rows tr", has_text=number).locator("a").first).to_be_focused()  # focus kept
        tab.keyboard.press("Enter")
        tab.wait_for_url("**/tasks/*")
        expect(tab.locator("h1")).to_contain_text("审查")
        screenshot(tab, "task_review")
        axe_check(tab)
        tab.locator("input[name='f.review_result'][value='meets_conditions']").check()
        with tab.expect_navigation():
            tab.keyboard.press("Control+Enter")
        # the decision is the group's next task: claim and complete it from its page
        tab.goto("/inbox")
        with tab.expect_navigation():
            tab.locator("#inbox-rows tr", has_text=number).locator("a").first.click()
        expect(tab.locator("h1")).to_contain_text("决定")
        with tab.expect_navigation():
            tab.locator("form[data-shortcut-form='c'] button").click()
        tab.locator("input[name='f.approved'][value='true']").check()
        with tab.expect_navigation():
            tab.locator("#task-form button[type=submit]").click()
        expect(tab.locator("#messages")).to_contain_text(number)
    finally:
        department.close()

    # the result goes back to the window: handed out, the case is concluded
    page.goto("/inbox?scope=group")
    with page.expect_navigation():
        page.locator("#inbox-rows tr", has_text=number).locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("出件")
    with page.expect_navigation():
        page.locator("form[data-shortcut-form='c'] button").click()
    page.fill("#f\\.handed_to", resident["name"])
    with page.expect_navigation():
        page.locator("#task-form button[type=submit]").click()
    page.goto(f"/cases/{case_id}")
    expect(page.locator("h1 .tag")).to_have_text("已办结")
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-ready", "true")
    assert page.locator("#diagram .djs-element.done").count() >= 8  # the path taken is marked
    story = page.locator(".timeline").inner_text()
    for step in ("收件", "完成“审查”", "完成“决定”", "完成“出件”"):
        assert step in story, story
    assert page.locator("text=已发证照").count() == 1  # the subsidy decision is in the certificate library
    screenshot(page, "case_concluded")
    axe_check(page)


def test_a_clerk_of_another_group_sees_that_the_task_is_not_theirs(page, live_server, sign_in):
    from tests.browser.workplace import care_subsidy_applicants as applicants

    resident = applicants(live_server.app)[0]
    sign_in(page, "intake1")
    page.goto(f"/window/residents/{resident['id']}/apply/{CARE_SUBSIDY}")
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    case_id = case_id_from(page.url)
    number = page.locator("article.document .mono").first.inner_text().split()[-1]
    page.goto(f"/cases/{case_id}")
    task_url = page.locator("a[href^='/tasks/']").first.get_attribute("href")
    page.goto("/")
    page.context.clear_cookies()

    sign_in(page, "civil1")  # civil affairs: the care subsidy belongs to the disabled persons' federation
    response = page.goto(task_url)
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("未找到，或您无权查看")
    expect(page.locator("main")).to_contain_text("属于其他科室")
    content = page.content()
    assert number not in content and resident["name"] not in content and resident["id_number"][-4:] not in content
    response = page.goto(f"/cases/{case_id}/diagram")
    # the case page itself follows the API's rule (any clerk of the tenant reads a case's summary)
    assert response.status in (200, 404)


def test_a_validation_error_appears_on_its_field_in_chinese(page, live_server, sign_in, screenshot, axe_check):
    resident = care_subsidy_applicants(live_server.app)[0]
    sign_in(page, "intake1")
    page.goto(f"/window/residents/{resident['id']}/apply/{CARE_SUBSIDY}")
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    page.fill("#f\\.phone", "call me")
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    error = page.locator("#f\\.phone-error")
    expect(error).to_be_visible()
    text = error.inner_text()
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert "联系电话" in text, text
    assert "does not match" not in text and "^[" not in text, text
    expect(page.locator("#f\\.phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f\\.phone")).to_have_attribute("aria-describedby", re.compile("f.phone-error"))
    expect(page.locator("#form-errors")).to_be_focused()  # the summary takes the focus, linking to the field
    # what the clerk typed is kept, nothing was created
    expect(page.locator("#f\\.bank_account")).to_have_value("6222020200112233445")
    screenshot(page, "window_apply_error")
    axe_check(page)
