"""Materials in Chromium: the checklist with what the certificate library holds ticked, the
one-time notice naming only what is missing, the scan attached when the applicant brings it,
the application accepted, and the department clerk previewing the scan on the review task;
then the receipt's code on the residents' public progress page."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from tests.files_helpers import png

from .workplace import CARE_SUBSIDY, care_subsidy_applicants, case_id_from


def _task_of(app, case_id: int, element_id: str) -> int:
    from server.extensions import db
    from workflows.models import Task

    with app.app_context():
        found = db.session.scalar(select(Task.id).where(Task.case_id == case_id, Task.element_id == element_id,
                                                        Task.status.in_(("ready", "claimed"))))
        db.session.remove()
    assert found is not None
    return found


def test_a_missing_material_noticed_brought_scanned_and_previewed(page, live_server, sign_in, screenshot, axe_check, browser):
    resident = care_subsidy_applicants(live_server.app, from_the_end=True)[0]
    sign_in(page, "intake1")
    page.goto(f"/window/residents/{resident['id']}/apply/{CARE_SUBSIDY}")
    checklist = page.locator("#materials")
    covered = checklist.locator("li.covered")
    expect(covered).to_have_count(1)  # the disability certificate, from the library
    expect(covered).to_contain_text("残疾证")
    expect(covered).to_contain_text("已调用电子证照")
    expect(covered.locator(".mono")).to_have_text(re.compile(r"\S+"))
    page.locator("#materials input[name=presented][value=id_card]").check()  # shown at the window
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    page.locator("input[name=acceptance][value=supplement]").check()
    expect(page.locator("#owed-list")).to_have_text("银行存折或卡")  # the notice's list follows the ticks
    screenshot(page, "window_materials_checklist")
    axe_check(page)
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    page.wait_for_url("**/documents/notice")
    expect(page.locator("ol.missing li")).to_have_count(1)
    expect(page.locator("ol.missing li")).to_have_text("银行存折或卡")  # only what is missing
    expect(page.locator("article.document")).to_contain_text("无需提交")  # the certificate used is named
    screenshot(page, "window_notice_only_missing")
    axe_check(page)
    case_id = case_id_from(page.url)

    # the applicant brings the bank book: materials supplied, the scan attached, accepted
    page.goto(f"/cases/{case_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="材料已补齐").click()
    expect(page.locator("h1")).to_contain_text("受理")
    page.set_input_files("#upload-file", files=[{"name": "存折.png", "mimeType": "image/png", "buffer": png(320, 200)}])
    page.select_option("#upload-material", "bankbook")
    with page.expect_navigation():
        page.get_by_role("button", name="上传").click()
    expect(page.locator("#messages")).to_contain_text("已上传")
    expect(page.locator("#files li")).to_contain_text("银行存折或卡")
    with page.expect_navigation():
        page.locator("form[data-shortcut-form='c'] button").click()
    page.locator("input[name='f.acceptance'][value='accept']").check()
    screenshot(page, "task_acceptance_with_scan")
    axe_check(page)
    with page.expect_navigation():
        page.locator("#task-form button[type=submit]").click()

    # the department clerk previews the scan on the review task
    review = _task_of(live_server.app, case_id, "review")
    department = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1440, "height": 900})
    try:
        tab = department.new_page()
        sign_in(tab, "disabled1")
        tab.goto(f"/tasks/{review}")
        expect(tab.locator("h1")).to_contain_text("审查")
        preview = tab.locator("#files img.preview")
        expect(preview).to_have_count(1)
        preview.scroll_into_view_if_needed()
        tab.wait_for_function("() => { const i = document.querySelector('#files img.preview'); return i && i.complete && i.naturalWidth === 320; }")
        expect(tab.locator("#files")).to_contain_text("存折.png")
        screenshot(tab, "task_review_scan_preview")
        axe_check(tab)
    finally:
        department.close()


def test_the_receipt_code_opens_the_public_progress_page(page, live_server, sign_in, screenshot, axe_check, browser):
    resident = care_subsidy_applicants(live_server.app, from_the_end=True)[0]
    sign_in(page, "intake1")
    page.goto(f"/window/residents/{resident['id']}/apply/{CARE_SUBSIDY}")
    page.locator("#materials input[name=presented]").first.check()
    page.locator("input[name='f.care_arrangement'][value='home']").check()
    page.fill("#f\\.bank_account", "6222020200112233445")
    with page.expect_navigation():
        page.locator("form#application button[type=submit]").click()
    page.wait_for_url("**/documents/receipt")
    expect(page.locator(".progress-slip svg")).to_have_count(1)
    code = page.locator("#progress-code").inner_text()
    number = page.locator("article.document .mono").first.inner_text().split()[-1]
    screenshot(page, "receipt_with_progress_code")
    resident_side = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        tab = resident_side.new_page()  # no sign-in
        tab.goto("/progress")
        tab.fill("#number", number)
        tab.fill("#code", "ZZZZZZ")
        with tab.expect_navigation():
            tab.get_by_role("button", name="查询").click()
        expect(tab.locator("[role=alert]")).to_contain_text("未找到")
        expect(tab.locator("ol.progress-stages")).to_have_count(0)
        tab.fill("#code", code)
        with tab.expect_navigation():
            tab.get_by_role("button", name="查询").click()
        stages = tab.locator("ol.progress-stages li")
        expect(stages.nth(0)).to_contain_text("已收件")
        expect(stages.nth(1)).to_contain_text("已受理")
        expect(stages.nth(2)).to_contain_text("残联审核中")
        expect(tab.locator("main")).not_to_contain_text(resident["name"])
        screenshot(tab, "public_progress")
        axe_check(tab)
    finally:
        resident_side.close()
