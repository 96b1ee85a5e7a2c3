"""The studio's properties panel and form editor in Chromium: a designer sets a task's name, its
form (made in the form editor with the live preview) and the process's default group through the
panel, checks (检查) and deploys; a case of the new model puts the task in that group's inbox and
the clerk sees the form there. A connector, a working-days timer, a script and a condition set
through the panel deploy and run; a lane renamed to another group sends its task to that group;
two versions compared."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from server.demo import DEMO_PASSWORD
from workflows import accounts
from workflows.cases import start_case
from workflows.models import Timer

CIVIL = "civil_affairs_service"

DRAW = """([kinds]) => {
  // the structure is drawn through the modeler's API (the test is about the panel, not dragging)
  const m = window.studioModeler;
  const modeling = m.get('modeling'), shapes = m.get('elementFactory'), bpmn = m.get('bpmnFactory');
  const registry = m.get('elementRegistry');
  const root = m.get('canvas').getRootElement();
  let previous = registry.get('start');
  let x = 330;
  for (const [type, id, extra] of kinds) {
    const bo = bpmn.create(type, { id: id });
    if (extra === 'timer') { bo.eventDefinitions = [bpmn.create('bpmn:TimerEventDefinition')]; }
    const shape = modeling.createShape(shapes.createShape({ type: type, businessObject: bo }), { x: x, y: 178 }, root);
    modeling.connect(previous, shape);
    previous = shape;
    x += 150;
  }
  return registry.getAll().length;
}"""


def _actor(app, username):
    with app.app_context():
        ctx = app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            return accounts.authenticate(uow.session, username, DEMO_PASSWORD)


def _select(page, element_id: str):
    shape = page.locator(f'#modeler .djs-shape[data-element-id="{element_id}"]')
    if shape.count():
        shape.first.click()
    else:  # a flow: a one-pixel line Playwright does not count as visible; select it as a click would
        page.evaluate("""(id) => { const m = window.studioModeler;
            m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)
    expect(page.locator("#properties")).to_have_attribute("data-element-id", element_id)


def _set(page, selector: str, value: str):
    page.fill(selector, value)
    page.locator(selector).dispatch_event("change")


