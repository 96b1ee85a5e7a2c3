"""The desks in Chromium: the supervisor's dashboard (an overdue case pressed, the clerk sees and
answers the pressing)."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select, update

from server.demo import DEMO_PASSWORD
from workflows import accounts
from workflows.cases import start_case
from workflows.models import Case, CaseClock
from worklists import commands


def _http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """A plain HTTP client call (an outside API client beside the browser)."""
    import json
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _actor(ctx, username):
    with ctx.unit_of_work() as uow:
        return accounts.authenticate(uow.session, username, DEMO_PASSWORD)


def overdue_case(app, department: str = "civil_affairs", days_over: int = 5) -> dict:
    """A case of ``department`` whose deadline passed ``days_over`` calendar days ago (the clock
    is set back in the database: the live server runs on the real time)."""
    with app.app_context():
        return _overdue_case(app.extensions["redwall"], department, days_over)


def _overdue_case(ctx, department, days_over):
    intake = _actor(ctx, "intake1")
    case = start_case(ctx, intake, "service_application", {"applicant_name": "王芳", "time_limit_working_days": 3})
    task = case["tasks"][0]["id"]
    commands.claim(ctx, intake, task)
    commands.complete(ctx, intake, task, {"acceptance": "accept", "department": department})
    past = ctx.clock() - timedelta(days=days_over)
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(Case).where(Case.id == case["id"]).values(deadline=past))
        uow.session.execute(update(CaseClock).where(CaseClock.case_id == case["id"])
                            .values(deadline=past, warn_at=past - timedelta(days=1)))
        uow.session.commit()
        number = uow.session.scalar(select(Case.number).where(Case.id == case["id"]))
    return {"id": case["id"], "number": number}


def test_supervisor_presses_an_overdue_case_and_the_clerk_sees_it(page, live_server, sign_in, screenshot, axe_check,
                                                                   browser):
    case = overdue_case(live_server.app)
    sign_in(page, "super1")
    page.wait_for_url("**/supervision")
    row = page.locator(f"#overdue-list tr#case-{case['id']}")
    expect(row).to_contain_text(case["number"])
    expect(row.locator(".tag")).to_be_visible()
    expect(page.locator("#trend-chart canvas")).to_have_count(1)  # ECharts drew the weekly trend
    screenshot(page, "supervision_dashboard")
    axe_check(page)
    row.locator("input[name=comment]").fill("请于今日办结并回复")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_be_visible()
    expect(page.locator(f"#overdue-list tr#case-{case['id']} td.pressed")).to_contain_text("super1")

    clerk_context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                        viewport={"width": 1440, "height": 900})
    try:
        clerk = clerk_context.new_page()
        sign_in(clerk, "civil1")
        clerk.goto("/inbox")
        pressing = clerk.locator("section.presses li.press", has_text=case["number"])
        expect(pressing).to_contain_text("请于今日办结并回复")
        expect(pressing).to_contain_text("super1")
        screenshot(clerk, "inbox_pressed")
        axe_check(clerk)
        pressing.locator("input[name=answer]").fill("材料已核实，今日办结")
        with clerk.expect_navigation():
            pressing.locator("button[type=submit]").click()
        expect(clerk.locator(".flash.ok")).to_be_visible()
    finally:
        clerk_context.close()
    page.reload()
    expect(page.locator(f"#overdue-list tr#case-{case['id']} td.pressed")).to_contain_text("材料已核实，今日办结")


def _tamper(app, case_id: int, seq: int) -> None:
    """Alter one stored event of the case behind the application's back (the append-only trigger off)."""
    from sqlalchemy import text

    from server.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text("ALTER TABLE trail_events DISABLE TRIGGER trail_events_append_only"))
        conn.execute(text("UPDATE trail_events SET actor = 'admin1' WHERE case_id = :c AND seq = :s"),
                     {"c": case_id, "s": seq})
        if postgres:
            conn.execute(text("ALTER TABLE trail_events ENABLE TRIGGER trail_events_append_only"))


def test_auditor_sees_the_altered_event_named_and_exports_and_prints_it(page, live_server, sign_in, screenshot,
                                                                        axe_check):
    import json

    case = overdue_case(live_server.app)
    _tamper(live_server.app, case["id"], 2)
    sign_in(page, "auditor1")
    page.wait_for_url("**/audit")
    page.fill("#as-number", case["number"])
    with page.expect_navigation():
        page.locator("#case-search button[type=submit]").click()
    screenshot(page, "audit_search")
    axe_check(page)
    with page.expect_navigation():
        page.locator("#found a", has_text=case["number"]).click()
    verification = page.locator("#verification")
    expect(verification).to_contain_text("#2")
    expect(verification).to_contain_text("altered")
    bad = page.locator("ol.timeline li.bad")
    expect(bad).to_have_count(1)
    expect(bad).to_have_attribute("id", "event-2")
    expect(bad.locator(".problem")).to_contain_text("altered")
    screenshot(page, "audit_trail_altered")
    axe_check(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="导出 JSON").click()
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert exported["case"]["id"] == case["id"]
    assert exported["verification"]["valid"] is False and exported["verification"]["first_bad_seq"] == 2

    with page.context.expect_page() as popup:
        page.get_by_role("link", name="打印页").click()
    printed = popup.value
    printed.wait_for_load_state()
    expect(printed.locator("body")).to_contain_text("不完整")
    expect(printed.locator("body")).to_contain_text(case["number"])
    screenshot(printed, "audit_trail_print")

    with page.expect_navigation():
        page.get_by_role("button", name="加入审计队列").click()
    expect(page.locator(".flash.ok")).to_be_visible()
    page.goto("/audit")
    expect(page.locator("section", has_text="待审计办件").locator("a", has_text=case["number"])).to_have_count(1)


