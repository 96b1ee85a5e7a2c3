"""The designer's studio in Chromium: a shipped model opened in the bpmn-js modeler, broken,
refused with the problem on its element, fixed and deployed as the next version; a new model
that cannot run is stored and listed so. Screenshots and axe on each page."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

CIVIL = "civil_affairs_service"

SET_CONDITION = """([flowId, body]) => {
  const modeler = window.studioModeler;
  const flow = modeler.get('elementRegistry').get(flowId);
  const expression = modeler.get('moddle').create('bpmn:FormalExpression', { body: body });
  modeler.get('modeling').updateProperties(flow, { conditionExpression: expression });
  return flow.businessObject.conditionExpression.body;
}"""


def _latest_version(page, key: str) -> int:
    rows = page.locator(f'tr.version[data-key="{key}"]')
    return max(int(rows.nth(i).get_attribute("data-version")) for i in range(rows.count()))


def test_a_designer_breaks_a_shipped_model_sees_the_problem_on_it_fixes_it_and_deploys(
        page, sign_in, screenshot, axe_check):
    sign_in(page, "designer1")
    page.goto("/studio")
    expect(page.locator("h1")).to_have_text("流程设计")
    latest = _latest_version(page, CIVIL)
    screenshot(page, "studio-models")
    axe_check(page)

    page.locator(f'tr.version[data-key="{CIVIL}"][data-version="{latest}"] a[href$="/versions/{latest}"]').click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator('#modeler .djs-element[data-element-id="acceptance_decision"]')).to_have_count(1)
    screenshot(page, "studio-modeler")
    axe_check(page)

    # break it: the refusal flow's condition is no Python
    assert page.evaluate(SET_CONDITION, ["refuse", 'acceptance == ("refuse"']) == 'acceptance == ("refuse"'
    page.locator("#deploy").click()
    refused = page.locator('#deploy-result [data-outcome="refused"]')
    expect(refused).to_be_visible(timeout=20000)
    expect(refused).to_contain_text("未部署")
    expect(refused.locator('li[data-element-id="refuse"]')).to_have_count(1)
    # the problem is on its element: a marker and a note whose message shows on hover
    expect(page.locator('#modeler .djs-element.problem[data-element-id="refuse"]')).to_have_count(1)
    note = page.locator('#modeler .problem-note[data-element-id="refuse"]')
    expect(note).to_be_visible()
    note.hover()
    expect(note.locator(".problem-text")).to_be_visible()
    message = note.get_attribute("title")
    assert message and message in refused.locator('li[data-element-id="refuse"]').inner_text()
    screenshot(page, "studio-refused")
    axe_check(page)

    # fix it and deploy: the next version, with the forms of the version it came from
    page.evaluate(SET_CONDITION, ["refuse", 'acceptance == "refuse"'])
    page.locator("#deploy").click()
    deployed = page.locator('#deploy-result [data-outcome="deployed"]')
    expect(deployed).to_be_visible(timeout=20000)
    expect(deployed).to_contain_text(f"第 {latest + 1} 版已部署")
    expect(page.locator('#modeler .djs-element.problem')).to_have_count(0)
    expect(deployed.locator(".not-executable")).to_have_count(0)
    screenshot(page, "studio-deployed")

    deployed.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/studio/models/{CIVIL}/versions/{latest + 1}$"))
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    page.goto("/studio")
    row = page.locator(f'tr.version[data-key="{CIVIL}"][data-version="{latest + 1}"]')
    expect(row).to_have_attribute("data-executable", "true")
    expect(row).to_contain_text("designer1")


def test_a_new_model_that_cannot_run_is_stored_and_listed_as_not_executable(page, sign_in, screenshot, axe_check):
    key = f"doc_only_{uuid.uuid4().hex[:8]}"
    sign_in(page, "designer1")
    page.goto("/studio")
    page.locator("#new-model").click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator('#modeler .djs-element[data-element-id="start"]')).to_have_count(1)
    screenshot(page, "studio-new")
    axe_check(page)
    page.fill("#model-key", key)
    page.evaluate("""() => {
      const modeler = window.studioModeler;
      modeler.get('modeling').updateProperties(modeler.get('canvas').getRootElement(), { isExecutable: false });
    }""")
    page.locator("#deploy").click()
    deployed = page.locator('#deploy-result [data-outcome="deployed"]')
    expect(deployed).to_be_visible(timeout=20000)
    expect(deployed).to_contain_text("第 1 版已部署")
    expect(deployed.locator(".not-executable")).to_contain_text("不可运行")
    page.goto("/studio")
    row = page.locator(f'tr.version[data-key="{key}"][data-version="1"]')
    expect(row).to_have_attribute("data-executable", "false")
    expect(row).to_contain_text("不可运行")
    screenshot(page, "studio-models-not-executable")
    axe_check(page)
