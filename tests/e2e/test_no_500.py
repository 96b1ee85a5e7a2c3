"""Bad input on every endpoint of the OpenAPI document: a clear 4xx in the one error shape, never a 500.

The endpoints are read from the served OpenAPI document, so endpoints added later are
covered without touching this test.
"""
from __future__ import annotations

import re

import pytest

from tests.helpers import Api, demo_files, make_users

HOSTILE_BODIES = [
    ("malformed JSON", "{not json", "application/json"),
    ("JSON array", "[1, 2, 3]", "application/json"),
    ("JSON string", '"hello"', "application/json"),
    ("JSON null", "null", "application/json"),
    ("wrong types", '{"data": "not an object", "username": 5, "name": [], "score": "x", "payload": 1}', "application/json"),
    ("NUL in a string", '{"data": {"name": "a\\u0000b"}, "username": "x\\u0000"}', "application/json"),
    ("huge integer", '{"data": {}, "version": 99999999999999999999999, "score": 1e400}', "application/json"),
    ("deep nesting", "[" * 5000 + "]" * 5000, "application/json"),
    ("form instead of JSON", "a=1&b=2", "application/x-www-form-urlencoded"),
    ("XML entity bomb", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "application/xml"),
]
PATH_VALUES = ["999999999", "0", "-1", "99999999999999999999999", "abc", "%00", "..%2F..%2Fetc%2Fpasswd"]


def endpoints(spec):
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    client = Api(app.test_client())
    assert client.deploy("designer1", demo_files()).status_code == 201
    return client


def check(response, what):
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code >= 400 and response.mimetype == "application/json":
        body = response.get_json()
        assert {"code", "status", "message"} <= set(body), (what, body)
        assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("user", [None, "admin1", "auditor1", "civil9"])
def test_hostile_requests_never_500(api, user):
    spec = api.client.get("/api/openapi.json").get_json()
    for path, method in endpoints(spec):
        for value in PATH_VALUES:
            url = fill(path, value)
            if method == "get":
                check(api.get(url + "?limit=abc&cursor=%%%&scope=x&from=yesterday", user), (method, url))
            else:
                for name, body, content_type in HOSTILE_BODIES:
                    check(api.post(url, user, data=body, content_type=content_type) if method == "post"
                          else getattr(api.client, method)(url, data=body, content_type=content_type,
                                                           headers=api.headers(user)), (method, url, name))


def test_out_of_range_numbers_in_bodies_and_queries(api):
    r = api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}, "version": 10**30})
    check(r, "huge version")
    assert r.status_code == 422
    check(api.get(f"/api/cases?applicant_id={10**30}", "intake1"), "huge applicant id")
