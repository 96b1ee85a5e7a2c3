"""Models from Camunda Modeler: which ``camunda:`` attributes Redwall honours, and how.

SpiffWorkflow ships a Camunda-dialect parser (:mod:`SpiffWorkflow.camunda`): a model written
with ``camunda:`` extensions and no ``spiffworkflow:`` ones is parsed by it, so that it runs as
it does in bare SpiffWorkflow (multi-instance ``collection``/``elementVariable``, business rule
``decisionRef``, message ``expression``/``resultVariable``). On top of the engine, Redwall reads
the assignment attributes designers use every day, in either dialect, into the task properties
its worklists and deadlines already understand:

=====================  ==============================================================
``candidateGroups``    ``candidate_groups`` (the groups that may claim the task)
``candidateUsers``     ``candidate_users``
``assignee``           ``assignee``: the task starts claimed by that user
``dueDate``            an ISO date → ``due_date``; ``${field}`` or a name → ``due_date_field``
``camunda:property``   a property, like ``spiffworkflow:property`` (``api_roles``, ``default_group`` ...)
=====================  ==============================================================

Every other ``camunda:`` attribute or element in an executable process is named in the deploy
answer's warnings (with its line and element id): deployed, not honoured, never silently ignored.

Pure: no Flask, no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

#: camunda attributes Redwall reads into task properties (either dialect)
ASSIGNMENT_ATTRIBUTES = ("candidateGroups", "candidateUsers", "assignee", "dueDate")
#: what SpiffWorkflow's Camunda parser itself honours (Camunda dialect only), by the element
#: (local name) they sit on; ``None``: on any element
ENGINE_HONOURED = {
    ("multiInstanceLoopCharacteristics", "collection"),
    ("multiInstanceLoopCharacteristics", "elementVariable"),
    ("businessRuleTask", "decisionRef"),
    ("messageEventDefinition", "expression"),
    ("messageEventDefinition", "resultVariable"),
    (None, "properties"),
    (None, "property"),
}
#: harmless bookkeeping of the modeler (no behaviour to honour)
IGNORABLE = {"versionTag", "historyTimeToLive", "isStartableInTasklist", "diagramRelationId"}

_EXPRESSION = re.compile(r"^[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class DialectNote:
    """An unhonoured camunda attribute or element: where it is and what to do about it."""

    line: int | None
    element_id: str | None
    message: str


ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"


def uses_namespace(tree, namespace: str) -> bool:
    """Whether an element or attribute of ``namespace`` is used (modeler bookkeeping aside)."""
    for element in tree.iter(etree.Element):
        if etree.QName(element).namespace == namespace:
            return True
        if any(isinstance(k, str) and k.startswith(f"{{{namespace}}}") and etree.QName(k).localname not in IGNORABLE
               for k in element.attrib):
            return True
    return False


def is_camunda_dialect(trees) -> bool:
    """Whether a model is written for Camunda 7 (the dialect SpiffWorkflow's Camunda parser
    reads): ``camunda:`` extensions and neither ``spiffworkflow:`` ones (a model with both is read
    in Redwall's own dialect) nor Camunda 8's ``zeebe:`` ones, in any of its BPMN files."""
    trees = list(trees)
    return (
        any(uses_namespace(t, CAMUNDA_NS) for t in trees)
        and not any(uses_namespace(t, SPIFF_NS) or uses_namespace(t, ZEEBE_NS) for t in trees)
    )


def _id_of(element):
    while element is not None and not element.get("id"):
        element = element.getparent()
    return element


def task_properties(process, camunda_dialect: bool) -> tuple[dict[str, dict[str, str]], list[DialectNote]]:
    """``({element id: properties from camunda attributes}, notes)`` for one executable process."""
    found: dict[str, dict[str, str]] = {}
    notes: list[DialectNote] = []
    for element in process.iter(etree.Element):
        owner = _id_of(element)
        owner_id = owner.get("id") if owner is not None else None
        local = etree.QName(element).localname
        if etree.QName(element).namespace == CAMUNDA_NS:
            if local == "property" and owner_id:  # a task property in either dialect
                if element.get("name"):
                    found.setdefault(owner_id, {})[element.get("name")] = (element.get("value") or "").strip()
                continue
            if local == "properties" or (camunda_dialect and (None, local) in ENGINE_HONOURED):
                continue
            parent = element.getparent()
            if parent is not None and etree.QName(parent).namespace == CAMUNDA_NS:
                continue  # named with the element it belongs to
            notes.append(_note(element, owner_id, f"camunda:{local}", _HINTS.get(local)))
            continue
        for name, value in element.attrib.items():
            if not (isinstance(name, str) and name.startswith(f"{{{CAMUNDA_NS}}}")):
                continue
            attribute = etree.QName(name).localname
            if attribute in IGNORABLE:
                continue
            if attribute in ASSIGNMENT_ATTRIBUTES and element.get("id"):
                honoured, note = _assignment(attribute, value.strip())
                if honoured:
                    found.setdefault(element.get("id"), {}).update(honoured)
                if note:
                    notes.append(_note(element, element.get("id"), f"camunda:{attribute}={value!r}", note))
                continue
            if camunda_dialect and ((local, attribute) in ENGINE_HONOURED or (None, attribute) in ENGINE_HONOURED):
                continue
            hint = _HINTS.get(attribute)
            if not camunda_dialect and (local, attribute) in ENGINE_HONOURED:
                hint = (
                    "the model also uses spiffworkflow: extensions, so it is read in Redwall's own dialect, "
                    "where this Camunda attribute means nothing; " + _SPIFF_EQUIVALENT.get(attribute, "use the spiffworkflow: equivalent")
                )
            notes.append(_note(element, owner_id, f"camunda:{attribute}", hint))
    return found, notes


def _note(element, owner_id, what: str, hint: str | None) -> DialectNote:
    return DialectNote(
        element.sourceline, owner_id,
        f"{what} is not honoured by Redwall: it is deployed and ignored"
        + (f" — {hint}" if hint else ""),
    )


def _assignment(attribute: str, value: str) -> tuple[dict[str, str], str | None]:
    """The properties an assignment attribute becomes, and a note when (part of) it cannot be."""
    if attribute in ("candidateGroups", "candidateUsers"):
        names = [v.strip() for v in value.split(",") if v.strip()]
        plain = [n for n in names if not n.startswith(("${", "#{"))]
        key = "candidate_groups" if attribute == "candidateGroups" else "candidate_users"
        note = None
        if len(plain) != len(names):
            note = ("expressions in it are not evaluated (Redwall scripts are Python): name the groups or users, "
                    f"or set a task data field {key} in a script before the task")
        return ({key: ",".join(plain)} if plain else {}), note
    if attribute == "assignee":
        if not value or value.startswith(("${", "#{")):
            return {}, "an expression is not evaluated: name the user, or leave the task to its groups"
        return {"assignee": value}, None
    # dueDate
    match = _EXPRESSION.match(value)
    if match:
        return {"due_date_field": match.group(1)}, None
    if value.isidentifier():
        return {"due_date_field": value}, None
    if _ISO_DAY.match(value):
        return {"due_date": value[:10]}, None
    return {}, ("write an ISO 8601 date (2026-12-01), or ${field} naming a date in the case data; "
                "other expressions are not evaluated")


_HINTS = {
    "class": "Redwall runs no Java delegates: use a service task with a registered connector (spiffworkflow:serviceTaskOperator)",
    "delegateExpression": "Redwall runs no Java delegates: use a service task with a registered connector",
    "expression": "JUEL expressions are not evaluated: use a script task in Python",
    "type": "external tasks are not supported: use a service task with a registered connector",
    "topic": "external tasks are not supported: use a service task with a registered connector",
    "asyncBefore": "Redwall commits every step; there is nothing to configure",
    "asyncAfter": "Redwall commits every step; there is nothing to configure",
    "exclusive": "Redwall commits every step; there is nothing to configure",
    "formKey": "Camunda forms are not shown: give the task a JSON Schema form (property formJsonSchemaFilename)",
    "formData": "Camunda forms are not shown: give the task a JSON Schema form (property formJsonSchemaFilename)",
    "formRef": "Camunda forms are not shown: give the task a JSON Schema form (property formJsonSchemaFilename)",
    "inputOutput": "input/output mappings are not applied: map data in a script task",
    "in": "call activity variable mappings are not applied: the called process sees the caller's data",
    "out": "call activity variable mappings are not applied: the caller gets the called process's data back",
    "executionListener": "listeners are not run: use a script task",
    "taskListener": "listeners are not run: use a pre- or post-script",
    "followUpDate": "use dueDate (the task's deadline)",
    "priority": "use the task property priority",
    "resultVariable": "use spiffworkflow:messageVariable (or a script) to name where the result goes",
    "decisionRefBinding": "Redwall uses the decision deployed with the model",
    "calledElementBinding": "Redwall calls the process deployed with the model",
    "calledElementVersion": "Redwall calls the process deployed with the model",
}
_SPIFF_EQUIVALENT = {
    "collection": "use bpmn:loopDataInputRef and bpmn:inputDataItem",
    "elementVariable": "use bpmn:inputDataItem",
    "decisionRef": "use spiffworkflow:calledDecisionId",
    "expression": "use spiffworkflow:messagePayload",
    "resultVariable": "use spiffworkflow:messageVariable",
}


def apply_properties(specs, properties: dict[str, dict[str, str]], camunda_dialect: bool) -> None:
    """Put the properties read from camunda attributes on the parsed task specs, where the
    engine reads ``spiffworkflow:properties`` (``task_spec.extensions["properties"]``). The Camunda
    parser keeps a flat dict of ``camunda:property`` instead: it is replaced by that shape."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            extensions = getattr(task_spec, "extensions", None)
            if camunda_dialect:
                extensions = {"properties": {}}
            elif not isinstance(extensions, dict):
                extensions = {}
            extra = properties.get(bpmn_id or "")
            if not extra and not camunda_dialect:
                continue
            props = dict(extensions.get("properties") or {})
            props.update(extra or {})
            task_spec.extensions = {**extensions, "properties": props}


def settle_multi_instance(specs) -> None:
    """Do at parse time what SpiffWorkflow's Camunda multi-instance task does to its spec when it
    starts (``update_task_spec``): the collection is also its input, the element variable its
    input item. SpiffWorkflow changes the spec at run time; Redwall saves cases without their spec
    and parses models afresh, so a case loaded in the middle of the loop would find neither. (The
    same assignments, made again when the task starts, change nothing.) A cardinality that turns
    out to be a collection at run time is still SpiffWorkflow's to resolve."""
    from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
    from SpiffWorkflow.camunda.specs.multiinstance_task import (
        ParallelMultiInstanceTask,
        SequentialMultiInstanceTask,
    )

    for spec in specs:
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, (ParallelMultiInstanceTask, SequentialMultiInstanceTask)):
                continue
            if task_spec.cardinality is None:
                if task_spec.data_output is not None:
                    task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
                if task_spec.output_item is not None:
                    task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)
            elif task_spec.output_item is not None:
                task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)

