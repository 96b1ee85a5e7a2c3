"""The designer's studio over HTTP: the models list with versions and case counts, the modeler
page, deploying an edited version or a new model as JSON, who may, and hostile input in words."""
from __future__ import annotations

import json

import pytest

from server.demo import model_files, model_folders
from tests.e2e.pages import Browser
from tests.helpers import make_users
from workflows.process_models import deploy_model

CIVIL = "civil_affairs_service"


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    [folder] = [f for f in model_folders() if f.name == CIVIL]
    deploy_model(ctx, actors["designer1"], model_files(folder))
    return actors


def _source(browser: Browser, key: str = CIVIL, version: int = 1) -> str:
    response = browser.get(f"/studio/models/{key}/versions/{version}/source")
    assert response.status_code == 200, browser.text(response)[:300]
    return response.get_json()["xml"]


def _post_json(browser: Browser, path: str, body, csrf: bool = True):
    headers = {"X-CSRFToken": browser.csrf} if csrf else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return browser.client.post(path, data=data, headers=headers, content_type="application/json")


def test_the_list_shows_versions_who_deployed_executable_and_running_cases(app, ctx, actors):
    browser = Browser(app)
    browser.sign_in("designer1")
    edited = _source(browser).replace('acceptance == "refuse"', 'acceptance == "refused"')
    assert _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": edited}).status_code == 201
    page = browser.text(browser.get("/studio"))
    assert f'data-key="{CIVIL}" data-version="2" data-executable="true"' in page
    assert f'data-key="{CIVIL}" data-version="1" data-executable="true"' in page
    assert "designer1" in page and "新建流程" in page


def test_running_cases_are_counted_per_version(app, ctx, actors):
    from workflows.process_models import model_catalogue

    [entry] = [m for m in model_catalogue(ctx, actors["designer1"]) if m["key"] == CIVIL]
    assert [(v["version"], v["running_cases"], v["cases"]) for v in entry["versions"]] == [(1, 0, 0)]
    with ctx.unit_of_work() as uow:
        from sqlalchemy import insert

        from workflows.models import Case, ProcessModel
        model_id = uow.session.query(ProcessModel.id).filter_by(key=CIVIL, version=1).scalar()
        tenant_id = uow.session.query(ProcessModel.tenant_id).filter_by(key=CIVIL, version=1).scalar()
        for status in ("open", "waiting_applicant", "concluded"):
            uow.session.execute(insert(Case).values(tenant_id=tenant_id, model_id=model_id, process_key=CIVIL,
                                                    model_version=1, status=status, data={}, state="{}"))
        uow.commit()
    [entry] = [m for m in model_catalogue(ctx, actors["designer1"]) if m["key"] == CIVIL]
    assert [(v["version"], v["running_cases"], v["cases"]) for v in entry["versions"]] == [(1, 2, 3)]
    # another tenant's designer sees none of it
    assert [m for m in model_catalogue(ctx, actors["designer9"]) if m["key"] == CIVIL] == []


def test_an_edited_version_is_refused_with_every_problem_then_deployed_with_its_forms(app, ctx, actors):
    browser = Browser(app)
    browser.sign_in("designer1")
    page = browser.get(f"/studio/models/{CIVIL}/versions/1")
    assert page.status_code == 200
    assert "bpmn-modeler.production.min.js" in browser.text(page) and "js/studio.js" in browser.text(page)
    assert "'unsafe-inline'" in page.headers["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    xml = _source(browser)
    broken = xml.replace('acceptance == "refuse"', 'acceptance == ("refuse"')
    refused = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": broken})
    assert refused.status_code == 422, browser.text(refused)[:500]
    body = refused.get_json()
    assert body["code"] == 422 and body["errors"]["bpmn"]
    assert any(p["element_id"] == "refuse" and p["line"] for p in body["errors"]["bpmn"]), body
    fixed = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy",
                       {"xml": xml.replace('acceptance == "refuse"', 'acceptance == "refuse" or False')})
    assert fixed.status_code == 201, browser.text(fixed)[:500]
    deployed = fixed.get_json()
    assert (deployed["version"], deployed["executable"], deployed["created"]) == (2, True, True)
    assert deployed["url"] == f"/studio/models/{CIVIL}/versions/2"
    from workflows.process_models import model_files as stored_files

    v1 = dict(stored_files(ctx, actors["designer1"], CIVIL, 1))
    v2 = dict(stored_files(ctx, actors["designer1"], CIVIL, 2))
    assert set(v1) == set(v2) and len(v2) > 1  # the forms went along
    assert all(v1[name] == v2[name] for name in v1 if name.endswith(".json"))
    assert b'acceptance == "refuse" or False' in v2[f"{CIVIL}.bpmn"]
    # the same content again is no new version
    again = _post_json(browser, f"/studio/models/{CIVIL}/versions/2/deploy", {"xml": v2[f"{CIVIL}.bpmn"].decode()})
    assert again.status_code == 200 and again.get_json()["version"] == 2


NOT_EXECUTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="doc_only" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""


def test_a_new_model_is_deployed_as_version_1_and_a_non_executable_one_is_listed_so(app, actors):
    browser = Browser(app)
    browser.sign_in("designer1")
    assert browser.get("/studio/new").status_code == 200
    created = _post_json(browser, "/studio/new/deploy", {"key": "doc_only", "xml": NOT_EXECUTABLE})
    assert created.status_code == 201, browser.text(created)[:500]
    assert (created.get_json()["version"], created.get_json()["executable"]) == (1, False)
    page = browser.text(browser.get("/studio"))
    assert 'data-key="doc_only" data-version="1" data-executable="false"' in page
    assert "不可运行" in page
    assert browser.get("/studio/models/doc_only/versions/1").status_code == 200


