"""The studio's tools over HTTP: 检查 (the deploy validation without storing a version), the form
preview rendered as on the task page, forms edited or made in the studio deployed with the next
version, and the compare page; who may, another tenant's model, and bad input in words."""
from __future__ import annotations

import json

import pytest

from server.demo import model_files, model_folders
from tests.e2e.pages import Browser
from tests.helpers import make_users
from workflows.process_models import deploy_model, model_versions
from workflows.process_models import model_files as stored_files

CIVIL = "civil_affairs_service"
FORM = {
    "title": "现场核查",
    "type": "object",
    "required": ["result"],
    "properties": {
        "result": {"type": "string", "title": "核查结论", "enum": ["pass", "fail"],
                   "x-enum-labels": {"pass": "符合条件", "fail": "不符合条件"}},
        "visited_on": {"type": "string", "format": "date", "title": "核查日期"},
    },
}


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    [folder] = [f for f in model_folders() if f.name == CIVIL]
    deploy_model(ctx, actors["designer1"], model_files(folder))
    return actors


def _designer(app, username="designer1") -> Browser:
    browser = Browser(app)
    browser.sign_in(username)
    browser.get("/studio")
    return browser


def _source(browser: Browser, version: int = 1) -> dict:
    response = browser.get(f"/studio/models/{CIVIL}/versions/{version}/source")
    assert response.status_code == 200, browser.text(response)[:300]
    return response.get_json()


def _post_json(browser: Browser, path: str, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return browser.client.post(path, data=data, headers={"X-CSRFToken": browser.csrf}, content_type="application/json")


def _preview(browser: Browser, schema_text: str, name: str = "check.json"):
    return browser.client.post("/studio/form-preview", data={"name": name, "schema": schema_text},
                               headers={"X-CSRFToken": browser.csrf, "HX-Request": "true"})


# -- 检查 ---------------------------------------------------------------------------------------------
def test_check_lists_the_problems_a_deployment_would_and_stores_nothing(app, ctx, actors):
    browser = _designer(app)
    xml = _source(browser)["xml"]
    broken = xml.replace('acceptance == "refuse"', 'acceptance == ("refuse"')
    checked = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/check", {"xml": broken})
    assert checked.status_code == 200, browser.text(checked)[:300]
    body = checked.get_json()
    assert body["valid"] is False
    refused = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": broken})
    assert refused.status_code == 422
    # exactly the deploy validation: the same problems, on the same elements and lines
    assert body["problems"] == refused.get_json()["errors"]["bpmn"]
    assert any(p["element_id"] == "refuse" and p["line"] for p in body["problems"])
    good = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/check", {"xml": xml})
    assert good.status_code == 200 and good.get_json()["valid"] is True and good.get_json()["executable"] is True
    assert [m["version"] for m in model_versions(ctx, actors["designer1"], CIVIL)] == [1]


def test_check_sees_the_forms_edited_in_the_page(app, actors):
    browser = _designer(app)
    xml = _source(browser)["xml"]
    answer = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/check",
                        {"xml": xml, "forms": {"review.json": '{"type": "object", "properties": '}})
    body = answer.get_json()
    assert answer.status_code == 200 and body["valid"] is False
    assert any(p["file"] == "review.json" and "JSON" in p["message"] for p in body["problems"]), body


def test_check_of_a_new_model(app, actors):
    browser = _designer(app)
    from tests.e2e.test_studio_pages import NOT_EXECUTABLE

    answer = _post_json(browser, "/studio/new/check", {"key": "doc_only", "xml": NOT_EXECUTABLE})
    assert answer.status_code == 200 and answer.get_json() == {
        "valid": True, "key": "doc_only", "executable": False, "problems": [], "warnings": []}
    bad = _post_json(browser, "/studio/new/check", {"xml": "<bpmn:definitions"})
    assert bad.status_code == 200 and bad.get_json()["valid"] is False and bad.get_json()["problems"]


@pytest.mark.parametrize("body", [{"xml": ""}, {}, [1], "{nope", {"xml": "<x/>", "forms": ["a"]},
                                  {"xml": "<x/>", "forms": {"../etc.json": "{}"}},
                                  {"xml": "<x/>", "forms": {"a.json": 5}}])
