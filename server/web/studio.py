"""The designer's studio: the models with their versions, a version opened in the bpmn-js
modeler, deploying the edited diagram as the next version, and a new model from an empty diagram.

The deploy endpoints answer JSON for the page's script (``static/js/studio.js``): 201/200 with the
stored version, or the API's error shape (422 with ``errors.bpmn`` listing every problem with its
file, line and element id), so the page can mark each problem on its element.
"""
from __future__ import annotations

import re

from flask import current_app, g, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from workflows.errors import Forbidden, InvalidInput, RedwallError
from workflows.process_models import (
    DEPLOY_ROLES,
    deploy_edited_version,
    deploy_new_model,
    model_catalogue,
    model_xml,
    studio_version,
)

from ..errors import STATUS_OF, error_response
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
    )


@bp.get("/models/<key>/versions/<int:version>/source")
@page_login_required
def source(key: str, version: int):
    """The version's BPMN for the modeler."""
    _require_designer()
    filename, content = model_xml(ctx(), g.actor, key, version)
    return jsonify({"key": key, "version": version, "filename": filename,
                    "xml": content.decode("utf-8", errors="replace")})


@bp.get("/new")
@page_login_required
def new_model():
    _require_designer()
    g.allow_inline_styles = True
    return render_template("studio/modeler.html", model=None, shown=None, latest=None, source_url=None,
                           deploy_url=url_for("studio.deploy_new"))


@bp.post("/models/<key>/versions/<int:version>/deploy")
@page_login_required
def deploy_version(key: str, version: int):
    try:
        xml = _posted_xml()
        model, created = deploy_edited_version(ctx(), g.actor, key, version, xml)
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
        key = body.get("key")
        if not isinstance(key, str) or not KEY.match(key.strip()):
            raise InvalidInput(
                "the key must start with a letter or underscore and hold only letters, digits, '_', '.' or '-' "
                "(at most 100 characters)", {"key": ["not a valid process key"]})
        key = key.strip()
        xml = _posted_xml()
        model, created = deploy_new_model(ctx(), g.actor, key, xml)
    except (RedwallError, HTTPException) as exc:
        return _json_error(exc)
    return _deployed(model, created)


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
