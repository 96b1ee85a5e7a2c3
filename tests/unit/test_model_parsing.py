"""Unit tests of ``workflows.model_parsing``: uploads in, specs or located problems out.

No database, no Flask. Fixtures live in ``tests/fixtures/bpmn/parsing/``; small broken
documents are written inline, next to the test that needs them.

MIWG reference models
---------------------
``test_miwg_reference_model`` feeds each of the 21 BPMN MIWG reference models
(``../shared/conformance/miwg``, absent from a user's fresh clone: then skipped) to
:func:`parse_model_files` on its own. They are interchange tests for modelers, not
executable processes, so almost all are refused — cleanly, each problem with a file,
element id, line and message. What they gave, so designers know what to expect:

========  ========  ==========================================================================
File      Outcome   Why (the problems reported)
========  ========  ==========================================================================
A.1.0     rejected  no executable process: every process is marked isExecutable="false"
A.2.0     rejected  no executable process (isExecutable="false")
A.2.1     rejected  no executable process (isExecutable="false")
A.3.0     rejected  no executable process (isExecutable="false")
A.4.0     rejected  no executable process (isExecutable="false")
A.4.1     rejected  no executable process (isExecutable="false")
B.1.0     rejected  no executable process; data store "Data Store Reference" has no implementation
B.2.0     rejected  no executable process; data store "Data Store Reference" has no implementation
C.1.0     rejected  conditions are JUEL (``${approved}``), not Python
C.1.1     rejected  XPath conditions (``bpmn:getDataObject('approved')``); a data store
C.2.0     rejected  no executable process (isExecutable="false")
C.3.0     rejected  condition ``Service Level == 'Premium'`` is not Python
C.4.0     rejected  three data stores (Employee Details, User Management, Payroll system)
C.5.0     rejected  two data stores (Bank System, Customer Data)
C.6.0     rejected  data associations to a process-level data input/output
C.7.0     rejected  business rule task names no decision; data association to a process output
C.8.0     rejected  no executable process (isExecutable="false")
C.8.1     rejected  prose conditions (``Vacation Approval = "Approved"``); no decision; 32 data assoc.
C.9.0     rejected  FEEL conditions (``= approved``); calls absent ``ManualCheck``; no decision
C.9.1     accepted  key ``requestDocument_en``, "Document Request"
C.9.2     rejected  FEEL condition (``=fraud``); calls ``requestDocument_en``, not uploaded with it
========  ========  ==========================================================================

So 1 accepted, 20 rejected. ``MIWG_ACCEPTED`` pins this.
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
MIWG_ACCEPTED = {"C.9.1.bpmn"}

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
    problem = single_problem([fixture("permit_with_lanes.bpmn"), ("form.json", content)])
    assert problem.file == "form.json"
    assert expected in problem.message


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


def test_key_of_a_process_marked_not_executable():
    doc = bpmn_doc(SIMPLE_BODY, 'id="doc_only" isExecutable="false"')
    problem = single_problem([("p.bpmn", doc)], key="doc_only")
    assert problem.element_id == "doc_only"
    assert "not executable" in problem.message


def test_no_executable_process():
    doc = bpmn_doc(SIMPLE_BODY, 'id="doc_only" isExecutable="false"')
    problem = single_problem([("p.bpmn", doc)])
    assert "no executable process" in problem.message
    assert (problem.file, problem.element_id, problem.line) == ("p.bpmn", "doc_only", 3)


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
    try:
        parsed = parse_model_files([(path.name, path.read_bytes())])
    except InvalidModel as exc:
        assert path.name not in MIWG_ACCEPTED, [p.as_dict() for p in exc.problems]
        assert exc.problems
        for problem in exc.problems:
            assert problem.message
            assert problem.file == path.name
            assert problem.element_id and problem.line, problem
    else:
        assert path.name in MIWG_ACCEPTED
        assert parsed.key and parsed.name


@needs_miwg
def test_miwg_folder_is_complete():
    assert len(miwg_files()) == 21
