"""Grid and emergency events (网格事件, 应急): a grid worker reports, the DMN table routes.

:func:`report_event` starts a case of the ``grid_event`` process with the category, the grid
cell, the description and the reporter; the process's DMN table (``grid_event_routing.dmn``)
picks the department, the time limit in working days and, for urgent categories, the
departments notified in parallel and the minutes within which one must acknowledge before the
duty leader is called. Closing the event (task ``handle_event`` / ``resolve_emergency``)
records the result. An optional photo is kept beside the case (``ow_event_photos``).
"""
from __future__ import annotations

import base64
import binascii
import hashlib

from sqlalchemy import select

from datacentre.models import GridCell
from workflows.accounts import Actor
from workflows.cases import start_case
from workflows.context import EngineContext
from workflows.errors import Forbidden, InvalidInput, NotFound
from workflows.models import Case

from .models import EventPhoto

PROCESS_KEY = "grid_event"
REPORT_ROLES = ("clerk", "intake", "supervisor", "admin")
#: the categories the routing table knows (keep in step with grid_event_routing.dmn)
URGENT_CATEGORIES = ("fire", "gas_leak", "building_collapse", "flooding")
ORDINARY_CATEGORIES = ("blocked_fire_lane", "illegal_parking", "broken_streetlight", "litter", "water_leak", "other")
CATEGORIES = URGENT_CATEGORIES + ORDINARY_CATEGORIES
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
MAX_PHOTO_BYTES = 2 * 1024 * 1024


def _photo(photo: str | None, content_type: str | None) -> tuple[bytes, str] | None:
    if photo is None:
        return None
    try:
        content = base64.b64decode(photo, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the photo is not base64", {"photo": ["base64-encoded JPEG or PNG"]}) from None
    if len(content) > MAX_PHOTO_BYTES:
        raise InvalidInput("the photo is too large", {"photo": [f"at most {MAX_PHOTO_BYTES // 1024 // 1024} MB"]})
    kind = next((t for t, magic in PHOTO_TYPES.items() if content.startswith(magic)), None)
    if kind is None or (content_type and content_type != kind):
        raise InvalidInput("the photo is not a JPEG or PNG image", {"photo": ["JPEG or PNG"]})
    return content, kind


def report_event(ctx: EngineContext, actor: Actor, category: str, grid: str, description: str,
                 photo: str | None = None, photo_type: str | None = None, location: str | None = None) -> dict:
    """Report an event in a grid cell of the tenant; the case is routed by the DMN table."""
    if not actor.has_role(*REPORT_ROLES):
        raise Forbidden("your roles do not allow reporting grid events")
    problems = {}
    if category not in CATEGORIES:
        problems["category"] = [f"one of {', '.join(CATEGORIES)}"]
    description = (description or "").strip()
    if not description or len(description) > 4000:
        problems["description"] = ["1..4000 characters"]
    if problems:
        raise InvalidInput("the event report is incomplete", problems)
    picture = _photo(photo, photo_type)
    with ctx.unit_of_work() as uow:
        s = uow.session
        cell = s.execute(select(GridCell.id, GridCell.code, GridCell.community).where(
            GridCell.tenant_id == actor.tenant_id, GridCell.code == grid)).one_or_none()
        if cell is None:
            raise InvalidInput(f"there is no grid cell {grid!r}", {"grid": ["not a grid cell of your sub-district"]})
        data = {"category": category, "grid": cell.code, "community": cell.community, "description": description,
                "location": (location or "")[:300], "reported_by": actor.username, "has_photo": picture is not None}
        if picture:
            data["photo_sha256"] = hashlib.sha256(picture[0]).hexdigest()
        case = start_case(ctx, actor, PROCESS_KEY, data, uow=uow)
        if picture:
            s.add(EventPhoto(tenant_id=actor.tenant_id, case_id=case["id"], content_type=picture[1],
                             sha256=data["photo_sha256"], content=picture[0], created_at=ctx.clock()))
            s.flush()
        uow.commit()
        return case


def event_photo(ctx: EngineContext, actor: Actor, case_id: int) -> tuple[bytes, str]:
    if not actor.has_role(*REPORT_ROLES, "auditor"):
        raise Forbidden("your roles do not allow reading event photos")
    with ctx.unit_of_work() as uow:
        row = uow.session.execute(select(EventPhoto.content, EventPhoto.content_type).join(Case, Case.id == EventPhoto.case_id)
                                  .where(EventPhoto.case_id == case_id, Case.tenant_id == actor.tenant_id)).one_or_none()
        if row is None:
            raise NotFound(f"case {case_id} has no photo")
        return bytes(row.content), row.content_type
