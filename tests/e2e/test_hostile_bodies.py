"""Bad and big request bodies get a 4xx in the error shape (issue 10, items 9 and 10)."""
from __future__ import annotations

import pytest

from tests.helpers import Api, demo_files, make_users
from workflows.process_models import deploy_model

URL = "/api/process-models/service_application/instances"


@pytest.fixture
def api(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    return Api(app.test_client())


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) >= {"code", "status", "message"} and body["code"] == status
    assert len(response.get_data()) < 5000  # nothing big is echoed
    return body


def _cases(api):
    return api.get("/api/cases", "admin1").get_json()["items"]


@pytest.mark.parametrize("kwargs, status", [
    ({}, 415),  # no body at all
    ({"data": '{"data": {}}', "content_type": "text/plain"}, 415),
    ({"data": "", "content_type": "application/json"}, 400),
    ({"data": "[" * 1000 + "]" * 1000, "content_type": "application/json"}, 400),
    ({"data": '{"data": ' + '{"a": ' * 1200 + "1" + "}" * 1200 + "}", "content_type": "application/json"}, 400),
    ({"data": '{"data": {"a": [[[' + "[" * 70 + "]" * 70 + ']]]}}', "content_type": "application/json"}, 400),
    ({"data": '{"data": {"note": "\\ud800"}}', "content_type": "application/json"}, 400),
    ({"data": '{"data": {"n": ' + "9" * 4400 + "}}", "content_type": "application/json"}, 400),
    ({"data": '{"data": {"n": ' + "9" * 200 + "}}", "content_type": "application/json"}, 400),
    ({"data": b'{"data": {"x": "\xff"}}', "content_type": "application/json"}, 400),
])
def test_bad_bodies_start_nothing(api, kwargs, status):
    _error(api.post(URL, "intake1", **kwargs), status)
    assert _cases(api) == []  # no case, not even an empty one


def test_json_bodies_over_one_mebibyte_are_refused_before_reading(api):
    big = '{"data": {"x": "' + "a" * (1024 * 1024) + '"}}'
    body = _error(api.post(URL, "intake1", data=big, content_type="application/json"), 413)
    assert "1,048,576" in body["message"]
    assert _cases(api) == []


def test_case_data_is_bounded_and_big_values_are_not_echoed(api):
    value = "a" * (300 * 1024)  # under the body limit, over the case data limit
    body = _error(api.post(URL, "intake1", json={"data": {"x": value}}), 422)
    assert "262,144" in body["message"]
    assert _cases(api) == []
    # a form value much too long for its field: the 422 names it without repeating it
    case = api.post(URL, "intake1", json={"data": {}}).get_json()
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    response = api.post(f"/api/tasks/{task}/complete", "intake1",
                        json={"data": {"acceptance": "b" * 200_000, "department": "civil_affairs"}})
    _error(response, 422)


def test_multipart_uploads_have_their_own_limit(api, app):
    files = [("big.bpmn", b"<x/>" + b" " * (17 * 1024 * 1024))]
    _error(api.deploy("designer1", files), 413)
