"""Unit tests of ``workflows.model_parsing``: uploads in, specs or located problems out.

No database, no Flask. Fixtures live in ``tests/fixtures/bpmn/parsing/``; small broken
documents are written inline, next to the test that needs them.

MIWG reference models
---------------------
``test_miwg_reference_model`` feeds each of the 21 BPMN MIWG reference models
(``../shared/conformance/miwg``, absent from a user's fresh clone: then skipped) to
:func:`parse_model_files` on its own. They are interchange tests for modelers, mostly not
executable processes: those are stored as non-executable versions (to be viewed and edited);
the rest are refused with every blocker in one answer, each with file, line, element id and
message (``python bench/bpmn_tally.py ../shared/conformance/miwg`` prints the same):

========  ==================  ================================================================
File      Outcome             Why (every blocker reported)
========  ==================  ================================================================
A.1.0     stored, not exec.   every process isExecutable="false"
A.2.0     stored, not exec.   isExecutable="false"
A.2.1     stored, not exec.   isExecutable="false"
A.3.0     stored, not exec.   isExecutable="false"
A.4.0     stored, not exec.   isExecutable="false"
A.4.1     stored, not exec.   isExecutable="false"
B.1.0     stored, not exec.   isExecutable="false" (its data store does not matter then)
B.2.0     stored, not exec.   isExecutable="false" (its data store does not matter then)
C.1.0     refused (5)         four JUEL conditions (``${approved}``); a service task naming no connector
C.1.1     refused (5)         four XPath conditions (``bpmn:getDataObject('approved')``); a data store
C.2.0     stored, not exec.   isExecutable="false"
C.3.0     refused (2)         condition ``Service Level == 'Premium'``; a subprocess without start event
C.4.0     refused (3)         three data stores (Employee Details, User Management, Payroll system)
C.5.0     refused (2)         two data stores (Bank System, Customer Data)
C.6.0     refused (4)         two empty timer dates; two data associations to process data in/outputs
C.7.0     refused (2)         business rule task names no decision; data association to a process output
C.8.0     stored, not exec.   isExecutable="false"
C.8.1     refused (36)        three prose conditions; no decision; 32 data associations
C.9.0     refused (7)         four FEEL conditions; calls absent ``ManualCheck``; no decision; a service
                              task naming no connector
C.9.1     stored, executable  key ``requestDocument_en``, "Document Request"
C.9.2     refused (2)         FEEL condition (``=fraud``); calls ``requestDocument_en``, not uploaded with it
========  ==================  ================================================================

So 11 stored (1 executable, 10 not), 10 refused. ``MIWG_EXPECTED`` pins each answer, down to
the lines of the blockers.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from workflows.model_parsing import (
    MAX_FILE_BYTES,
    InvalidModel,
    ModelProblem,
    ParsedModel,
    parse_model_files,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bpmn" / "parsing"
MIWG = Path(__file__).parents[2] / ".." / "shared" / "conformance" / "miwg"
# Executable reference models whose user tasks sit in no lane: a warning each.
MIWG_LANELESS = {"C.9.1.bpmn": {"UserTask_CallCustomer"}}
# Camunda 7 attributes Redwall does not honour, named in the warnings: file -> {(element id, attribute)}
MIWG_CAMUNDA_UNHONOURED = {"C.9.1.bpmn": {
    ("SendTask_RequestDocument", "camunda:async"), ("SendTask_RequestDocument", "camunda:type"),
    ("SendTask_RequestDocument", "camunda:topic"), ("EndEvent_TalkedToCustomer", "camunda:asyncAfter"),
    ("SendTask_SendReminderEmail", "camunda:asyncBefore"), ("SendTask_SendReminderEmail", "camunda:type"),
    ("SendTask_SendReminderEmail", "camunda:topic"), ("EndEvent_GotDocument", "camunda:asyncAfter"),
}}
# file -> ("stored", executable, key) or ("refused", the lines of every blocker, sorted)
MIWG_EXPECTED = {
    "A.1.0.bpmn": ("stored", False, "WFP-6-"),
    "A.2.0.bpmn": ("stored", False, "WFP-6-"),
    "A.2.1.bpmn": ("stored", False, "_To9ZoTOCEeSknpIVFCxNIQ"),
    "A.3.0.bpmn": ("stored", False, "WFP-6-"),
    "A.4.0.bpmn": ("stored", False, "WFP-6-1"),
    "A.4.1.bpmn": ("stored", False, "sid-34746A54-1D7D-46CA-B219-0C4CEAE51170"),
    "B.1.0.bpmn": ("stored", False, "Process_ba16239e-181e-4b9f-bc5b-0bb2ee973450"),
    "B.2.0.bpmn": ("stored", False, "Process_ba16239e-181e-4b9f-bc5b-0bb2ee973450"),
    "C.1.0.bpmn": ("refused", [570, 608, 618, 628, 638]),
    "C.1.1.bpmn": ("refused", [4, 290, 300, 310, 320]),
    "C.2.0.bpmn": ("stored", False, "WFP-Page_1-1"),
    "C.3.0.bpmn": ("refused", [244, 325]),
    "C.4.0.bpmn": ("refused", [16, 17, 18]),
    "C.5.0.bpmn": ("refused", [5, 6]),
    "C.6.0.bpmn": ("refused", [28, 154, 177, 206]),
    "C.7.0.bpmn": ("refused", [85, 149]),
    "C.8.0.bpmn": ("stored", False, "VacationRequestProcess"),
    "C.8.1.bpmn": ("refused", [
        291, 303, 359, 363, 367, 371, 378, 476, 480, 484, 488, 549, 553, 557, 561, 637, 641, 645,
        751, 755, 759, 837, 841, 845, 849, 902, 906, 910, 914, 963, 967, 971, 975, 995, 998, 1003,
    ]),
    "C.9.0.bpmn": ("refused", [88, 98, 101, 105, 174, 268, 280]),
    "C.9.1.bpmn": ("stored", True, "requestDocument_en"),
    "C.9.2.bpmn": ("refused", [110, 164]),
}

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


# -- helpers ----------------------------------------------------------------------------------
def fixture(name: str) -> tuple[str, bytes]:
    return name, (FIXTURES / name).read_bytes()


def permit_files() -> list[tuple[str, bytes]]:
    """The valid model, its subprocess deliberately first to exercise the key choice."""
    return [
        fixture("supervisor_review.bpmn"),
        fixture("permit_with_lanes.bpmn"),
        fixture("permit_eligibility.dmn"),
        fixture("check_application.json"),
    ]


def replaced(files, name: str, old: bytes, new: bytes) -> list[tuple[str, bytes]]:
    out = []
    for file_name, content in files:
        if file_name == name:
            assert old in content, f"fixture {name} no longer contains {old!r}"
            content = content.replace(old, new)
        out.append((file_name, content))
    return out


def line_of(content: bytes, needle: bytes) -> int:
    """1-based line of the first occurrence of ``needle``."""
    index = content.index(needle)
    return content.count(b"\n", 0, index) + 1


def problems_of(files, **kwargs) -> list[ModelProblem]:
    with pytest.raises(InvalidModel) as caught:
        parse_model_files(files, **kwargs)
    problems = caught.value.problems
    assert problems, "InvalidModel must carry at least one problem"
    for problem in problems:
        assert isinstance(problem, ModelProblem)
        assert problem.message
    return problems


def single_problem(files, **kwargs) -> ModelProblem:
    problems = problems_of(files, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def bpmn_doc(body: str, process_attrs: str = 'id="proc" name="A process" isExecutable="true"') -> bytes:
    """A BPMN document with one process; each element on its own line for line checks."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="defs" targetNamespace="http://redwall.example/t">\n'
        f"  <bpmn:process {process_attrs}>\n"
        f"{body}\n"
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


