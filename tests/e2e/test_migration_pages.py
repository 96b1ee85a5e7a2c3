"""The studio's page for moving running cases (/studio/models/{key}/migrate) through Flask's client:
pick the versions, map a gone element, the dry-run report in Chinese, start, progress, who may."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.e2e.pages import Browser
from tests.helpers import make_users
from tests.integration.test_case_migration import work
from tests.timekeeping import run_due
from workflows.cases import get_case, start_case
from workflows.process_models import deploy_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "migration"
PAGE = "/studio/models/moving/migrate"


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("moving.bpmn", (FIXTURES / "moving_v1.bpmn").read_bytes())])
    return actors


def deciding_case(ctx, actors) -> int:
    case = start_case(ctx, actors["intake1"], "moving", {"applicant_name": "王芳"})
    work(ctx, actors["intake1"], case["id"], "accept")
    with time_machine.travel(ctx.clock() + timedelta(hours=2, seconds=1), tick=False):
        run_due(ctx)
    work(ctx, actors["civil1"], case["id"], "review")
    return case["id"]


def v2(ctx, actors):
    deploy_model(ctx, actors["designer1"], [("moving.bpmn", (FIXTURES / "moving_v2.bpmn").read_bytes()),
                                            ("review.json", (FIXTURES / "review.json").read_bytes())])


def test_dry_run_report_in_chinese_a_mapping_then_the_move(app, ctx, actors):
    waiting = start_case(ctx, actors["intake1"], "moving", {"applicant_name": "王芳"})["id"]
    deciding = deciding_case(ctx, actors)
    v2(ctx, actors)
    browser = Browser(app)
    browser.sign_in("designer1")
    studio = browser.text(browser.get("/studio"))
    assert f'href="{PAGE}"' in studio and "迁移运行中的办件" in studio

    page = browser.text(browser.get(PAGE))
    assert "将运行中的办件迁移到另一版本" in page
    assert re.search(r'<option value="1" selected>第 1 版 · 2 个运行中</option>', page), page[page.find('id="from"'):][:400]
    assert 'name="map:decide"' in page and "— 不对应 —" in page  # the gone element, to map
    assert 'id="start"' not in page  # no move before a dry run

    browser.post(PAGE, {"from_version": "1", "to_version": "2", "action": "dry_run"})
    report = browser.text(browser.followed)
    assert "试运行" in report and "可迁移" in report and "不可迁移" in report
    assert "在 decide 等待，第 2 版已没有该环节" in report
    assert 'id="start"' in report and "立即迁移 1 件" in report
    assert get_case(ctx, actors["admin1"], waiting)["model_version"] == 1

    browser.post(PAGE, {"from_version": "1", "to_version": "2", "action": "dry_run", "map:decide": "review"})
    mapped = browser.text(browser.followed)
    assert "立即迁移 2 件" in mapped and "不可迁移" not in mapped
    assert '<option value="review" selected>' in mapped  # the mapping stays chosen

    response = browser.post(PAGE, {"from_version": "1", "to_version": "2", "action": "start", "map:decide": "review"})
    run_id = int(re.search(r"run=(\d+)", response.headers["Location"]).group(1))
    deadline = time.monotonic() + 60
    while True:  # the page's fragment, as htmx polls it
        fragment = browser.client.get(f"{PAGE}/runs/{run_id}", headers={"HX-Request": "true"})
        text = fragment.get_data(as_text=True)
        if 'data-status="running"' not in text or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert 'data-status="done"' in text and "已迁移" in text and "2 件已迁移" in text
    assert {get_case(ctx, actors["admin1"], c)["model_version"] for c in (waiting, deciding)} == {2}
    final = browser.text(browser.get(f"{PAGE}?run={run_id}"))
    assert "已完成" in final and "decide → review" in final


def test_who_may_and_bad_input_in_words(app, ctx, actors):
    v2(ctx, actors)
    browser = Browser(app)
    browser.sign_in("civil1")
    assert browser.get(PAGE).status_code == 403
    assert browser.post(PAGE, {"from_version": "1", "to_version": "2", "action": "start"}).status_code == 403
    browser = Browser(app)
    browser.sign_in("designer9")  # another sub-district: the key is not theirs
    assert browser.get(PAGE).status_code == 404
    browser = Browser(app)
    browser.sign_in("designer1")
    assert browser.get(f"{PAGE}?from=x").status_code == 422
    assert browser.get("/studio/models/nothing/migrate").status_code == 404
    same = browser.text(browser.get(f"{PAGE}?from=2&to=2"))
    assert 'id="same-version"' in same
    refused = browser.post(PAGE, {"from_version": "1", "to_version": "2", "action": "dry_run", "map:decide": "nowhere"})
    assert refused.status_code == 422 and "nowhere" in browser.text(refused)
    assert browser.post(PAGE, {"from_version": "1", "to_version": "2"}, csrf=False).status_code == 400
    assert browser.get(f"{PAGE}/runs/999999", headers={"HX-Request": "true"}).status_code == 404
