"""The designer's studio: the models with their versions, a version opened in the bpmn-js
modeler, deploying the edited diagram as the next version, and a new model from an empty diagram.

The deploy endpoints answer JSON for the page's script (``static/js/studio.js``): 201/200 with the
stored version, or the API's error shape (422 with ``errors.bpmn`` listing every problem with its
file, line and element id), so the page can mark each problem on its element.
"""
from __future__ import annotations

import re

from flask import current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from workflows.errors import Forbidden, InvalidInput, RedwallError
from onewindow.catalogue import load_catalogue
from workflows.model_compare import compare_versions
from workflows.model_parsing import read_form
from workflows.process_models import (
    DEPLOY_ROLES,
    FORM_NAME,
    check_model,
    deploy_edited_version,
    deploy_new_model,
    edited_version_files,
    model_catalogue,
    model_files,
    model_xml,
    new_model_files,
    studio_version,
)

from ..errors import STATUS_OF, error_response
from ..form_labels import request_locale
from .forms import form_fields, form_title
from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("studio", url_prefix="/studio")

#: A process key is the BPMN process id: an XML name without a colon, as designers' tools write it.
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


def ctx():
    return current_app.extensions["redwall"]


def _require_designer() -> None:
    if not g.actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("the studio belongs to designers and admins")


@bp.get("")
@page_login_required
def home():
    return render_template("studio/models.html", models=model_catalogue(ctx(), g.actor))


@bp.get("/models/<key>/versions/<int:version>")
@page_login_required
def modeler(key: str, version: int):
    _require_designer()
    g.allow_inline_styles = True  # bpmn-js styles the SVG it draws
    model, shown = studio_version(ctx(), g.actor, key, version)
    return render_template(
        "studio/modeler.html", model=model, shown=shown, latest=model["versions"][0]["version"],
        source_url=url_for("studio.source", key=key, version=version),
        deploy_url=url_for("studio.deploy_version", key=key, version=version),
        check_url=url_for("studio.check_version", key=key, version=version),
        **_panel_choices(),
    )


def _panel_choices() -> dict:
    """What the properties panel offers: the registry's connectors and the known groups."""
    departments = load_catalogue().departments_en if request_locale() == "en" else load_catalogue().departments
    groups = [{"code": code, "name": name} for code, name in sorted(departments.items())]
    for code, name in (("intake", _("Intake window")), ("applicant", _("Applicant"))):
        if code not in departments:
            groups.insert(0, {"code": code, "name": name})
    return {"connectors": ctx().connectors.names(), "groups": groups,
            "preview_url": url_for("studio.form_preview")}


@bp.get("/models/<key>/versions/<int:version>/source")
@page_login_required
def source(key: str, version: int):
    """The version's BPMN for the modeler."""
    _require_designer()
    filename, content = model_xml(ctx(), g.actor, key, version)
    forms = {name: data.decode("utf-8", errors="replace") for name, data in model_files(ctx(), g.actor, key, version)
             if name.lower().endswith(".json")}
    return jsonify({"key": key, "version": version, "filename": filename,
                    "xml": content.decode("utf-8", errors="replace"), "forms": forms})


@bp.get("/new")
@page_login_required
def new_model():
    _require_designer()
    g.allow_inline_styles = True
    return render_template("studio/modeler.html", model=None, shown=None, latest=None, source_url=None,
                           deploy_url=url_for("studio.deploy_new"), check_url=url_for("studio.check_new"),
                           **_panel_choices())


@bp.post("/models/<key>/versions/<int:version>/deploy")
@page_login_required
def deploy_version(key: str, version: int):
    try:
        xml = _posted_xml()
        model, created = deploy_edited_version(ctx(), g.actor, key, version, xml, _posted_forms())
    except (RedwallError, HTTPException) as exc:
        return _json_error(exc)
    return _deployed(model, created)


@bp.post("/new/deploy")
@page_login_required
def deploy_new():
    try:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            _posted_xml()  # says what to send
        key = _posted_key(body)
        xml = _posted_xml()
        model, created = deploy_new_model(ctx(), g.actor, key, xml, _posted_forms())
    except (RedwallError, HTTPException) as exc:
        return _json_error(exc)
    return _deployed(model, created)


