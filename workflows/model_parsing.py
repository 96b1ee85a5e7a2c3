"""Turn the files a process designer uploads into parsed SpiffWorkflow specs — safely.

:func:`parse_model_files` takes ``(filename, bytes)`` pairs (``.bpmn``, ``.dmn`` and
``.json`` form schemas) and returns a :class:`ParsedModel`, or raises
:class:`InvalidModel` listing every problem found, each with the file, line, element id
and a message a designer can act on. Nothing else escapes for bad input: the REST layer
turns :class:`InvalidModel` into a 422, never a 500.

The work happens in three stages, and one answer lists every blocker of every file:

1. *Reading* each file on its own: extension (``.bpmn``, ``.bpmn20.xml``, ``.dmn``,
   ``.json``), size, a DOCTYPE check before any XML parser sees the bytes, well-formedness
   with a hardened lxml parser, the root element, XSD validation (every schema error, not just
   the first) and JSON form schemas. A schema violation in the diagram interchange part
   (BPMNDI, DC, DI) or in a vendor extension is a *warning* (``ParsedModel.warnings``), not a
   blocker. Only files that cannot be read at all are left out of the later stages.
2. *Checking the model as a whole*: a model with no executable process (every process
   ``isExecutable="false"``, or only empty black-box pools) is returned as it is, with
   ``executable=False``, to be stored and viewed but never started. Otherwise: choosing the
   entry process; our own checks of what SpiffWorkflow would only notice late or explain badly
   (Python syntax of scripts and conditions, timer values — plain ISO 8601 text becomes the
   quoted expression the engine evaluates —, sequence-flow ends, call-activity and decision
   targets, data stores and data associations); then handing the trees to SpiffWorkflow's
   parser, DMN included.
3. *Building specs*: every executable process is built, so that errors SpiffWorkflow only
   finds lazily surface at deploy time rather than in the middle of a citizen's case. An
   engine error that only follows from one of ours (same element, or naming the element a
   reported one refers to, or a whole process with a reported element) is not repeated.

Our own checks look at executable processes only (not ``isExecutable="false"``): a
documentation-only pool next to the real process is never run, so never nitpicked.

This module is pure: no Flask, no Celery, no database.
"""
from __future__ import annotations

import ast
import codecs
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as SPIFF_DMN_SCHEMAS
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from . import camunda_dialect
from .scripting import ScriptRejected, check_source

__all__ = [
    "MAX_FILE_BYTES",
    "InvalidModel",
    "ModelProblem",
    "ParsedModel",
    "is_bpmn_file",
    "parse_model_files",
    "read_form",
]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest accepted file. Real BPMN diagrams are tens of kilobytes; the MIWG's largest is 240 kB."""

# A single model error can make libxml2's schema validator report an error for every
# following sibling; past this many we summarise instead of sending a megabyte of 422.
MAX_SCHEMA_ERRORS_PER_FILE = 50
# The same for the whole upload.
MAX_PROBLEMS = 200

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_DEFINITIONS = f"{{{BPMN_NS}}}definitions"
# The DMN versions SpiffWorkflow's DMN parser knows (1.1, 1.2, 1.3), by namespace.
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "DMN 1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "DMN 1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "DMN 1.3",
}

FORM_EXTENSION = ".json"
XML_EXTENSIONS = {".bpmn": "bpmn", ".bpmn20.xml": "bpmn", ".dmn": "dmn"}
"""File name endings of XML files and their kind; ``.bpmn20.xml`` is the Flowable/Activiti convention."""

# Schema violations about elements in these namespaces (the diagram interchange part) do
# not block deployment: nothing that runs depends on them.
DI_NAMESPACES = frozenset({
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
})

# Flow nodes: the BPMN elements that become task specs, and so may sit in a lane.
FLOW_NODE_TAGS = frozenset(
    f"{{{BPMN_NS}}}{name}"
    for name in (
        "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask",
        "receiveTask", "businessRuleTask", "callActivity", "subProcess", "transaction",
        "adHocSubProcess", "startEvent", "endEvent", "intermediateCatchEvent",
        "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "inclusiveGateway",
        "parallelGateway", "eventBasedGateway", "complexGateway",
    )
)
SUBPROCESS_TAGS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("subProcess", "transaction", "adHocSubProcess"))

_XML_SPACE = re.compile(r"[ \t\r\n]+")
ELEMENT_REPR = re.compile(r"<Element (?:\{[^}]*\})?([\w.-]+) at 0x[0-9a-fA-F]+>")

DOCTYPE_MESSAGE = (
    "DOCTYPE declarations are not allowed (entities could read files or explode); "
    "BPMN and DMN files never need one — remove it"
)


# -- public types -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelProblem:
    """One thing wrong with an upload, located as precisely as we can."""

    file: str | None
    line: int | None
    element_id: str | None
    message: str
    #: False for a warning: reported, but the model deploys.
    blocking: bool = field(default=True, compare=False)

    def as_dict(self) -> dict:
        """The shape of one entry of ``errors.bpmn`` in a 422 response."""
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        where = self.file or "upload"
        if self.line is not None:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"


class InvalidModel(Exception):
    """The uploaded files do not make a deployable model; ``problems`` says why (never empty)."""

    def __init__(self, problems: Iterable[ModelProblem]):
        self.problems: list[ModelProblem] = list(problems) or [
            ModelProblem(None, None, None, "the model is not valid")
        ]
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = len(self.problems) - 5
        super().__init__(shown + (f"; and {more} more problems" if more > 0 else ""))


@dataclass
class ParsedModel:
    """A deployable model: the entry process's spec plus everything it needs at run time."""

    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict
    forms: dict[str, dict] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)
    #: False for a model with no process to run (every process ``isExecutable="false"``, or
    #: only empty black-box pools): stored to be viewed and edited, never started; ``spec``
    #: is then ``None``.
    executable: bool = True
    #: What does not block deployment but a designer should know (schema violations in the
    #: diagram interchange part or in vendor extensions), located like problems.
    warnings: list[ModelProblem] = field(default_factory=list)
    #: "camunda" for a model from Camunda Modeler (parsed by SpiffWorkflow's Camunda parser),
    #: else "spiff" (see workflows.camunda_dialect)
    dialect: str = "spiff"


# -- entry point ------------------------------------------------------------------------------
def parse_model_files(files: list[tuple[str, bytes]], key: str | None = None) -> ParsedModel:
    """Parse and check uploaded model files; return the entry process's specs.

    ``files`` are ``(filename, raw bytes)`` in upload order; the extension decides the kind
    (``.bpmn``, ``.dmn``, ``.json`` form schema). ``key`` names the entry process; without
    it the first executable process that no uploaded call activity calls is taken (see
    :func:`_choose_key`).

    Raises :class:`InvalidModel` with one :class:`ModelProblem` per problem found, and
    nothing else, whatever the bytes contain.
    """
    try:
        return _parse(files, key)
    except InvalidModel:
        raise
    except Exception as exc:  # noqa: BLE001 - bad input must never surface as a 500
        # Reaching this means a check above missed a case; keep the traceback for us, and
        # give the designer something better than a crash.
        log.exception("unexpected failure while parsing uploaded model files")
        raise InvalidModel(
            [ModelProblem(None, None, None, f"the model could not be read ({type(exc).__name__}: {_short(exc)})")]
        ) from None


