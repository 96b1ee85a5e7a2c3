"""The web workplace's pages over HTTP (Flask's test client): sign-in and sessions, CSRF,
security headers, role homes, the window's motion, the inbox and task commands, errors in
words — on SQLite and PostgreSQL. The browser tests (tests/browser) drive the same pages in
Chromium; these check the rules a browser cannot easily reach."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select, update

from datacentre.models import Person
from tests.e2e.pages import Browser
from tests.eligibility_helpers import eligible_resident
from tests.onewindow_helpers import one_window, open_task
from tests.helpers import PASSWORD
from workflows import accounts
from workflows.models import User

CARE = "severe_disability_care_subsidy"
CARE_FORM = {"f.care_arrangement": "home", "f.bank_account": "6222020200112233445"}


@pytest.fixture
def actors(ctx):
    return one_window(ctx, residents=600)


def _apply(browser: Browser, resident: int, decision: str = "accept", **extra):
    return browser.post(f"/window/residents/{resident}/apply/{CARE}", {**CARE_FORM, "acceptance": decision, **extra})


def test_signing_in_lands_each_role_on_its_home(app, actors):
    homes = {"intake1": "/window", "civil1": "/inbox", "super1": "/supervision", "designer1": "/studio",
             "auditor1": "/audit", "admin1": "/ops"}
    for username, home in homes.items():
        browser = Browser(app)
        response = browser.sign_in(username)
        assert response.headers["Location"] == home
        page = browser.get(home)
        assert page.status_code == 200, (username, browser.text(page)[:300])
        assert 'lang="zh-CN"' in browser.text(page)
        for link in re.findall(r'<nav class="mainnav".*?</nav>', browser.text(page), re.S):
            for href in re.findall(r'href="([^"]+)"', link):  # no menu entry is a dead link
                assert browser.get(href).status_code == 200, (username, href)
    assert "redwall-demo" not in Browser(app).text(Browser(app).get("/"))  # the demo password is not on the page


def test_sign_in_errors_are_sentences_and_next_stays_on_this_site(app, actors):
    browser = Browser(app)
    wrong = browser.post("/signin", {"username": "intake1", "password": "nope"})
    assert wrong.status_code == 401 and "用户名或密码错误" in browser.text(wrong)
    empty = browser.post("/signin", {"username": "", "password": ""})
    assert empty.status_code == 422 and "请输入用户名和密码" in browser.text(empty)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = browser.post("/signin", {"username": "intake1", "password": "correct-horse-battery", "next": target})
        assert response.headers["Location"] == "/window", target
        browser.post("/signout")
        browser.get("/")
    response = browser.post("/signin", {"username": "intake1", "password": "correct-horse-battery",
                                        "next": "/inbox?scope=mine"})
    assert response.headers["Location"] == "/inbox?scope=mine"


def test_pages_need_a_session_and_forms_need_the_csrf_token(app, actors):
    browser = Browser(app)
    response = browser.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/?next=/inbox")
    htmx = browser.client.get("/inbox/counts", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/?next=")
    no_token = browser.post("/signin", {"username": "intake1", "password": "correct-horse-battery"}, csrf=False)
    assert no_token.status_code == 400 and "表单已过期" in browser.text(no_token)
    browser.sign_in("civil1")
    forged = browser.post("/inbox/filters", {"name": "x"}, csrf=False)
    assert forged.status_code == 400
    cookie = next(c for c in browser.client._cookies.values() if c.key == "redwall_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    secure = Browser(app)
    secure.client.get("/", base_url="https://localhost")
    secure.client.post("/signin", base_url="https://localhost", data={
        "username": "civil1", "password": "correct-horse-battery", "csrf_token": secure.csrf or ""})
    assert all(c.secure for c in secure.client._cookies.values() if c.key == "redwall_session")


def test_every_response_carries_the_security_headers(app, actors):
    browser = Browser(app)
    browser.sign_in("intake1")
    for path in ("/", "/window", "/inbox", "/api/openapi.json", "/static/css/app.css", "/no/such/page"):
        response = browser.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    page = browser.text(browser.get("/window"))
    assert "<script>" not in page and "onclick=" not in page and "hx-on" not in page  # no inline script


def test_security_headers_are_added_only_where_missing(app, actors):
    browser = Browser(app)
    browser.sign_in("intake1")
    api = browser.get("/api/openapi.json")
    assert "Cache-Control" not in api.headers and "Strict-Transport-Security" not in api.headers
    page = browser.get("/window")
    assert page.headers["Cache-Control"] == "no-store"  # pages hold personal data
    assert browser.client.get("/api/openapi.json", base_url="https://localhost").headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    for response in (api, page):
        names = [name.lower() for name, _ in response.headers]
        assert len(names) == len(set(names)), names  # each once


def test_a_session_ends_when_idle_or_when_the_user_is_disabled(app, actors, ctx):
    browser = Browser(app)
    browser.sign_in("civil1")
    assert browser.get("/inbox").status_code == 200
    with browser.client.session_transaction() as session:
        session["seen"] -= app.config["REDWALL_SESSION_IDLE"] + 5
    expired = browser.get("/inbox")
    assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
    assert "登录已过期" in browser.text(browser.get(expired.headers["Location"]))
    browser.sign_in("civil1")
    assert browser.get("/inbox").status_code == 200
    # Disabled behind this process's back (another server, or SQL): refused once this process
    # reads the user's key again, within REDWALL_REVOCATION_INTERVAL (here 0.3 s).
    interval = app.config.get("REDWALL_REVOCATION_INTERVAL")
    app.config["REDWALL_REVOCATION_INTERVAL"] = 0.3
    try:
        with ctx.unit_of_work() as uow:
            uow.session.execute(update(User).where(User.username == "civil1").values(active=False))
            uow.commit()
        time.sleep(0.35)
        assert browser.get("/inbox").status_code == 302
    finally:
        app.config["REDWALL_REVOCATION_INTERVAL"] = interval if interval is not None else 5.0


def test_the_window_receives_and_accepts_in_one_motion(app, actors, ctx):
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    browser = Browser(app)
    browser.sign_in("intake1")
    page = browser.text(browser.get(f"/window/residents/{resident}/apply/{CARE}"))
    assert "资格与在办申请核验" in page and "人口库" in page and "证照库" in page
    response = _apply(browser, resident)
    assert response.status_code == 302 and response.headers["Location"].endswith("/documents/receipt")
    receipt = browser.text(browser.get(response.headers["Location"]))
    assert "受理回执" in receipt and "承诺办结日期" in receipt and "intake1" in receipt
    case_id = int(re.search(r"/cases/(\d+)/", response.headers["Location"]).group(1))
    review = open_task(ctx, case_id, "review")
    assert review.group == "disabled_federation" and review.status == "ready"
    # the same resident again: the page says why, the application is refused with 409 in words
    again = browser.text(browser.get(f"/window/residents/{resident}/apply/{CARE}"))
    assert "该事项已有在办申请" in again
    second = _apply(browser, resident)
    assert second.status_code == 409 and "当前状态不允许此操作" in browser.text(second)
    assert open_task(ctx, case_id, "review").id == review.id  # nothing new was created


def test_refusal_and_one_time_notice_print_their_documents(app, actors, ctx):
    first = eligible_resident(ctx, actors["intake1"], CARE)
    second = eligible_resident(ctx, actors["intake1"], CARE, exclude=(first,))
    browser = Browser(app)
    browser.sign_in("intake1")
    missing = _apply(browser, first, "supplement", missing_materials="户口簿 Household register",
                     missing_other="残疾人证复印件\n近期照片")
    assert missing.status_code == 302 and missing.headers["Location"].endswith("/documents/notice")
    notice = browser.text(browser.get(missing.headers["Location"]))
    assert "一次性告知单" in notice and "残疾人证复印件" in notice and "近期照片" in notice
    case_id = int(re.search(r"/cases/(\d+)/", missing.headers["Location"]).group(1))
    case_page = browser.text(browser.get(f"/cases/{case_id}"))
    assert "等待申请人补正材料" in case_page and "材料已补齐" in case_page
    supplied = browser.post(f"/cases/{case_id}/materials-supplied")
    assert supplied.status_code == 302 and supplied.headers["Location"].startswith("/tasks/")
    accept_page = browser.text(browser.get(supplied.headers["Location"]))
    assert "受理" in accept_page

    no_reason = _apply(browser, second, "refuse", refusal_reason="  ")
    assert no_reason.status_code == 422 and "不予受理理由" in browser.text(no_reason)
    refused = _apply(browser, second, "refuse", refusal_reason="申请人不属于本街道户籍")
    assert refused.headers["Location"].endswith("/documents/refusal")
    refusal = browser.text(browser.get(refused.headers["Location"]))
    assert "不予受理通知书" in refusal and "申请人不属于本街道户籍" in refusal and "行政复议" in refusal


def test_task_page_commands_and_a_lost_race_in_words(app, actors, ctx):
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    window = Browser(app)
    window.sign_in("intake1")
    case_id = int(re.search(r"/cases/(\d+)/", _apply(window, resident).headers["Location"]).group(1))
    task = open_task(ctx, case_id, "review")

    clerk, colleague, stranger = Browser(app), Browser(app), Browser(app)
    clerk.sign_in("disabled1")
    stranger.sign_in("civil1")
    page = clerk.text(clerk.get(f"/tasks/{task.id}"))
    assert "认领" in page and "审查" in page
    other = stranger.get(f"/tasks/{task.id}")
    assert other.status_code == 404 and "未找到，或您无权查看" in stranger.text(other)
    # nothing of the applicant (the page's random CSRF token may hold any short number, so the
    # resident's row id is no test: their name and ID number are)
    with ctx.unit_of_work() as uow:
        name, id_number = uow.session.execute(select(Person.name, Person.id_number).where(Person.id == resident)).one()
    assert name not in stranger.text(other) and id_number not in stranger.text(other)
    assert stranger.post(f"/tasks/{task.id}/claim").status_code == 404

    claimed = clerk.post(f"/tasks/{task.id}/claim", {"version": str(task.version)})
    assert claimed.status_code == 302
    # a colleague's stale claim: the version moved on (412), then a plain second claim (409)
    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "xichangan", "disabled2", PASSWORD, ["clerk"], ["disabled_federation"], [])
        uow.commit()
    colleague.sign_in("disabled2")
    stale = colleague.post(f"/tasks/{task.id}/claim", {"version": str(task.version)})
    assert stale.status_code == 412 and "页面内容已过期" in colleague.text(stale)
    lost = colleague.post(f"/tasks/{task.id}/claim")
    assert lost.status_code == 409 and "当前状态不允许此操作" in colleague.text(lost) and "/inbox" in colleague.text(lost)

    bad = clerk.post(f"/tasks/{task.id}/complete", {"f.review_result": "maybe"})
    assert bad.status_code == 422 and "审查结论" in clerk.text(bad) and 'aria-invalid="true"' in clerk.text(bad)
    handed_back = clerk.post(f"/tasks/{task.id}/unclaim")
    assert handed_back.status_code == 302
    clerk.post(f"/tasks/{task.id}/claim")
    done = clerk.post(f"/tasks/{task.id}/complete", {"f.review_result": "meets_conditions", "f.review_notes": "齐全"})
    assert done.status_code == 302
    assert "已完成" in clerk.text(clerk.followed)
    assert open_task(ctx, case_id, "decide").status == "ready"


def test_inbox_filters_saved_and_shared(app, actors, ctx):
    clerk, colleague, other_group = Browser(app), Browser(app), Browser(app)
    clerk.sign_in("civil1")
    colleague.sign_in("civil2")
    other_group.sign_in("disabled1")
    mine = clerk.post("/inbox/filters", {"name": "我的超期", "scope": "group", "overdue": "1"})
    shared = clerk.post("/inbox/filters", {"name": "科室老年证", "scope": "group", "service_code": "senior_card",
                                           "shared_with": "civil_affairs"})
    assert mine.status_code == shared.status_code == 302
    assert "我的超期" in clerk.text(clerk.get("/inbox")) and "科室老年证" in clerk.text(clerk.get("/inbox"))
    colleague_page = colleague.text(colleague.get("/inbox"))
    assert "科室老年证" in colleague_page and "我的超期" not in colleague_page
    assert "科室老年证" not in other_group.text(other_group.get("/inbox"))
    not_mine = re.search(r'/inbox/filters/(\d+)/delete', clerk.text(clerk.get("/inbox")))
    assert colleague.post(f"/inbox/filters/{not_mine.group(1)}/delete").status_code in (403, 404)
    assert clerk.post("/inbox/filters", {"name": "x" * 61}).status_code == 422
    assert clerk.post("/inbox/filters", {"name": "别人的科室", "shared_with": "disabled_federation"}).status_code == 422
    assert clerk.get("/inbox?due_before=not-a-date").status_code == 200  # said on the page, not a 500
    assert "须为日期" in clerk.text(clerk.get("/inbox?due_before=not-a-date"))
    counts = clerk.get("/inbox/counts", headers={"HX-Request": "true"})
    assert counts.status_code == 200 and 'id="inbox-tabs"' in clerk.text(counts)


def test_no_page_answers_500_to_hostile_input(app, actors, ctx):
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    browser = Browser(app)
    browser.sign_in("intake1")
    gets = ["/window?q=" + "x" * 500, "/window?q=%F0%9F%92%A9", "/window/residents/999999999999",
            "/window/residents/99999999999999999999999", f"/window/residents/{resident}/apply/no_such_service",
            "/cases/0", "/cases/999999/documents/receipt", "/cases/1/documents/../../etc/passwd",
            "/tasks/abc", "/inbox?scope=everything&sort=chaos&cursor=%%%", "/inbox?cursor=bm90IGEgY3Vyc29y"]
    for path in gets:
        response = browser.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert "Traceback" not in browser.text(response)
    posts = {
        f"/window/residents/{resident}/apply/{CARE}": {"f.bank_account": "1" * 100_000, "acceptance": "accept"},
        f"/window/residents/{resident}/apply/{CARE}?x=1": {"f.current_area_m2": "nan", "acceptance": "sideways"},
        "/tasks/999999999/complete": {"f.x": "y"},
        "/inbox/filters/abc/delete": {},
        "/locale": {"locale": "xx", "back": "https://evil.example/"},
    }
    for path, data in posts.items():
        response = browser.post(path, data)
        assert response.status_code < 500, (path, response.status_code, browser.text(response)[:300])
        assert "1" * 1000 not in browser.text(response)  # a huge value is not echoed back
    locale = browser.post("/locale", {"locale": "en", "back": "//evil.example"})
    assert locale.headers["Location"] == "/"


def test_english_is_one_click_away(app, actors):
    browser = Browser(app)
    browser.sign_in("civil1")
    assert "待办" in browser.text(browser.get("/inbox"))
    browser.post("/locale", {"locale": "en", "back": "/inbox"})
    page = browser.text(browser.get("/inbox"))
    assert 'lang="en"' in page and "Group queue" in page and "中文" in page


def test_handling_operations_from_the_pages(app, actors, ctx):
    """退回, 加签 (会签), 撤回, 抄送, 催办, 挂起/恢复 as buttons on the task and case pages."""
    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "xichangan", "disabled2", PASSWORD, ["clerk"], ["disabled_federation"], [])
        uow.commit()
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    window, clerk, colleague, boss = Browser(app), Browser(app), Browser(app), Browser(app)
    window.sign_in("intake1")
    clerk.sign_in("disabled1")
    colleague.sign_in("disabled2")
    boss.sign_in("super1")
    case_id = int(re.search(r"/cases/(\d+)/", _apply(window, resident).headers["Location"]).group(1))

    review = open_task(ctx, case_id, "review")
    clerk.post(f"/tasks/{review.id}/claim")
    page = clerk.text(clerk.get(f"/tasks/{review.id}"))
    assert "退回" in page and "转办" in page and "加签" in page
    done = clerk.post(f"/tasks/{review.id}/complete", {"f.review_result": "meets_conditions"})
    assert done.status_code == 302
    # 撤回: the decision is not claimed yet, so the reviewer takes the review back
    assert "撤回" in clerk.text(clerk.get(f"/tasks/{review.id}"))
    withdrawn = clerk.post(f"/tasks/{review.id}/withdraw")
    assert withdrawn.status_code == 302 and "已撤回" in clerk.text(clerk.followed)
    clerk.post(f"/tasks/{review.id}/complete", {"f.review_result": "meets_conditions"})
    decide = open_task(ctx, case_id, "decide")
    colleague.post(f"/tasks/{decide.id}/claim")
    assert clerk.post(f"/tasks/{review.id}/withdraw").status_code == 409  # the next step was claimed
    # 退回: the decider sends it back to the reviewer with a reason
    no_reason = colleague.post(f"/tasks/{decide.id}/send-back", {"reason": ""})
    assert no_reason.status_code == 422
    back = colleague.post(f"/tasks/{decide.id}/send-back", {"reason": "审查意见不完整"})
    assert back.status_code == 302
    again = open_task(ctx, case_id, "review")
    assert again.assignee == "disabled1" and again.status == "claimed"
    assert "审查意见不完整" in clerk.text(clerk.get(f"/tasks/{again.id}"))
    # 加签 (会签): the reviewer adds a colleague alongside; both sign, then the case moves on
    added = clerk.post(f"/tasks/{again.id}/add-signers", {"usernames": "disabled2", "mode": "parallel",
                                                          "comment": "请一并会签"})
    assert added.status_code == 302 and "disabled2" in clerk.text(clerk.followed)
    clerk.post(f"/tasks/{again.id}/complete", {"f.review_result": "meets_conditions"})
    signer = open_task(ctx, case_id, "review")  # the co-signer's task of the same step
    assert signer.kind == "sign" and signer.assignee == "disabled2"
    sign_page = colleague.text(colleague.get(f"/tasks/{signer.id}"))
    assert "会签意见" in sign_page and "同意" in sign_page
    signed = colleague.post(f"/tasks/{signer.id}/complete", {"f.agree": "true", "f.opinion": "同意"})
    assert signed.status_code == 302
    assert open_task(ctx, case_id, "decide").status == "ready"
    # 抄送, 催办, 挂起/恢复 on the case page
    assert clerk.post(f"/cases/{case_id}/cc", {"usernames": "civil1"}).status_code == 403  # holds no task now
    copied = boss.post(f"/cases/{case_id}/cc", {"usernames": "civil1", "comment": "供参考"})
    assert copied.status_code == 302
    reader = Browser(app)
    reader.sign_in("civil1")
    copies = reader.text(reader.get("/inbox?scope=cc"))
    assert "供参考" in copies and "super1" in copies
    copy_id = re.search(r"/inbox/copies/(\d+)/read", copies).group(1)
    assert reader.post(f"/inbox/copies/{copy_id}/read").headers["Location"] == f"/cases/{case_id}"
    assert boss.post(f"/cases/{case_id}/urge", {"comment": "请加快办理"}).status_code == 302
    assert "催办" in colleague.text(colleague.get("/inbox"))
    assert clerk.post(f"/cases/{case_id}/suspend", {"reason": "x"}).status_code == 403
    suspended = boss.post(f"/cases/{case_id}/suspend", {"reason": "等待上级批复"})
    assert suspended.status_code == 302 and "已挂起" in boss.text(boss.followed)
    decide = open_task(ctx, case_id, "decide")
    assert colleague.post(f"/tasks/{decide.id}/claim").status_code == 409
    assert boss.post(f"/cases/{case_id}/resume").status_code == 302
    assert colleague.post(f"/tasks/{decide.id}/claim").status_code == 302
def test_the_checklist_ticks_what_the_library_holds_and_the_notice_names_only_the_rest(app, actors, ctx):
    """The care subsidy asks for the identity card, the disability certificate and the bank book;
    the library holds the resident's disability certificate, the clerk ticks the identity card:
    the one-time notice names the bank book alone."""
    from workflows.cases import get_case

    resident = eligible_resident(ctx, actors["intake1"], CARE)
    browser = Browser(app)
    browser.sign_in("intake1")
    page = browser.get(f"/window/residents/{resident}/apply/{CARE}").get_data(as_text=True)
    covered = re.search(r"已调用电子证照\s*<span class=\"mono\">([^<]+)</span>", page)
    assert covered, "the disability certificate is ticked from the library with its number"
    assert 'name="presented" value="disability_certificate"' not in page  # nothing to tick: the library has it
    assert 'name="presented" value="id_card"' in page and 'name="presented" value="bankbook"' in page
    # the conditional item (care in an institution) is not asked for with care at home
    missing = _apply(browser, resident, "supplement", presented="id_card")
    assert missing.status_code == 302 and missing.headers["Location"].endswith("/documents/notice")
    notice = browser.get(missing.headers["Location"]).get_data(as_text=True)
    listed = re.findall(r"<li>([^<]+)</li>", re.search(r'<ol class="missing">(.*?)</ol>', notice, re.S).group(1))
    assert listed == ["银行存折或卡"]
    number = covered.group(1).strip()
    assert "无需提交" in notice and number[:6] + "*" * (len(number) - 10) + number[-4:] in notice  # named, masked
    assert number not in notice  # a disability certificate number carries the identity number
    case_id = int(re.search(r"/cases/(\d+)/", missing.headers["Location"]).group(1))
    data = get_case(ctx, actors["intake1"], case_id)["data"]
    assert data["missing_materials"] == ["银行存折或卡"]
    assert data["materials_presented"] == ["id_card"]
    assert data["materials_owed"] == ["bankbook"]
    assert data["materials_from_certificates"]["disability_certificate"] == covered.group(1).strip()


def test_a_notice_with_nothing_missing_is_refused_in_words(app, actors, ctx):
    resident = eligible_resident(ctx, actors["intake1"], CARE)
    browser = Browser(app)
    browser.sign_in("intake1")
    everything = _apply(browser, resident, "supplement", presented=["id_card", "bankbook"])
    assert everything.status_code == 422
    assert 'name="presented" value="bankbook" checked' in everything.get_data(as_text=True)  # the ticks are kept


def test_scans_attached_on_the_task_page_are_previewed_by_the_department(app, actors, ctx):
    import io

    from tests.files_helpers import png

    resident = eligible_resident(ctx, actors["intake1"], CARE)
    window = Browser(app)
    window.sign_in("intake1")
    missing = _apply(window, resident, "supplement", presented="id_card")
    case_id = int(re.search(r"/cases/(\d+)/", missing.headers["Location"]).group(1))
    task_url = window.post(f"/cases/{case_id}/materials-supplied").headers["Location"]
    task_id = int(task_url.rsplit("/", 1)[1])
    page = window.get(task_url).get_data(as_text=True)
    assert 'name="file"' in page and 'value="bankbook"' in page  # the upload form names the materials
    scan = png(60, 40)
    sent = window.post(f"/cases/{case_id}/files", {"file": (io.BytesIO(scan), "存折.png"), "material_code": "bankbook",
                                                  "task_id": str(task_id), "back": task_url},
                       content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.headers["Location"] == task_url
    assert "已上传" in window.text(window.followed) or "存折.png" in window.text(window.followed)
    wrong = window.post(f"/cases/{case_id}/files", {"file": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png"),
                                                   "back": "//evil.example/"}, content_type="multipart/form-data")
    assert wrong.status_code == 302 and wrong.headers["Location"] == f"/cases/{case_id}"  # only a path of this site
    assert "仅接受" in window.text(window.followed)
    window.post(f"/tasks/{task_id}/claim")
    accepted = window.post(f"/tasks/{task_id}/complete", {"f.acceptance": "accept"})
    assert accepted.status_code == 302
    # the department clerk sees the scan on the review task, previewed in place
    review = open_task(ctx, case_id, "review")
    clerk = Browser(app)
    clerk.sign_in("disabled1")
    html = clerk.get(f"/tasks/{review.id}").get_data(as_text=True)
    preview = re.search(r'<img class="preview" src="([^"]+)"', html)
    assert preview and "存折.png" in html and "银行存折或卡" in html
    image = clerk.get(preview.group(1).replace("&amp;", "&"))
    assert image.status_code == 200 and image.data == scan and image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;") and "sandbox" in image.headers["Content-Security-Policy"]
    # another department's clerk may not fetch it
    other = Browser(app)
    other.sign_in("civil1")
    assert other.get(preview.group(1).replace("&amp;", "&")).status_code == 404