SIMPLE_BODY = """\
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="Work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"""


# -- human tasks outside every lane ---------------------------------------------------------
SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


def test_a_user_task_in_no_lane_is_a_warning_naming_it():
    parsed = parse_model_files([("simple.bpmn", bpmn_doc(SIMPLE_BODY))])
    assert parsed.executable and "work" not in parsed.lanes
    [warning] = parsed.warnings
    assert (warning.file, warning.line, warning.element_id, warning.blocking) == ("simple.bpmn", 6, "work", False)
    assert "no lane" in warning.message and "default_group" in warning.message and "assign" in warning.message


def test_the_default_group_process_property_takes_the_tasks_no_lane_lists():
    body = """\
    <bpmn:extensionElements>
      <spiffworkflow:properties {spiff}>
        <spiffworkflow:property name="default_group" value="intake" />
      </spiffworkflow:properties>
    </bpmn:extensionElements>
""".format(spiff=SPIFF) + SIMPLE_BODY
    parsed = parse_model_files([("simple.bpmn", bpmn_doc(body))])
    assert parsed.lanes["work"] == "intake" and parsed.warnings == []


def test_a_task_in_a_lane_or_naming_candidates_is_no_warning():
    laned = bpmn_doc(
        '    <bpmn:laneSet id="ls"><bpmn:lane id="intake"><bpmn:flowNodeRef>work</bpmn:flowNodeRef>'
        "</bpmn:lane></bpmn:laneSet>\n" + SIMPLE_BODY
    )
    assert parse_model_files([("laned.bpmn", laned)]).warnings == []
    candidates = SIMPLE_BODY.replace(
        '<bpmn:userTask id="work" name="Work" />',
        f'<bpmn:userTask id="work" name="Work"><bpmn:extensionElements><spiffworkflow:properties {SPIFF}>'
        '<spiffworkflow:property name="candidate_groups" value="civil_affairs" /></spiffworkflow:properties>'
        "</bpmn:extensionElements></bpmn:userTask>",
    )
    assert parse_model_files([("cand.bpmn", bpmn_doc(candidates))]).warnings == []
    # a non-executable model is stored to be viewed: nothing to warn about
    idle = bpmn_doc(SIMPLE_BODY, 'id="proc" name="A process" isExecutable="false"')
    stored = parse_model_files([("idle.bpmn", idle)])
    assert not stored.executable and stored.warnings == []


# -- valid models -----------------------------------------------------------------------------
def test_valid_model_with_lanes():
    parsed = parse_model_files(permit_files())

    assert isinstance(parsed, ParsedModel)
    # supervisor_review comes first and is executable too, but the permit calls it.
    assert parsed.key == "parking_permit"
    assert parsed.name == "Resident parking permit"
    assert isinstance(parsed.spec, BpmnProcessSpec)
    assert parsed.spec.name == "parking_permit"
    assert set(parsed.subprocess_specs) == {"supervisor_review"}
    assert parsed.lanes == {
        "start": "applicant",
        "wait_documents": "applicant",
        "check_application": "clerk",
        "complete_gateway": "clerk",
        "score": "clerk",
        "decide": "clerk",
        "review": "clerk",
        "end": "archive",
        # every process of the upload, the called one included
        "review_start": "supervisor",
        "approve": "supervisor",
        "review_end": "supervisor",
    }


def test_key_given_explicitly_selects_that_process():
    parsed = parse_model_files(permit_files(), key="supervisor_review")
    assert parsed.key == "supervisor_review"
    assert parsed.name == "Supervisor review"
    assert parsed.subprocess_specs == {}