def _parse(files, key: str | None) -> ParsedModel:
    # Stage 1: read every file on its own. Schema violations do not stop the later stages:
    # a file that is well-formed XML is checked as a whole too, so that one answer lists
    # every blocker (only files that cannot be read at all are left out of stage 2).
    uploads, forms, problems, warnings = _read_files(files)
    bpmn = [u for u in uploads if u.kind == "bpmn"]
    dmn = [u for u in uploads if u.kind == "dmn"]
    if not bpmn:
        if not problems:  # a broken file that may have been the .bpmn is reported as such
            problems.append(ModelProblem(None, None, None, "no executable process: the upload has no .bpmn file"))
        raise _invalid(problems)

    model = _Model(uploads)
    if not _has_executable_process(model, key):
        # Nothing to run: store it to be viewed and edited, as long as it is valid BPMN.
        if problems:
            raise _invalid(problems)
        key, name = _non_executable_key(model, key)
        return ParsedModel(
            key=key, name=name, spec=None, subprocess_specs={}, forms=forms, lanes=_lanes(bpmn),
            executable=False, warnings=warnings,
        )

    # Stage 2: check the model as a whole and hand it to SpiffWorkflow.
    camunda = camunda_dialect.is_camunda_dialect(u.tree for u in bpmn)
    key, found = _choose_key(model, key)
    problems += found
    problems += (
        _check_sequence_flows(model)
        + _check_expressions(model)
        + _check_timers(model)
        + _check_call_activities(model)
        + _check_decision_refs(model, camunda)
        + (_check_camunda_service_tasks(model) if camunda else [])
        + _check_data_associations(model)
        + _check_dmn_cells(model)
    )
    # Files were XSD-validated in stage 1 (with the reasons kept as warnings or problems);
    # SpiffWorkflow's own validator would stop at the first violation, also in the diagram part.
    if camunda:  # a model from Camunda Modeler: SpiffWorkflow's Camunda parser reads it
        parser = CamundaParser(validator=None)
        parser.dmn_schemas = _usable_dmn_schemas()
    else:
        parser = SpiffBpmnParser(validator=None, dmn_schemas=_usable_dmn_schemas())
    engine_problems: list[ModelProblem] = []  # what SpiffWorkflow itself says
    for upload in bpmn:
        unsupported = _check_data_stores(upload, parser)
        if unsupported:  # SpiffWorkflow would stop at the first, without saying where
            problems += unsupported
            continue
        engine_problems += model.guard(lambda u=upload: parser.add_bpmn_xml(u.tree, filename=u.name), upload.name)
    for upload in dmn:
        engine_problems += _add_dmn(parser, model, upload)

    # Stage 3: build every executable process's spec, then the entry process's.
    engine_problems += _build_all_specs(parser, model)
    # SpiffWorkflow's errors often follow from one of ours (a dangling flow becomes "perhaps a
    # form has the same ID?"): drop those about an element, or inside a process, already reported.
    reported = {(p.file, p.element_id) for p in problems} | {(p.file, None) for p in problems}
    problems += [
        p for p in engine_problems
        if (p.file, p.element_id) not in reported and not _follows_from_reported(model, p, reported)
    ]
    if problems:
        raise _invalid(_unique(problems))
    entry_file = model.process_file(key)
    result: dict = {}
    collaboration, participants = _collaboration_of(model, key)
    collaboration_notes = []

    def build_entry():
        if collaboration is None:
            result["spec"] = parser.get_spec(key)
            result["subprocess_specs"] = parser.get_subprocess_specs(key)
            return
        # Several executable participants: SpiffWorkflow runs them together, each as a
        # participant of the collaboration's spec, and delivers their message flows.
        for pid in model.processes:
            if pid not in participants and parser.get_process_parser(pid) is not None:
                # a black-box pool is never run (SpiffWorkflow would start an empty process)
                if _is_empty(model.processes[pid][1]):
                    parser.get_process_parser(pid).process_executable = False
        result["spec"], result["subprocess_specs"] = parser.get_collaboration(collaboration)

    if collaboration is not None:
        upload = next(u for u in model.uploads if u.kind == "bpmn" and u.tree.getroot().xpath(
            "//*[@id=$i]", i=collaboration))
        element = upload.tree.getroot().xpath("//*[@id=$i]", i=collaboration)[0]
        collaboration_notes.append(ModelProblem(
            upload.name, element.sourceline, collaboration,
            f"the collaboration {collaboration!r} has {len(participants)} executable participants "
            f"({', '.join(participants)}): a case of {key!r} runs them all together, and the message "
            "flows between them are delivered inside the case",
            blocking=False,
        ))

    problems = model.guard(build_entry, entry_file, key)
    if problems:
        raise _invalid(problems)

    process = model.processes[key][1]
    name = " ".join((process.get("name") or "").split()) or key
    lanes = _lanes(bpmn)
    properties: dict[str, dict[str, str]] = {}
    dialect_notes: list[ModelProblem] = []
    for upload, executable in model.executable_processes():
        found_props, notes = camunda_dialect.task_properties(executable, camunda)
        properties.update(found_props)
        dialect_notes += [ModelProblem(upload.name, n.line, n.element_id, n.message, blocking=False) for n in notes]
    camunda_dialect.apply_properties(
        [result["spec"], *result["subprocess_specs"].values()], properties, camunda
    )
    if camunda:
        camunda_dialect.settle_multi_instance([result["spec"], *result["subprocess_specs"].values()])
    _connect_loop_children([result["spec"], *result["subprocess_specs"].values()])
    result["spec"].redwall_dialect = "camunda" if camunda else "spiff"
    return ParsedModel(
        key=key,
        name=name,
        spec=result["spec"],
        subprocess_specs=result["subprocess_specs"],
        forms=forms,
        lanes=lanes,
        warnings=warnings + collaboration_notes + dialect_notes + _laneless_task_warnings(bpmn, lanes),
        dialect="camunda" if camunda else "spiff",
    )


def _connect_loop_children(specs) -> None:
    """Connect each multi-instance or loop task to the completion of its instances now.

    SpiffWorkflow makes that connection on the spec when the task creates its first instance
    (``create_child``) and never saves it: a case saved in the middle of a loop and loaded on a
    model parsed afresh (another worker, a restart) would wait for ever. Connecting here is what
    ``create_child`` would do anyway.
    """
    from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

    for spec in specs:
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, LoopTask):
                continue
            child = spec.task_specs.get(getattr(task_spec, "task_spec", None) or "")
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _collaboration_of(model: _Model, key: str) -> tuple[str | None, list[str]]:
    """The collaboration ``key`` takes part in, when it has more than one executable participant
    with content (else ``(None, [])``: the process runs on its own, as before), and those
    participants' process ids. Participants that are not executable, or are empty black-box
    pools, are documentation: nothing runs them."""
    for upload in model.uploads:
        if upload.kind != "bpmn":
            continue
        # SpiffWorkflow knows one collaboration per file (the first)
        collaboration = upload.tree.getroot().find(f"{{{BPMN_NS}}}collaboration")
        if collaboration is None or not collaboration.get("id"):
            continue
        refs = [p.get("processRef") for p in collaboration.iter(f"{{{BPMN_NS}}}participant") if p.get("processRef")]
        if key not in refs:
            continue
        running = [
            ref for ref in refs
            if ref in model.processes and _spiff_executable(model.processes[ref][1])
            and not _is_empty(model.processes[ref][1])
        ]
        if len(running) > 1:
            return collaboration.get("id"), running
    return None, []


def _unique(problems: list[ModelProblem]) -> list[ModelProblem]:
    seen, result = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result


def _follows_from_reported(model: _Model, problem: ModelProblem, reported: set) -> bool:
    """Whether an engine problem is a follow-on of one of ours: about a whole process that has
    a reported element, or naming in its message an element a reported element refers to
    (a dangling flow's missing target becomes "perhaps a form has the same ID? (nowhere)")."""
    for upload in model.uploads:
        if upload.name != problem.file or not problem.element_id:
            continue
        hits = upload.tree.xpath("//*[@id=$i]", i=problem.element_id)
        if not hits:
            continue
        if hits[0].tag == f"{{{BPMN_NS}}}process":
            return any((upload.name, e.get("id")) in reported for e in hits[0].iter() if e.get("id"))
        for f, eid in reported:
            if f != upload.name or not eid:
                continue
            for other in upload.tree.xpath("//*[@id=$i]", i=eid):
                # (a message naming the problem's own element says nothing about the other one)
                refs = [v for k, v in other.attrib.items()
                        if isinstance(k, str) and k.endswith("Ref") and v != problem.element_id]
                for value in refs:
                    if len(value) > 1 and re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", problem.message):
                        return True
    return False


def _has_executable_process(model: _Model, key: str | None) -> bool:
    """Whether the upload has a process to run: with ``key``, that process; else any process
    SpiffWorkflow reads as executable that is not an empty (black-box) pool."""
    if key and key in model.processes:
        return _spiff_executable(model.processes[key][1])
    if key:
        return bool(model.processes)  # an unknown key: _choose_key reports it
    if not model.processes and not any(
        u.tree.getroot().find(f".//{{{BPMN_NS}}}participant") is not None for u in model.uploads if u.kind == "bpmn"
    ):
        return True  # no process and no pool at all: nothing to store; _choose_key says so
    return any(_spiff_executable(p) and not _is_empty(p) for _, p in model.processes.values())