def test_check_refuses_bad_input_in_words(app, actors, body):
    browser = _designer(app)
    for path in (f"/studio/models/{CIVIL}/versions/1/check", "/studio/new/check"):
        answer = _post_json(browser, path, body)
        assert answer.status_code == 422, (path, browser.text(answer)[:300])
        assert answer.get_json()["message"] and "Traceback" not in browser.text(answer)


# -- the form preview ---------------------------------------------------------------------------------
def test_the_preview_is_the_task_pages_form_with_chinese_titles_and_choice_labels(app, actors):
    browser = _designer(app)
    answer = _preview(browser, json.dumps(FORM, ensure_ascii=False))
    assert answer.status_code == 200
    html = browser.text(answer)
    assert 'data-state="ok"' in html
    for text in ("现场核查", "核查结论", "符合条件", "不符合条件", "核查日期", 'name="f.result"', 'type="date"'):
        assert text in html, text
    # the same template as the task page's form: the field macro's markup
    assert 'class="field" data-field="result"' in html and 'data-field="visited_on"' in html


@pytest.mark.parametrize("text, needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"type": "object", "properties": {"a": {"type": "nonsense"}}}', "JSON Schema"),
    ('{"type": "object", "properties": {"a": {"$ref": "http://evil.example/x"}}}', "outside this file"),
    ('{"type": "object", "properties": {"a": true, "b": {"type": "array", "items": true}}}', ""),
    ("", "JSON"),
])
def test_a_malformed_schema_gives_a_clear_message_never_a_500(app, actors, text, needle):
    browser = _designer(app)
    answer = _preview(browser, text)
    assert answer.status_code == 200, browser.text(answer)[:300]
    html = browser.text(answer)
    assert "Traceback" not in html
    if needle:
        assert 'data-state="invalid"' in html and needle in html, html[:500]


def test_a_preview_with_a_bad_file_name_says_so(app, actors):
    browser = _designer(app)
    html = browser.text(_preview(browser, json.dumps(FORM), name="../x.json"))
    assert 'data-state="invalid"' in html and ".json" in html


# -- forms made in the studio go with the deployment ----------------------------------------------------
def test_a_new_form_attached_to_a_task_is_deployed_as_part_of_the_next_version(app, ctx, actors):
    browser = _designer(app)
    source = _source(browser)
    assert "review.json" in source["forms"] and json.loads(source["forms"]["review.json"])
    xml = source["xml"].replace('value="review.json"', 'value="site_check.json"', 1)
    assert xml != source["xml"]
    form_text = json.dumps(FORM, ensure_ascii=False)
    edited_review = json.dumps({**json.loads(source["forms"]["review.json"]), "title": "审核（新）"}, ensure_ascii=False)
    answer = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy",
                        {"xml": xml, "forms": {"site_check.json": form_text, "review.json": edited_review}})
    assert answer.status_code == 201, browser.text(answer)[:500]
    v2 = dict(stored_files(ctx, actors["designer1"], CIVIL, 2))
    assert json.loads(v2["site_check.json"]) == FORM
    assert json.loads(v2["review.json"])["title"] == "审核（新）"
    v1 = dict(stored_files(ctx, actors["designer1"], CIVIL, 1))
    assert json.loads(v1["review.json"])["title"] != "审核（新）"  # version 1 is untouched


def test_a_broken_form_refuses_the_deployment_and_a_bad_name_is_422(app, ctx, actors):
    browser = _designer(app)
    xml = _source(browser)["xml"]
    broken = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy",
                        {"xml": xml, "forms": {"site_check.json": '{"type": 5}'}})
    assert broken.status_code == 422
    assert any(p["file"] == "site_check.json" for p in broken.get_json()["errors"]["bpmn"])
    for name in ("x.bpmn", "../a.json", "a b.json", f"{CIVIL}.bpmn"):
        answer = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": xml, "forms": {name: "{}"}})
        assert answer.status_code == 422 and answer.get_json()["errors"]["forms"], name
    assert [m["version"] for m in model_versions(ctx, actors["designer1"], CIVIL)] == [1]