def test_name_falls_back_to_the_key():
    parsed = parse_model_files([("p.bpmn", bpmn_doc(SIMPLE_BODY, 'id="unnamed" isExecutable="true"'))])
    assert (parsed.key, parsed.name) == ("unnamed", "unnamed")


def test_without_executable_marks_every_process_not_marked_false_is_a_candidate():
    doc = bpmn_doc(SIMPLE_BODY, 'id="no_mark"')
    assert parse_model_files([("p.bpmn", doc)]).key == "no_mark"


def test_marked_executable_process_is_preferred_over_unmarked_ones():
    unmarked = bpmn_doc(SIMPLE_BODY, 'id="first_unmarked"')
    marked = bpmn_doc(SIMPLE_BODY, 'id="second_marked" isExecutable="true"')
    assert parse_model_files([("a.bpmn", unmarked), ("b.bpmn", marked)]).key == "second_marked"


def test_lanes_reach_into_subprocesses_and_boundary_events():
    body = """\
    <bpmn:laneSet id="ls">
      <bpmn:lane id="office">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>inner</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
        <bpmn:childLaneSet id="cls">
          <bpmn:lane id="back_office">
            <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
          </bpmn:lane>
        </bpmn:childLaneSet>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inner" />
    <bpmn:subProcess id="inner">
      <bpmn:startEvent id="inner_start" />
      <bpmn:sequenceFlow id="if1" sourceRef="inner_start" targetRef="inner_task" />
      <bpmn:userTask id="inner_task" />
      <bpmn:sequenceFlow id="if2" sourceRef="inner_task" targetRef="inner_end" />
      <bpmn:endEvent id="inner_end" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="deadline" attachedToRef="inner">
      <bpmn:timerEventDefinition id="t1">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="inner" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="deadline" targetRef="end" />
    <bpmn:endEvent id="end" />"""
    parsed = parse_model_files([("lanes.bpmn", bpmn_doc(body))])
    assert parsed.lanes == {
        "start": "office",
        "inner": "office",
        "inner_start": "office",  # inherited from the subprocess
        "inner_task": "office",
        "inner_end": "office",
        "deadline": "office",  # from the activity it is attached to
        "end": "back_office",  # the innermost lane wins
    }


def test_dmn_and_bpmn_together_run_the_decision():
    parsed = parse_model_files(permit_files())

    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.do_engine_steps()
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.bpmn_id == "check_application"
    task.data["form"] = {"complete": True, "vehicles": 1}
    task.run()
    workflow.do_engine_steps()
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.bpmn_id == "approve"
    assert task.data["eligible"] is True  # set by the DMN table


def test_dmn_1_2_is_accepted_without_xsd_validation():
    # SpiffWorkflow 3.2.0's DMN 1.2 schema does not compile; such files must still deploy.
    files = replaced(
        permit_files(), "permit_eligibility.dmn",
        b"https://www.omg.org/spec/DMN/20191111/MODEL/", b"http://www.omg.org/spec/DMN/20180521/MODEL/",
    )
    assert parse_model_files(files).key == "parking_permit"


def test_json_form_is_kept_by_file_name():
    parsed = parse_model_files(permit_files())
    assert set(parsed.forms) == {"check_application.json"}
    form = parsed.forms["check_application.json"]
    assert form["type"] == "object"
    assert form["required"] == ["complete"]


# -- hostile and broken files -----------------------------------------------------------------
def test_empty_upload():
    problem = single_problem([])
    assert problem.file is None
    assert "no files" in problem.message


def test_malformed_xml_reports_the_line():
    doc = (
        b'<?xml version="1.0"?>\n'
        b'<bpmn:definitions xmlns:bpmn="%s">\n'
        b'  <bpmn:process id="p">\n'  # never closed
        b"</bpmn:definitions>\n"
    ) % BPMN_NS.encode()
    problem = single_problem([("broken.bpmn", doc)])
    assert problem.file == "broken.bpmn"
    assert problem.line == 4
    assert "not well-formed" in problem.message


def test_xxe_is_refused_and_the_file_is_never_read():
    doc = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<bpmn:definitions xmlns:bpmn="' + BPMN_NS.encode() + b'" id="d" targetNamespace="t">\n'
        b'  <bpmn:process id="p" name="&x;"><bpmn:documentation>&x;</bpmn:documentation></bpmn:process>\n'
        b"</bpmn:definitions>\n"
    )
    with pytest.raises(InvalidModel) as caught:
        parse_model_files([("xxe.bpmn", doc)])
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("xxe.bpmn", 2)
    assert "DOCTYPE declarations are not allowed" in problem.message
    everything = str(caught.value) + repr([p.as_dict() for p in caught.value.problems])
    assert "root:" not in everything


@pytest.mark.parametrize(
    "prolog",
    [
        b"<!-- a comment first -->\n<?pi data?>\n",  # a DOCTYPE behind comments and PIs
        b"\xef\xbb\xbf",  # UTF-8 byte order mark
    ],
)
def test_doctype_is_found_behind_comments_and_byte_order_marks(prolog):
    doc = prolog + b'<!DOCTYPE d SYSTEM "file:///etc/passwd"><d>&x;</d>'
    problem = single_problem([("sneaky.dmn", doc)])
    assert "DOCTYPE" in problem.message


def billion_laughs(encoding: str = "utf-8") -> bytes:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ]
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f"<!DOCTYPE lolz [{''.join(entities)}]>\n"
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}"><bpmn:documentation>&lol9;</bpmn:documentation></bpmn:definitions>'
    )
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_is_answered_quickly(encoding):
    started = time.perf_counter()
    problem = single_problem([("lol.bpmn", billion_laughs(encoding))])
    elapsed = time.perf_counter() - started
    # A safety bound, not a benchmark: expansion would take minutes and gigabytes.
    assert elapsed < 2.0
    assert "DOCTYPE" in problem.message
    assert "lollol" not in problem.message