def _is_empty(process) -> bool:
    """A process with no flow node: a black-box pool some tools export as ``<process/>``."""
    return not any(child.tag in FLOW_NODE_TAGS for child in process)


def _non_executable_key(model: _Model, key: str | None) -> tuple[str, str]:
    """The key and name a model with nothing to run is stored under: the given key, else its
    first process with content, else its first process, else its collaboration (or the
    definitions) for a file of black-box pools only."""
    if key:
        found = model.processes.get(key)
        element = found[1] if found else None
        return key, (" ".join((element.get("name") or "").split()) if element is not None else "") or key
    processes = [p for _, p in model.processes.values()]
    ordered = [p for p in processes if not _is_empty(p)] + [p for p in processes if _is_empty(p)]
    for element in ordered:
        return element.get("id"), " ".join((element.get("name") or "").split()) or element.get("id")
    first = next(u for u in model.uploads if u.kind == "bpmn")
    root = first.tree.getroot()
    element = root.find(f"{{{BPMN_NS}}}collaboration")
    element = element if element is not None and element.get("id") else root
    ident = element.get("id") or root.get("id") or PurePath(first.name).name.split(".")[0]
    return ident, " ".join((element.get("name") or root.get("name") or "").split()) or ident


# -- stage 1: reading files -------------------------------------------------------------------
@dataclass
class _Upload:
    name: str
    kind: str  # "bpmn" or "dmn"
    tree: etree._ElementTree


def is_bpmn_file(name: str) -> bool:
    """Whether a file name says BPMN (``.bpmn``, or ``.bpmn20.xml`` as Flowable and Activiti write)."""
    return _xml_kind(name) == "bpmn"


def _xml_kind(name: str) -> str | None:
    lowered = name.lower()
    return next((kind for ending, kind in XML_EXTENSIONS.items() if lowered.endswith(ending)), None)


def _read_files(files) -> tuple[list[_Upload], dict[str, dict], list[ModelProblem], list[ModelProblem]]:
    """Uploads that are well-formed XML (schema-valid or not), forms, blocking problems, warnings."""
    uploads: list[_Upload] = []
    forms: dict[str, dict] = {}
    problems: list[ModelProblem] = []
    warnings: list[ModelProblem] = []
    try:
        entries = list(files or [])
    except TypeError:
        entries = []
    if not entries:
        return [], {}, [ModelProblem(None, None, None, "no files were uploaded: send at least one .bpmn file")], []

    for entry in entries:
        try:
            name, data = entry
        except (TypeError, ValueError):
            problems.append(ModelProblem(None, None, None, "each upload must be a (file name, content) pair"))
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(ModelProblem(None, None, None, "an uploaded file has no name"))
            continue
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            problems.append(ModelProblem(name, None, None, "the file content must be bytes"))
            continue
        # Refuse big files before any parser sees a byte of them.
        if len(data) > MAX_FILE_BYTES:
            problems.append(
                ModelProblem(
                    name, None, None,
                    f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes "
                    f"({MAX_FILE_BYTES // (1024 * 1024)} MB)",
                )
            )
            continue
        extension = PurePath(name).suffix.lower()
        kind = _xml_kind(name)
        if kind is not None:
            upload, found = _read_xml(name, data, kind)
            problems += [p for p in found if p.blocking]
            warnings += [p for p in found if not p.blocking]
            if upload is not None:
                uploads.append(upload)
        elif extension == FORM_EXTENSION:
            form, found = _read_form(name, data)
            problems += found
            if form is not None:
                forms[name] = form
        else:
            problems.append(
                ModelProblem(
                    name, None, None,
                    f"unsupported file type {extension or '(no extension)'!r}: "
                    "upload .bpmn or .bpmn20.xml (BPMN 2.0), .dmn (DMN) or .json (form schema) files",
                )
            )
    return uploads, forms, problems, warnings