# -- compare --------------------------------------------------------------------------------------------
def test_compare_lists_elements_added_removed_and_changed_and_forms(app, ctx, actors):
    browser = _designer(app)
    source = _source(browser)
    xml = source["xml"]
    xml = xml.replace('acceptance == "refuse"', 'acceptance == "refused"')  # a condition changed
    xml = xml.replace('name="Accept application 受理"', 'name="受理申请"')  # a name changed
    # a task removed (and its flows re-routed), a task added
    assert '<bpmn:scriptTask id="record_refusal"' in xml
    deployed = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {
        "xml": xml, "forms": {"review.json": json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
                              "site_check.json": json.dumps(FORM)}})
    assert deployed.status_code == 201, browser.text(deployed)[:500]
    page = browser.get(f"/studio/models/{CIVIL}/compare?from=1&to=2")
    assert page.status_code == 200
    html = browser.text(page)
    assert 'tbody data-element-id="refuse"' in html and "acceptance == &#34;refused&#34;" in html
    assert 'tbody data-element-id="accept_application"' in html and "受理申请" in html
    assert 'data-form="site_check.json"' in html and 'data-form="review.json"' in html
    same = browser.text(browser.get(f"/studio/models/{CIVIL}/compare?from=1&to=1"))
    assert 'id="compare-same"' in same
    # default: the latest against the one before it
    assert 'tbody data-element-id="refuse"' in browser.text(browser.get(f"/studio/models/{CIVIL}/compare"))


def test_compare_finds_added_and_removed_elements():
    from workflows.model_compare import compare_files

    old = b"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:userTask id="a" name="A"/>
      <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/></bpmn:process></bpmn:definitions>"""
    new = old.replace(b'<bpmn:userTask id="a" name="A"/>', b'<bpmn:manualTask id="b" name="B"/>').replace(
        b'targetRef="a"', b'targetRef="b"')
    diff = compare_files([("p.bpmn", old)], [("p.bpmn", new)])
    assert [e["id"] for e in diff["added"]] == ["b"] and [e["id"] for e in diff["removed"]] == ["a"]
    [flow] = diff["changed"]
    assert flow["id"] == "f1" and flow["changes"] == [{"aspect": "@targetRef", "before": "a", "after": "b"}]
    assert not diff["same"] and compare_files([("p.bpmn", old)], [("p.bpmn", old)])["same"]


@pytest.mark.parametrize("query, status", [("?from=1&to=9", 404), ("?from=x", 422), ("?to=-1", 404)])
def test_compare_refuses_unknown_versions_in_words(app, actors, query, status):
    browser = _designer(app)
    answer = browser.get(f"/studio/models/{CIVIL}/compare{query}")
    assert answer.status_code == status and "Traceback" not in browser.text(answer)


# -- who may --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["intake1", "civil1", "super1", "auditor1"])
def test_only_designers_and_admins_use_the_tools(app, actors, username):
    browser = _designer(app, username)
    assert browser.get(f"/studio/models/{CIVIL}/compare").status_code == 403
    assert _preview(browser, json.dumps(FORM)).status_code == 403
    from tests.e2e.test_studio_pages import NOT_EXECUTABLE

    assert _post_json(browser, f"/studio/models/{CIVIL}/versions/1/check", {"xml": NOT_EXECUTABLE}).status_code == 403
    assert _post_json(browser, "/studio/new/check", {"xml": NOT_EXECUTABLE}).status_code == 403


def test_another_tenants_model_is_not_found_by_the_tools(app, actors):
    browser = _designer(app, "designer9")
    from tests.e2e.test_studio_pages import NOT_EXECUTABLE

    assert browser.get(f"/studio/models/{CIVIL}/compare").status_code == 404
    assert browser.get(f"/studio/models/{CIVIL}/compare?from=1&to=1").status_code == 404
    answer = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/check", {"xml": NOT_EXECUTABLE})
    assert answer.status_code == 404 and answer.get_json()["code"] == 404


def test_the_tools_need_the_csrf_token(app, actors):
    browser = _designer(app)
    answer = browser.client.post("/studio/form-preview", data={"schema": "{}"})
    assert answer.status_code == 400
    answer = browser.client.post(f"/studio/models/{CIVIL}/versions/1/check", json={"xml": "<x/>"})
    assert answer.status_code == 400


def test_the_modeler_page_offers_the_panel_connectors_groups_and_the_form_editor(app, actors):
    browser = _designer(app)
    html = browser.text(browser.get(f"/studio/models/{CIVIL}/versions/1"))
    for needle in ('id="properties"', 'id="prop-connector"', '<option value="echo">echo</option>',
                   '<option value="civil_affairs">', 'id="form-editor"', 'hx-post="/studio/form-preview"',
                   'id="check"', "js/studio_panel.js", "工作日"):
        assert needle in html, needle