def _posted_key(body) -> str:
    key = body.get("key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not KEY.match(key.strip()):
        raise InvalidInput(
            "the key must start with a letter or underscore and hold only letters, digits, '_', '.' or '-' "
            "(at most 100 characters)", {"key": ["not a valid process key"]})
    return key.strip()


@bp.post("/models/<key>/versions/<int:version>/check")
@page_login_required
def check_version(key: str, version: int):
    """检查: the deploy validation of the edited diagram and forms, nothing stored."""
    try:
        _require_designer()
        files = edited_version_files(ctx(), g.actor, key, version, _posted_xml(), _posted_forms())
        return jsonify(check_model(g.actor, files, key=key))
    except (RedwallError, HTTPException) as exc:
        return _json_error(exc)


@bp.post("/new/check")
@page_login_required
def check_new():
    try:
        _require_designer()
        body = request.get_json(silent=True)
        key = _posted_key(body) if isinstance(body, dict) and body.get("key") else "new_process"
        return jsonify(check_model(g.actor, new_model_files(key, _posted_xml(), _posted_forms()), key=key))
    except (RedwallError, HTTPException) as exc:
        return _json_error(exc)


def _posted_forms() -> dict[str, bytes]:
    """The forms edited or made in the page: ``{"forms": {"name.json": "<JSON text>"}}`` (optional)."""
    body = request.get_json(silent=True)
    forms = body.get("forms") if isinstance(body, dict) else None
    if forms is None:
        return {}
    if not isinstance(forms, dict) or not all(isinstance(v, str) for v in forms.values()):
        raise InvalidInput("send the forms as {\"forms\": {\"name.json\": \"<JSON text>\"}}",
                           {"forms": ["must map file names to JSON text"]})
    return {name: text.encode("utf-8") for name, text in forms.items()}


@bp.post("/form-preview")
@page_login_required
def form_preview():
    """The form as the clerk sees it on the task page (the same template), from the editor's JSON;
    a schema that is not valid gives its problem in words (htmx swaps the answer in)."""
    _require_designer()
    name = (request.form.get("name") or "form.json").strip()[:100]
    text = request.form.get("schema") or ""
    problems = []
    if not FORM_NAME.match(name):
        problems.append(_("The file name must be letters, digits, '_', '.' or '-' and end in .json."))
    schema, found = read_form(name, text.encode("utf-8"))
    problems += [p.message for p in found]
    fields, title = [], ""
    if schema is not None:
        try:
            fields, title = form_fields(schema), form_title(schema)
        except Exception as exc:  # noqa: BLE001 - a valid schema the task page cannot draw: say so, never a 500
            problems.append(_("The task page cannot show this form: %(reason)s", reason=f"{type(exc).__name__}: {exc}"[:300]))
    return render_template("studio/_form_preview.html", problems=problems, fields=fields, form_title=title,
                           field_errors=[])


@bp.get("/models/<key>/compare")
@page_login_required
def compare(key: str):
    """Two versions side by side: elements added, removed and changed, and the forms."""
    _require_designer()
    g.allow_inline_styles = True  # bpmn-js styles the SVG it draws
    diff = compare_versions(ctx(), g.actor, key, _version_arg("from"), _version_arg("to"))
    for element in diff["changed"]:
        for change in element["changes"]:
            change["label"] = aspect_label(change["aspect"])
    return render_template("studio/compare.html", model={"key": key}, versions=diff["versions"],
                           old=diff["old"], new=diff["new"], diff=diff)


def aspect_label(aspect: str) -> str:
    """What changed, in the reader's language (workflows.model_compare names the aspects)."""
    fixed = {
        "type": _("Type"), "name": _("Element name"), "lane": _("Lane (group)"), "condition": _("Condition"),
        "script": _("Script"), "timer timeDuration": _("Timer: duration"), "timer timeDate": _("Timer: date"),
        "timer timeCycle": _("Timer: cycle"), "event": _("Event"), "connector": _("Connector"),
        "result variable": _("Result goes to the case field"), "multi-instance": _("Multi-instance"),
        "form content": _("Form content"), "preScript": _("Script before"), "postScript": _("Script after"),
        "instructionsForEndUser": _("Instructions"), "calledDecisionId": _("Decision table"),
    }
    if aspect in fixed:
        return fixed[aspect]
    if aspect.startswith("@"):
        return _("Attribute %(name)s", name=aspect[1:])
    if aspect.startswith("property "):
        return _("Property %(name)s", name=aspect[len("property "):])
    if aspect.startswith("parameter "):
        return _("Connector parameter %(name)s", name=aspect[len("parameter "):])
    return aspect


def _version_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a version number", {name: ["not a whole number"]}) from None


def _posted_xml() -> bytes:
    body = request.get_json(silent=True)
    xml = body.get("xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidInput("send the diagram as JSON: {\"xml\": \"<definitions …>\"}", {"xml": ["missing or empty"]})
    # its size is bounded before the body is read: REDWALL_MAX_JSON_BYTES (server.limits), 413
    return xml.encode("utf-8")


def _deployed(model: dict, created: bool):
    body = {**model, "created": created,
            "url": url_for("studio.modeler", key=model["key"], version=model["version"])}
    body["deployed_at"] = body["deployed_at"].isoformat() if body.get("deployed_at") else None
    return jsonify(body), 201 if created else 200


def _json_error(exc: RedwallError | HTTPException):
    if isinstance(exc, HTTPException):
        return error_response(exc.code or 400, exc.description)
    return error_response(STATUS_OF.get(type(exc), 422), exc.message, exc.errors)
