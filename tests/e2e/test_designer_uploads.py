"""What designers upload, through the HTTP API: real MIWG diagrams and hostile files."""
from __future__ import annotations

import time

import pytest

from tests.conftest import SHARED
from tests.e2e.test_api import assert_error_shape
from tests.helpers import Api, make_users

MIWG = SHARED / "conformance" / "miwg"


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def miwg_files():
    return sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


@pytest.mark.skipif(not MIWG.is_dir(), reason=f"the MIWG reference models are not at {MIWG}")
def test_every_miwg_model_gets_201_or_a_precise_422(api):
    outcomes = {}
    for path in miwg_files():
        r = api.deploy("designer1", [(path.name, path.read_bytes())])
        assert r.status_code in (201, 422), (path.name, r.status_code, r.get_data(as_text=True)[:500])
        if r.status_code == 422:
            body = assert_error_shape(r, 422)
            problems = body["errors"]["bpmn"]
            assert problems, path.name
            for problem in problems:
                assert problem["file"] == path.name and problem["message"]
                assert set(problem) == {"file", "line", "element_id", "message"}
        outcomes[path.name] = r.status_code
    assert len(outcomes) == len(miwg_files()) >= 20


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</definitions>
"""


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("laughs.bpmn", BILLION_LAUGHS, "DOCTYPE"),
        ("big.bpmn", b"<a>" + b"x" * (5 * 1024 * 1024 + 10) + b"</a>", "5"),
        ("page.bpmn", b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "BPMN"),
        ("notes.txt", b"hello", ".txt"),
        ("form.json", b"[1, 2", "JSON"),
    ],
)
def test_hostile_and_wrong_files_are_422(api, name, content, needle):
    started = time.perf_counter()
    r = api.deploy("designer1", [(name, content)])
    assert time.perf_counter() - started < 2.0  # a safety bound against entity expansion, not a benchmark
    body = assert_error_shape(r, 422)
    assert needle.lower() in str(body["errors"]["bpmn"]).lower()


def test_semantic_error_names_file_line_and_element(api):
    bpmn = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <bpmn:exclusiveGateway id="g"/>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e">
      <bpmn:conditionExpression>amount &gt;&gt;= 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    body = assert_error_shape(api.deploy("designer1", [("p.bpmn", bpmn)]), 422)
    [problem] = [p for p in body["errors"]["bpmn"] if p["element_id"] == "f2"]
    assert problem["file"] == "p.bpmn" and problem["line"] == 7
