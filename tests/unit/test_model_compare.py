"""Comparing two versions of a model (workflows.model_compare): every aspect the studio's compare
page shows — lane, condition, script, timer, connector and its parameters, task form and its
content, form fields — found by element id; the diagram part is not compared."""
from __future__ import annotations

import json

from workflows.model_compare import compare_files

HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">')


def model(lane="intake", condition="ok", script="x = 1", timer="PT5M", connector="echo", param="'a'",
          form="task.json", x="100"):
    return (HEAD + f"""
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="{lane}"><bpmn:flowNodeRef>task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="task"/>
    <bpmn:userTask id="task" name="审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="g"/>
    <bpmn:exclusiveGateway id="g" default="f4"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="run"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="call"/>
    <bpmn:scriptTask id="run"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="call"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="{connector}" resultVariable="r"><spiffworkflow:parameters>
        <spiffworkflow:parameter id="p1" type="str" value="{param}"/></spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td"><bpmn:timeDuration>{timer}</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="{x}" y="100" width="36" height="36"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""").encode()


FORM = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "title": "甲"},
                                                             "b": {"type": "integer"}}}


def changes(old: bytes, new: bytes, old_forms=None, new_forms=None) -> dict:
    diff = compare_files([("p.bpmn", old)] + list((old_forms or {}).items()),
                         [("p.bpmn", new)] + list((new_forms or {}).items()))
    return {e["id"]: {c["aspect"]: (c["before"], c["after"]) for c in e["changes"]} for e in diff["changed"]}


def test_moving_the_diagram_is_no_change():
    diff = compare_files([("p.bpmn", model())], [("p.bpmn", model(x="400"))])
    assert diff["same"] and diff == {"added": [], "removed": [], "changed": [], "forms": [], "same": True}


def test_each_aspect_is_found_on_its_element():
    found = changes(model(), model(condition="not ok", script="x = 2", timer="working_days(3)", connector="sms",
                                   param="'b'", form="other.json"))
    assert found["f3"] == {"condition": ("ok", "not ok")}
    assert found["run"] == {"script": ("x = 1", "x = 2")}
    assert found["wait"] == {"timer timeDuration": ("PT5M", "working_days(3)")}
    assert found["call"] == {"connector": ("echo", "sms"), "parameter p1": ("'a'", "'b'")}
    assert found["task"] == {"property formJsonSchemaFilename": ("task.json", "other.json")}
    assert set(found) == {"f3", "run", "wait", "call", "task"}


def test_a_renamed_lane_is_removed_and_added_and_its_tasks_change_group():
    diff = compare_files([("p.bpmn", model())], [("p.bpmn", model(lane="civil_affairs"))])
    assert [e["id"] for e in diff["added"]] == ["civil_affairs"] and [e["id"] for e in diff["removed"]] == ["intake"]
    [task] = diff["changed"]
    assert task["id"] == "task" and task["changes"] == [{"aspect": "lane", "before": "intake", "after": "civil_affairs"}]


def test_forms_added_removed_and_changed_with_their_fields():
    changed = {**FORM, "properties": {"a": {"type": "string", "title": "乙"}, "c": {"type": "boolean"}}}
    diff = compare_files(
        [("p.bpmn", model()), ("task.json", json.dumps(FORM).encode()), ("gone.json", b"{}")],
        [("p.bpmn", model()), ("task.json", json.dumps(changed).encode()), ("new.json", json.dumps(FORM).encode())])
    forms = {f["file"]: f for f in diff["forms"]}
    assert forms["gone.json"]["status"] == "removed" and forms["new.json"]["status"] == "added"
    assert forms["new.json"]["fields_added"] == ["a", "b"]
    task = forms["task.json"]
    assert (task["status"], task["fields_added"], task["fields_removed"], task["fields_changed"]) == (
        "changed", ["c"], ["b"], ["a"])
    # the task whose form's content changed says so
    [element] = diff["changed"]
    assert element["id"] == "task" and element["changes"] == [
        {"aspect": "form content", "before": "task.json", "after": "task.json"}]


def test_unreadable_files_and_odd_forms_do_not_break_the_comparison():
    diff = compare_files([("p.bpmn", b"<not xml"), ("f.json", b"[1]")], [("p.bpmn", model()), ("f.json", b"{bad")])
    assert {e["id"] for e in diff["added"]} >= {"task", "f1", "intake"}
    assert diff["forms"][0]["file"] == "f.json" and diff["forms"][0]["status"] == "changed"
