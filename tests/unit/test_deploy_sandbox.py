"""Deploy-time sandbox checks: scripts, conditions, timer expressions, multi-instance expressions
and DMN cells are refused at deploy with the rules the restricted engine applies at run time
(before, ``import os`` in a script deployed and failed mid-case as an incident)."""
from __future__ import annotations

import pytest

from tests.unit.test_model_parsing import (
    bpmn_doc, line_of, permit_files, problems_of, replaced, single_problem,
)
from workflows.model_parsing import parse_model_files
from workflows.scripting import RestrictedScriptEngine, ScriptRejected, check_source


def script_model(script: str) -> bytes:
    return bpmn_doc(f"""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
    <bpmn:scriptTask id="calc" name="Calculate">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end" />
    <bpmn:endEvent id="end" />""")


@pytest.mark.parametrize("script, rule", [
    ("import os", "imports are not allowed"),
    ("x = 1\nfrom os import path", "imports are not allowed"),
    ("y = ().__class__", "attributes starting with '_'"),
    ("data = open('/etc/passwd').read()", "calling 'open' is not allowed"),
    ("s = '{0.x}'.format(a)", "'.format' is not allowed"),
    ("total = 1\nclass A:\n  pass", "class definitions are not allowed"),
])
def test_a_script_the_sandbox_refuses_is_refused_at_deploy_with_its_line(script, rule):
    content = script_model(script)
    problem = single_problem([("p.bpmn", content)])
    assert problem.file == "p.bpmn" and problem.element_id == "calc"
    assert rule in problem.message and "sandbox" in problem.message
    # the very rule the run-time engine applies
    with pytest.raises(ScriptRejected) as caught:
        RestrictedScriptEngine().check_script(script)
    assert caught.value.reason in problem.message
    bad_line = script.splitlines()[caught.value.line - 1]
    assert problem.line == line_of(content, bad_line.encode())


def test_a_script_the_sandbox_accepts_deploys():
    parsed = parse_model_files([("p.bpmn", script_model("total = sum([1, 2, 3])\nlabel = f'{total}'"))])
    assert parsed.executable


def test_gateway_conditions_and_timer_expressions_are_checked_too():
    content = bpmn_doc("""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f3" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="wait">
      <bpmn:conditionExpression>amount.__class__ is int</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration>eval('"PT1H"')</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />""")
    problems = problems_of([("p.bpmn", content)])
    by_id = {p.element_id: p for p in problems}
    assert set(by_id) == {"f2", "wait"}, problems
    assert "attributes starting with '_'" in by_id["f2"].message
    assert by_id["f2"].line == line_of(content, b"amount.__class__")
    assert "calling 'eval' is not allowed" in by_id["wait"].message
    assert by_id["wait"].line == line_of(content, b"eval('")


def test_multi_instance_expressions_are_checked():
    content = bpmn_doc("""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each" />
    <bpmn:task id="each">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>len(globals())</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:task>
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end" />
    <bpmn:endEvent id="end" />""")
    problem = next(p for p in problems_of([("p.bpmn", content)]) if "sandbox" in p.message)
    assert problem.element_id == "each" and "globals" in problem.message
    assert problem.line == line_of(content, b"len(globals())")


def test_dmn_cells_are_checked_as_the_dmn_engine_evaluates_them():
    files = replaced(permit_files(), "permit_eligibility.dmn",
                     b"<text>&lt;= 1</text>", b"<text>&lt;= __import__('os').getpid()</text>")
    files = replaced(files, "permit_eligibility.dmn",
                     b'<outputEntry id="LiteralExpression_other"><text>False</text>',
                     b'<outputEntry id="LiteralExpression_other"><text>open("x")</text>')
    problems = [p for p in problems_of(files) if "sandbox" in p.message]
    dmn = dict(files)["permit_eligibility.dmn"]
    assert {(p.file, p.element_id, p.line) for p in problems} == {
        ("permit_eligibility.dmn", "UnaryTests_one_2", line_of(dmn, b"__import__")),
        ("permit_eligibility.dmn", "LiteralExpression_other", line_of(dmn, b'open("x")')),
    }
    # what the DMN engine would evaluate is what the sandbox refuses
    with pytest.raises(ScriptRejected):
        check_source("(vehicles) == (__import__('os').getpid())", "eval")


def test_every_blocker_comes_in_one_answer_with_the_sandbox_ones():
    content = bpmn_doc("""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a" />
    <bpmn:scriptTask id="a"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <bpmn:scriptTask id="b"><bpmn:script>x = (</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="nowhere" />
    <bpmn:endEvent id="end" />""")
    problems = problems_of([("p.bpmn", content)])
    assert {p.element_id for p in problems} >= {"a", "b", "f3"}