def test_oversize_file_is_refused_before_parsing():
    # Valid-looking XML padded past the limit: refused on size alone.
    doc = bpmn_doc(SIMPLE_BODY) + b" " * MAX_FILE_BYTES
    started = time.perf_counter()
    problem = single_problem([("huge.bpmn", doc)])
    assert time.perf_counter() - started < 2.0
    assert problem.file == "huge.bpmn"
    assert problem.line is None
    assert "limit" in problem.message


def test_file_of_exactly_the_limit_is_read():
    doc = bpmn_doc(SIMPLE_BODY)
    doc += b" " * (MAX_FILE_BYTES - len(doc))
    assert parse_model_files([("big.bpmn", doc)]).key == "proc"


@pytest.mark.parametrize(
    "name, doc, expected",
    [
        (
            "page.bpmn",
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            "<html>",
        ),
        ("drawing.bpmn", b'<svg xmlns="http://www.w3.org/2000/svg" width="10"><rect/></svg>', "<svg>"),
        ("plain.bpmn", b"<definitions><process id='p'/></definitions>", "not a BPMN 2.0 model"),
        ("decision.dmn", bpmn_doc(SIMPLE_BODY), "not a DMN model"),
        (
            "future.dmn",
            b'<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/"/>',
            "unsupported DMN version",
        ),
    ],
)
def test_xml_that_is_not_bpmn_or_dmn(name, doc, expected):
    problem = single_problem([(name, doc)])
    assert problem.file == name
    assert expected in problem.message
    assert problem.line is not None


