"""``bench/bpmn_tally.py``: the tally of what deploy makes of a folder of BPMN files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_model_parsing import BLACK_BOX_ONLY, DI_AND_VENDOR, MIWG, SIMPLE_BODY, bpmn_doc

SCRIPT = Path(__file__).parents[2] / "bench" / "bpmn_tally.py"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_tally_of_a_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.bpmn").write_bytes(bpmn_doc(SIMPLE_BODY))
    (tmp_path / "sub" / "flowable.bpmn20.xml").write_bytes(DI_AND_VENDOR)
    (tmp_path / "pools.bpmn").write_bytes(BLACK_BOX_ONLY)
    (tmp_path / "juel.bpmn").write_bytes(
        bpmn_doc(SIMPLE_BODY.replace('targetRef="end" />', 'targetRef="end"><bpmn:conditionExpression>${x}'
                                     "</bpmn:conditionExpression></bpmn:sequenceFlow>"))
    )
    (tmp_path / "broken.bpmn").write_bytes(b"<oops")
    (tmp_path / "notes.txt").write_text("not a model")
    done = run(tmp_path, "--json", "--list")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["files"], result["stored executable"], result["stored not executable"], result["refused"]) == (5, 2, 1, 2)
    assert result["stored with warnings"] == 2  # flowable (schema, lane), ok.bpmn (a user task in no lane)
    assert result["refused by reason"] == {
        "condition or script in JUEL (Camunda 7)": 1,
        "not well-formed or not BPMN XML": 1,
    }
    assert result["outcomes"]["sub/flowable.bpmn20.xml"]["outcome"] == "stored executable"

    text = run(tmp_path, "--list")
    assert text.returncode == 0 and "stored not executable       1" in text.stdout and "juel.bpmn" in text.stdout


def test_not_a_folder_is_a_usage_error(tmp_path):
    done = run(tmp_path / "missing")
    assert done.returncode == 2 and "is not a folder" in done.stderr


@pytest.mark.skipif(not MIWG.is_dir(), reason="MIWG reference models not present")
def test_tally_of_the_miwg_reference_models_is_the_one_in_the_readme():
    result = json.loads(run(MIWG, "--json").stdout)
    assert (result["files"], result["stored executable"], result["stored not executable"], result["refused"]) == (21, 1, 10, 10)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for reason, n in result["refused by reason"].items():
        assert f"| {n} | {reason} |" in readme
