"""The supervisor's desk (电子监察): the weekly trend, the overdue and warned lists, pressing (督办).

* :func:`weekly_trend` — on-time rate, early rate, concluded, overdue open and warnings of the
  actor's scope for each of the last weeks (Monday to Sunday, the tenant's time zone), from the
  same figures as :func:`workflows.supervision.metrics`.
* :func:`watchlist` — open cases past their deadline (``overdue``) or past their warning time
  and not yet due (``warned``), with the working days over or left and the last pressing.
* :func:`press_case` — a supervisor presses a case of a department it supervises, with a
  comment; recorded as ``case.pressed`` in the case's trail. :func:`answer_press` — a clerk of
  that department answers (once), recorded as ``case.press_answered``.
  :func:`presses_of_case` lists a case's pressings; :func:`open_presses_for` those waiting for
  an answer from the actor's groups (the clerk's inbox shows them).

A case belongs to the department of its first task after the intake window (as in the metrics).
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select

from workflows.accounts import Actor
from workflows.cases import FINAL_CASE_STATUSES
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case, CaseClock, CasePress, Task
from workflows.supervision import INTAKE_GROUPS, metrics

PRESS_ROLES = ("supervisor", "admin")
WATCH_ROLES = ("supervisor", "auditor", "admin")
KINDS = ("overdue", "warned")
MAX_COMMENT = 1000
MAX_WEEKS = 26


def _department_expr():
    first_department = (
        select(Task.group).where(Task.case_id == Case.id, Task.group.is_not(None), Task.group.not_in(INTAKE_GROUPS))
        .order_by(Task.id).limit(1).scalar_subquery()
    )
    first_group = (
        select(Task.group).where(Task.case_id == Case.id, Task.group.is_not(None))
        .order_by(Task.id).limit(1).scalar_subquery()
    )
    return func.coalesce(first_department, first_group)


def _scope(actor: Actor) -> set[str] | None:
    """The departments the actor oversees; None: the whole tenant."""
    if actor.is_admin or actor.has_role("auditor"):
        return None
    return set(actor.supervised_groups)


def _text(value, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} is required", {field: ["required"]})
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise InvalidInput(f"{what} is too long", {field: [f"at most {MAX_COMMENT} characters"]})
    return value


# -- trend ---------------------------------------------------------------------------------------
def weekly_trend(ctx: EngineContext, actor: Actor, weeks: int = 8, group: str | None = None) -> dict:
    """``{"weeks": [{"week_start", "week_end", "received", "concluded", "on_time_rate", "early_rate",
    "overdue_open", "warned"}, ...]}``, oldest first; the current week is the last (to today).
    ``group`` narrows to one department of the actor's scope."""
    if not actor.has_role(*WATCH_ROLES):
        raise Forbidden("only supervisors, auditors and admins may read supervision figures")
    if not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput("weeks out of range", {"weeks": [f"between 1 and {MAX_WEEKS}"]})
    today = ctx.calendar.for_tenant(actor.tenant_id).local_date(ctx.clock())
    monday = today - timedelta(days=today.weekday())
    out = []
    for back in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        end = min(start + timedelta(days=6), today)
        rows = metrics(ctx, actor, start, end, "department")["rows"]
        if group:
            rows = [r for r in rows if r["key"] == group]
        out.append(_sum_rows(rows, start, end))
    return {"weeks": out, "group": group}


def _sum_rows(rows: list[dict], start: date, end: date) -> dict:
    concluded = sum(r["concluded"] for r in rows)
    on_time = sum(r["concluded_on_time"] for r in rows)
    early = sum(r["concluded_early"] for r in rows)
    return {
        "week_start": start, "week_end": end,
        "received": sum(r["received"] for r in rows), "concluded": concluded,
        "on_time_rate": round(on_time / concluded, 4) if concluded else None,
        "early_rate": round(early / concluded, 4) if concluded else None,
        "overdue_open": sum(r["overdue_open"] for r in rows), "warned": sum(r["warned"] for r in rows),
    }


# -- the overdue and warned lists ---------------------------------------------------------------------
def watchlist(ctx: EngineContext, actor: Actor, kind: str = "overdue", limit: int = 100) -> list[dict]:
    """Open cases of the actor's departments past their deadline (``overdue``, most overdue
    first) or warned and not yet due (``warned``, nearest deadline first)."""
    if not actor.has_role(*WATCH_ROLES):
        raise Forbidden("only supervisors, auditors and admins may read the overdue lists")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", {"kind": ["unknown list"]})
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        raise InvalidInput("limit out of range", {"limit": ["between 1 and 500"]})
    scope = _scope(actor)
    if scope is not None and not scope:
        return []
    now = ctx.clock()
    department = _department_expr().label("department")
    query = (
        select(Case.id, Case.number, Case.service_code, Case.process_key, Case.status, Case.deadline,
               Case.data, CaseClock.warn_at, CaseClock.level, department)
        .select_from(Case)
        .outerjoin(CaseClock, CaseClock.case_id == Case.id)
        .where(Case.tenant_id == actor.tenant_id, Case.status.not_in(FINAL_CASE_STATUSES),
               Case.deadline.is_not(None))
    )
    if kind == "overdue":
        query = query.where(Case.deadline < now).order_by(Case.deadline, Case.id)
    else:
        query = query.where(Case.deadline >= now, CaseClock.warn_at.is_not(None), CaseClock.warn_at <= now,
                            or_(CaseClock.state.is_(None), CaseClock.state == "running")).order_by(Case.deadline, Case.id)
    items = []
    with ctx.unit_of_work() as uow:
        s = uow.session
        calendar = ctx.calendar.for_tenant(actor.tenant_id, s)
        if scope is not None:
            query = query.where(department.in_(sorted(scope)))
        rows = s.execute(query.limit(limit)).all()
        last = _last_presses(s, actor.tenant_id, [r.id for r in rows])
        for r in rows:
            left = calendar.working_days_left(now, r.deadline)
            data = r.data or {}
            items.append({
                "case_id": r.id, "number": r.number, "service_code": r.service_code or r.process_key,
                "service_name": data.get("service_name"), "department": r.department, "status": r.status,
                "deadline": r.deadline, "deadline_date": calendar.local_date(r.deadline),
                "working_days_left": max(left, 0) if kind == "warned" else None,
                "working_days_over": -left if kind == "overdue" else None,
                "level": r.level or ("yellow" if kind == "overdue" else "warning"),
                "last_press": last.get(r.id),
            })
    return items


