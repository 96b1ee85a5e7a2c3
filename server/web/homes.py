"""The homes of the roles whose full desks are their own issues (the designer's studio;
supervision, audit and operations have their desks in :mod:`.supervision`, :mod:`.audit`, :mod:`.ops`): each already shows its role's most useful list, read through the
same use cases as the REST API, so no menu entry is a dead link."""
from __future__ import annotations

from flask import current_app, g, render_template

from workflows.errors import Forbidden
from workflows.process_models import list_models

from .pages import page_blueprint
from .session import page_login_required

bp = page_blueprint("homes")


def ctx():
    return current_app.extensions["redwall"]


def _require(*roles: str) -> None:
    if not g.actor.has_role(*roles):
        raise Forbidden("this desk belongs to another role")


@bp.get("/studio")
@page_login_required
def studio():
    _require("designer", "admin")
    return render_template("homes/studio.html", models=list_models(ctx(), g.actor))