@pytest.mark.parametrize("name", ["notes.txt", "diagram.svg", "model.xml", "README"])
def test_unknown_extension(name):
    problem = single_problem([(name, b"<x/>")])
    assert problem.file == name
    assert "unsupported file type" in problem.message


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)) * 4,
        b"\xff\xfe\xfd not xml at all \x80\x81",
        '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions>é</bpmn:definitions>'.encode("latin-1"),
        b"",
        b"\x00" * 64,
    ],
)
def test_non_utf8_garbage_is_refused_gracefully(garbage):
    problem = single_problem([("garbage.bpmn", garbage)])
    assert problem.file == "garbage.bpmn"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{\n  "type": "object",\n  "properties": {,}\n}', "not valid JSON"),
        (b'["a", "list"]', "must be a JSON object"),
        (b'"just a string"', "must be a JSON object"),
        (b'{"type": 12}', "not a valid JSON Schema"),
        (b'{"title": "\xff"}', "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_bad_json_form(content, expected):
    problems = problems_of([fixture("permit_with_lanes.bpmn"), ("form.json", content)])
    # The model's own blockers (its decision file is not uploaded) come in the same answer.
    (problem,) = [p for p in problems if p.file == "form.json"]
    assert expected in problem.message
    assert any("permit_eligibility" in p.message for p in problems if p.file == "permit_with_lanes.bpmn")


def test_bad_json_form_reports_the_line():
    problem = single_problem([("form.json", b'{\n  "type": "object",\n  "properties": {,}\n}')])
    assert problem.line == 3


def test_every_bad_file_is_reported_at_once():
    problems = problems_of([("a.txt", b""), ("b.json", b"[]"), ("c.bpmn", b"<oops")])
    assert [p.file for p in problems] == ["a.txt", "b.json", "c.bpmn"]


# -- schema and semantic errors ---------------------------------------------------------------
def test_xsd_errors_are_each_reported_with_their_line():
    body = """\
    <bpmn:startEvent id="start" />
    <bpmn:frobnicate />
    <bpmn:endEvent id="end" />"""
    doc = bpmn_doc(body)
    doc = doc.replace(
        b"</bpmn:definitions>", b'  <bpmn:process id="second" isExecutable="sometimes" />\n</bpmn:definitions>'
    )
    problems = problems_of([("schema.bpmn", doc)])
    assert len(problems) == 2
    unknown, bad_attribute = problems
    assert unknown.line == line_of(doc, b"<bpmn:frobnicate")
    assert "frobnicate" in unknown.message
    assert unknown.element_id == "proc"  # it has no id: the nearest element that has one
    assert bad_attribute.line == line_of(doc, b'id="second"')
    assert bad_attribute.element_id == "second"
    assert "isExecutable" in bad_attribute.message


def test_dmn_xsd_error_has_a_line():
    files = replaced(permit_files(), "permit_eligibility.dmn", b'hitPolicy="FIRST"', b'hitPolicy="WHATEVER"')
    problem = single_problem(files)
    assert problem.file == "permit_eligibility.dmn"
    assert problem.line == line_of(dict(files)["permit_eligibility.dmn"], b"<decisionTable")
    assert problem.element_id == "DecisionTable_eligibility"


def test_missing_call_activity_target():
    files = [fixture("permit_with_lanes.bpmn"), fixture("permit_eligibility.dmn")]
    problem = single_problem(files)
    assert problem.file == "permit_with_lanes.bpmn"
    assert problem.element_id == "review"
    assert problem.line == line_of(files[0][1], b'<bpmn:callActivity id="review"')
    assert "supervisor_review" in problem.message


def test_condition_with_a_syntax_error():
    files = replaced(permit_files(), "permit_with_lanes.bpmn", b'== True</bpmn', b'=== True</bpmn')
    problem = single_problem(files)
    assert problem.file == "permit_with_lanes.bpmn"
    assert problem.element_id == "flow_complete"
    assert problem.line == line_of(dict(files)["permit_with_lanes.bpmn"], b'<bpmn:sequenceFlow id="flow_complete"')
    assert "not valid Python" in problem.message


def test_script_with_a_syntax_error():
    files = replaced(permit_files(), "permit_with_lanes.bpmn", b"has_garage = bool(", b"has_garage = = bool(")
    problem = single_problem(files)
    assert problem.element_id == "score"
    assert problem.line == line_of(dict(files)["permit_with_lanes.bpmn"], b'<bpmn:scriptTask id="score"')
    assert "line 2 of the script" in problem.message


def test_camunda_expressions_are_explained():
    files = replaced(permit_files(), "permit_with_lanes.bpmn", b'form.get("complete") == True', b"${complete}")
    assert "JUEL" in single_problem(files).message


def test_business_rule_task_without_its_decision():
    files = [fixture("supervisor_review.bpmn"), fixture("permit_with_lanes.bpmn")]
    problem = single_problem(files)
    assert problem.element_id == "decide"
    assert problem.line == line_of(files[1][1], b'<bpmn:businessRuleTask id="decide"')
    assert "permit_eligibility" in problem.message


def test_broken_decision_table_is_found_at_deploy_time():
    files = replaced(
        permit_files(), "permit_eligibility.dmn",
        b'<outputEntry id="LiteralExpression_one"><text>True', b'<outputEntry id="LiteralExpression_one"><text>Tr ue',
    )
    problem = single_problem(files)
    assert problem.file == "permit_eligibility.dmn"
    assert problem.element_id == "LiteralExpression_one"
    assert problem.line == line_of(dict(files)["permit_eligibility.dmn"], b'<outputEntry id="LiteralExpression_one"')


def test_spiffworkflow_errors_get_a_line_from_the_tree():
    # "No start event found" comes from SpiffWorkflow without a line number.
    body = """\
    <bpmn:userTask id="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />"""
    doc = bpmn_doc(body)
    problem = single_problem([("nostart.bpmn", doc)])
    assert problem.element_id == "proc"
    assert problem.line == line_of(doc, b'<bpmn:process id="proc"')
    assert "start event" in problem.message.lower()


def test_dangling_sequence_flow():
    doc = bpmn_doc(SIMPLE_BODY.replace('targetRef="end"', 'targetRef="nowhere"'))
    problem = single_problem([("dangling.bpmn", doc)])
    assert (problem.element_id, problem.line) == ("f2", line_of(doc, b'id="f2"'))
    assert "nowhere" in problem.message


def test_duplicate_process_ids_across_files():
    doc = bpmn_doc(SIMPLE_BODY)
    problem = single_problem([("one.bpmn", doc), ("two.bpmn", doc)])
    assert (problem.file, problem.element_id) == ("two.bpmn", "proc")
    assert "Duplicate" in problem.message


def test_unknown_key():
    problem = single_problem(permit_files(), key="no_such_process")
    assert problem.element_id == "no_such_process"
    assert "parking_permit" in problem.message  # lists what there is


def test_key_of_a_process_marked_not_executable_is_stored_not_executable():
    doc = bpmn_doc(SIMPLE_BODY, 'id="doc_only" name="Documentation" isExecutable="false"')
    parsed = parse_model_files([("p.bpmn", doc)], key="doc_only")
    assert (parsed.key, parsed.name, parsed.executable, parsed.spec) == ("doc_only", "Documentation", False, None)


def test_no_executable_process_is_stored_not_executable():
    doc = bpmn_doc(SIMPLE_BODY, 'id="doc_only" isExecutable="false"')
    parsed = parse_model_files([("p.bpmn", doc)])
    assert (parsed.key, parsed.name, parsed.executable) == ("doc_only", "doc_only", False)
    assert parsed.spec is None and parsed.subprocess_specs == {}


def test_non_executable_model_is_not_checked_as_a_running_one():
    # A data store and a JUEL condition block an executable process, not a documentation one.
    body = SIMPLE_BODY.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end">'
        '<bpmn:conditionExpression>${ok}</bpmn:conditionExpression></bpmn:sequenceFlow>',
    )
    doc = bpmn_doc(body, 'id="doc_only" isExecutable="false"')
    assert parse_model_files([("p.bpmn", doc)]).executable is False
    # ... but it must still follow the schema.
    broken = bpmn_doc(body + '\n    <bpmn:userTask id="x" bogus:attr="1" />', 'id="doc_only" isExecutable="false"')
    broken = broken.replace(b"<bpmn:definitions ", b'<bpmn:definitions xmlns:bogus="urn:b" ')
    broken = broken.replace(b'<bpmn:userTask id="x"', b'<bpmn:userTask id="x" unknown="1"')
    problem = single_problem([("p.bpmn", broken)])
    assert problem.element_id == "x" and "schema violation" in problem.message


BLACK_BOX_ONLY = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="defs" targetNamespace="t">
  <bpmn:collaboration id="collab" name="Two parties">
    <bpmn:participant id="customer" name="Customer" />
    <bpmn:participant id="supplier" name="Supplier" processRef="supplier_process" />
  </bpmn:collaboration>
  <bpmn:process id="supplier_process" isExecutable="true" />