def _press_view(p: CasePress) -> dict:
    return {"id": p.id, "case_id": p.case_id, "department": p.department, "pressed_by": p.pressed_by,
            "pressed_at": p.pressed_at, "comment": p.comment, "answer": p.answer, "answered_by": p.answered_by,
            "answered_at": p.answered_at}


def _last_presses(s, tenant_id: int, case_ids: list[int]) -> dict[int, dict]:
    if not case_ids:
        return {}
    newest = (select(func.max(CasePress.id)).where(CasePress.tenant_id == tenant_id, CasePress.case_id.in_(case_ids))
              .group_by(CasePress.case_id))
    return {p.case_id: _press_view(p) for p in s.scalars(select(CasePress).where(CasePress.id.in_(newest)))}


# -- pressing ----------------------------------------------------------------------------------------------
def _case_department(s, case_id: int) -> str | None:
    return s.execute(select(_department_expr()).select_from(Case).where(Case.id == case_id)).scalar()


def press_case(ctx: EngineContext, actor: Actor, case_id: int, comment) -> dict:
    """督办: press an open case of a department the actor supervises (admins: any), with a comment."""
    if not actor.has_role(*PRESS_ROLES):
        raise Forbidden("only supervisors and admins press cases")
    comment = _text(comment, "comment", "a comment")
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id:
            raise NotFound(f"case {case_id} does not exist")
        department = _case_department(s, case_id)
        if not actor.is_admin and department not in actor.supervised_groups:
            raise NotFound(f"case {case_id} does not exist")  # another department's: nothing of it is shown
        if case.status in FINAL_CASE_STATUSES:
            raise Conflict(f"case {case.number or case.id} has ended ({case.status}); there is nothing to press")
        now = ctx.clock()
        press = CasePress(tenant_id=actor.tenant_id, case_id=case_id, department=department, pressed_by=actor.username,
                          pressed_at=now, comment=comment)
        s.add(press)
        s.flush()
        uow.record("case.pressed", actor.tenant_id, case_id=case_id, actor=actor.username, at=now,
                   data={"press_id": press.id, "department": department, "comment": comment})
        view = _press_view(press)
        uow.commit()
    return view


def _answerable_by(actor: Actor, press: CasePress) -> bool:
    return actor.is_admin or (press.department is not None and press.department in actor.groups)


def answer_press(ctx: EngineContext, actor: Actor, press_id: int, answer) -> dict:
    """The pressed department answers (once): a member of its group, or an admin."""
    answer = _text(answer, "answer", "an answer")
    with ctx.unit_of_work() as uow:
        s = uow.session
        press = s.get(CasePress, press_id)
        if press is None or press.tenant_id != actor.tenant_id or not (
                _answerable_by(actor, press) or press.pressed_by == actor.username
                or (actor.has_role("supervisor") and press.department in actor.supervised_groups)):
            raise NotFound(f"pressing {press_id} does not exist")
        if not _answerable_by(actor, press):
            raise Forbidden("the pressed department answers a pressing")
        if press.answered_at is not None:
            raise Conflict("this pressing has been answered already")
        now = ctx.clock()
        updated = s.execute(
            CasePress.__table__.update()
            .where(CasePress.id == press_id, CasePress.answered_at.is_(None))
            .values(answer=answer, answered_by=actor.username, answered_at=now)
        ).rowcount
        if updated != 1:
            raise Conflict("this pressing has been answered already")
        uow.record("case.press_answered", actor.tenant_id, case_id=press.case_id, actor=actor.username, at=now,
                   data={"press_id": press.id, "answer": answer})
        s.expire(press)
        view = _press_view(press)
        uow.commit()
    return view


def presses_of_case(ctx: EngineContext, actor: Actor, case_id: int) -> list[dict]:
    """A case's pressings, newest first, for whoever may open the case."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id:
            raise NotFound(f"case {case_id} does not exist")
        presses = s.scalars(select(CasePress).where(CasePress.tenant_id == actor.tenant_id,
                                                    CasePress.case_id == case_id).order_by(CasePress.id.desc())).all()
        return [dict(_press_view(p), may_answer=p.answered_at is None and _answerable_by(actor, p)) for p in presses]


def open_presses_for(ctx: EngineContext, actor: Actor, limit: int = 20) -> list[dict]:
    """Unanswered pressings of the actor's groups' open cases, newest first (a clerk's inbox)."""
    if not actor.groups:
        return []
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            select(CasePress, Case.number, Case.service_code)
            .join(Case, Case.id == CasePress.case_id)
            .where(CasePress.tenant_id == actor.tenant_id, CasePress.answered_at.is_(None),
                   CasePress.department.in_(sorted(actor.groups)),
                   and_(Case.status.not_in(FINAL_CASE_STATUSES)))
            .order_by(CasePress.id.desc()).limit(limit)
        ).all()
        return [dict(_press_view(p), number=number, service_code=code) for p, number, code in rows]