def test_a_designer_makes_a_task_with_a_form_through_the_panel_and_the_clerk_gets_it(
        page, live_server, sign_in, screenshot, axe_check):
    key = f"site_check_{uuid.uuid4().hex[:8]}"
    sign_in(page, "designer1")
    page.goto("/studio/new")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator("#properties")).to_have_attribute("data-ready", "true")
    page.evaluate(DRAW, [[["bpmn:UserTask", "site_check", None], ["bpmn:EndEvent", "done", None]]])

    # the task: its name and a new form, through the panel
    _select(page, "site_check")
    expect(page.locator('[data-section="human"]')).to_be_visible()
    _set(page, "#prop-name", "现场核查")
    page.locator("#prop-form-new").click()
    expect(page.locator("#form-file")).to_have_value("site_check.json")
    expect(page.locator("#prop-form")).to_have_value("site_check.json")

    # the form: two fields with Chinese titles and choice labels, the preview as on the task page
    page.fill("#field-name", "result")
    page.fill("#field-title", "核查结论")
    page.select_option("#field-type", "choice")
    page.fill("#field-choices", "pass 符合条件\nfail 不符合条件")
    page.check("#field-required")
    page.locator("#field-add").click()
    page.fill("#field-name", "visited_on")
    page.fill("#field-title", "核查日期")
    page.press("#field-title", "Enter")  # Enter in the editor keeps the page (and the work on it)
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    page.select_option("#field-type", "date")
    page.locator("#field-add").click()
    preview = page.locator("#form-preview-body")
    expect(preview).to_have_attribute("data-state", "ok", timeout=10000)
    expect(preview.locator('[data-field="result"]')).to_contain_text("核查结论")
    expect(preview.locator('[data-field="result"]')).to_contain_text("不符合条件")
    expect(preview.locator('[data-field="visited_on"] input[type="date"]')).to_have_count(1)
    good = page.input_value("#form-schema")
    # a malformed schema: a clear message in the editor, then fixed again
    page.fill("#form-schema", good[:-3])
    expect(preview).to_have_attribute("data-state", "invalid", timeout=10000)
    expect(page.locator("#form-preview-body")).to_contain_text("JSON")
    screenshot(page, "studio-form-invalid")
    page.fill("#form-schema", good.replace('"title": "现场核查"', '"title": "现场核查表"'))
    expect(page.locator("#form-preview-body")).to_have_attribute("data-state", "ok", timeout=10000)
    expect(page.locator("#form-preview-body h2")).to_have_text("现场核查表")
    screenshot(page, "studio-form-editor")

    # the process: its default group, through the panel (nothing selected shows the process)
    page.locator("#modeler .djs-element[data-element-id='site_check']").first.click()
    page.keyboard.press("Escape")
    page.evaluate("() => window.studioModeler.get('selection').select(null)")
    expect(page.locator('[data-section="process"]')).to_be_visible()
    _set(page, "#prop-default-group", "civil_affairs")
    page.fill("#model-key", key)
    page.locator("#check").click()
    checked = page.locator('#deploy-result [data-outcome="checked"]')
    expect(checked).to_be_visible(timeout=20000)
    expect(checked).to_contain_text("检查通过")
    screenshot(page, "studio-panel-checked")
    axe_check(page)
    page.locator("#deploy").click()
    expect(page.locator('#deploy-result [data-outcome="deployed"]')).to_be_visible(timeout=20000)

    # the deployed model runs: the task lands in civil_affairs' inbox with the form
    case = _start(live_server.app, key)
    page.context.clear_cookies()
    sign_in(page, "civil1")
    page.goto("/inbox")
    row = page.locator(f"#task-{case['tasks'][0]['id']}")
    expect(row).to_contain_text("现场核查")
    page.goto(f"/tasks/{case['tasks'][0]['id']}")
    page.locator("form[data-shortcut-form='c'] button").click()
    form = page.locator("#task-form")
    expect(form.locator("h2")).to_have_text("现场核查表")
    expect(form.locator('[data-field="result"]')).to_contain_text("核查结论")
    expect(form.locator('[data-field="result"]')).to_contain_text("符合条件")
    screenshot(page, "studio-form-on-task-page")


def _start(app, key, data=None):
    with app.app_context():
        ctx = app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            intake = accounts.authenticate(uow.session, "intake1", DEMO_PASSWORD)
        return start_case(ctx, intake, key, data or {"applicant_name": "王芳"})


