"""camunda: attributes at deploy: which are honoured, which are named as not honoured (issue 12)."""
from __future__ import annotations

import pytest

from tests.unit.test_model_parsing import SPIFF, bpmn_doc, line_of
from workflows.camunda_dialect import _assignment
from workflows.model_parsing import parse_model_files

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def doc(task: str, extra_ns: str = "", extra_body: str = "") -> bytes:
    body = f"""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    {task}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />{extra_body}"""
    return bpmn_doc(body).replace(b"<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} {extra_ns} ".encode())


def props_of(parsed, element_id: str) -> dict:
    # (a multi-instance task's instances are what the worklists see)
    spec = next(s for s in parsed.spec.task_specs.values()
                if getattr(s, "bpmn_id", None) == element_id and "MultiInstance" not in type(s).__name__)
    return spec.extensions["properties"]


@pytest.mark.parametrize("attribute, value, props, noted", [
    ("candidateGroups", "intake, civil_affairs", {"candidate_groups": "intake,civil_affairs"}, False),
    ("candidateGroups", "intake,${dept}", {"candidate_groups": "intake"}, True),
    ("candidateUsers", "civil1", {"candidate_users": "civil1"}, False),
    ("assignee", "civil2", {"assignee": "civil2"}, False),
    ("assignee", "${initiator}", {}, True),
    ("dueDate", "2026-12-01", {"due_date": "2026-12-01"}, False),
    ("dueDate", "2026-12-01T17:00:00+08:00", {"due_date": "2026-12-01"}, False),
    ("dueDate", "${deliver_by}", {"due_date_field": "deliver_by"}, False),
    ("dueDate", "deliver_by", {"due_date_field": "deliver_by"}, False),
    ("dueDate", "${dateTime().plusDays(3)}", {}, True),
])
def test_assignment_attributes(attribute, value, props, noted):
    honoured, note = _assignment(attribute, value)
    assert honoured == props and bool(note) == noted


def test_a_camunda_model_gets_the_assignment_as_task_properties_and_names_the_rest():
    content = doc('<bpmn:userTask id="work" camunda:candidateGroups="civil_affairs" camunda:assignee="civil1" '
                  'camunda:priority="80" camunda:formKey="f" />')
    parsed = parse_model_files([("p.bpmn", content)])
    assert parsed.dialect == "camunda"
    assert props_of(parsed, "work") == {"candidate_groups": "civil_affairs", "assignee": "civil1"}
    named = sorted((w.element_id, w.message.split(" ")[0], w.line) for w in parsed.warnings)
    line = line_of(content, b'<bpmn:userTask id="work"')
    assert named == [("work", "camunda:formKey", line), ("work", "camunda:priority", line)]
    assert all(not w.blocking for w in parsed.warnings)


def test_a_model_with_spiffworkflow_extensions_keeps_redwalls_dialect_and_names_camundas():
    content = doc(
        '<bpmn:userTask id="work" camunda:candidateGroups="civil_affairs">\n'
        '      <bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="priority" value="70"/></spiffworkflow:properties></bpmn:extensionElements>\n'
        '      <bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item">\n'
        '        <bpmn:loopCardinality>2</bpmn:loopCardinality>\n'
        '      </bpmn:multiInstanceLoopCharacteristics>\n'
        '    </bpmn:userTask>',
        extra_ns=SPIFF,
    )
    parsed = parse_model_files([("p.bpmn", content)])
    assert parsed.dialect == "spiff"
    # assignment is honoured in either dialect, next to the spiffworkflow properties
    assert props_of(parsed, "work") == {"priority": "70", "candidate_groups": "civil_affairs"}
    named = {w.message.split(" ")[0]: w.message for w in parsed.warnings}
    assert set(named) == {"camunda:collection", "camunda:elementVariable"}
    assert "loopDataInputRef" in named["camunda:collection"]


def test_camunda_8_models_are_not_read_by_the_camunda_7_parser():
    content = doc('<bpmn:userTask id="work" camunda:candidateGroups="civil_affairs">'
                  '<bpmn:extensionElements><zeebe:assignmentDefinition assignee="x"/></bpmn:extensionElements>'
                  '</bpmn:userTask>', extra_ns='xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')
    parsed = parse_model_files([("p.bpmn", content)])
    assert parsed.dialect == "spiff"
    assert props_of(parsed, "work")["candidate_groups"] == "civil_affairs"


def test_a_task_with_camunda_candidates_is_not_warned_as_workable_by_nobody():
    parsed = parse_model_files([("p.bpmn", doc('<bpmn:userTask id="work" camunda:candidateUsers="civil1" />'))])
    assert [w for w in parsed.warnings if "is in no lane" in w.message] == []
    parsed = parse_model_files([("p.bpmn", doc('<bpmn:userTask id="work" />'))])
    assert [w.element_id for w in parsed.warnings if "is in no lane" in w.message] == ["work"]


def test_a_business_rule_task_names_its_decision_with_camunda_decision_ref():
    content = doc('<bpmn:businessRuleTask id="work" camunda:decisionRef="no_such_decision" />')
    from tests.unit.test_model_parsing import single_problem

    problem = single_problem([("p.bpmn", content)])
    assert problem.element_id == "work" and "'no_such_decision'" in problem.message
    problem = single_problem([("p.bpmn", doc('<bpmn:businessRuleTask id="work" camunda:asyncBefore="true" />'))])
    assert "camunda:decisionRef" in problem.message


def test_camunda_properties_are_properties_in_either_dialect():
    process_props = ('<bpmn:extensionElements><camunda:properties>'
                     '<camunda:property name="default_group" value="intake"/></camunda:properties></bpmn:extensionElements>')
    task = ('<bpmn:userTask id="work"><bpmn:extensionElements><camunda:properties>'
            '<camunda:property name="priority" value="90"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>')
    spiff = '<spiffworkflow:properties><spiffworkflow:property name="x" value="1"/></spiffworkflow:properties>'
    for extra_ns in ("", SPIFF):
        content = doc(task if not extra_ns else task.replace("</camunda:properties>", "</camunda:properties>" + spiff),
                      extra_ns=extra_ns)
        content = content.replace(b'isExecutable="true">', b'isExecutable="true">' + process_props.encode())
        parsed = parse_model_files([("p.bpmn", content)])
        assert parsed.dialect == ("spiff" if extra_ns else "camunda")
        assert props_of(parsed, "work") == ({"priority": "90", "x": "1"} if extra_ns else {"priority": "90"})
        assert parsed.lanes["work"] == "intake"  # the process's default group
        assert parsed.warnings == []
