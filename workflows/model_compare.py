"""Compare two versions of a process model: which elements were added, removed or changed
(name, type, lane, properties, flows, conditions, scripts, timers, connector, form), and which
form files were added, removed or changed (their fields). The studio's compare page shows it.

Versions are compared by element id, as designers' tools keep ids stable across edits; the
diagram interchange part (positions) is not compared.
"""
from __future__ import annotations

import json

from lxml import etree

from .accounts import Actor
from .context import EngineContext
from .errors import Forbidden, NotFound
from .model_parsing import BPMN_NS, SPIFF_NS, is_bpmn_file
from .process_models import DEPLOY_ROLES, model_files, model_versions

_B = f"{{{BPMN_NS}}}"
_S = f"{{{SPIFF_NS}}}"
#: attributes of an element that say what it is called, not what it does
_IGNORED_ATTRIBUTES = {"id", "name"}
#: elements with an id that are parts of others (compared as a property of their owner)
_PARTS = {"conditionExpression", "timerEventDefinition", "messageEventDefinition", "errorEventDefinition",
          "signalEventDefinition", "escalationEventDefinition", "terminateEventDefinition",
          "conditionalEventDefinition", "linkEventDefinition", "compensateEventDefinition",
          "cancelEventDefinition", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
          "laneSet", "ioSpecification", "dataInput", "dataOutput", "inputSet", "outputSet",
          "dataInputAssociation", "dataOutputAssociation", "property"}
#: the elements compared: everything with an id in the process part of the model
_TOP = {"process", "collaboration", "participant", "messageFlow", "message", "signal", "error", "escalation",
        "dataStore"}


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _describe(element, lanes: dict[str, str]) -> dict[str, str]:
    """What an element is and does, as ``{aspect: text}`` (only the aspects it has)."""
    found: dict[str, str] = {"type": etree.QName(element).localname}
    if element.get("name"):
        found["name"] = " ".join(element.get("name").split())
    for attr, value in sorted(element.attrib.items()):
        local = etree.QName(attr).localname
        if local not in _IGNORED_ATTRIBUTES:
            found[f"@{local}"] = value
    if element.get("id") in lanes:
        found["lane"] = lanes[element.get("id")]
    condition = element.find(f"{_B}conditionExpression")
    if condition is not None:
        found["condition"] = _text(condition)
    script = element.find(f"{_B}script")
    if script is not None:
        found["script"] = _text(script)
    for timer in element.iterfind(f"{_B}timerEventDefinition"):
        for kind in ("timeDuration", "timeDate", "timeCycle"):
            if timer.find(f"{_B}{kind}") is not None:
                found[f"timer {kind}"] = _text(timer.find(f"{_B}{kind}"))
    for definition in element:
        local = etree.QName(definition).localname if isinstance(definition.tag, str) else ""
        if local.endswith("EventDefinition") and local != "timerEventDefinition":
            ref = definition.get("messageRef") or definition.get("signalRef") or definition.get("errorRef") or ""
            found["event"] = (local + (" " + ref if ref else "")).strip()
    extensions = element.find(f"{_B}extensionElements")
    if extensions is not None:
        for prop in extensions.iterfind(f"{_S}properties/{_S}property"):
            if prop.get("name"):
                found[f"property {prop.get('name')}"] = prop.get("value") or ""
        operator = extensions.find(f"{_S}serviceTaskOperator")
        if operator is not None:
            found["connector"] = operator.get("id") or ""
            if operator.get("resultVariable"):
                found["result variable"] = operator.get("resultVariable")
            for param in operator.iterfind(f"{_S}parameters/{_S}parameter"):
                found[f"parameter {param.get('id')}"] = param.get("value") or ""
        for tag in ("preScript", "postScript", "instructionsForEndUser", "calledDecisionId"):
            if extensions.find(f"{_S}{tag}") is not None:
                found[tag] = _text(extensions.find(f"{_S}{tag}"))
    loop = element.find(f"{_B}multiInstanceLoopCharacteristics")
    if loop is not None:
        found["multi-instance"] = ("sequential" if loop.get("isSequential") == "true" else "parallel") + (
            " " + _text(loop) if _text(loop) else "")
    return found