def test_connector_timer_script_and_condition_through_the_panel_deploy_and_run(
        page, live_server, sign_in, screenshot, axe_check):
    key = f"wired_{uuid.uuid4().hex[:8]}"
    sign_in(page, "designer1")
    page.goto("/studio/new")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    page.evaluate(DRAW, [[["bpmn:ServiceTask", "call_echo", None], ["bpmn:ScriptTask", "note", None],
                          ["bpmn:ExclusiveGateway", "which", None],
                          ["bpmn:IntermediateCatchEvent", "wait_days", "timer"], ["bpmn:EndEvent", "done", None]]])

    _select(page, "call_echo")
    page.select_option("#prop-connector", "echo")
    _set(page, "#prop-result-variable", "echoed")
    _set(page, "#prop-parameters", "greeting = '你好'")

    _select(page, "wait_days")
    expect(page.locator('[data-section="timer"]')).to_be_visible()
    page.select_option("#prop-timer-kind", "workingDays")
    _set(page, "#prop-timer-value", "3")
    screenshot(page, "studio-panel-timer")
    flow = page.evaluate("""() => window.studioModeler.get('elementRegistry')
        .get('which').outgoing[0].id""")
    _select(page, flow)
    page.fill("#prop-condition", "checked")
    # a script with an error is caught as you type, on its element; fixed, it passes
    _select(page, "note")
    page.fill("#prop-script", "checked = (")
    problem = page.locator('#deploy-result [data-outcome="check-problems"] li[data-element-id="note"]')
    expect(problem).to_be_visible(timeout=20000)
    expect(page.locator('#modeler .djs-element.problem[data-element-id="note"]')).to_have_count(1)
    screenshot(page, "studio-panel-script-problem")
    page.fill("#prop-script", "checked = echoed['greeting'] == '你好'")
    expect(page.locator('#deploy-result [data-outcome="checked"]')).to_be_visible(timeout=20000)

    xml = page.evaluate("() => window.studioModeler.saveXML({ format: true }).then(r => r.xml)")
    assert '<spiffworkflow:serviceTaskOperator id="echo" resultVariable="echoed">' in xml
    assert '<spiffworkflow:parameter id="greeting"' in xml and "'你好'" in xml, xml[xml.find('<bpmn:serviceTask'):][:600]
    assert "<bpmn:timeDate" in xml and "working_days(3)</bpmn:timeDate>" in xml
    assert ">checked</bpmn:conditionExpression>" in xml

    page.fill("#model-key", key)
    page.locator("#deploy").click()
    deployed = page.locator('#deploy-result [data-outcome="deployed"]')
    expect(deployed).to_be_visible(timeout=20000)
    expect(deployed.locator(".not-executable")).to_have_count(0)

    # it runs: the connector answered, the script saw it, the case waits on a working-days timer
    case = _start(live_server.app, key)
    assert case["data"]["echoed"] == {"greeting": "你好"} and case["data"]["checked"] is True, case["data"]
    with live_server.app.app_context():
        ctx = live_server.app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            statuses = uow.session.scalars(select(Timer.status).where(Timer.case_id == case["id"])).all()
    assert "pending" in statuses, statuses


def test_a_lane_renamed_in_the_panel_sends_its_task_to_that_group_and_the_versions_compare(
        page, live_server, sign_in, screenshot, axe_check):
    sign_in(page, "designer1")
    page.goto("/studio")
    rows = page.locator(f'tr.version[data-key="{CIVIL}"]')
    latest = max(int(rows.nth(i).get_attribute("data-version")) for i in range(rows.count()))
    page.goto(f"/studio/models/{CIVIL}/versions/{latest}")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20000)
    # nothing selected: the process, with its lanes (the shipped model is laid out without lane shapes)
    expect(page.locator('[data-section="process"]')).to_be_visible()
    lane = page.locator('#prop-lane-list input[data-lane="intake"]')
    expect(lane).to_have_value("intake")
    _set(page, "#" + lane.get_attribute("id"), "social_security")
    expect(page.locator('#prop-lane-list input[data-lane="social_security"]')).to_have_value("social_security")
    # the form of the first task, as the panel shows it
    _select(page, "accept_application")
    expect(page.locator("#prop-form")).to_have_value("accept_application.json")
    screenshot(page, "studio-panel-task")
    axe_check(page)
    page.locator("#deploy").click()
    deployed = page.locator('#deploy-result [data-outcome="deployed"]')
    expect(deployed).to_contain_text(f"第 {latest + 1} 版已部署", timeout=20000)

    case = _start(live_server.app, CIVIL, {"applicant_name": "王芳", "time_limit_working_days": 3})
    [task] = case["tasks"]
    assert task["group"] == "social_security", task
    page.context.clear_cookies()
    sign_in(page, "social1")
    page.goto("/inbox")
    expect(page.locator(f"#task-{task['id']}")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, "designer1")
    page.goto(f"/studio/models/{CIVIL}/compare?from={latest}&to={latest + 1}")
    expect(page.locator("#removed")).to_contain_text("intake")
    expect(page.locator("#added")).to_contain_text("social_security")
    # and on the diagram: the tasks of the renamed lane are marked as changed
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true", timeout=20000)
    expect(page.locator('#diagram .djs-element.changed[data-element-id="accept_application"]')).to_have_count(1)
    screenshot(page, "studio-compare")
    axe_check(page)
