"""Form schemas resolve ``$ref`` only inside the form (issue 10, item 7).

A form with ``"$ref": "http://…"`` made the server fetch the URL (no timeout) when a task was
completed, and ``file://…`` open a file; both then answered 500.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.e2e.test_api import assert_error_shape
from tests.helpers import Api, demo_files, make_users
from workflows import model_parsing


@pytest.fixture
def hits():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen, f"http://127.0.0.1:{server.server_port}/schema.json"
    server.shutdown()
    server.server_close()


def _files(ref: str):
    files = []
    for name, content in demo_files():
        if name == "accept_application.json":
            form = json.loads(content)
            form["properties"]["department"] = {"$ref": ref}
            form.setdefault("$defs", {})["department"] = {"type": "string"}
            content = json.dumps(form).encode()
        files.append((name, content))
    return files


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


@pytest.mark.parametrize("external", ["http", "file:///etc/passwd", "other.json#/x", "//example.org/x"])
def test_external_refs_are_refused_at_deploy(api, hits, external):
    seen, url = hits
    ref = url if external == "http" else external
    body = assert_error_shape(api.deploy("designer1", _files(ref)), 422)
    text = str(body["errors"])
    assert "accept_application.json" in text and "outside this file" in text
    assert seen == []


def test_refs_inside_the_form_work(api):
    assert api.deploy("designer1", _files("#/$defs/department")).status_code == 201
    case = api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}}).get_json()
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    r = api.post(f"/api/tasks/{task}/complete", "intake1", json={"data": {"acceptance": "accept", "department": 7}})
    assert r.status_code == 422 and "department" in r.get_json()["errors"]["data"]


def test_a_form_deployed_before_the_rule_fetches_nothing(api, hits, monkeypatch):
    seen, url = hits
    monkeypatch.setattr(model_parsing, "external_refs", lambda form: [])
    assert api.deploy("designer1", _files(url)).status_code == 201
    monkeypatch.undo()
    case = api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}}).get_json()
    task = case["tasks"][0]["id"]
    api.post(f"/api/tasks/{task}/claim", "intake1")
    r = api.post(f"/api/tasks/{task}/complete", "intake1",
                 json={"data": {"acceptance": "accept", "department": "civil_affairs"}})
    body = assert_error_shape(r, 422)
    assert "outside its model" in body["message"]
    assert seen == []
