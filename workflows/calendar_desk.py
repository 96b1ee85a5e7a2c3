"""The working-day calendar managed by admins: a year's notice imported, provisional deadlines,
and the recomputation of open cases' deadlines once a year's data is known.

* :func:`is_provisional` — a deadline counted through a year the calendar does not know
  (neither the library nor an override row): Monday–Friday was assumed, so the date may move.
* :func:`import_notice` — a year's State Council notice (its holidays and 调休 working weekend
  days) as ``YYYY-MM-DD,holiday|workday[,name]`` lines, written as the tenant's override rows.
* :func:`recompute_deadlines` — every running deadline clock of the tenant whose deadline
  differs under today's calendar gets the new deadline, warning and red-card times, its open
  tasks' due times and fresh supervision timers; each change is a ``deadline.recomputed``
  event in the case's trail. A clock that was paused (补正) keeps its deadline and is reported
  as skipped: its remaining days were fixed at the pause and are not recounted.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .accounts import Actor
from .calendar import TenantCalendar, parse_override_rows, set_overrides
from .case_repository import SqlCaseRepository
from .context import EngineContext
from .deadlines import CASES, CLOCKS, TASKS, _cancel, _schedule_levels, _thresholds
from .errors import Forbidden, InvalidInput

MAX_NOTICE_BYTES = 64 * 1024


def is_provisional(calendar: TenantCalendar, deadline: datetime | None, since: datetime | None = None) -> bool:
    """Whether ``deadline`` was counted through a year the calendar does not know."""
    if deadline is None:
        return False
    last = calendar.local_date(deadline).year
    first = calendar.local_date(since).year if since is not None else last
    return any(calendar.knows(year) == "weekends only" for year in range(min(first, last), last + 1))


def import_notice(ctx: EngineContext, actor: Actor, content: bytes | str) -> dict:
    """Write a notice's days as the tenant's override rows; ``{"days", "years"}``."""
    if not actor.is_admin:
        raise Forbidden("only admins may change the working-day calendar")
    if isinstance(content, bytes):
        if len(content) > MAX_NOTICE_BYTES:
            raise InvalidInput("the file is too large", {"file": [f"at most {MAX_NOTICE_BYTES // 1024} KB"]})
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("the file is not UTF-8 text", {"file": ["UTF-8 text expected"]}) from None
    try:
        rows = parse_override_rows(content.splitlines())
    except ValueError as exc:
        raise InvalidInput(str(exc), {"file": [str(exc)]}) from None
    if not rows:
        raise InvalidInput("the file holds no days", {"file": ["lines 'YYYY-MM-DD,holiday|workday[,name]' expected"]})
    if any(not 2000 <= day.year <= 2100 for day, _, _ in rows):
        raise InvalidInput("a day is out of range", {"file": ["years 2000–2100"]})
    count = set_overrides(ctx, actor, rows)
    return {"days": count, "years": sorted({day.year for day, _, _ in rows})}


def recompute_deadlines(ctx: EngineContext, actor: Actor) -> dict:
    """Recount the running deadlines of the actor's tenant under today's calendar.

    Returns ``{"checked", "changed": [{"case_id", "number", "from", "to"}], "skipped": [case ids]}``.
    """
    if not actor.is_admin:
        raise Forbidden("only admins recompute deadlines")
    ctx.calendar.invalidate()
    with ctx.unit_of_work() as uow:
        candidates = uow.session.execute(
            select(CLOCKS.c.case_id).join(CASES, CASES.c.id == CLOCKS.c.case_id)
            .where(CLOCKS.c.tenant_id == actor.tenant_id, CLOCKS.c.state.in_(("running", "paused")),
                   CLOCKS.c.time_limit_working_days.is_not(None), CLOCKS.c.deadline.is_not(None))
            .order_by(CLOCKS.c.case_id)
        ).scalars().all()
    changed, skipped = [], []
    for case_id in candidates:
        outcome = _recompute_one(ctx, actor, case_id)
        if outcome == "skipped":
            skipped.append(case_id)
        elif outcome is not None:
            changed.append(outcome)
    return {"checked": len(candidates), "changed": changed, "skipped": skipped}


class _Record:
    """What the deadline helpers need of a case row."""

    def __init__(self, case_id: int, tenant_id: int):
        self.id, self.tenant_id, self.deadline = case_id, tenant_id, None


def _recompute_one(ctx: EngineContext, actor: Actor, case_id: int):
    with ctx.unit_of_work() as uow:
        s = uow.session
        conn = s.connection()
        # the case row's lock: steps of the case (which write it) wait, and so does its trail
        case = conn.execute(select(CASES.c.id, CASES.c.number, CASES.c.status).where(CASES.c.id == case_id)
                            .with_for_update()).one()
        clock = conn.execute(select(CLOCKS).where(CLOCKS.c.case_id == case_id)).mappings().one()
        if clock["state"] != "running":
            return None
        if clock["pauses"]:
            return "skipped"
        calendar = ctx.calendar.for_tenant(actor.tenant_id, s)
        now = ctx.clock()
        deadline = calendar.deadline(clock["started_at"], clock["time_limit_working_days"])
        if deadline == clock["deadline"]:
            return None
        old = clock["deadline"]
        times = _thresholds(calendar, deadline, clock["warn_working_days"], clock["red_after_working_days"],
                            clock["started_at"])
        conn.execute(CLOCKS.update().where(CLOCKS.c.case_id == case_id).values(**times))
        conn.execute(CASES.update().where(CASES.c.id == case_id).values(deadline=deadline))
        conn.execute(TASKS.update().where(TASKS.c.case_id == case_id, TASKS.c.status.in_(("ready", "claimed")),
                                          TASKS.c.due_at == old)
                     .values(due_at=deadline, warn_at=times["warn_at"]))
        record = _Record(case_id, actor.tenant_id)
        timers = SqlCaseRepository(ctx, uow)
        _cancel(timers, case_id, ("warning", "overdue", "red"))
        _schedule_levels(timers, record, times, clock["level"] or "none", now)
        uow.record("deadline.recomputed", actor.tenant_id, case_id=case_id, actor=actor.username, at=now,
                   data={"from": old.isoformat(), "deadline": deadline.isoformat(),
                         "warn_at": times["warn_at"].isoformat(), "red_at": times["red_at"].isoformat(),
                         "reason": "working-day calendar changed"})
        uow.commit()
        return {"case_id": case_id, "number": case.number, "from": old, "to": deadline}