def _safe_xml_parser() -> etree.XMLParser:
    # A fresh parser per file: lxml parsers keep per-document state and are not meant to
    # be shared between threads. No DTD loading, no entity expansion, no network, and
    # libxml2's default limits on depth and text size (huge_tree=False).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _read_xml(name: str, data: bytes, kind: str) -> tuple[_Upload | None, list[ModelProblem]]:
    # Refuse DTDs by looking at the prolog ourselves, before libxml2 reads the internal
    # subset: entity declarations (XXE, billion laughs) are never even parsed.
    doctype_line = _doctype_line(data)
    if doctype_line is not None:
        return None, [ModelProblem(name, doctype_line, None, DOCTYPE_MESSAGE)]
    try:
        root = etree.fromstring(data, _safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        return None, [ModelProblem(name, line, None, f"the file is not well-formed XML: {exc.msg}")]
    except (etree.LxmlError, ValueError) as exc:
        return None, [ModelProblem(name, None, None, f"the file is not readable XML: {_short(exc)}")]
    if root is None:  # only possible with recovering parsers, but never trust that
        return None, [ModelProblem(name, None, None, "the file is not readable XML: it is empty")]
    tree = root.getroottree()
    docinfo = tree.docinfo
    # Second line of defence for encodings our prolog scan cannot read.
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [ModelProblem(name, None, None, DOCTYPE_MESSAGE)]

    qname = etree.QName(root)
    if kind == "bpmn":
        if root.tag != BPMN_DEFINITIONS:
            return None, [
                ModelProblem(
                    name, root.sourceline, root.get("id"),
                    f"not a BPMN 2.0 model: the root element is <{qname.localname}> in namespace "
                    f"{qname.namespace or '(none)'!r}; expected <definitions> in namespace {BPMN_NS!r}",
                )
            ]
        return _validated(name, kind, tree, BpmnValidator())

    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        if qname.localname == "definitions" and qname.namespace and "/spec/DMN/" in qname.namespace:
            message = (
                f"unsupported DMN version (namespace {qname.namespace!r}); "
                f"save the decision as {', '.join(DMN_NAMESPACES.values())}"
            )
        else:
            message = (
                f"not a DMN model: the root element is <{qname.localname}> in namespace "
                f"{qname.namespace or '(none)'!r}; expected DMN <definitions>"
            )
        return None, [ModelProblem(name, root.sourceline, root.get("id"), message)]
    schema = _usable_dmn_schemas().get(qname.namespace)
    if schema is None:
        # SpiffWorkflow 3.2.0 ships a DMN 1.2 schema that does not compile; such files are
        # parsed without XSD validation (SpiffWorkflow then skips it too).
        return _Upload(name, kind, tree), []
    return _validated(name, kind, tree, BpmnValidator(schema))


def _validated(name: str, kind: str, tree, validator: BpmnValidator) -> tuple[_Upload | None, list[ModelProblem]]:
    """XSD-validate ``tree``, reporting every error libxml2 finds (SpiffWorkflow stops at the first).

    The tree is returned even when it violates the schema, so that the model checks run on it
    too and one answer lists every blocker. A violation about the diagram interchange part
    (BPMNDI, DC, DI) or a vendor extension element is a warning (``blocking=False``).
    """
    # The same rewrite SpiffWorkflow applies before validating (bpmn-js writes correlation
    # expressions the schema does not allow), so that we accept exactly what it accepts.
    validator.preprocess(tree)
    schema = validator.validator
    if schema.validate(tree):
        return _Upload(name, kind, tree), []
    errors = [e for e in schema.error_log if e.level >= etree.ErrorLevels.ERROR]
    problems = []
    counts = {True: 0, False: 0}  # blocking or not -> violations seen
    for entry in errors:
        element = _element_of_log_entry(tree, entry)
        blocking = kind != "bpmn" or not _outside_bpmn_semantics(element, entry.message)
        counts[blocking] += 1
        if counts[blocking] > MAX_SCHEMA_ERRORS_PER_FILE:
            continue
        message = "schema violation: " + _shorten_namespaces(entry.message)
        if not blocking:
            message = "schema violation in the diagram or a vendor extension (does not block deployment): " + (
                _shorten_namespaces(entry.message)
            )
        problems.append(
            ModelProblem(
                name,
                entry.line or (element.sourceline if element is not None else None),
                _nearest_id(element),
                message,
                blocking=blocking,
            )
        )
    for blocking, count in counts.items():
        if count > MAX_SCHEMA_ERRORS_PER_FILE:
            problems.append(
                ModelProblem(
                    name, None, None, f"{count - MAX_SCHEMA_ERRORS_PER_FILE} more schema violations not shown",
                    blocking=blocking,
                )
            )
    if not problems:  # invalid, but libxml2 logged nothing at error level
        problems.append(ModelProblem(name, None, None, "the file does not follow the BPMN/DMN schema"))
    return _Upload(name, kind, tree), problems


_VIOLATION_ELEMENT = re.compile(r"^Element '\{([^}]*)\}")


def _outside_bpmn_semantics(element, message: str) -> bool:
    """Whether a schema violation concerns only the diagram interchange part or a vendor
    extension: the element it names, or one of its ancestors, is in a DI namespace, in a
    namespace other than BPMN's, or inside ``<extensionElements>``."""
    match = _VIOLATION_ELEMENT.match(message or "")
    if match and match.group(1) != BPMN_NS:
        return True
    while element is not None:
        if not isinstance(element.tag, str):
            element = element.getparent()
            continue
        namespace = etree.QName(element).namespace
        if namespace in DI_NAMESPACES or (namespace and namespace != BPMN_NS and element.getparent() is not None):
            return True
        if element.tag == f"{{{BPMN_NS}}}extensionElements":
            return True
        element = element.getparent()
    return False


def _read_form(name: str, data: bytes) -> tuple[dict | None, list[ModelProblem]]:
    try:
        form = json.loads(data)  # bytes: UTF-8/16/32 detected per RFC 8259
    except RecursionError:
        return None, [ModelProblem(name, None, None, "the form schema is nested too deeply")]
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        line = getattr(exc, "lineno", None)
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "it is not UTF-8 text"
        return None, [ModelProblem(name, line, None, f"the form schema is not valid JSON: {reason}")]
    if not isinstance(form, dict):
        return None, [
            ModelProblem(name, None, None, f"a form schema must be a JSON object, not {_json_type(form)}")
        ]
    # Forms are checked with Draft 2020-12 when a task is completed; a broken schema would
    # make every completion of that task fail, so refuse it now.
    try:
        Draft202012Validator.check_schema(form)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        where = f" at {where}" if where else ""
        return None, [
            ModelProblem(name, None, None, f"the form is not a valid JSON Schema{where}: {_short(exc.message)}")
        ]
    except RecursionError:
        return None, [ModelProblem(name, None, None, "the form schema is nested too deeply")]
    external = external_refs(form)
    if external:
        return None, [ModelProblem(name, None, None, f"the form refers to {_short(external[0])!s} outside this file; "
                                   "only references inside the form (\"#/...\") are allowed")]
    return form, []


def read_form(name: str, data: bytes) -> tuple[dict | None, list[ModelProblem]]:
    """A form file checked as a deployment checks it: ``(schema, [])`` or ``(None, problems)``."""
    return _read_form(name, data)


_REF_KEYS = ("$ref", "$dynamicRef")


def external_refs(form) -> list[str]:
    """``$ref``/``$dynamicRef`` values that point outside the form itself (anything not ``#…``)."""
    found, stack = [], [form]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _REF_KEYS and not (isinstance(value, str) and value.startswith("#")):
                    found.append(str(value))
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _refuse_retrieval(uri: str):
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


def form_validator(schema: dict, format_checker=None) -> Draft202012Validator:
    """A validator for a form that resolves only references inside the form: nothing is fetched
    (``http://…``) or opened (``file://…``), even for a form deployed before this rule."""
    from referencing import Registry

    return Draft202012Validator(schema, format_checker=format_checker, registry=Registry(retrieve=_refuse_retrieval))


def _doctype_line(data: bytes) -> int | None:
    """Line of a DOCTYPE declaration in the prolog of ``data``, or ``None`` when there is none.

    Walks the prolog as the XML grammar defines it (XML declaration, comments, processing
    instructions, white space) without parsing anything, so no entity can be declared,
    fetched or expanded. Documents in UTF-16/32 are recognised by their first bytes.
    """
    text = _decode_for_scan(data)
    i, n = 0, len(text)
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        if text[i] in " \t\r\n":
            i = _XML_SPACE.match(text, i).end()
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return None
            i = end + 3
        elif text[i:i + 9].upper() == "<!DOCTYPE":
            return text.count("\n", 0, i) + 1
        else:
            return None
    return None


def _decode_for_scan(data: bytes) -> str:
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    if data.startswith(b"<\x00\x00\x00"):
        return data.decode("utf-32-le", errors="replace")
    if data.startswith(b"\x00\x00\x00<"):
        return data.decode("utf-32-be", errors="replace")
    if data.startswith(b"<\x00"):
        return data.decode("utf-16-le", errors="replace")
    if data.startswith(b"\x00<"):
        return data.decode("utf-16-be", errors="replace")
    # Every ASCII-compatible encoding (UTF-8, ISO-8859-x, GB18030 ...) spells the markup
    # we look for in ASCII bytes; latin-1 maps each byte to one character and never fails.
    return data.decode("latin-1")


# -- stage 2: the model as a whole ------------------------------------------------------------
class _Model:
    """The uploaded XML trees, with the look-ups problems need (process ids, element lines)."""

    def __init__(self, uploads: list[_Upload]):
        self.uploads = uploads
        # process id -> (upload, <process> element), in upload order; first definition wins
        # here, SpiffWorkflow reports duplicates itself.
        self.processes: dict[str, tuple[_Upload, etree._Element]] = {}
        for upload in uploads:
            if upload.kind != "bpmn":
                continue
            for process in upload.tree.getroot().iter(f"{{{BPMN_NS}}}process"):
                pid = process.get("id")
                if pid and pid not in self.processes:
                    self.processes[pid] = (upload, process)

    def executable_processes(self) -> list[tuple[_Upload, etree._Element]]:
        """Processes SpiffWorkflow will build: all but those marked ``isExecutable="false"``.

        Documentation-only processes next to the executable one are not checked: nothing
        will ever run them.
        """
        return [(u, p) for u, p in self.processes.values() if _spiff_executable(p)]

    def process_file(self, process_id: str) -> str | None:
        found = self.processes.get(process_id)
        return found[0].name if found else None

    def locate(self, element_id: str | None, file: str | None = None) -> tuple[str | None, int | None]:
        """The file and line of the element with this id, looking in ``file`` first."""
        if not element_id:
            return file, None
        ordered = sorted(self.uploads, key=lambda u: u.name != file)
        for upload in ordered:
            found = upload.tree.xpath("//*[@id=$i]", i=element_id)
            if found:
                return upload.name, found[0].sourceline
        return file, None

    def problem(self, file: str | None, element_id: str | None, message: str, line: int | None = None) -> ModelProblem:
        located_file, located_line = self.locate(element_id, file)
        return ModelProblem(file or located_file, line or located_line, element_id or None, message)

    def from_exception(self, exc: Exception, file: str | None, element_id: str | None = None) -> ModelProblem:
        """A problem from anything SpiffWorkflow raised, filling in what it left empty."""
        if _caused_by(exc, RecursionError):
            # SpiffWorkflow follows sequence flows recursively, a few frames per element.
            return self.problem(
                file, getattr(exc, "id", None) or element_id,
                "the process is too long to parse: it has a chain of several hundred elements "
                "in a row; split it into subprocesses or call activities",
            )
        if isinstance(exc, ValidationException):
            message = str(exc.args[0]) if exc.args else type(exc).__name__
            notes = [n for n in getattr(exc, "notes", []) if n]
            if notes:
                message += ". " + ". ".join(notes)
            exc_line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
            # Some messages embed an lxml element's repr ("<Element {ns}sourceRef at 0x7f..>").
            message = ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", message)
            problem_file, problem_id = exc.file_name or file, exc.id or element_id
            message = self.actionable(message.strip(), problem_file, problem_id)
            return self.problem(problem_file, problem_id, _short(message), exc_line)
        if isinstance(exc, NotImplementedError):
            message = self.actionable(f"NotImplementedError({exc})", file, element_id)
            if not message.startswith("NotImplementedError"):
                return self.problem(file, element_id, _short(message))
        # Anything else is SpiffWorkflow tripping over input it did not expect (a KeyError
        # on a missing attribute, an IndexError on an empty element ...).
        return self.problem(file, element_id, f"the model could not be parsed ({type(exc).__name__}: {_short(exc)})")

    def element(self, file: str | None, element_id: str | None):
        if not element_id:
            return None
        for upload in sorted(self.uploads, key=lambda u: u.name != file):
            found = upload.tree.xpath("//*[@id=$i]", i=element_id)
            if found:
                return found[0]
        return None

    def actionable(self, message: str, file: str | None, element_id: str | None) -> str:
        """SpiffWorkflow's message rewritten into what to change and where, when we know it."""
        element = self.element(file, element_id)
        kind = _label(element) if element is not None else "element"
        if message.startswith("Multiple outgoing flows are not supported for tasks of type"):
            flows = []
            if element is not None:
                container = element.getparent()
                flows = [f.get("id") for f in container.iterfind(f"{{{BPMN_NS}}}sequenceFlow")
                         if f.get("sourceRef") == element_id]
            listed = f" ({', '.join(flows)})" if flows else ""
            return (
                f"the {kind} has {len(flows) or 'several'} outgoing sequence flows{listed}; only a gateway may "
                "split the flow: connect the task to one exclusive gateway (with a condition on each of its "
                "outgoing flows) or a parallel gateway, and the flows to that gateway"
            )
        if "Unsupported Catch Event" in message:
            return (
                f"the {kind} does not say what it waits for: give it a timer, message, signal, error, "
                "escalation, conditional or cancel event definition, or remove it"
            )
        if message.startswith("A Service Task must have an operator"):
            return (
                f"the {kind} names no connector: add <spiffworkflow:serviceTaskOperator id=\"CONNECTOR\" "
                "resultVariable=\"result\"> to its extensionElements, where the id is the name of a connector "
                "registered in Redwall (its parameters go in <spiffworkflow:parameters>)"
            )
        if message.startswith("There is no support implemented for this task type"):
            hint = ""
            if element is not None and etree.QName(element).localname == "complexGateway":
                hint = ": use an exclusive, inclusive or parallel gateway (with conditions on the outgoing flows)"
            return f"the {kind} is an element Redwall cannot run{hint or ': replace it with a supported one'}"
        if message.startswith("Unknown Time Specification"):
            return (
                f"the timer of the {kind} has no value: give it a duration (timeDuration), a date (timeDate) "
                "or a repeating cycle (timeCycle)"
            )
        return message

    def guard(self, action, file: str | None, element_id: str | None = None) -> list[ModelProblem]:
        """Run ``action``; whatever it raises becomes a located problem."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - see from_exception
            return [self.from_exception(exc, file, element_id)]
        return []


def _choose_key(model: _Model, key: str | None) -> tuple[str | None, list[ModelProblem]]:
    """The entry process and the problems in choosing it: ``key`` if given, else the first
    executable process that no uploaded call activity calls.

    "Executable" follows the files: processes marked ``isExecutable="true"``, or, when none
    is, every process not marked ``"false"`` (many modelers leave the attribute out, and
    SpiffWorkflow reads "absent" as executable). Among those, a process that an uploaded
    call activity calls is a subprocess, not an entry point.
    """
    if key:
        if key not in model.processes:
            known = ", ".join(repr(p) for p in model.processes) or "none"
            return None, [
                ModelProblem(
                    None, None, key, f"no process with id {key!r} in the uploaded files (processes found: {known})"
                )
            ]
        upload, process = model.processes[key]
        if not _spiff_executable(process):
            return None, [
                ModelProblem(
                    upload.name, process.sourceline, key,
                    f"process {key!r} is not executable (isExecutable={process.get('isExecutable')!r}); "
                    "mark it executable to deploy it",
                )
            ]
        return key, []

    if not model.processes:
        return None, [ModelProblem(None, None, None, "no executable process: the .bpmn files define no process")]
    marked = [pid for pid, (_, p) in model.processes.items() if p.get("isExecutable") == "true"]
    candidates = marked or [pid for pid, (_, p) in model.processes.items() if _spiff_executable(p)]
    # Empty (black-box) pools are never an entry point while there is a process with content.
    candidates = [pid for pid in candidates if not _is_empty(model.processes[pid][1])] or candidates
    if not candidates:
        upload, process = next(iter(model.processes.values()))
        return None, [
            ModelProblem(
                upload.name, process.sourceline, process.get("id"),
                "no executable process: every process is marked isExecutable=\"false\"; "
                "mark the entry process executable to deploy it",
            )
        ]
    called = {
        call.get("calledElement")
        for upload in model.uploads
        if upload.kind == "bpmn"
        for call in upload.tree.getroot().iter(f"{{{BPMN_NS}}}callActivity")
    }
    chosen = next((pid for pid in candidates if pid not in called), candidates[0])
    return chosen, []


def _check_expressions(model: _Model) -> list[ModelProblem]:
    """Python syntax of scripts and conditions, checked at deploy time rather than mid-case."""
    problems = []
    for upload, root in model.executable_processes():
        for task in root.iter(f"{{{BPMN_NS}}}scriptTask"):
            script = task.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                problems.append(
                    ModelProblem(upload.name, task.sourceline, task.get("id"), "the script task has no script")
                )
                continue
            found = _sandboxed(upload.name, task, script.text, "exec", "script", script)
            language = (task.get("scriptFormat") or "").strip()
            if found and language and "python" not in language.lower():
                # Not Python, and not meant to be: say so rather than point at a syntax error.
                found = [
                    ModelProblem(
                        upload.name, task.sourceline, task.get("id"),
                        f"the script task's scriptFormat is {language!r}; Redwall runs Python scripts only — "
                        "rewrite the script in Python and set scriptFormat to \"python\" (or leave it out)",
                    )
                ]
            problems += found
        for tag in ("preScript", "postScript"):
            for script in root.iter(f"{{{SPIFF_NS}}}{tag}"):
                if (script.text or "").strip():
                    owner = _nearest_with_id(script)
                    owner = script if owner is None else owner
                    problems += _sandboxed(upload.name, owner, script.text, "exec", tag, script)
        for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            # SpiffWorkflow treats an empty condition element as "no condition".
            if condition is not None and condition.text is not None:
                # eval() strips leading spaces and tabs; ast.parse does not.
                problems += _sandboxed(upload.name, flow, condition.text.lstrip(" \t"), "eval", "condition", condition)
        # multi-instance expressions: evaluated by the same engine as conditions
        for loop in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
            owner = loop.getparent()
            for tag, what in (("loopCardinality", "loop cardinality"), ("completionCondition", "completion condition")):
                expression = loop.find(f"{{{BPMN_NS}}}{tag}")
                if expression is not None and (expression.text or "").strip():
                    problems += _sandboxed(upload.name, owner, expression.text.strip(), "eval", what, expression)
    return problems


def _sandboxed(file: str, element, source: str, mode: str, what: str, text_element=None) -> list[ModelProblem]:
    """Python syntax, then the rules of Redwall's restricted script engine
    (:func:`workflows.scripting.check_source`, the very check it applies before running
    anything), so that a script the sandbox would refuse mid-case is refused at deploy.
    The line is that of the offending line in the file where it can be known."""
    found = _syntax(file, element, source, mode, what)
    if found:
        return found
    try:
        check_source(source, mode)
    except ScriptRejected as exc:
        lines = source.count("\n") + 1
        line = element.sourceline
        if exc.line and text_element is not None and text_element.sourceline:
            # the text starts on the line of its element's start tag
            line = text_element.sourceline + (exc.line - 1 if mode == "exec" else 0)
        where = f" (line {exc.line} of the {what})" if exc.line and lines > 1 else ""
        return [ModelProblem(
            file, line, element.get("id"),
            f"the {what} breaks a rule of Redwall's script sandbox: {exc.reason}{where}. "
            f"{SANDBOX_HINT}",
        )]
    except SyntaxError:  # already reported by _syntax; only reachable for odd inputs
        return []
    return []


#: What a designer can do about a sandbox rule (it follows the rule that was broken).
SANDBOX_HINT = (
    "Scripts and expressions run in a sandbox: no imports, no names or attributes starting with '_', "
    "no open/eval/exec/getattr; use the case data and the helpers Redwall provides"
)


def _check_dmn_cells(model: _Model) -> list[ModelProblem]:
    """Input expressions, input entries and output entries of every decision table, checked with
    the sandbox's rules in the form SpiffWorkflow's DMN engine evaluates them."""
    problems = []
    for upload in model.uploads:
        if upload.kind != "dmn":
            continue
        root = upload.tree.getroot()
        namespace = etree.QName(root).namespace
        ns = f"{{{namespace}}}"
        for table in root.iter(f"{ns}decisionTable"):
            inputs = []
            for column in table.iterfind(f"{ns}input"):
                text = column.find(f"{ns}inputExpression/{ns}text")
                source = (text.text or "").strip() if text is not None else ""
                inputs.append(source)
                if source:
                    problems += _sandboxed(upload.name, column, source, "eval", "input expression", text)
            for rule in table.iterfind(f"{ns}rule"):
                for index, entry in enumerate(rule.iterfind(f"{ns}inputEntry")):
                    text = entry.find(f"{ns}text")
                    cell = (text.text or "").strip() if text is not None else ""
                    if not cell or cell == "-":
                        continue
                    input_expr = inputs[index] if index < len(inputs) else ""
                    problems += _sandboxed(upload.name, entry, _dmn_test(input_expr, cell), "eval", "input entry", text)
                for entry in rule.iterfind(f"{ns}outputEntry"):
                    text = entry.find(f"{ns}text")
                    cell = (text.text or "").strip() if text is not None else ""
                    if cell:
                        problems += _sandboxed(upload.name, entry, cell, "eval", "output entry", text)
    return problems


def _dmn_test(input_expr: str, cell: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for one input entry (DMNEngine.evaluate)."""
    cell = re.sub(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)', "dmninputexpr", cell)
    if "dmninputexpr" in cell or not input_expr:
        return cell
    try:
        ast.parse(cell, mode="exec")
        needs_eq = True
    except (SyntaxError, ValueError):
        needs_eq = False
    return f"({input_expr}) == ({cell})" if needs_eq else input_expr + cell


_ISO_NUMBER = r"\d+(?:[.,]\d+)?"
ISO_DURATION = re.compile(
    rf"^P(?=[\dT])(?:{_ISO_NUMBER}Y)?(?:{_ISO_NUMBER}M)?(?:{_ISO_NUMBER}W)?(?:{_ISO_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_ISO_NUMBER}H)?(?:{_ISO_NUMBER}M)?(?:{_ISO_NUMBER}S)?)?$",
    re.IGNORECASE,
)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T.*)?$", re.IGNORECASE)
ISO_CYCLE = re.compile(r"^R\d*/\S+$", re.IGNORECASE)
# A bare word that starts like an ISO 8601 value (P…, R3/…, 2026-…) is a mistyped one, not a
# Python variable that happens to be called P5X.
_LOOKS_ISO = re.compile(r"^(?:P\d|PT|R\d*/|\d{4}-)", re.IGNORECASE)