def _elements(files: list[tuple[str, bytes]]) -> dict[str, dict[str, str]]:
    """Element id -> description, for every element of every BPMN file of a version."""
    elements: dict[str, dict[str, str]] = {}
    for name, content in files:
        if not is_bpmn_file(name):
            continue
        try:
            root = etree.fromstring(content, _safe_parser())
        except etree.XMLSyntaxError:
            continue  # a stored version was checked at deploy; nothing to compare in an unreadable file
        lanes: dict[str, str] = {}
        for lane in root.iter(f"{_B}lane"):
            for ref in lane.iterfind(f"{_B}flowNodeRef"):
                if ref.text and ref.text.strip() and lane.get("id"):
                    lanes[ref.text.strip()] = lane.get("id")
        for element in root.iter():
            if not isinstance(element.tag, str) or not element.tag.startswith(_B) or not element.get("id"):
                continue
            local = etree.QName(element).localname
            if local in _PARTS or local == "definitions":
                continue
            if local not in _TOP and element.getparent() is not None and not _in_process(element):
                continue
            elements[element.get("id")] = _describe(element, lanes)
    return elements


def _in_process(element) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag in (f"{_B}process", f"{_B}subProcess", f"{_B}collaboration", f"{_B}laneSet"):
            return True
        parent = parent.getparent()
    return False


def _form_fields(content: bytes) -> dict[str, str] | None:
    try:
        schema = json.loads(content)
    except ValueError:
        return None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    return {name: json.dumps(prop, ensure_ascii=False, sort_keys=True) + (" required" if name in required else "")
            for name, prop in props.items()}


def compare_files(old: list[tuple[str, bytes]], new: list[tuple[str, bytes]]) -> dict:
    """The differences between two versions' files (see the module's docstring)."""
    before, after = _elements(old), _elements(new)
    old_forms = {n: c for n, c in old if n.lower().endswith(".json")}
    new_forms = {n: c for n, c in new if n.lower().endswith(".json")}
    changed_forms = {n for n in old_forms.keys() & new_forms.keys() if old_forms[n] != new_forms[n]}

    def row(element_id: str, description: dict) -> dict:
        return {"id": element_id, "type": description.get("type", ""), "name": description.get("name", "")}

    added = [row(i, after[i]) for i in after if i not in before]
    removed = [row(i, before[i]) for i in before if i not in after]
    changed = []
    for element_id in after:
        if element_id not in before:
            continue
        a, b = before[element_id], after[element_id]
        changes = [{"aspect": aspect, "before": a.get(aspect), "after": b.get(aspect)}
                   for aspect in sorted(a.keys() | b.keys(), key=lambda k: (k != "type", k != "name", k))
                   if a.get(aspect) != b.get(aspect)]
        form = b.get("property formJsonSchemaFilename")
        if form and form == a.get("property formJsonSchemaFilename") and form in changed_forms:
            changes.append({"aspect": "form content", "before": form, "after": form})
        if changes:
            changed.append({**row(element_id, b), "changes": changes})
    forms = []
    for name in sorted(old_forms.keys() | new_forms.keys()):
        if name not in old_forms:
            forms.append({"file": name, "status": "added", "fields_added": sorted(_form_fields(new_forms[name]) or {}),
                          "fields_removed": [], "fields_changed": []})
        elif name not in new_forms:
            forms.append({"file": name, "status": "removed", "fields_added": [],
                          "fields_removed": sorted(_form_fields(old_forms[name]) or {}), "fields_changed": []})
        elif name in changed_forms:
            a, b = _form_fields(old_forms[name]) or {}, _form_fields(new_forms[name]) or {}
            forms.append({"file": name, "status": "changed", "fields_added": sorted(b.keys() - a.keys()),
                          "fields_removed": sorted(a.keys() - b.keys()),
                          "fields_changed": sorted(k for k in a.keys() & b.keys() if a[k] != b[k])})
    return {"added": added, "removed": removed, "changed": changed, "forms": forms,
            "same": not (added or removed or changed or forms)}


def compare_versions(ctx: EngineContext, actor: Actor, key: str, old_version: int | None = None,
                     new_version: int | None = None) -> dict:
    """:func:`compare_files` of two versions of ``key`` in the caller's tenant (designers and admins),
    with ``key``, ``versions`` (newest first), ``old`` and ``new``. By default the newest version
    against the one before it; an unknown version is a NotFound."""
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins compare model versions")
    versions = [v["version"] for v in model_versions(ctx, actor, key)]
    new = versions[0] if new_version is None else new_version
    old = max((v for v in versions if v < new), default=new) if old_version is None else old_version
    for wanted in (old, new):
        if wanted not in versions:
            raise NotFound(f"no process model {key!r} version {wanted}")
    diff = compare_files(model_files(ctx, actor, key, old), model_files(ctx, actor, key, new))
    return {**diff, "key": key, "versions": versions, "old": old, "new": new}