def test_auditor_lists_events_outside_cases(page, live_server, sign_in, screenshot, axe_check):
    sign_in(page, "auditor1")
    page.goto("/audit/events")
    expect(page.locator("#events tbody tr").first).to_be_visible()
    page.select_option("#ev-kind", "model.deployed")
    with page.expect_navigation():
        page.locator("#event-filters button[type=submit]").click()
    rows = page.locator("#events tbody tr")
    expect(rows.first).to_contain_text("流程部署")
    screenshot(page, "audit_events")
    axe_check(page)


def test_admin_disables_a_clerk_whose_session_and_token_stop_at_once(page, live_server, sign_in, screenshot,
                                                                     axe_check, browser):
    token = _http("POST", f"{live_server.url}/api/auth/token",
                  {"username": "disabled1", "password": DEMO_PASSWORD})[1]["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert _http("GET", f"{live_server.url}/api/tasks", headers=bearer)[0] == 200
    clerk_context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        clerk = clerk_context.new_page()
        sign_in(clerk, "disabled1")
        clerk.goto("/inbox")
        expect(clerk.locator("h1")).to_have_text("待办")

        sign_in(page, "admin1")
        page.wait_for_url("**/ops")
        expect(page.locator("#health")).to_be_visible()
        screenshot(page, "ops_home")
        axe_check(page)
        row = page.locator("tr#user-disabled1")
        with page.expect_navigation():
            row.get_by_role("button", name="停用").click()
        expect(page.locator(".flash.ok")).to_contain_text("disabled1")
        expect(page.locator("tr#user-disabled1")).to_contain_text("已停用")

        assert _http("GET", f"{live_server.url}/api/tasks", headers=bearer)[0] == 401
        clerk.goto("/inbox")
        clerk.wait_for_url(re.compile(r"/\?next="))
        expect(clerk.locator("[name=username]")).to_be_visible()
    finally:
        clerk_context.close()
        with page.expect_navigation():
            page.locator("tr#user-disabled1").get_by_role("button", name="启用").click()  # the other tests' clerk
    page.goto("/ops/users/civil1")
    screenshot(page, "ops_user")
    axe_check(page)


PNG_PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
             b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def test_a_grid_worker_reports_an_emergency_from_a_phone(page, live_server, sign_in, screenshot, axe_check, browser):
    phone = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        worker = phone.new_page()
        sign_in(worker, "grid1")
        worker.goto("/grid")
        worker.locator("label.big-choice", has_text="火情").click()
        worker.select_option("#ev-grid", index=1)
        worker.fill("#ev-description", "小区院内冒烟，疑似电动车起火")
        worker.set_input_files("#ev-photo", files=[{"name": "smoke.png", "mimeType": "image/png", "buffer": PNG_PHOTO}])
        screenshot(worker, "grid_report_phone")
        axe_check(worker)
        with worker.expect_navigation():
            worker.locator("#report-form button[type=submit]").click()
        expect(worker.locator(".flash.ok")).to_be_visible()
        mine = worker.locator("#my-reports li").first
        expect(mine).to_contain_text("火情")
        expect(mine).to_contain_text("应急")
        screenshot(worker, "grid_reports_phone")
        number = mine.locator(".mono").inner_text()
    finally:
        phone.close()

    sign_in(page, "leader1")  # duty leader, member of emergency management
    page.goto("/inbox")
    expect(page.locator("#inbox-rows tr", has_text=number).first).to_be_visible()
    page.goto("/emergency")
    card = page.locator("article.emergency", has_text=number)
    expect(card).to_contain_text("应急管理")
    expect(card.locator("tr.waiting").first).to_contain_text("未签收")
    expect(card.locator(".countdown").first).to_contain_text("签收剩余")
    screenshot(page, "emergency_board")
    axe_check(page)


def test_the_parking_pressure_map(page, live_server, sign_in, screenshot, axe_check):
    sign_in(page, "super1")
    page.goto("/supervision/parking")
    assert page.locator("svg.parking-map rect").count() >= 4  # the demo district's cells
    first = page.locator("#parking-table tbody tr").first
    with page.expect_navigation():
        first.locator("a").click()
    expect(page.locator("#cell-facts")).to_contain_text("缺车位家庭")
    expect(page.locator("svg.parking-map rect.chosen")).to_have_count(1)
    screenshot(page, "supervision_parking")
    axe_check(page)