TIMER_KINDS = {
    "timeDuration": ("an ISO 8601 duration such as PT5S, P3D or PT1H30M", "duration"),
    "timeDate": ("an ISO 8601 date and time such as 2026-12-01T09:00:00+08:00", "date"),
    "timeCycle": ("an ISO 8601 repeating interval such as R3/PT10M", "cycle"),
}


def _iso_value_error(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid timer value of this kind, as SpiffWorkflow reads it; None if it is."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    value = value.strip()
    try:
        if kind == "duration":
            if not ISO_DURATION.match(value):
                return "not an ISO 8601 duration"
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "date":
            if not ISO_DATE.match(value):
                return "not an ISO 8601 date"
            TimerEventDefinition.get_datetime(value)
        else:
            if not ISO_CYCLE.match(value):
                return "not an ISO 8601 repeating interval (R<n>/<duration>)"
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception as exc:  # noqa: BLE001 - ValueError, KeyError, AttributeError ... from the parsers
        return _short(exc, 120) or type(exc).__name__
    return None


def _iso_kind(value: str) -> str | None:
    if ISO_DURATION.match(value):
        return "duration"
    if ISO_CYCLE.match(value):
        return "cycle"
    if ISO_DATE.match(value):
        return "date"
    return None


def _check_timers(model: _Model) -> list[ModelProblem]:
    """Timer values as modelling tools write them, and as Redwall's engine evaluates them.

    SpiffWorkflow evaluates a timer's text as a Python expression, so ``PT5S`` written as plain
    text (what every modelling tool writes) is a name that is never defined and the timer
    never fires. A plain ISO 8601 duration, date or repeating interval is therefore turned into
    the quoted expression it means (in the parsed tree only; the stored file is unchanged);
    a quoted constant is checked as that value; any other Python expression is evaluated when
    the timer starts. A value that is none of these is refused here, with its line.
    """
    problems = []
    for upload, process in model.executable_processes():
        for definition in process.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
            owner = _nearest_with_id(definition.getparent())
            owner = definition if owner is None else owner
            values = [child for child in definition if etree.QName(child).localname in TIMER_KINDS]
            if not values:
                problems.append(
                    ModelProblem(
                        upload.name, definition.sourceline, owner.get("id"),
                        "the timer has no value: give it a duration (timeDuration), a date (timeDate) or "
                        "a repeating cycle (timeCycle)",
                    )
                )
                continue
            for value in values:
                problem = _check_timer_value(upload.name, owner, value)
                if problem is not None:
                    problems.append(problem)
    return problems


def _check_timer_value(file: str, owner, value) -> ModelProblem | None:
    tag = etree.QName(value).localname
    expected, kind = TIMER_KINDS[tag]
    text = (value.text or "").strip()
    line = value.sourceline or owner.sourceline

    def refuse(reason: str) -> ModelProblem:
        excerpt = text if len(text) <= 60 else text[:59] + "…"
        return ModelProblem(
            file, line, owner.get("id"),
            f"the timer's {tag} {excerpt!r} {reason}; write {expected} as plain text, "
            "or a Python expression that gives one (e.g. a quoted value or a variable)",
        )

    if not text:
        return refuse("is empty")
    iso = _iso_kind(text)
    if iso is not None:
        reason = _iso_value_error(kind, text) if iso == kind else f"is an ISO 8601 {iso}, not a {kind}"
        if reason:
            return refuse(f"is not valid ({reason})")
        value.text = repr(text)  # what the engine evaluates: the quoted value
        return None
    if _LOOKS_ISO.match(text) and text.isidentifier():
        return refuse("is not valid ISO 8601")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return refuse("is neither ISO 8601 nor a Python expression")
    if isinstance(tree.body, ast.Constant):
        constant = tree.body.value
        if not isinstance(constant, str):
            return refuse("is a constant that is not text")
        reason = _iso_value_error(kind, constant)
        if reason:
            return refuse(f"is not valid ({reason})")
        return None
    # any other expression is evaluated by the restricted engine when the timer starts
    found = _sandboxed(file, owner, text, "eval", f"timer's {tag}", value)
    return found[0] if found else None


def _syntax(file: str, element, source: str, mode: str, what: str) -> list[ModelProblem]:
    try:
        ast.parse(source, mode=mode)
    except SyntaxError as exc:
        reason = exc.msg
        if exc.lineno and source.count("\n"):
            reason += f" (line {exc.lineno} of the {what})"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        reason = _short(exc)
    else:
        return []
    excerpt = " ".join(source.split())
    excerpt = excerpt if len(excerpt) <= 60 else excerpt[:59] + "…"
    message = f"the {what} {excerpt!r} is not valid Python: {reason}"
    # Models drawn for other engines say what they are; tell the designer what we expect.
    if excerpt.startswith("${") or excerpt.startswith("#{"):
        message += "; this looks like JUEL (Camunda 7) — write the expression in Python"
    elif excerpt.startswith("="):
        message += "; this looks like FEEL (Camunda 8) — write the expression in Python"
    elif "getDataObject" in excerpt or re.search(r"\b[a-z]+:[A-Za-z]+\(", excerpt):
        message += (
            "; this looks like XPath (bpmn:getDataObject) — write the expression in Python on the case data, "
            "e.g. approved == True or clarified == 'yes'"
        )
    elif re.search(r"[^=!<>]=[^=]", excerpt) and mode == "eval":
        message += "; to compare, write == (and names without spaces, e.g. service_level == 'Premium')"
    elif mode == "eval" and re.search(r"[A-Za-z] [A-Za-z]+ *(==|!=|<|>)", excerpt):
        message += "; a name cannot contain spaces: write it as in the case data, e.g. service_level"
    return [ModelProblem(file, element.sourceline, element.get("id"), message)]


def _check_call_activities(model: _Model) -> list[ModelProblem]:
    """Every call activity in an executable process must call a process in the upload.

    SpiffWorkflow only notices a missing target when it builds the caller's subprocess
    specs, and then names neither the call activity nor its file.
    """
    problems = []
    for upload, process in model.executable_processes():
        for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
            target = call.get("calledElement")
            if not target:
                problems.append(
                    ModelProblem(
                        upload.name, call.sourceline, call.get("id"),
                        "the call activity names no called process (calledElement)",
                    )
                )
            elif target not in model.processes:
                problems.append(
                    ModelProblem(
                        upload.name, call.sourceline, call.get("id"),
                        f"the call activity calls process {target!r}, which is not in the uploaded files",
                    )
                )
            elif not _spiff_executable(model.processes[target][1]):
                problems.append(
                    ModelProblem(
                        upload.name, call.sourceline, call.get("id"),
                        f"the call activity calls process {target!r}, which is not executable "
                        f"(isExecutable={model.processes[target][1].get('isExecutable')!r})",
                    )
                )
    return problems


def _check_sequence_flows(model: _Model) -> list[ModelProblem]:
    """Both ends of a sequence flow must be flow nodes next to it (same process or subprocess).

    SpiffWorkflow's own message for a dangling end suggests "a form has the same ID".
    """
    problems = []
    for upload, process in model.executable_processes():
        for container in [process, *(e for tag in SUBPROCESS_TAGS for e in process.iter(tag))]:
            nodes = {child.get("id") for child in container if child.tag in FLOW_NODE_TAGS}
            for flow in container.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
                for end in ("sourceRef", "targetRef"):
                    ref = flow.get(end)
                    if ref not in nodes:
                        problems.append(
                            ModelProblem(
                                upload.name, flow.sourceline, flow.get("id"),
                                f"the sequence flow's {end} {ref!r} is not a task, event or gateway "
                                f"of the same {etree.QName(container).localname}",
                            )
                        )
    return problems


def _check_camunda_service_tasks(model: _Model) -> list[ModelProblem]:
    """SpiffWorkflow's Camunda parser makes a service task that does nothing; Redwall refuses it,
    as it refuses a service task naming no connector in its own dialect (a Java class, an external
    task topic or an expression of Camunda's would silently not run)."""
    problems = []
    for upload, process in model.executable_processes():
        for task in process.iter(f"{{{BPMN_NS}}}serviceTask"):
            how = [f"camunda:{a}" for a in ("class", "delegateExpression", "expression", "type")
                   if task.get(f"{{{camunda_dialect.CAMUNDA_NS}}}{a}")]
            message = (
                f"the {_label(task)} names no connector"
                + (f" (Redwall runs no Java delegates, expressions or external tasks: {', '.join(how)})" if how else "")
                + ": in a model from Camunda Modeler SpiffWorkflow's service task does nothing, so Redwall refuses it. "
                "Name a connector registered in Redwall with <spiffworkflow:serviceTaskOperator> (the model is then "
                "read in Redwall's own dialect), or replace the task with a script task or a user task"
            )
            problems.append(ModelProblem(upload.name, task.sourceline, task.get("id"), message))
    return problems


def _check_decision_refs(model: _Model, camunda: bool = False) -> list[ModelProblem]:
    """Business rule tasks must name a decision of an uploaded .dmn file.

    SpiffWorkflow finds the decision by the ``spiffworkflow:calledDecisionId`` extension;
    the message it gives when it is missing lists the decisions it has, often none.
    """
    decisions = {
        decision.get("id")
        for upload in model.uploads
        if upload.kind == "dmn"
        for decision in upload.tree.getroot()
        if etree.QName(decision).localname == "decision"
    }
    problems = []
    for upload, process in model.executable_processes():
        for task in process.iter(f"{{{BPMN_NS}}}businessRuleTask"):
            if camunda:  # SpiffWorkflow's Camunda parser reads camunda:decisionRef
                decision = (task.get(f"{{{camunda_dialect.CAMUNDA_NS}}}decisionRef") or "").strip()
                attribute = "camunda:decisionRef"
            else:
                ref = task.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}calledDecisionId")
                decision = (ref.text or "").strip() if ref is not None else ""
                attribute = "spiffworkflow:calledDecisionId"
            if not decision:
                message = f"the business rule task names no decision ({attribute})"
            elif decision not in decisions:
                available = ", ".join(repr(d) for d in sorted(decisions)) or "none"
                message = (
                    f"the business rule task calls decision {decision!r}, which is not in the uploaded "
                    f".dmn files (decisions uploaded: {available})"
                )
            else:
                continue
            problems.append(ModelProblem(upload.name, task.sourceline, task.get("id"), message))
    return problems


