"""The emergency board (应急指挥) and a grid worker's own reports.

* :func:`emergency_board` — open urgent grid events of the tenant, newest first: category, grid
  cell, when reported, the departments notified and whether each acknowledged (who, when), the
  acknowledgement and resolution deadlines (the process's boundary timers) and the escalations
  to the duty leader.
* :func:`my_reports` — the events a grid worker reported, newest first, with their status.
"""
from __future__ import annotations

from sqlalchemy import select

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Forbidden
from workflows.models import Case, Task, Timer

from .events import PROCESS_KEY, REPORT_ROLES, URGENT_CATEGORIES

BOARD_ROLES = (*REPORT_ROLES, "auditor")
OPEN_TIMERS = ("pending", "claimed")


def _require(actor: Actor) -> None:
    if not actor.has_role(*BOARD_ROLES):
        raise Forbidden("your roles do not allow reading the emergency board")


def emergency_board(ctx: EngineContext, actor: Actor, limit: int = 50) -> list[dict]:
    _require(actor)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        s = uow.session
        cases = s.execute(
            select(Case.id, Case.number, Case.status, Case.created_at, Case.data)
            .where(Case.tenant_id == actor.tenant_id, Case.process_key == PROCESS_KEY,
                   Case.status.in_(("open", "waiting_applicant")))
            .order_by(Case.id.desc()).limit(500)
        ).all()
        urgent = [c for c in cases if (c.data or {}).get("urgent") is True
                  or (c.data or {}).get("category") in URGENT_CATEGORIES][:limit]
        ids = [c.id for c in urgent]
        tasks = s.execute(select(Task).where(Task.case_id.in_(ids)).order_by(Task.id)).scalars().all() if ids else []
        timers = s.execute(select(Timer.case_id, Timer.element_id, Timer.due_at).where(
            Timer.case_id.in_(ids), Timer.status.in_(OPEN_TIMERS), Timer.element_id.is_not(None))).all() if ids else []
        by_case: dict[int, list] = {}
        for task in tasks:
            by_case.setdefault(task.case_id, []).append(task)
        due: dict[tuple[int, str], object] = {(t.case_id, t.element_id): t.due_at for t in timers}
        board = []
        for c in urgent:
            data = c.data or {}
            acks, escalations, resolve = [], [], None
            for task in by_case.get(c.id, []):
                if task.element_id == "acknowledge":
                    groups = list(task.candidate_groups or ([task.group] if task.group else []))
                    acks.append({"department": groups[0] if groups else None, "status": task.status,
                                 "acknowledged": task.status == "completed", "by": task.completed_by,
                                 "at": task.completed_at, "task_id": task.id})
                elif task.element_id.startswith("escalate_"):
                    escalations.append({"element_id": task.element_id, "name": task.name, "status": task.status,
                                        "at": task.created_at, "by": task.completed_by})
                elif task.element_id == "resolve_emergency" and task.status != "cancelled":
                    resolve = {"status": task.status, "at": task.created_at}
            ack_due = due.get((c.id, "not_acknowledged"))
            resolve_due = due.get((c.id, "not_resolved"))
            board.append({
                "case_id": c.id, "number": c.number, "category": data.get("category"), "grid": data.get("grid"),
                "community": data.get("community"), "description": data.get("description"),
                "reported_by": data.get("reported_by"), "reported_at": c.created_at, "has_photo": bool(data.get("has_photo")),
                "notified": acks, "all_acknowledged": bool(acks) and all(a["acknowledged"] for a in acks),
                "acknowledge_due": ack_due,
                "acknowledge_seconds_left": int((ack_due - now).total_seconds()) if ack_due else None,
                "resolve_due": resolve_due,
                "resolve_seconds_left": int((resolve_due - now).total_seconds()) if resolve_due else None,
                "resolving": resolve, "escalations": escalations,
            })
        return board


def my_reports(ctx: EngineContext, actor: Actor, limit: int = 30) -> list[dict]:
    """The grid events the actor reported, newest first."""
    if not actor.has_role(*REPORT_ROLES):
        raise Forbidden("your roles do not allow reporting grid events")
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            select(Case.id, Case.number, Case.status, Case.created_at, Case.ended_at, Case.deadline, Case.data)
            .where(Case.tenant_id == actor.tenant_id, Case.process_key == PROCESS_KEY,
                   Case.started_by == actor.username)
            .order_by(Case.id.desc()).limit(limit)
        ).all()
    return [{"case_id": r.id, "number": r.number, "status": r.status, "reported_at": r.created_at,
             "ended_at": r.ended_at, "deadline": r.deadline, "category": (r.data or {}).get("category"),
             "grid": (r.data or {}).get("grid"), "description": (r.data or {}).get("description"),
             "department": (r.data or {}).get("department"), "urgent": bool((r.data or {}).get("urgent")),
             "result": (r.data or {}).get("result")} for r in rows]


def grid_cells(ctx: EngineContext, actor: Actor) -> list[dict]:
    """The tenant's grid cells (the report form's choices)."""
    from datacentre.models import GridCell

    if not actor.has_role(*REPORT_ROLES):
        raise Forbidden("your roles do not allow reporting grid events")
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(select(GridCell.code, GridCell.name, GridCell.community, GridCell.lat, GridCell.lon)
                                   .where(GridCell.tenant_id == actor.tenant_id).order_by(GridCell.code)).all()
    return [{"code": r.code, "name": r.name, "community": r.community, "lat": r.lat, "lon": r.lon} for r in rows]
