"""The grid worker's phone page (report an event with a photo, follow one's reports) and the
emergency board (应急指挥), which refreshes itself and reads on a wall screen."""
from __future__ import annotations

import base64

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from onewindow import emergency_board
from onewindow.events import CATEGORIES, MAX_PHOTO_BYTES, URGENT_CATEGORIES, report_event
from workflows.errors import InvalidInput

from .pages import is_htmx, page_blueprint
from .session import page_login_required

bp = page_blueprint("street_pages")
board_bp = page_blueprint("emergency_pages")  # a blueprint of its own: its menu entry is lit alone

CATEGORY_LABELS = {
    "fire": _l("Fire"), "gas_leak": _l("Gas leak"), "building_collapse": _l("Building collapse"),
    "flooding": _l("Flooding"), "blocked_fire_lane": _l("Blocked fire lane"), "illegal_parking": _l("Illegal parking"),
    "broken_streetlight": _l("Broken street light"), "litter": _l("Litter"), "water_leak": _l("Water leak"),
    "other": _l("Other"),
}


def ctx():
    return current_app.extensions["redwall"]


def _page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    from datacentre.parking_map import layout

    cells = emergency_board.grid_cells(ctx(), g.actor)
    values = dict(values or {})
    values.setdefault("grid", (request.args.get("grid") or "").strip()[:40])  # a tap on the map
    return render_template(
        "street/report.html", cells=cells, map_height=layout(cells, 360),
        reports=emergency_board.my_reports(ctx(), g.actor), categories=CATEGORIES, urgent=URGENT_CATEGORIES,
        labels=CATEGORY_LABELS, values=values, errors=errors or {},
    ), status


@bp.get("/grid")
@page_login_required
def home():
    return _page()


@bp.post("/grid/report")
@page_login_required
def report():
    form = request.form
    values = {k: (form.get(k) or "").strip() for k in ("category", "grid", "description", "location")}
    photo, photo_type = None, None
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        content = upload.read(MAX_PHOTO_BYTES + 1)
        photo, photo_type = base64.b64encode(content).decode(), None
    try:
        case = report_event(ctx(), g.actor, values["category"], values["grid"], values["description"],
                            photo=photo, photo_type=photo_type, location=values["location"] or None)
    except InvalidInput as exc:
        messages = {"category": _("Choose what happened."), "grid": _("Choose the grid cell."),
                    "description": _("Describe the event (at most 4,000 characters)."),
                    "photo": _("The photo must be a JPEG or PNG image of at most 2 MB.")}
        errors = {field: messages.get(field, _("Please check this field.")) for field in (exc.errors or {"description": 1})}
        return _page(values, errors, 422)
    flash(_("Reported as %(number)s. You can follow it below.", number=case["number"]), "ok")
    return redirect(url_for("street_pages.home"))


@board_bp.get("/emergency")
@page_login_required
def board():
    items = emergency_board.emergency_board(ctx(), g.actor)
    template = "street/_board.html" if is_htmx() else "street/board.html"
    return render_template(template, items=items, labels=CATEGORY_LABELS)