def _check_data_stores(upload: _Upload, parser: SpiffBpmnParser) -> list[ModelProblem]:
    """Data stores need an implementation registered with the parser; we register none."""
    problems = []
    for store in upload.tree.getroot().iter(f"{{{BPMN_NS}}}dataStore"):
        name = store.get("name")
        if name not in parser.DATA_STORE_CLASSES:
            label = " ".join((name or "").split()) or "(unnamed)"
            problems.append(
                ModelProblem(
                    upload.name, store.sourceline, store.get("id"),
                    f"data store {label!r} has no implementation in Redwall; "
                    "keep case data in data objects or task data",
                )
            )
    return problems


def _check_data_associations(model: _Model) -> list[ModelProblem]:
    """Data associations must connect a task to a data object or data store reference.

    SpiffWorkflow cannot map anything else (a process-level data input, say) and its own
    error names neither the reference nor the association.
    """
    problems = []
    references: dict[int, set[str]] = {}
    for upload, process in model.executable_processes():
        # SpiffWorkflow looks references up anywhere in the document.
        root = upload.tree.getroot()
        if id(root) not in references:
            references[id(root)] = {
                element.get("id")
                for tag in ("dataObjectReference", "dataStoreReference")
                for element in root.iter(f"{{{BPMN_NS}}}{tag}")
            }
        for kind, end in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
            for association in process.iter(f"{{{BPMN_NS}}}{kind}"):
                for ref in association.iterfind(f"{{{BPMN_NS}}}{end}"):
                    target = (ref.text or "").strip()
                    if target in references[id(root)]:
                        continue
                    owner = association.getparent()
                    owner = owner if owner is not None and owner.get("id") else association
                    problems.append(
                        ModelProblem(
                            upload.name, association.sourceline, owner.get("id"),
                            f"the {kind} refers to {target!r}, which is not a data object reference or data "
                            "store reference; only those can be mapped to and from task data",
                        )
                    )
    return problems


