"""A case saved in the middle of a multi-instance loop goes on when loaded on a model parsed afresh.

SpiffWorkflow connects a loop task to its instances' completion on the spec when the first
instance is made, and that is not saved with a case: before, a sequential loop loaded by another
worker (or after a restart) waited for ever after its first instance (found with issue 12)."""
from __future__ import annotations

import pytest

from tests.unit.test_model_parsing import bpmn_doc
from workflows.engine import CaseEngine, ModelRuntime
from workflows.model_parsing import parse_model_files
from workflows.scripting import RestrictedScriptEngine

MODEL = bpmn_doc("""\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
    <bpmn:userTask id="sign" name="Sign">
      <bpmn:multiInstanceLoopCharacteristics isSequential="SEQUENTIAL">
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="file" />
    <bpmn:userTask id="file" name="File" />
    <bpmn:sequenceFlow id="f3" sourceRef="file" targetRef="end" />
    <bpmn:endEvent id="end" />""")


def fresh_runtime(sequential: bool) -> ModelRuntime:
    content = MODEL.replace(b"SEQUENTIAL", b"true" if sequential else b"false")
    parsed = parse_model_files([("sign.bpmn", content)])
    return ModelRuntime(1, parsed.key, parsed.spec, parsed.subprocess_specs, parsed.lanes, parsed.forms)


@pytest.mark.parametrize("sequential", [True, False])
def test_a_loop_goes_on_after_the_case_is_loaded_on_a_fresh_parse(sequential):
    engine = CaseEngine(RestrictedScriptEngine())
    _, outcome = engine.start(fresh_runtime(sequential))
    offered = []
    while outcome.ready:
        offered.append(sorted(t.element_id for t in outcome.ready))
        runtime = fresh_runtime(sequential)  # another worker: the model parsed again
        workflow = engine.load(runtime, outcome.state)
        outcome = engine.complete_task(runtime, workflow, outcome.ready[0].spiff_id, {})
    expected = [["sign"]] * 3 if sequential else [["sign"] * 3, ["sign"] * 2, ["sign"]]
    assert offered == [*expected, ["file"]]
    assert outcome.status == "concluded"