</bpmn:definitions>
""".encode()


def test_only_empty_black_box_pools_is_stored_not_executable():
    parsed = parse_model_files([("pools.bpmn", BLACK_BOX_ONLY)])
    assert (parsed.key, parsed.executable) == ("supplier_process", False)
    no_process = BLACK_BOX_ONLY.replace(b' processRef="supplier_process"', b"").replace(
        b'  <bpmn:process id="supplier_process" isExecutable="true" />\n', b""
    )
    parsed = parse_model_files([("pools.bpmn", no_process)])
    assert (parsed.key, parsed.name, parsed.executable) == ("collab", "Two parties", False)


def test_an_empty_pool_next_to_a_real_process_is_not_the_entry():
    doc = bpmn_doc(SIMPLE_BODY).replace(
        b"</bpmn:definitions>", b'<bpmn:process id="black_box" isExecutable="true" />\n</bpmn:definitions>'
    )
    parsed = parse_model_files([("p.bpmn", doc)])
    assert (parsed.key, parsed.executable) == ("proc", True)


@pytest.mark.parametrize(
    "files",
    [
        [("form.json", b"{}")],
        [("d.dmn", (FIXTURES / "permit_eligibility.dmn").read_bytes())],
        [("empty.bpmn", f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" targetNamespace="t"/>'.encode())],
    ],
)
def test_no_process_at_all(files):
    assert "no executable process" in single_problem(files).message


def test_invalid_model_is_readable():
    exc = InvalidModel(
        [ModelProblem("a.bpmn", 3, "task_1", "it is broken"), ModelProblem(None, None, None, "so is this")]
    )
    assert str(exc) == "a.bpmn:3 [task_1]: it is broken; upload: so is this"
    assert exc.problems[0].as_dict() == {"file": "a.bpmn", "line": 3, "element_id": "task_1", "message": "it is broken"}
    assert InvalidModel([]).problems  # never empty


def test_truncated_and_mangled_files_only_ever_raise_invalid_model():
    content = (FIXTURES / "permit_with_lanes.bpmn").read_bytes()
    others = [fixture("supervisor_review.bpmn"), fixture("permit_eligibility.dmn")]
    variants = [content[:cut] for cut in range(0, len(content), 97)]
    variants += [content.replace(b'id="', b'id="x', 1), content.replace(b"calledElement=", b"x=")]
    variants += [content.replace(b"<bpmn:", b"<bpmn:X", 3), content.replace(b"sourceRef=", b"sourceref=")]
    for variant in variants:
        try:
            parse_model_files([("permit.bpmn", variant), *others])
        except InvalidModel as exc:
            assert exc.problems and all(p.message for p in exc.problems)


def test_non_tuple_entries_and_non_bytes_content():
    problems = problems_of([("a.bpmn",), ("b.bpmn", "a str, not bytes"), (None, b"")])
    assert len(problems) == 3


# -- MIWG conformance -------------------------------------------------------------------------
needs_miwg = pytest.mark.skipif(
    not MIWG.is_dir(), reason=f"MIWG reference models not found at {MIWG.resolve()} (not part of a fresh clone)"
)


def miwg_files() -> list[Path]:
    return sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


@needs_miwg
@pytest.mark.parametrize("path", miwg_files(), ids=lambda p: p.name)
def test_miwg_reference_model(path: Path):
    expected = MIWG_EXPECTED[path.name]
    try:
        parsed = parse_model_files([(path.name, path.read_bytes())])
    except InvalidModel as exc:
        assert expected[0] == "refused", [p.as_dict() for p in exc.problems]
        for problem in exc.problems:
            assert problem.message
            assert problem.file == path.name
            assert problem.element_id and problem.line, problem
        assert sorted(p.line for p in exc.problems) == expected[1], [str(p) for p in exc.problems]
    else:
        assert expected[0] == "stored"
        assert (parsed.executable, parsed.key) == expected[1:]
        assert parsed.name
        assert (parsed.spec is not None) == parsed.executable
        # the only warnings: user tasks no lane lists and Camunda attributes not honoured (in the
        # executable C.9.1, from Camunda Modeler)
        laneless = {w.element_id for w in parsed.warnings if "is in no lane" in w.message}
        assert laneless == MIWG_LANELESS.get(path.name, set()), [str(w) for w in parsed.warnings]
        unhonoured = {(w.element_id, w.message.split(" ")[0]) for w in parsed.warnings if "is in no lane" not in w.message}
        assert unhonoured == MIWG_CAMUNDA_UNHONOURED.get(path.name, set()), [str(w) for w in parsed.warnings]
        assert all("is not honoured by Redwall" in w.message and w.line for w in parsed.warnings
                   if "is in no lane" not in w.message)
        # C.9.1 mixes Camunda 7 attributes with Camunda 8 (zeebe:) ones: read in Redwall's own dialect
        assert parsed.dialect == "spiff"


@needs_miwg
def test_miwg_folder_is_complete():
    assert len(miwg_files()) == 21
    assert {p.name for p in miwg_files()} == set(MIWG_EXPECTED)


# -- every blocker in one answer (issue 12) ---------------------------------------------------
def test_schema_and_model_problems_of_several_files_come_in_one_answer():
    # a.bpmn: a schema violation (an attribute BPMN does not have) and a condition that is not Python;
    # b.bpmn: a call activity calling nothing uploaded. Before, the schema violation hid the rest.
    a = bpmn_doc(
        SIMPLE_BODY.replace('<bpmn:userTask id="work" name="Work" />', '<bpmn:userTask id="work" colour="red" />')
        .replace(
            '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />',
            '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end">\n'
            '      <bpmn:conditionExpression>${ok}</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>',
        )
    )
    b = bpmn_doc(
        '    <bpmn:startEvent id="s" />\n'
        '    <bpmn:sequenceFlow id="g1" sourceRef="s" targetRef="call" />\n'
        '    <bpmn:callActivity id="call" calledElement="missing" />\n'
        '    <bpmn:sequenceFlow id="g2" sourceRef="call" targetRef="e" />\n'
        '    <bpmn:endEvent id="e" />',
        'id="other" isExecutable="true"',
    )
    problems = problems_of([("a.bpmn", a), ("b.bpmn", b)], key="proc")
    where = {(p.file, p.element_id, p.line) for p in problems}
    assert ("a.bpmn", "work", line_of(a, b'id="work"')) in where
    assert ("a.bpmn", "f2", line_of(a, b'id="f2"')) in where
    assert ("b.bpmn", "call", line_of(b, b'id="call"')) in where
    assert any("schema violation" in p.message for p in problems)
    assert any("JUEL" in p.message for p in problems)
    assert any("'missing'" in p.message for p in problems)


def test_an_engine_error_that_only_follows_from_ours_is_not_repeated():
    doc = bpmn_doc(SIMPLE_BODY.replace('targetRef="end"', 'targetRef="nowhere"'))
    # SpiffWorkflow adds "perhaps a form has the same ID?" on the flow's source; we say it once.
    assert [p.element_id for p in problems_of([("d.bpmn", doc)])] == ["f2"]


def test_an_engine_error_elsewhere_in_the_process_is_reported_too():
    body = SIMPLE_BODY.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="svc">\n'
        '      <bpmn:conditionExpression>=approved</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n'
        '    <bpmn:serviceTask id="svc" />\n'
        '    <bpmn:sequenceFlow id="f3" sourceRef="svc" targetRef="end" />',
    )
    doc = bpmn_doc(body)
    problems = problems_of([("d.bpmn", doc)])
    assert {p.element_id for p in problems} == {"f2", "svc"}


# -- diagram interchange and vendor extensions warn, not block --------------------------------
DI_AND_VENDOR = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:vendor="urn:vendor" id="defs" targetNamespace="t">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:extensionElements><vendor:colour>red</vendor:colour></bpmn:extensionElements>
{SIMPLE_BODY}
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="proc">
      <bpmndi:BPMNShape id="shape_work" bpmnElement="work">
        <dc:Bounds x="10" y="10" width="ten" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="shape_end" bpmnElement="end" />
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
  <vendor:layout id="vendor_layout" />
</bpmn:definitions>
""".encode()