def _add_dmn(parser: SpiffBpmnParser, model: _Model, upload: _Upload) -> list[ModelProblem]:
    root = upload.tree.getroot()
    namespace = etree.QName(root).namespace
    # SpiffWorkflow's DMN parser finds elements through the prefix "dmn" (or the default
    # namespace, which it renames to "dmn"); any other prefix makes its XPath fail.
    if root.nsmap.get(None) != namespace and root.nsmap.get("dmn") != namespace:
        return [
            ModelProblem(
                upload.name, root.sourceline, root.get("id"),
                "declare the DMN namespace as the default namespace (or with the prefix 'dmn')",
            )
        ]
    decisions = root.findall(f"{{{namespace}}}decision")
    if not decisions:
        return [ModelProblem(upload.name, root.sourceline, root.get("id"), "the DMN file has no decision")]
    if len(decisions) > 1:
        return [
            ModelProblem(
                upload.name, decisions[1].sourceline, decisions[1].get("id"),
                "only one decision per DMN file is supported; put each decision in its own file",
            )
        ]
    decision = decisions[0]
    decision_id = decision.get("id")
    if decision_id in parser.dmn_parsers:
        other = parser.dmn_parsers[decision_id].filename
        return [
            ModelProblem(
                upload.name, decision.sourceline, decision_id, f"decision {decision_id!r} is also defined in {other}"
            )
        ]

    def add_and_parse():
        parser.add_dmn_xml(root, filename=upload.name)
        # DMN files are parsed lazily, when a business rule task first needs them; parse
        # now so that a broken table is reported at deploy time.
        dmn_parser = parser.dmn_parsers[decision_id]
        dmn_parser.parse()
        if not dmn_parser.decision.decisionTables:
            raise ValidationException(
                "the decision has no decision table (only decision tables are supported)",
                node=decision,
                file_name=upload.name,
            )

    return model.guard(add_and_parse, upload.name, decision_id)


