"""Incidents: cases stopped by a failing script, engine error or a service call whose automatic
retries ran out (``workflows.deadlines``); listing them and trying again by hand."""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from .accounts import Actor
from .cases import (
    CASES,
    FINAL_CASE_STATUSES,
    SUSPENDED,
    INCIDENTS,
    _apply_outcome,
    _write_case,
    case_view,
    decode_cursor,
    encode_cursor,
    load_case_for_update,
)
from .context import EngineContext
from .personal_data import mask_text
from .errors import Conflict, Forbidden, InvalidInput, NotFound

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
    with ctx.unit_of_work() as uow:
        s = uow.session
        conn = s.connection()
        incident = conn.execute(
            select(INCIDENTS).where(INCIDENTS.c.id == incident_id, INCIDENTS.c.tenant_id == actor.tenant_id)
        ).one_or_none()
        if incident is None:
            raise NotFound(f"incident {incident_id} does not exist")
        if incident.resolved_at is not None:
            raise Conflict("this incident is resolved already")
        record, runtime, workflow = load_case_for_update(ctx, uow, actor.tenant_id, incident.case_id)
        if record.status in FINAL_CASE_STATUSES:
            raise Conflict("the case has ended; there is nothing to retry")
        if record.status == SUSPENDED:
            raise Conflict("the case is suspended; retry it when it is resumed")
        now: datetime = ctx.clock()
        resolved = conn.execute(
            INCIDENTS.update().where(INCIDENTS.c.case_id == record.id, INCIDENTS.c.resolved_at.is_(None))
            .values(resolved_at=now)
        ).rowcount
        if resolved == 0:
            raise Conflict("this incident was retried by someone else at the same time")
        before = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        outcome = ctx.engine.retry(runtime, workflow)
        succeeded = outcome.incident is None
        uow.record(
            "incident.retried", record.tenant_id, case_id=record.id, actor=actor.username, at=now,
            data={"incident_id": incident_id, "element_id": incident.element_id, "succeeded": succeeded},
        )
        tasks = _apply_outcome(uow, record, outcome, before=before, now=now, previous_status=record.status, ctx=ctx)
        if outcome.incident is None:
            record.has_incident = bool(conn.execute(
                select(func.count()).select_from(INCIDENTS).where(
                    INCIDENTS.c.case_id == record.id, INCIDENTS.c.resolved_at.is_(None))
            ).scalar_one())
        _write_case(ctx, uow, s, record, outcome, workflow)
        view = case_view(record, tasks)
        row = conn.execute(_query().where(INCIDENTS.c.id == incident_id)).one()
        uow.commit()
    return {"incident": incident_view(row), "case": view, "succeeded": succeeded}