def test_diagram_and_vendor_schema_violations_are_warnings():
    parsed = parse_model_files([("di.bpmn", DI_AND_VENDOR)])
    assert parsed.executable and parsed.key == "proc"
    warned = {(w.element_id, w.line) for w in parsed.warnings}
    # width="ten" is not a number; a shape needs its bounds; a vendor element outside extensionElements.
    assert ("shape_work", line_of(DI_AND_VENDOR, b"<dc:Bounds")) in warned
    assert ("shape_end", line_of(DI_AND_VENDOR, b'id="shape_end"')) in warned
    assert any(w.line == line_of(DI_AND_VENDOR, b"<vendor:layout") for w in parsed.warnings)
    assert all(w.file == "di.bpmn" for w in parsed.warnings)
    # besides the schema warnings, the one about its user task in no lane
    assert {w.element_id for w in parsed.warnings if "does not block deployment" not in w.message} == {"work"}


def test_a_bpmn_schema_violation_next_to_diagram_ones_still_blocks():
    doc = DI_AND_VENDOR.replace(b'<bpmn:userTask id="work" name="Work" />', b'<bpmn:userTask id="work" colour="red" />')
    problems = problems_of([("di.bpmn", doc)])
    assert [(p.element_id, p.line) for p in problems] == [("work", line_of(doc, b'id="work"'))]


# -- timers as modelling tools write them -----------------------------------------------------
def timer_doc(tag: str, value: str, event: str = "intermediateCatchEvent") -> bytes:
    return bpmn_doc(
        '    <bpmn:startEvent id="start" />\n'
        '    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />\n'
        f'    <bpmn:{event} id="wait">\n'
        f"      <bpmn:timerEventDefinition id=\"wait_timer\">\n"
        f"        <bpmn:{tag}>{value}</bpmn:{tag}>\n"
        "      </bpmn:timerEventDefinition>\n"
        f"    </bpmn:{event}>\n"
        '    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />\n'
        '    <bpmn:endEvent id="end" />'
    )


def timer_expression(parsed: ParsedModel) -> str:
    return parsed.spec.task_specs["wait"].event_definition.expression


@pytest.mark.parametrize(
    "tag, value",
    [
        ("timeDuration", "PT5S"),
        ("timeDuration", "P3D"),
        ("timeDuration", "  PT1H30M\n "),
        ("timeDuration", "P1W"),
        ("timeDate", "2026-12-01T09:00:00+08:00"),
        ("timeCycle", "R3/PT10M"),
        ("timeCycle", "R/P1D"),
    ],
)
def test_plain_iso_timer_values_become_the_quoted_expression(tag, value):
    parsed = parse_model_files([("t.bpmn", timer_doc(tag, value))])
    assert timer_expression(parsed) == repr(value.strip())


@pytest.mark.parametrize("value", ['"PT5S"', "wait_for", "deadline_of(case)", "'P' + str(days) + 'D'"])
def test_python_timer_expressions_stay_as_they_are(value):
    parsed = parse_model_files([("t.bpmn", timer_doc("timeDuration", value))])
    assert timer_expression(parsed) == value


@pytest.mark.parametrize(
    "tag, value, reason",
    [
        ("timeDuration", "5 minutes", "neither ISO 8601 nor a Python expression"),
        ("timeDuration", "PT5X", "not valid ISO 8601"),
        ("timeDuration", "P5", "not valid ISO 8601"),
        ("timeDuration", "2026-12-01T09:00:00+08:00", "not a duration"),
        ("timeDuration", '"PT5 seconds"', "not valid"),
        ("timeDuration", "", "is empty"),
        ("timeDuration", "42", "not text"),
        ("timeDate", "2026-13-01T09:00:00", "not valid"),
        ("timeDate", "PT5S", "not a date"),
        ("timeCycle", "R3/PT10X", "not valid"),
        ("timeCycle", "PT10M", "not a cycle"),
    ],
)
def test_a_timer_value_that_is_neither_is_refused_with_its_line(tag, value, reason):
    for event in ("intermediateCatchEvent", "startEvent"):
        doc = timer_doc(tag, value, event)
        problem = single_problem([("t.bpmn", doc)])
        assert (problem.file, problem.element_id) == ("t.bpmn", "wait")
        assert problem.line == line_of(doc, f"<bpmn:{tag}>".encode())
        assert reason in problem.message and tag in problem.message


