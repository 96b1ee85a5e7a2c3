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
    from tests.unit.test_model_parsing import MIWG_EXPECTED

    outcomes = {}
    for path in miwg_files():
        expected = MIWG_EXPECTED[path.name]
        r = api.deploy("designer1", [(path.name, path.read_bytes())])
        assert r.status_code in (201, 422), (path.name, r.status_code, r.get_data(as_text=True)[:500])
        if r.status_code == 422:
            body = assert_error_shape(r, 422)
            problems = body["errors"]["bpmn"]
            assert problems, path.name
            for problem in problems:
                assert problem["file"] == path.name and problem["message"]
                assert set(problem) == {"file", "line", "element_id", "message"}
            assert sorted(p["line"] for p in problems) == expected[1], path.name
        else:
            body = r.get_json()
            assert (body["executable"], body["key"]) == expected[1:], path.name
            xml = api.get(f"/api/process-models/{body['key']}/versions/{body['version']}/xml", "designer1")
            assert xml.status_code == 200 and xml.data == path.read_bytes()
        outcomes[path.name] = (r.status_code, r.status_code == 201 and r.get_json()["executable"])
    tally = {o: sum(1 for v in outcomes.values() if v == o) for o in set(outcomes.values())}
    assert tally == {(201, True): 1, (201, False): 10, (422, False): 10}


NOT_EXECUTABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="leave_request" name="Leave request (documentation)" isExecutable="false">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <bpmn:userTask id="t1" name="Approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_model_that_cannot_run_is_stored_viewable_and_refuses_to_start(api):
    r = api.deploy("designer1", [("leave.bpmn", NOT_EXECUTABLE)])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["key"], body["version"], body["executable"], body["warnings"]) == ("leave_request", 1, False, [])
    assert body["name"] == "Leave request (documentation)"
    [listed] = [m for m in api.get("/api/process-models", "designer1").get_json()["items"] if m["key"] == "leave_request"]
    assert listed["executable"] is False
    assert api.get("/api/process-models/leave_request", "designer1").get_json()["items"][0]["executable"] is False
    xml = api.get("/api/process-models/leave_request/versions/1/xml", "designer1")
    assert xml.status_code == 200 and xml.data == NOT_EXECUTABLE

    started = api.post("/api/process-models/leave_request/instances", "admin1", json={"data": {}})
    error = assert_error_shape(started, 409)
    assert "not executable" in error["message"] and "isExecutable" in error["message"]

    # The same content again: the same version, still not executable.
    again = api.deploy("designer1", [("leave.bpmn", NOT_EXECUTABLE)])
    assert again.status_code == 200 and again.get_json()["executable"] is False

    # Made executable, it is version 2 and starts; version 1 still refuses and names version 2.
    runnable = NOT_EXECUTABLE.replace(b'isExecutable="false"', b'isExecutable="true"')
    v2 = api.deploy("designer1", [("leave.bpmn", runnable)])
    assert v2.status_code == 201 and (v2.get_json()["version"], v2.get_json()["executable"]) == (2, True)
    assert api.post("/api/process-models/leave_request/instances", "admin1", json={"data": {}}).status_code == 201
    old = api.post("/api/process-models/leave_request/instances", "admin1", json={"data": {}, "version": 1})
    assert "version 2 is executable" in assert_error_shape(old, 409)["message"]


def test_every_blocker_of_every_file_in_one_422(api):
    schema_broken = NOT_EXECUTABLE.replace(b'isExecutable="false"', b'isExecutable="true"').replace(
        b'<bpmn:userTask id="t1" name="Approve"/>', b'<bpmn:userTask id="t1" colour="red"/>'
    ).replace(b'targetRef="e"/>', b'targetRef="e"><bpmn:conditionExpression>${ok}</bpmn:conditionExpression></bpmn:sequenceFlow>')
    timer = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
  <bpmn:process id="other" isExecutable="true">
    <bpmn:startEvent id="s2"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>5 minutes</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="e2"/>
    <bpmn:endEvent id="e2"/>
  </bpmn:process>