# -- stage 3: specs ---------------------------------------------------------------------------
def _build_all_specs(parser: SpiffBpmnParser, model: _Model) -> list[ModelProblem]:
    """Build every executable process's spec, one problem per process that fails.

    SpiffWorkflow builds specs lazily; building them all now (like its ``find_all_specs``,
    but without stopping at the first failure) catches errors in processes the entry
    process only reaches later. Building a process can register new ones (embedded
    subprocesses), hence the loop.
    """
    problems: list[ModelProblem] = []
    attempted: set[str] = set()
    while True:
        pending = [pid for pid in parser.get_process_ids() if pid not in attempted]
        if not pending:
            return problems
        for pid in pending:
            attempted.add(pid)
            found = model.processes.get(pid)
            if found is not None and _is_empty(found[1]):
                continue  # a black-box pool: nothing to build, nothing will run it
            problems += model.guard(lambda pid=pid: parser.get_spec(pid), model.process_file(pid), pid)


def _lanes(bpmn: list[_Upload]) -> dict[str, str]:
    """Flow node id -> id of its lane, for every flow node of every uploaded process.

    A node inside an embedded subprocess, which has no ``flowNodeRef`` of its own, takes
    the subprocess's lane (as SpiffWorkflow does); a boundary event that no lane lists
    takes the lane of the activity it is attached to. Nested lanes: the innermost wins.
    """
    lanes: dict[str, str] = {}
    for upload in bpmn:
        for process in upload.tree.getroot().iter(f"{{{BPMN_NS}}}process"):
            direct: dict[str, str] = {}
            # iter() is document order, so a child lane is seen after its parent and wins.
            for lane in process.iter(f"{{{BPMN_NS}}}lane"):
                lane_id = lane.get("id")
                if not lane_id:
                    continue
                for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
                    if ref.text and ref.text.strip():
                        direct[ref.text.strip()] = lane_id
            # Nodes no lane lists (nor an enclosing subprocess's) go to the process's default group.
            _assign_lanes(process, default_group(process), direct, lanes)
    return lanes


#: The process property naming the group that works the process's tasks no lane lists
#: (``<spiffworkflow:property name="default_group" value="intake"/>`` in the process's
#: ``extensionElements``).
DEFAULT_GROUP_PROPERTY = "default_group"
HUMAN_TASK_TAGS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("userTask", "manualTask"))


def _properties(element) -> dict[str, str]:
    """The ``spiffworkflow:properties`` (or ``camunda:properties``) of an element (its own, not its children's)."""
    found = {}
    # (camunda:property too: a model from Camunda Modeler names default_group & co. that way)
    for prop in [*element.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{camunda_dialect.CAMUNDA_NS}}}properties/{{{camunda_dialect.CAMUNDA_NS}}}property"
    ), *element.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    )]:
        if prop.get("name"):
            found[prop.get("name")] = (prop.get("value") or "").strip()
    return found


def default_group(process) -> str | None:
    return _properties(process).get(DEFAULT_GROUP_PROPERTY) or None


def _laneless_task_warnings(bpmn: list[_Upload], lanes: dict[str, str]) -> list[ModelProblem]:
    """Warnings for the human tasks of executable processes that no group would work.

    A user or manual task outside every lane (and without a ``default_group`` process
    property) that names no candidate groups or users lands in no group's queue: admins see
    it, and admins and supervisors can assign it to someone, but nobody can claim it.
    """
    warnings = []
    for upload in bpmn:
        for process in upload.tree.getroot().iter(f"{{{BPMN_NS}}}process"):
            if not _spiff_executable(process):
                continue
            for task in process.iter(*HUMAN_TASK_TAGS):
                task_id = task.get("id")
                if not task_id or task_id in lanes:
                    continue
                props = _properties(task)
                if props.get("candidate_groups") or props.get("candidate_users"):
                    continue
                if any(task.get(f"{{{camunda_dialect.CAMUNDA_NS}}}{a}") for a in ("candidateGroups", "candidateUsers", "assignee")):
                    continue
                warnings.append(ModelProblem(
                    upload.name, task.sourceline, task_id,
                    f"{_label(task)} is in no lane, so no group works it: admins and supervisors "
                    "can assign it to someone. Put it in a lane (the lane id is the group), or give the "
                    f"process the property {DEFAULT_GROUP_PROPERTY} naming the group that works such tasks",
                    blocking=False,
                ))
    return warnings


def _assign_lanes(container, inherited: str | None, direct: dict[str, str], lanes: dict[str, str]) -> None:
    boundary = []
    for child in container:
        if child.tag not in FLOW_NODE_TAGS:
            continue
        node_id = child.get("id")
        lane = direct.get(node_id, inherited) if node_id else inherited
        if child.tag == f"{{{BPMN_NS}}}boundaryEvent" and node_id not in direct:
            boundary.append(child)
        elif node_id and lane:
            lanes[node_id] = lane
        if child.tag in SUBPROCESS_TAGS:
            _assign_lanes(child, lane, direct, lanes)
    for event in boundary:
        lane = lanes.get(event.get("attachedToRef") or "", inherited)
        if event.get("id") and lane:
            lanes[event.get("id")] = lane


# -- helpers ----------------------------------------------------------------------------------
def _invalid(problems: list[ModelProblem]) -> InvalidModel:
    """The exception for these problems, capped so that a pathological file cannot make a
    multi-megabyte 422."""
    if len(problems) > MAX_PROBLEMS:
        hidden = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [ModelProblem(None, None, None, f"{hidden} more problems not shown")]
    return InvalidModel(problems)


def _usable_dmn_schemas() -> dict[str, str]:
    """SpiffWorkflow's DMN schemas that actually compile (its DMN 1.2 one does not)."""
    global _DMN_SCHEMAS
    if _DMN_SCHEMAS is None:
        usable = {}
        for namespace, path in SPIFF_DMN_SCHEMAS.items():
            try:
                BpmnValidator(path)
            except Exception:  # noqa: BLE001 - XMLSchemaParseError, or a missing file
                log.info("DMN schema for %s does not compile; files in it are not XSD-validated", namespace)
                continue
            usable[namespace] = path
        _DMN_SCHEMAS = usable  # a benign race: every thread computes the same dict
    return _DMN_SCHEMAS


_DMN_SCHEMAS: dict[str, str] | None = None


def _element_of_log_entry(tree, entry):
    """The element an lxml schema error is about: by its path, else the first on its line."""
    if entry.path:
        namespaces = {p: ns for p, ns in tree.getroot().nsmap.items() if p}
        try:
            found = tree.xpath(entry.path, namespaces=namespaces)
        except (etree.XPathError, ValueError):
            found = []
        if found and isinstance(found[0], etree._Element):
            return found[0]
    if entry.line:
        for element in tree.iter(etree.Element):
            if element.sourceline == entry.line:
                return element
    return None


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _spiff_executable(process) -> bool:
    # SpiffWorkflow's own reading of the attribute: absent means executable.
    return process.get("isExecutable", "true") == "true"


def _label(element) -> str:
    """How a message names an element: its BPMN type, id and name (``userTask 'review' (Review)``)."""
    kind = etree.QName(element).localname if isinstance(element.tag, str) else "element"
    name = " ".join((element.get("name") or "").split())
    return f"{kind} {element.get('id')!r}" + (f" ({name})" if name else "")


def _nearest_with_id(element):
    while element is not None and not element.get("id"):
        element = element.getparent()
    return element


def _nearest_id(element) -> str | None:
    element = _nearest_with_id(element)
    return element.get("id") if element is not None else None


def _shorten_namespaces(message: str) -> str:
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:")
    for namespace in DMN_NAMESPACES:
        message = message.replace(f"{{{namespace}}}", "dmn:")
    return message


def _json_type(value) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"


def _short(value, limit: int = 500) -> str:
    """Messages go into JSON responses; keep any one of them readable."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