def test_a_boundary_timer_value_is_checked_too():
    body = SIMPLE_BODY + (
        '\n    <bpmn:boundaryEvent id="late" attachedToRef="work">\n'
        "      <bpmn:timerEventDefinition><bpmn:timeDuration>in an hour</bpmn:timeDuration></bpmn:timerEventDefinition>\n"
        "    </bpmn:boundaryEvent>\n"
        '    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end" />\n'
        '    <bpmn:endEvent id="late_end" />'
    )
    doc = bpmn_doc(body)
    problem = single_problem([("t.bpmn", doc)])
    assert (problem.element_id, problem.line) == ("late", line_of(doc, b"<bpmn:timeDuration>"))
    fixed = parse_model_files([("t.bpmn", doc.replace(b"in an hour", b"PT1H"))])
    assert fixed.spec.task_specs["late"].event_definition.expression == "'PT1H'"


def test_a_timer_without_a_value_is_refused():
    doc = timer_doc("timeDuration", "PT5S").replace(b"        <bpmn:timeDuration>PT5S</bpmn:timeDuration>\n", b"")
    problem = single_problem([("t.bpmn", doc)])
    assert problem.element_id == "wait" and "has no value" in problem.message


# -- Flowable/Activiti file names -------------------------------------------------------------
def test_bpmn20_xml_files_are_bpmn():
    parsed = parse_model_files([("process.bpmn20.xml", bpmn_doc(SIMPLE_BODY))])
    assert parsed.key == "proc" and parsed.executable
    assert "unsupported file type" in single_problem([("process.xml", bpmn_doc(SIMPLE_BODY))]).message


# -- messages a designer can act on -----------------------------------------------------------
def test_several_outgoing_flows_from_a_task_says_to_add_a_gateway():
    body = SIMPLE_BODY + '\n    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="other_end" />\n    <bpmn:endEvent id="other_end" />'
    doc = bpmn_doc(body)
    problem = single_problem([("m.bpmn", doc)])
    assert (problem.element_id, problem.line) == ("work", line_of(doc, b'id="work"'))
    assert "userTask 'work' (Work) has 2 outgoing sequence flows (f2, f3)" in problem.message
    assert "gateway" in problem.message and "tasks of type" not in problem.message


def test_a_boundary_event_without_definition_says_what_to_add():
    body = SIMPLE_BODY + (
        '\n    <bpmn:boundaryEvent id="b" attachedToRef="work" />'
        '\n    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="other_end" />\n    <bpmn:endEvent id="other_end" />'
    )
    problem = single_problem([("m.bpmn", bpmn_doc(body))])
    assert problem.element_id == "b"
    assert "boundaryEvent 'b' does not say what it waits for" in problem.message
    assert "NotImplementedError" not in problem.message and "<bpmn:" not in problem.message


def test_a_service_task_without_connector_says_which_property_names_it():
    body = SIMPLE_BODY.replace('<bpmn:userTask id="work" name="Work" />', '<bpmn:serviceTask id="work" name="Look up" />')
    problem = single_problem([("m.bpmn", bpmn_doc(body))])
    assert problem.element_id == "work"
    assert "serviceTask 'work' (Look up) names no connector" in problem.message
    assert "spiffworkflow:serviceTaskOperator" in problem.message and "registered in Redwall" in problem.message


@pytest.mark.parametrize(
    "condition, hint",
    [
        ("bpmn:getDataObject('approved')", "looks like XPath"),
        ("not(bpmn:getDataObject('clarified') = 'yes')", "looks like XPath"),
        ('Vacation Approval = "Approved"', "to compare, write =="),
        ("Service Level == 'Premium'", "a name cannot contain spaces"),
    ],
)
def test_conditions_from_other_tools_get_a_hint(condition, hint):
    body = SIMPLE_BODY.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    problem = single_problem([("m.bpmn", bpmn_doc(body.replace('"Approved"', "&quot;Approved&quot;")))])
    assert problem.element_id == "f2" and hint in problem.message


def test_a_complex_gateway_says_what_to_use_instead():
    body = SIMPLE_BODY.replace('<bpmn:userTask id="work" name="Work" />', '<bpmn:complexGateway id="work" />')
    problem = single_problem([("m.bpmn", bpmn_doc(body))])
    assert problem.element_id == "work"
    assert "complexGateway 'work' is an element Redwall cannot run: use an exclusive" in problem.message


def test_a_script_in_another_language_says_redwall_runs_python():
    body = SIMPLE_BODY.replace(
        '<bpmn:userTask id="work" name="Work" />',
        '<bpmn:scriptTask id="work" scriptFormat="javascript"><bpmn:script>var a = 1;</bpmn:script></bpmn:scriptTask>',
    )
    problem = single_problem([("m.bpmn", bpmn_doc(body))])
    assert problem.element_id == "work" and "scriptFormat is 'javascript'; Redwall runs Python scripts only" in problem.message
    # A script that is Python whatever its scriptFormat says runs as it did.
    assert parse_model_files([("m.bpmn", bpmn_doc(body.replace("var a = 1;", "a = 1")))]).executable