</bpmn:definitions>
"""
    r = api.deploy("designer1", [("a.bpmn", schema_broken), ("b.bpmn", timer)], key="leave_request")
    problems = assert_error_shape(r, 422)["errors"]["bpmn"]
    found = {(p["file"], p["element_id"], p["line"]) for p in problems}
    assert found == {("a.bpmn", "t1", 6), ("a.bpmn", "f2", 7), ("b.bpmn", "s2", 5)}, problems


def test_diagram_violations_come_back_as_warnings(api):
    from tests.unit.test_model_parsing import DI_AND_VENDOR

    r = api.deploy("designer1", [("di.bpmn20.xml", DI_AND_VENDOR)])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["executable"] is True and len(body["warnings"]) >= 3
    for warning in body["warnings"]:
        assert set(warning) == {"file", "line", "element_id", "message"} and warning["file"] == "di.bpmn20.xml"
    xml = api.get(f"/api/process-models/proc/versions/{body['version']}/xml", "designer1")
    assert xml.status_code == 200 and xml.data == DI_AND_VENDOR
    assert "di.bpmn20.xml" in xml.headers["Content-Disposition"]


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


def laneless_model(key: str, default_group: str | None = None) -> bytes:
    properties = (
        '<bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="default_group" value="{default_group}"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        if default_group else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="{key}" name="Lane-less" isExecutable="true">
    {properties}
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_user_task_in_no_lane_is_warned_at_deploy_and_assigned_by_a_supervisor(api):
    r = api.deploy("designer1", [("laneless.bpmn", laneless_model("laneless"))])
    assert r.status_code == 201, r.get_json()
    [warning] = r.get_json()["warnings"]
    assert (warning["file"], warning["element_id"], warning["line"]) == ("laneless.bpmn", "approve", 8)
    assert "no lane" in warning["message"] and "default_group" in warning["message"]
    case = api.post("/api/process-models/laneless/instances", "intake1", json={"data": {}}).get_json()
    [task] = case["tasks"]
    assert task["group"] is None
    # nobody's group: not claimable, not in a group queue; the admin sees it
    assert_error_shape(api.post(f"/api/tasks/{task['id']}/claim", "intake1"), 404)
    assert api.get("/api/tasks?scope=group", "intake1").get_json()["items"] == []
    assert [t["id"] for t in api.get("/api/tasks", "admin1").get_json()["items"]] == [task["id"]]
    # a supervisor (of any group) gives it to a clerk of any department, who completes it
    assert_error_shape(api.post(f"/api/tasks/{task['id']}/assign", "super1", json={"username": "auditor1"}), 422)
    r = api.post(f"/api/tasks/{task['id']}/assign", "super1", json={"username": "intake1"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "intake1", r.get_json()
    done = api.post(f"/api/tasks/{task['id']}/complete", "intake1", json={"data": {}})
    assert done.status_code == 200, done.get_json()
    assert api.get(f"/api/cases/{case['id']}", "intake1").get_json()["status"] == "concluded"


def test_the_default_group_process_property_routes_tasks_in_no_lane(api):
    r = api.deploy("designer1", [("grouped.bpmn", laneless_model("grouped", default_group="intake"))])
    assert r.status_code == 201 and r.get_json()["warnings"] == [], r.get_json()
    case = api.post("/api/process-models/grouped/instances", "intake1", json={"data": {}}).get_json()
    [task] = case["tasks"]
    assert task["group"] == "intake"
    assert [t["id"] for t in api.get("/api/tasks?scope=group", "intake1").get_json()["items"]] == [task["id"]]
    assert api.post(f"/api/tasks/{task['id']}/claim", "intake1").status_code == 200


SANDBOX_BREAKER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="sandbox_breaker" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
    <bpmn:scriptTask id="calc">
      <bpmn:script>fee = 10
import os</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="f4"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="e">
      <bpmn:conditionExpression>fee.__class__ == int</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="missing"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_script_the_sandbox_refuses_is_a_deploy_blocker_next_to_the_others(api, ctx):
    from tests.helpers import PASSWORD
    from workflows import accounts
    from workflows.process_models import check_model

    r = api.deploy("designer1", [("breaker.bpmn", SANDBOX_BREAKER)])
    body = assert_error_shape(r, 422)
    problems = {p["element_id"]: p for p in body["errors"]["bpmn"]}
    assert set(problems) == {"calc", "f3", "f4"}, problems
    assert "imports are not allowed" in problems["calc"]["message"]
    assert problems["calc"]["line"] == line_in(SANDBOX_BREAKER, b"import os")  # the import, not the task
    assert "'_'" in problems["f3"]["message"] and problems["f3"]["line"] == line_in(SANDBOX_BREAKER, b"fee.__class__")
    assert api.get("/api/process-models/sandbox_breaker", "designer1").status_code == 404  # nothing stored

    # the studio's check: the same answer, nothing stored either
    with ctx.unit_of_work() as uow:
        designer = accounts.authenticate(uow.session, "designer1", PASSWORD)
    checked = check_model(designer, [("breaker.bpmn", SANDBOX_BREAKER)])
    assert checked["valid"] is False and checked["problems"] == body["errors"]["bpmn"]
    fixed = SANDBOX_BREAKER.replace(b"import os", b"fee += 1").replace(b"fee.__class__ == int", b"fee > 5")
    fixed = fixed.replace(b'targetRef="missing"', b'targetRef="e"')
    assert check_model(designer, [("breaker.bpmn", fixed)]) == {
        "valid": True, "key": "sandbox_breaker", "executable": True, "problems": [], "warnings": [],
    }
    assert api.get("/api/process-models/sandbox_breaker", "designer1").status_code == 404


def line_in(content: bytes, needle: bytes) -> int:
    return content[: content.index(needle)].count(b"\n") + 1
