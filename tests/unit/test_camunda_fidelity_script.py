"""``scripts/camunda_fidelity.py``: deploy a folder of models through Redwall, run each in Redwall
and in bare SpiffWorkflow with the same inputs, and say per model whether they end the same.

Run on our own Camunda-dialect models (tests/fixtures/bpmn/camunda) and on small models written
here; SpiffWorkflow's own test models are not in this repository (see the README for the tally).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.unit.test_camunda_fidelity import DATA, SCENARIOS
from workflows import fidelity

SCRIPT = Path(__file__).parents[2] / "scripts" / "camunda_fidelity.py"

CAMUNDA_DOC = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    {work}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def run(*args) -> list[dict]:
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {r["model"]: r for r in json.loads(done.stdout)}


def test_our_camunda_models_run_alike_in_redwall_and_spiffworkflow(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(DATA, folder)
    scenarios = {}
    for name in ("permit approved", "reminders then done", "signatures, subprocess, call activity"):
        names, key, steps = SCENARIOS[name]
        scenarios[names[0]] = {"key": key, "steps": [list(s) for s in steps]}
    (tmp_path / "scenarios.json").write_text(json.dumps(scenarios, ensure_ascii=False))

    results = run(folder, "--scenarios", tmp_path / "scenarios.json")

    assert sorted(results) == ["camunda_boundary.bpmn", "camunda_permit.bpmn", "camunda_subprocess_mi.bpmn"]
    for name, result in results.items():
        assert (result["outcome"], result["how"]) == ("same outcome", []), name
        assert result["completed"] and result["status"] == "concluded", name
    # the DMN of the folder is deployed with every model
    assert "permit_fee.dmn" in results["camunda_permit.bpmn"]["files"]
    permit = results["camunda_permit.bpmn"]["data"]
    assert (permit["fee"], permit["permit_no"], permit["paid"]) == (200, "P-京A12345", 200)


def test_refused_models_say_why_and_call_activities_bring_their_callee(tmp_path):
    (tmp_path / "parent.bpmn").write_text(CAMUNDA_DOC.format(
        pid="parent", work='<bpmn:callActivity id="work" calledElement="child" />'))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.bpmn").write_text(CAMUNDA_DOC.format(
        pid="child", work='<bpmn:userTask id="work" name="Check" camunda:candidateGroups="clerks" />'))
    (tmp_path / "hostile.bpmn").write_text(CAMUNDA_DOC.format(
        pid="hostile", work='<bpmn:scriptTask id="work"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'))
    (tmp_path / "orphan.bpmn").write_text(CAMUNDA_DOC.format(
        pid="orphan", work='<bpmn:callActivity id="work" calledElement="nowhere" />'))

    results = run(tmp_path)  # no scenarios: every offered task completed with empty data

    assert results["parent.bpmn"]["files"] == ["parent.bpmn", "child.bpmn"]
    assert results["parent.bpmn"]["outcome"] == "same outcome"
    assert results["parent.bpmn"]["offered"] == [["work"], []] and results["parent.bpmn"]["completed"]
    assert results["sub/child.bpmn"]["outcome"] == "same outcome"
    assert results["hostile.bpmn"]["outcome"] == "refused"
    assert "sandbox" in results["hostile.bpmn"]["why"][0] and "hostile.bpmn:" in results["hostile.bpmn"]["why"][0]
    assert results["orphan.bpmn"]["outcome"] == "refused"
    assert "'nowhere'" in results["orphan.bpmn"]["why"][0]


def test_the_text_report_has_one_line_per_model_and_a_count(tmp_path):
    (tmp_path / "a.bpmn").write_text(CAMUNDA_DOC.format(
        pid="a", work='<bpmn:userTask id="work" camunda:assignee="li" />'))
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["a.bpmn", "same", "outcome"]
    assert lines[-1] == "1 models: 1 same outcome"


def test_differences_are_said_in_words():
    same = fidelity.Run(offered=[["a"], []], completed=True, data={"x": 1})
    assert fidelity.differences(same, fidelity.Run(offered=[["a"], []], completed=True, data={"x": 1})) == []
    other = fidelity.Run(offered=[["a"], ["b"]], completed=False, data={"x": 2}, error=("b", "boom"))
    assert fidelity.differences(same, other) == [
        "tasks offered at step 1: SpiffWorkflow [], Redwall ['b']",
        "completed: SpiffWorkflow True, Redwall False",
        "error: SpiffWorkflow None, Redwall ('b', 'boom')",
        "end data differs in x",
    ]


def test_the_default_driver_stops_a_model_that_loops_on_empty_data():
    driver = fidelity.every_ready_task({"ask": [{"n": 1}, {"n": 2}]}, max_steps=3)
    assert [driver(["ask", "other"]) for _ in range(4)] == [
        ("task", "ask", {"n": 1}), ("task", "ask", {"n": 2}), ("task", "ask", {}), None]
    assert fidelity.every_ready_task()([]) is None