@pytest.mark.parametrize("username", ["intake1", "civil1", "super1", "auditor1"])
def test_only_designers_and_admins_enter_the_studio(app, actors, username):
    browser = Browser(app)
    browser.sign_in(username)
    for path in ("/studio", f"/studio/models/{CIVIL}/versions/1", f"/studio/models/{CIVIL}/versions/1/source",
                 "/studio/new"):
        assert browser.get(path).status_code == 403, (username, path)
    xml = NOT_EXECUTABLE
    assert _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": xml}).status_code == 403
    assert _post_json(browser, "/studio/new/deploy", {"key": "doc_only", "xml": xml}).status_code == 403


def test_admins_use_the_studio_and_strangers_are_sent_to_sign_in(app, actors):
    browser = Browser(app)
    browser.sign_in("admin1")
    assert browser.get("/studio").status_code == 200
    assert browser.get(f"/studio/models/{CIVIL}/versions/1").status_code == 200
    stranger = Browser(app)
    assert stranger.get("/studio").status_code == 302
    assert stranger.client.post("/studio/new/deploy", json={"key": "x", "xml": "<x/>"}).status_code in (302, 400)


def test_another_tenants_model_is_not_found(app, actors):
    browser = Browser(app)
    browser.sign_in("designer9")
    assert browser.get(f"/studio/models/{CIVIL}/versions/1").status_code == 404
    assert browser.get(f"/studio/models/{CIVIL}/versions/1/source").status_code == 404
    answer = _post_json(browser, f"/studio/models/{CIVIL}/versions/1/deploy", {"xml": NOT_EXECUTABLE})
    assert answer.status_code == 404 and answer.get_json()["code"] == 404


@pytest.mark.parametrize("body, needle", [
    ({"xml": "<bpmn:definitions"}, "xml"),
    ({"xml": "not xml at all"}, "xml"),
    ({"xml": ""}, "missing or empty"),
    ({"xml": 42}, "missing or empty"),
    ({}, "missing or empty"),
    ([1, 2], "missing or empty"),
    ("{not json", "missing or empty"),
    ({"xml": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'}, ""),
])
def test_hostile_diagrams_are_422_in_words(app, actors, body, needle):
    browser = Browser(app)
    browser.sign_in("designer1")
    browser.get("/studio")
    for path, extra in ((f"/studio/models/{CIVIL}/versions/1/deploy", {}), ("/studio/new/deploy", {"key": "k1"})):
        sent = {**body, **extra} if isinstance(body, dict) else body
        answer = _post_json(browser, path, sent)
        assert answer.status_code == 422, (path, browser.text(answer)[:300])
        error = answer.get_json()
        assert error["code"] == 422 and error["message"] and "Traceback" not in browser.text(answer)
        assert needle.lower() in json.dumps(error, ensure_ascii=False).lower(), error


def test_a_diagram_beyond_the_json_limit_is_413_in_the_error_shape(app, actors):
    browser = Browser(app)
    browser.sign_in("designer1")
    browser.get("/studio")
    huge = {"key": "k1", "xml": "<x>" + "a" * (2 * 1024 * 1024) + "</x>"}
    for path in (f"/studio/models/{CIVIL}/versions/1/deploy", "/studio/new/deploy"):
        answer = _post_json(browser, path, huge)
        assert answer.status_code == 413 and answer.get_json()["code"] == 413, browser.text(answer)[:200]


@pytest.mark.parametrize("key", ["", "1abc", "has space", "a:b", "x" * 101, None, 7])
def test_a_new_model_needs_a_valid_key(app, actors, key):
    browser = Browser(app)
    browser.sign_in("designer1")
    browser.get("/studio")
    answer = _post_json(browser, "/studio/new/deploy", {"key": key, "xml": NOT_EXECUTABLE})
    assert answer.status_code == 422 and answer.get_json()["errors"]["key"]


def test_deploying_needs_the_csrf_header(app, actors):
    browser = Browser(app)
    browser.sign_in("designer1")
    answer = _post_json(browser, "/studio/new/deploy", {"key": "doc_only", "xml": NOT_EXECUTABLE}, csrf=False)
    assert answer.status_code == 400


def test_warnings_come_back_to_the_page_with_the_stored_version(app, actors):
    from tests.unit.test_model_parsing import DI_AND_VENDOR

    browser = Browser(app)
    browser.sign_in("designer1")
    browser.get("/studio")
    answer = _post_json(browser, "/studio/new/deploy", {"key": "proc", "xml": DI_AND_VENDOR.decode()})
    assert answer.status_code == 201, browser.text(answer)[:300]
    body = answer.get_json()
    assert body["executable"] is True and len(body["warnings"]) >= 3
    assert all(w["file"] == "proc.bpmn" and w["line"] for w in body["warnings"])


def test_a_new_model_under_a_key_in_use_is_refused_and_the_model_keeps_its_forms(app, ctx, actors):
    from workflows.process_models import model_files as stored_files

    browser = Browser(app)
    browser.sign_in("designer1")
    browser.get("/studio")
    xml = NOT_EXECUTABLE.replace('id="doc_only"', f'id="{CIVIL}"')
    answer = _post_json(browser, "/studio/new/deploy", {"key": CIVIL, "xml": xml})
    assert answer.status_code == 409 and answer.get_json()["errors"]["key"], browser.text(answer)[:300]
    from workflows.process_models import model_versions

    assert len(stored_files(ctx, actors["designer1"], CIVIL, 1)) > 1
    assert [m["version"] for m in model_versions(ctx, actors["designer1"], CIVIL)] == [1]
