"""Performance supervision (绩效监察): warning, yellow and red levels, pressing, and the metrics.

Levels of a case with a time limit (its clock: ``workflows.deadlines``):

* ``warning`` (预警) when ``warn_working_days`` working days are left (default 1);
* ``yellow`` (黄牌) once the deadline has passed: the case is overdue;
* ``red`` (红牌) once it is ``red_after_working_days`` working days overdue (default 3).

Each level is reached by a timer row firing (:func:`reach_level`), which stamps the clock,
records ``supervision.warning`` / ``supervision.yellow`` / ``supervision.red`` for the trail
and, if the process catches it, delivers a message to the case: ``case_warning``,
``case_overdue``, ``case_seriously_overdue`` (payload ``supervision_level`` and
``case_deadline``). That is how a process models pressing (督办): an event subprocess with a
non-interrupting message start event ``case_overdue`` leading to a user task in the
supervisors' lane (see ``bpmn/processes/supervised_application``). A process that does not
catch the message still gets the level, the event and the metrics.

Metrics (:func:`metrics`) are computed from what happened, as recorded in the same
transactions as the trail's events: the cases (received and end times, deadlines), their
clocks (pauses, warnings) and the task rows. Handling time counts office hours on working
days (``workflows.calendar``) and leaves out the time the case waited for the applicant.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from .accounts import Actor
from .context import EngineContext
from .deadlines import CASES, CLOCKS, LEVEL_DELAY, LEVEL_OF_KIND, LEVELS, TASKS
from .errors import Forbidden, InvalidInput
from .models import CaseUrging

THRESHOLD = {"warning": CLOCKS.c.warn_at, "overdue": CLOCKS.c.deadline, "red": CLOCKS.c.red_at}
STAMP = {"warning": "warned_at", "overdue": "overdue_at", "red": "seriously_overdue_at"}
MESSAGES = {"warning": "case_warning", "overdue": "case_overdue", "red": "case_seriously_overdue"}
EVENTS = {"warning": "supervision.warning", "overdue": "supervision.yellow", "red": "supervision.red"}
#: Groups that only receive applications (接办分离): a case belongs to the department after them.
INTAKE_GROUPS = ("intake",)
GROUP_BY = ("department", "service", "clerk")
METRIC_ROLES = ("supervisor", "auditor", "admin")
MAX_RANGE_DAYS = 3660


# -- levels -------------------------------------------------------------------------------------
def reach_level(ctx: EngineContext, uow, row, now: datetime) -> str:
    """A supervision timer fired: raise the case's level, record it, tell the process.

    Returns ``stale`` when the clock has moved on (paused, resumed with a new deadline,
    stopped) since the row was written.
    """
    conn = uow.session.connection()
    kind = row.kind
    level = LEVEL_OF_KIND[kind]
    lower = LEVELS[: LEVELS.index(level)]
    stamped = conn.execute(
        CLOCKS.update()
        .where(CLOCKS.c.case_id == row.case_id, CLOCKS.c.state == "running",
               THRESHOLD[kind] == row.due_at - LEVEL_DELAY[kind],
               getattr(CLOCKS.c, STAMP[kind]).is_(None))
        .values(level=case((CLOCKS.c.level.in_(lower), level), else_=CLOCKS.c.level), **{STAMP[kind]: now})
        .returning(CLOCKS.c.deadline, CLOCKS.c.time_limit_working_days)
    ).one_or_none()
    if stamped is None:
        return "stale"
    deadline = stamped.deadline
    uow.record(
        EVENTS[kind], row.tenant_id, case_id=row.case_id, at=now,
        data={"level": level, "deadline": deadline.isoformat() if deadline else None,
              "time_limit_working_days": stamped.time_limit_working_days},
    )
    model_id = conn.execute(select(CASES.c.model_id).where(CASES.c.id == row.case_id)).scalar_one()
    runtime = ctx.runtimes.get(uow.session, model_id)
    if MESSAGES[kind] in runtime.caught_messages:
        _tell_process(ctx, uow, row, MESSAGES[kind], {"supervision_level": level,
                                                      "case_deadline": deadline.isoformat() if deadline else None}, now)
    return "fired"


def _tell_process(ctx: EngineContext, uow, row, name: str, payload: dict, now: datetime) -> None:
    from .steps import DeliverMessage, run_step

    run_step(ctx, uow, DeliverMessage(row.case_id, name, payload, public=False, tenant_id=row.tenant_id,
                                       now=now),
             "supervision")


# -- metrics ------------------------------------------------------------------------------------
def metrics(
    ctx: EngineContext,
    actor: Actor,
    date_from: date | None = None,
    date_to: date | None = None,
    group_by: str = "department",
) -> dict:
    """Supervision figures per department, service or clerk for the days ``date_from``..``date_to``.

    Both days are inclusive, in the tenant's time zone (default: the last 30 days). Case
    rows (department, service): received = cases received in the range; concluded = cases
    concluded in it; on time = concluded no later than their deadline (cases without a
    time limit count as on time); early = concluded on a day before their deadline's day;
    overdue_open = cases open past their deadline at the end of the range (or now);
    warned = warnings raised in the range; urged = urgings (催办) in the range; avg_working_hours = mean handling time of the
    concluded cases in office hours, without the time spent waiting for the applicant.
    A case belongs to the first department it was routed to after the intake window.
    Clerk rows count the clerk's tasks the same way (received = tasks created in the range
    that the clerk holds or completed; the time limit is the task's ``due_at``).
    Supervisors see the groups they supervise; auditors and admins the whole tenant.
    """
    if not actor.has_role(*METRIC_ROLES):
        raise Forbidden("only supervisors, auditors and admins may read supervision metrics")
    if group_by not in GROUP_BY:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUP_BY)}", {"group_by": ["unknown grouping"]})
    with ctx.unit_of_work() as uow:
        s = uow.session
        calendar = ctx.calendar.for_tenant(actor.tenant_id, s)
        now = ctx.clock()
        today = calendar.local_date(now)
        date_to = date_to or today
        date_from = date_from or (date_to - timedelta(days=29))
        if date_from > date_to:
            raise InvalidInput("'from' is after 'to'", {"from": ["must not be after 'to'"]})
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise InvalidInput("the range is too long", {"to": [f"at most {MAX_RANGE_DAYS} days after 'from'"]})
        start, end = calendar.start_of_day(date_from), calendar.start_of_day(date_to + timedelta(days=1))
        asof = min(end, now)
        scope = None if actor.is_admin or actor.has_role("auditor") else set(actor.supervised_groups)
        if group_by == "clerk":
            rows = _clerk_rows(s, calendar, actor.tenant_id, start, end, asof, scope)
        else:
            rows = _case_rows(s, calendar, actor.tenant_id, start, end, asof, scope, group_by)
    return {"group_by": group_by, "from": date_from, "to": date_to, "generated_at": now, "rows": rows}


class _Tally:
    __slots__ = ("received", "concluded", "on_time", "early", "overdue_open", "warned", "urged", "seconds")

    def __init__(self):
        self.received = self.concluded = self.on_time = self.early = self.overdue_open = self.warned = 0
        self.urged = 0
        self.seconds: list[int] = []

    def row(self, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "received": self.received,
            "concluded": self.concluded,
            "concluded_on_time": self.on_time,
            "on_time_rate": round(self.on_time / self.concluded, 4) if self.concluded else None,
            "concluded_early": self.early,
            "early_rate": round(self.early / self.concluded, 4) if self.concluded else None,
            "overdue_open": self.overdue_open,
            "warned": self.warned,
            "urged": self.urged,
            "avg_working_hours": round(sum(self.seconds) / len(self.seconds) / 3600, 2) if self.seconds else None,
        }


def _in(moment, start, end) -> bool:
    return moment is not None and start <= moment < end


URGINGS = CaseUrging.__table__


def _case_rows(s, calendar, tenant_id, start, end, asof, scope, group_by) -> list[dict]:
    first_department = (
        select(TASKS.c.group).where(TASKS.c.case_id == CASES.c.id, TASKS.c.group.is_not(None),
                                    TASKS.c.group.not_in(INTAKE_GROUPS))
        .order_by(TASKS.c.id).limit(1).scalar_subquery()
    )
    first_group = (
        select(TASKS.c.group).where(TASKS.c.case_id == CASES.c.id, TASKS.c.group.is_not(None))
        .order_by(TASKS.c.id).limit(1).scalar_subquery()
    )
    query = (
        select(
            CASES.c.created_at, CASES.c.ended_at, CASES.c.status, CASES.c.deadline,
            func.coalesce(CASES.c.service_code, CASES.c.process_key).label("service"),
            func.coalesce(first_department, first_group).label("department"),
            CLOCKS.c.warned_at, CLOCKS.c.pauses, CLOCKS.c.paused_at,
        )
        .select_from(CASES.outerjoin(CLOCKS, CLOCKS.c.case_id == CASES.c.id))
        .where(
            CASES.c.tenant_id == tenant_id,
            or_(
                and_(CASES.c.created_at >= start, CASES.c.created_at < end),
                and_(CASES.c.ended_at >= start, CASES.c.ended_at < end),
                and_(CASES.c.deadline < asof, CASES.c.created_at < asof,
                     or_(CASES.c.ended_at.is_(None), CASES.c.ended_at > asof)),
                and_(CLOCKS.c.warned_at >= start, CLOCKS.c.warned_at < end),
            ),
        )
    )
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for row in s.execute(query):
        department = row.department or "(none)"
        if scope is not None and department not in scope:
            continue
        tally = tallies[department if group_by == "department" else (row.service or "(none)")]
        if _in(row.created_at, start, end):
            tally.received += 1
        if row.status == "concluded" and _in(row.ended_at, start, end):
            tally.concluded += 1
            if row.deadline is None or row.ended_at <= row.deadline:
                tally.on_time += 1
            if row.deadline is not None and calendar.local_date(row.ended_at) < calendar.local_date(row.deadline):
                tally.early += 1
            waited = sum(calendar.working_seconds(_time(a), _time(b)) for a, b in (row.pauses or []))
            tally.seconds.append(max(calendar.working_seconds(row.created_at, row.ended_at) - waited, 0))
        if (row.deadline is not None and row.deadline < asof and row.created_at < asof
                and (row.ended_at is None or row.ended_at > asof)):
            tally.overdue_open += 1
        if _in(row.warned_at, start, end):
            tally.warned += 1
    urgings = (  # 催办 in the range, counted for the case's department or service
        select(func.coalesce(first_department, first_group).label("department"),
               func.coalesce(CASES.c.service_code, CASES.c.process_key).label("service"))
        .select_from(URGINGS.join(CASES, CASES.c.id == URGINGS.c.case_id))
        .where(URGINGS.c.tenant_id == tenant_id, URGINGS.c.created_at >= start, URGINGS.c.created_at < end)
    )
    for row in s.execute(urgings):
        department = row.department or "(none)"
        if scope is None or department in scope:
            tallies[department if group_by == "department" else (row.service or "(none)")].urged += 1
    return [tallies[key].row(key) for key in sorted(tallies)]


def _clerk_rows(s, calendar, tenant_id, start, end, asof, scope) -> list[dict]:
    clerk = case((TASKS.c.status == "completed", TASKS.c.completed_by), else_=TASKS.c.assignee).label("clerk")
    query = select(
        clerk, TASKS.c.group, TASKS.c.status, TASKS.c.created_at, TASKS.c.completed_at, TASKS.c.due_at,
        TASKS.c.warn_at,
    ).where(
        TASKS.c.tenant_id == tenant_id,
        TASKS.c.status != "cancelled",
        or_(and_(TASKS.c.status == "completed", TASKS.c.completed_by.is_not(None)),
            and_(TASKS.c.status != "completed", TASKS.c.assignee.is_not(None))),
        or_(
            and_(TASKS.c.created_at >= start, TASKS.c.created_at < end),
            and_(TASKS.c.completed_at >= start, TASKS.c.completed_at < end),
            and_(TASKS.c.due_at < asof, TASKS.c.created_at < asof,
                 or_(TASKS.c.completed_at.is_(None), TASKS.c.completed_at > asof)),
            and_(TASKS.c.warn_at >= start, TASKS.c.warn_at < end),
        ),
    )
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for row in s.execute(query):
        if scope is not None and row.group not in scope:
            continue
        tally = tallies[row.clerk]
        done = row.status == "completed"
        if _in(row.created_at, start, end):
            tally.received += 1
        if done and _in(row.completed_at, start, end):
            tally.concluded += 1
            if row.due_at is None or row.completed_at <= row.due_at:
                tally.on_time += 1
            if row.due_at is not None and calendar.local_date(row.completed_at) < calendar.local_date(row.due_at):
                tally.early += 1
            tally.seconds.append(calendar.working_seconds(row.created_at, row.completed_at))
        if (row.due_at is not None and row.due_at < asof and row.created_at < asof
                and (row.completed_at is None or row.completed_at > asof)):
            tally.overdue_open += 1
        if (_in(row.warn_at, start, end) and row.created_at <= row.warn_at < asof
                and (row.completed_at is None or row.completed_at > row.warn_at)):
            tally.warned += 1  # its warning time passed while it was open
    urgings = select(URGINGS.c.targets).where(URGINGS.c.tenant_id == tenant_id, URGINGS.c.created_at >= start,
                                              URGINGS.c.created_at < end)
    for (targets,) in s.execute(urgings):  # 催办: each clerk holding an urged task
        for target in targets or ():
            if target.get("assignee") and (scope is None or target.get("group") in scope):
                tallies[target["assignee"]].urged += 1
    return [tallies[key].row(key) for key in sorted(tallies)]


def _time(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
