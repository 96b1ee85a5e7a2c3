"""Incidents: cases stopped by a failing script, engine error or a service call whose automatic
retries ran out (``workflows.deadlines``); listing them and trying again by hand."""
from __future__ import annotations

from sqlalchemy import select

from .accounts import Actor
from .cases import CASES, INCIDENTS, case_view, decode_cursor, encode_cursor
from .context import EngineContext
from .personal_data import mask_text
from .errors import Forbidden, InvalidInput

READ_ROLES = ("admin", "supervisor", "auditor", "designer")
RETRY_ROLES = ("admin", "supervisor", "designer")


def incident_view(row) -> dict:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "case_number": row.number,
        "process_key": row.process_key,
        "element_id": row.element_id,
        "kind": row.kind,
        # Messages may quote data from a failing script: masked for every reader.
        "message": mask_text(row.message) if row.message else row.message,
        "status": "resolved" if row.resolved_at is not None else "open",
        "created_at": row.created_at,
        "resolved_at": row.resolved_at,
    }


def _query():
    return select(
        INCIDENTS.c.id, INCIDENTS.c.case_id, INCIDENTS.c.element_id, INCIDENTS.c.kind, INCIDENTS.c.message,
        INCIDENTS.c.created_at, INCIDENTS.c.resolved_at, CASES.c.number, CASES.c.process_key,
    ).join_from(INCIDENTS, CASES, CASES.c.id == INCIDENTS.c.case_id)


def list_incidents(
    ctx: EngineContext, actor: Actor, status: str = "open", case_id: int | None = None,
    limit: int = 50, cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """Incidents of the caller's tenant, newest first (``status``: open, resolved or all)."""
    if not actor.has_role(*READ_ROLES):
        raise Forbidden("your roles do not allow reading incidents")
    query = _query().where(INCIDENTS.c.tenant_id == actor.tenant_id)
    if status == "open":
        query = query.where(INCIDENTS.c.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(INCIDENTS.c.resolved_at.is_not(None))
    elif status != "all":
        raise InvalidInput("status must be open, resolved or all", {"status": ["unknown status"]})
    if case_id is not None:
        query = query.where(INCIDENTS.c.case_id == case_id)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
        query = query.where(INCIDENTS.c.id < last_id)
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(query.order_by(INCIDENTS.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [incident_view(r) for r in rows], (encode_cursor([rows[-1].id]) if more else None)


def retry_incident(ctx: EngineContext, actor: Actor, incident_id: int) -> dict:
    """Run the stopped tasks of the incident's case again (after a fix to a connector or data).

    Every open incident of the case is resolved by the attempt; if the task fails again the
    case gets a new incident. Returns ``{"incident", "case", "succeeded"}``.
    """
    if not actor.has_role(*RETRY_ROLES):
        raise Forbidden("your roles do not allow retrying incidents")
    from .steps import RetryIncident, run_step

    with ctx.unit_of_work() as uow:
        step = run_step(ctx, uow, RetryIncident(incident_id), actor)
        view = case_view(step.record, step.tasks)
        row = uow.session.connection().execute(_query().where(INCIDENTS.c.id == incident_id)).one()
        uow.commit()
    return {"incident": incident_view(row), "case": view, "succeeded": step.extra["succeeded"]}
