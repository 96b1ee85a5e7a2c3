"""Deadlines: the case clock (承诺时限), due and warning times of tasks, and the timer rows
that make the engine act on time.

Every case step (``workflows.steps.run_step``) passes through three of its handlers, inside
the step's transaction: :func:`plan_retries`, :func:`plan_clock` and :func:`plan_bpmn_timers`.
They read and write the clock and the timer rows through the step's case repository
(``workflows.case_repository``: SQL in production, in memory in the unit tests). The step, through
them,

* starts the case clock when a case starts with a time limit, ``time_limit_working_days``
  (or ``time_limit_minutes`` of calendar time, for emergencies: warned when a quarter of the
  time is left, seriously overdue after twice the time),
  taken from the start data (the service catalogue passes its 承诺时限 there) or else from a
  ``spiffworkflow:property`` of the process's start event; a process that sets the key in
  its data later (e.g. when the case is accepted) starts the clock at that step;
* pauses the clock when the case starts waiting for the applicant (补正: status
  ``waiting_applicant``), keeping the working days left, and resumes it with those days
  when the case goes on; stops it when the case ends, noting whether it ended on time;
* keeps the supervision timer rows (``warning``, ``overdue``, ``red``) in line with the
  clock, and one ``bpmn`` timer row per timer event the workflow waits on;
* turns a failed service call that may work later into a ``retry`` timer with back-off,
  until the retries run out and the case gets its incident;
* answers the ``due_at`` and ``warn_at`` of the tasks the step creates: a user task's
  ``due_date_field`` property names a case data field holding the day it is due (e.g. a
  senior card delivered on the resident's birthday); its own ``time_limit_working_days``
  property counts from its creation; otherwise it gets the case's deadline and warning time.

Counting (see ``workflows.calendar``): the deadline is the end (23:59:59, tenant time) of
the *n*-th working day after the start day. The warning comes when ``warn_working_days``
working days are left (default 1: at the end of the day before the deadline's day); the
case is overdue (yellow) once the deadline has passed and seriously overdue (red) at the
end of the ``red_after_working_days``-th working day after it (default 3). While paused a
case has no deadline (``deadline`` is NULL): the day the pause starts counts as used, the
day the case resumes does not, as for a period's start day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .calendar import TenantCalendar
from .engine import ReadyTask, StepOutcome
from .models import Case, CaseClock, Task, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .case_repository import CaseRepository
    from .context import EngineContext
    from .unit_of_work import UnitOfWork

TIME_LIMIT_KEY = "time_limit_working_days"
#: a time limit in minutes of calendar time (emergencies, 应急), used when there is none in working days
TIME_LIMIT_MINUTES_KEY = "time_limit_minutes"
#: a minutes clock warns when this share of its time is left, and is seriously overdue after twice its time
MINUTES_WARN_SHARE = 0.25
#: a user task property naming a case data field that holds the date the task is due on
DUE_DATE_FIELD_KEY = "due_date_field"
#: a task property: the task's due day itself, an ISO date (from camunda:dueDate)
DUE_DATE_KEY = "due_date"
WARN_KEY = "warn_working_days"
RED_KEY = "red_after_working_days"
SUPERVISION_KINDS = ("warning", "overdue", "red")
LEVELS = ("none", "warning", "yellow", "red")
#: the level a supervision timer raises the case to
LEVEL_OF_KIND = {"warning": "warning", "overdue": "yellow", "red": "red"}
#: a level timer fires this long after its threshold: a case is late only once its deadline
#: (23:59:59) has passed, i.e. from 00:00:00 of the next day
LEVEL_DELAY = {"warning": timedelta(0), "overdue": timedelta(seconds=1), "red": timedelta(seconds=1)}
FINAL_STATUSES = ("concluded", "refused", "terminated")
OPEN_TIMER_STATUSES = ("pending", "claimed")

TIMERS = Timer.__table__
CLOCKS = CaseClock.__table__
CASES = Case.__table__
TASKS = Task.__table__


@dataclass(frozen=True)
class TimingPolicy:
    """The installation's rules for warnings, escalation, retries and timer leases."""

    warn_working_days: int = 1
    red_after_working_days: int = 3
    #: how often a failed service call is tried again before the case gets an incident
    service_retries: int = 3
    #: seconds to wait before retry 1, 2, 3 ... (the last value repeats)
    retry_backoff: tuple[float, ...] = (30.0, 120.0, 480.0)
    #: a claimed timer that has not fired after this many seconds is claimed again
    lease_seconds: float = 60.0

    def backoff(self, attempt: int) -> timedelta:
        steps = self.retry_backoff or (0.0,)
        return timedelta(seconds=steps[min(max(attempt, 1), len(steps)) - 1])


@dataclass
class StepDeadlines:
    """Due and warning times for the tasks a step creates."""

    calendar: TenantCalendar
    now: datetime
    case_deadline: datetime | None
    case_warn_at: datetime | None
    warn_days: int
    #: the case data after the step (a task's ``due_date_field`` property names a date in it)
    data: dict | None = None

    def due_at(self, task: ReadyTask) -> datetime | None:
        on_day = self._due_day(task)
        if on_day is not None:  # e.g. a senior card delivered on the resident's birthday
            return self.calendar.end_of_day(on_day)
        limit = _whole_days(task.properties.get(TIME_LIMIT_KEY))
        if limit is not None:
            return self.calendar.deadline(self.now, limit)
        return self.case_deadline

    def _due_day(self, task: ReadyTask):
        field_name = task.properties.get(DUE_DATE_FIELD_KEY)
        value = (self.data or {}).get(field_name) if field_name else None
        if value is None:
            value = task.properties.get(DUE_DATE_KEY)  # a fixed day (camunda:dueDate="2026-12-01")
        if not isinstance(value, str):
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None

    def warn_at(self, task: ReadyTask) -> datetime | None:
        on_day = self._due_day(task)
        if on_day is not None:
            return warning_time(self.calendar, self.calendar.end_of_day(on_day), self.warn_days, self.now)
        limit = _whole_days(task.properties.get(TIME_LIMIT_KEY))
        if limit is not None:
            return warning_time(self.calendar, self.calendar.deadline(self.now, limit), self.warn_days, self.now)
        return self.case_warn_at


def _whole_days(value) -> int | None:
    """A time limit from data or a BPMN property: a non-negative whole number, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 <= number <= 2000 else None


def warning_time(calendar: TenantCalendar, deadline: datetime, warn_days: int, now: datetime) -> datetime:
    """End of the working day ``warn_days`` working days before the deadline's day; not before
    ``now`` (a task created late is in warning at once) and not after the deadline."""
    warn = calendar.end_of_day(calendar.shift(calendar.local_date(deadline), -warn_days)) if warn_days else deadline
    return min(max(warn, now), deadline)


def red_time(calendar: TenantCalendar, deadline: datetime, red_days: int) -> datetime:
    return calendar.end_of_day(calendar.shift(calendar.local_date(deadline), max(red_days, 1)))


# -- the handlers' work ------------------------------------------------------------------------
def plan_retries(ctx: "EngineContext", uow: "UnitOfWork", cases: "CaseRepository", record, outcome: StepOutcome,
                 now: datetime) -> None:
    """A failed service call that may work later becomes a retry timer instead of an incident."""
    incident = outcome.incident
    if incident is not None and incident.retryable and incident.spiff_task_id is not None \
            and ctx.timing.service_retries > 0:
        _retry_or_incident(uow, cases, record, outcome, ctx.timing, now)


def plan_clock(
    ctx: "EngineContext", uow: "UnitOfWork", cases: "CaseRepository", record, outcome: StepOutcome, now: datetime,
    previous_status: str | None, runtime=None,
) -> StepDeadlines | None:
    """Start, pause, resume or stop the case clock as ``outcome`` says; the due times of new tasks.

    ``record`` is the case's ``CaseRecord``: its ``deadline`` is updated here (and in the row).
    Returns None (and sends no statement) when the step creates no task and leaves the clock alone.
    """
    runtime = runtime or cases.runtime(record.model_id)
    data = outcome.data or {}
    status = outcome.status
    if not _touches_clock(runtime, record, outcome, data, previous_status):
        return None
    calendar = cases.calendar(record.tenant_id)
    policy = ctx.timing
    warn_days = _whole_days(data.get(WARN_KEY))
    if warn_days is None:
        warn_days = _whole_days(runtime.start_properties.get(WARN_KEY))
    if warn_days is None:
        warn_days = policy.warn_working_days
    if previous_status is None:
        limit = _whole_days(data.get(TIME_LIMIT_KEY))
        if limit is None:
            limit = _whole_days(runtime.start_properties.get(TIME_LIMIT_KEY))
        minutes = _whole_days(data.get(TIME_LIMIT_MINUTES_KEY))
        if minutes is None:
            minutes = _whole_days(runtime.start_properties.get(TIME_LIMIT_MINUTES_KEY))
        if limit is not None and status not in FINAL_STATUSES:
            red_days = _whole_days(data.get(RED_KEY)) or _whole_days(runtime.start_properties.get(RED_KEY))
            _start_clock(uow, cases, calendar, record, limit, warn_days, red_days or policy.red_after_working_days,
                         now, new_case=True)
            if status == "waiting_applicant":
                _pause(uow, cases, calendar, record, now)
        elif minutes and status not in FINAL_STATUSES:
            _start_minutes_clock(uow, cases, record, minutes, now)
            if status == "waiting_applicant":
                _pause(uow, cases, calendar, record, now)
    elif status != previous_status:
        if status in FINAL_STATUSES:
            _stop(uow, cases, record, status, now, runtime)
        elif status == "waiting_applicant":
            _pause(uow, cases, calendar, record, now)
        elif previous_status == "waiting_applicant":
            _resume(uow, cases, calendar, record, now)
    if (record.deadline is None and status == "open" and previous_status is not None
            and _whole_days(data.get(TIME_LIMIT_KEY)) is not None):
        _start_later(uow, cases, calendar, record, _whole_days(data.get(TIME_LIMIT_KEY)), warn_days,
                     _whole_days(data.get(RED_KEY)) or policy.red_after_working_days, now)
    case_warn = warning_time(calendar, record.deadline, warn_days, now) if record.deadline is not None else None
    return StepDeadlines(calendar, now, record.deadline, case_warn, warn_days, data)


def _touches_clock(runtime, record, outcome: StepOutcome, data: dict, previous_status: str | None) -> bool:
    """Whether the step may change the clock or needs due times (else no calendar, no statement)."""
    if outcome.ready or previous_status is None or outcome.status != previous_status:
        return True
    return (record.deadline is None and outcome.status == "open"
            and _whole_days(data.get(TIME_LIMIT_KEY)) is not None)


def plan_bpmn_timers(uow: "UnitOfWork", cases: "CaseRepository", record, outcome: StepOutcome, now: datetime,
                     previous_status: str | None) -> None:
    """One open timer row per timer event the workflow waits on (none for models without timers)."""
    if outcome.timers is not None:
        sync_bpmn_timers(uow, cases, record, outcome, now, new_case=previous_status is None)


# -- the clock ----------------------------------------------------------------------------------
def _schedule(cases, record, kind: str, due_at: datetime, now: datetime, spiff_id=None, element_id=None, attempt=0):
    cases.add_timer(dict(
        tenant_id=record.tenant_id, case_id=record.id, kind=kind, spiff_id=spiff_id, element_id=element_id,
        due_at=due_at, status="pending", attempt=attempt, claims=0, created_at=now,
    ))


def _schedule_levels(cases, record, clock: dict, level: str, now: datetime) -> None:
    """Timer rows for the supervision thresholds the case has not reached yet."""
    reached = LEVELS.index(level)
    for kind, due in (("warning", clock["warn_at"]), ("overdue", clock["deadline"]), ("red", clock["red_at"])):
        if due is not None and LEVELS.index(LEVEL_OF_KIND[kind]) > reached:
            _schedule(cases, record, kind, due + LEVEL_DELAY[kind], now)


def _cancel(cases, case_id: int, kinds: tuple[str, ...] | None = None) -> None:
    """Cancel the case's open timer rows (of ``kinds``, or all)."""
    cases.cancel_timers(case_id, kinds)


def _set_case_deadline(cases, record, deadline: datetime | None) -> None:
    record.deadline = deadline
    cases.set_deadline(record.id, deadline)


def _thresholds(calendar: TenantCalendar, deadline: datetime, warn_days: int, red_days: int, now: datetime) -> dict:
    return {
        "deadline": deadline,
        "warn_at": warning_time(calendar, deadline, warn_days, now),
        "red_at": red_time(calendar, deadline, red_days),
    }


def _start_clock(uow, cases, calendar, record, limit, warn_days, red_days, now, new_case=False) -> None:
    times = _thresholds(calendar, calendar.deadline(now, limit), warn_days, red_days, now)
    values = dict(
        tenant_id=record.tenant_id, time_limit_working_days=limit, warn_working_days=warn_days,
        red_after_working_days=red_days, state="running", started_at=now, paused_at=None,
        remaining_working_days=None, level="none", **times,
    )
    done = 0 if new_case else cases.update_clock(record.id, values)
    if not done:
        cases.add_clock(dict(case_id=record.id, pauses=[], **values))
    record.clock_state = "running"
    _set_case_deadline(cases, record, times["deadline"])
    _schedule_levels(cases, record, times, "none", now)
    uow.record(
        "deadline.set", record.tenant_id, case_id=record.id, at=now,
        data={"time_limit_working_days": limit, "deadline": times["deadline"].isoformat(),
              "warn_at": times["warn_at"].isoformat(), "red_at": times["red_at"].isoformat()},
    )


def _minute_thresholds(deadline: datetime, minutes: int, now: datetime) -> dict:
    period = timedelta(minutes=minutes)
    return {"deadline": deadline, "warn_at": min(max(deadline - period * MINUTES_WARN_SHARE, now), deadline),
            "red_at": deadline + period}


def _start_minutes_clock(uow, cases, record, minutes: int, now: datetime) -> None:
    """A limit in calendar minutes: due ``minutes`` after now, whatever the day (emergencies)."""
    times = _minute_thresholds(now + timedelta(minutes=minutes), minutes, now)
    cases.add_clock(dict(
        case_id=record.id, tenant_id=record.tenant_id, time_limit_working_days=None, time_limit_minutes=minutes,
        warn_working_days=0, red_after_working_days=0, state="running", started_at=now, paused_at=None,
        remaining_working_days=None, level="none", pauses=[], **times))
    _set_case_deadline(cases, record, times["deadline"])
    _schedule_levels(cases, record, times, "none", now)
    uow.record(
        "deadline.set", record.tenant_id, case_id=record.id, at=now,
        data={"time_limit_minutes": minutes, "deadline": times["deadline"].isoformat(),
              "warn_at": times["warn_at"].isoformat(), "red_at": times["red_at"].isoformat()},
    )


def _start_later(uow, cases, calendar, record, limit, warn_days, red_days, now) -> None:
    """A process set its time limit after the start (e.g. at acceptance): start counting now."""
    clock = _clock(cases, record.id, record)
    if clock is not None and clock["time_limit_working_days"] is not None:
        return
    _start_clock(uow, cases, calendar, record, limit, warn_days, red_days, now)


def _clock(cases, case_id: int, record=None) -> dict | None:
    """The case's clock row; none read when the case was read with no clock (``CaseRecord.clock_state``)."""
    if record is not None and getattr(record, "clock_state", "unknown") is None:
        return None
    return cases.clock(case_id)


def _pause(uow, cases, calendar: TenantCalendar, record, now: datetime) -> None:
    clock = _clock(cases, record.id, record)
    if clock is None:  # no time limit: remember the pause for the handling time only
        cases.add_clock(dict(
            case_id=record.id, tenant_id=record.tenant_id, time_limit_working_days=None, warn_working_days=0,
            red_after_working_days=0, state="paused", started_at=record.created_at, paused_at=now, pauses=[],
            level="none",
        ))
        record.clock_state = "paused"
        return
    if clock["state"] != "running":
        return
    seconds = None
    if clock["time_limit_minutes"] is not None and clock["deadline"] is not None:
        remaining, seconds = None, int((clock["deadline"] - now).total_seconds())
    else:
        remaining = calendar.working_days_left(now, clock["deadline"]) if clock["deadline"] is not None else None
    cases.update_clock(record.id, dict(
        state="paused", paused_at=now, remaining_working_days=remaining, remaining_seconds=seconds, deadline=None,
        warn_at=None, red_at=None,
    ))
    if clock["deadline"] is None:
        return
    _cancel(cases, record.id, SUPERVISION_KINDS)
    _set_case_deadline(cases, record, None)
    cases.clear_task_due(record.id, clock["deadline"])
    uow.record(
        "deadline.paused", record.tenant_id, case_id=record.id, at=now,
        data={"remaining_working_days": remaining, "deadline_was": clock["deadline"].isoformat(),
              **({"remaining_seconds": seconds} if seconds is not None else {})},
    )


def _resume(uow, cases, calendar: TenantCalendar, record, now: datetime) -> None:
    clock = _clock(cases, record.id, record)
    if clock is None or clock["state"] != "paused":
        return
    pauses = list(clock["pauses"] or []) + [[clock["paused_at"].isoformat(), now.isoformat()]]
    if clock["time_limit_minutes"] is not None and clock["remaining_seconds"] is not None:
        # a limit in calendar minutes (emergencies): what was left runs on from now
        deadline = now + timedelta(seconds=clock["remaining_seconds"])
        times = _minute_thresholds(deadline, clock["time_limit_minutes"], now)
        cleared, left = {"remaining_seconds": None}, {"remaining_seconds": clock["remaining_seconds"]}
    elif clock["time_limit_working_days"] is not None and clock["remaining_working_days"] is not None:
        remaining = clock["remaining_working_days"]
        deadline = calendar.end_of_day(calendar.shift(calendar.local_date(now), remaining))
        times = _thresholds(calendar, deadline, clock["warn_working_days"], clock["red_after_working_days"], now)
        cleared, left = {"remaining_working_days": None}, {"remaining_working_days": remaining}
    else:
        cases.update_clock(record.id, dict(state="running", paused_at=None, pauses=pauses))
        return
    cases.update_clock(record.id, dict(state="running", paused_at=None, pauses=pauses, **cleared, **times))
    _set_case_deadline(cases, record, deadline)
    cases.set_task_due(record.id, deadline, times["warn_at"])
    _schedule_levels(cases, record, times, clock["level"], now)
    uow.record(
        "deadline.resumed", record.tenant_id, case_id=record.id, at=now,
        data={**left, "deadline": deadline.isoformat(), "paused_since": clock["paused_at"].isoformat()},
    )


def _stop(uow, cases, record, status: str, now: datetime, runtime=None) -> None:
    # open timer rows: supervision levels (a running clock has a deadline), BPMN timers, service retries
    if runtime is None or record.deadline is not None or runtime.has_timers or runtime.calls_services:
        _cancel(cases, record.id)
    clock = _clock(cases, record.id, record)
    if clock is None or clock["state"] == "stopped":
        return
    pauses = list(clock["pauses"] or [])
    if clock["state"] == "paused":
        pauses.append([clock["paused_at"].isoformat(), now.isoformat()])
        left = clock["remaining_seconds"] if clock["time_limit_minutes"] is not None else clock["remaining_working_days"]
        on_time = left is None or left >= 0
    else:
        on_time = clock["deadline"] is None or now <= clock["deadline"]
    cases.update_clock(record.id, dict(state="stopped", stopped_at=now, paused_at=None, pauses=pauses, on_time=on_time))
    if clock["time_limit_working_days"] is not None or clock["time_limit_minutes"] is not None:
        uow.record(
            "deadline.stopped", record.tenant_id, case_id=record.id, at=now,
            data={"status": status, "on_time": on_time,
                  "deadline": clock["deadline"].isoformat() if clock["deadline"] else None},
        )


# -- BPMN timers and service retries --------------------------------------------------------------
def sync_bpmn_timers(uow, cases, record, outcome: StepOutcome, now: datetime, new_case: bool = False) -> None:
    """One open row per timer event the workflow waits on, at its due time; no others.

    The rows match what the workflow waited on before the step (they were written with that
    state), so the step's own before/after lists say what changed without reading the rows;
    only when the engine could not tell (``timers_before`` None) are they read.
    """
    after = {t.spiff_id: t for t in outcome.timers or ()}
    if new_case:
        before: dict = {}
    elif outcome.timers_before is not None:
        before = {t.spiff_id: t.due_at for t in outcome.timers_before}
    else:
        before = cases.open_bpmn_timers(record.id)
    gone = [spiff_id for spiff_id in before if spiff_id not in after]
    fired = [spiff_id for spiff_id in gone if spiff_id in set(outcome.timers_fired)]
    cancelled = [spiff_id for spiff_id in gone if spiff_id not in set(outcome.timers_fired)]
    if fired:  # due at the same time as the timer that fired this step: they went with it
        for row in cases.fire_bpmn_timers(record.id, fired, now, "with another timer of the case"):
            uow.record(
                "timer.fired", record.tenant_id, case_id=record.id, at=now,
                data={"timer_id": row.id, "kind": "bpmn", "element_id": row.element_id,
                      "due_at": row.due_at.isoformat(), "lag_seconds": round((now - row.due_at).total_seconds(), 3)},
            )
    if cancelled:
        cases.cancel_bpmn_timers(record.id, cancelled)
    for spiff_id, timer in after.items():
        due = before.get(spiff_id)
        if spiff_id not in before:
            _schedule(cases, record, "bpmn", timer.due_at, now, spiff_id=spiff_id, element_id=timer.element_id)
        elif abs((timer.due_at - due).total_seconds()) > 0.001:  # a cycle timer's next round
            cases.move_bpmn_timer(record.id, spiff_id, timer.due_at)


def _retry_or_incident(uow, cases, record, outcome: StepOutcome, policy: TimingPolicy, now: datetime) -> None:
    """A failed service call that may work later becomes a retry timer instead of an incident."""
    incident = outcome.incident
    if incident is None or not incident.retryable or incident.spiff_task_id is None or policy.service_retries <= 0:
        return
    attempts = cases.retry_attempts(record.id, incident.spiff_task_id)
    if attempts >= policy.service_retries:
        incident.message = f"{incident.message} (tried {attempts + 1} times)"[:2000]
        return
    attempt = attempts + 1
    due = now + policy.backoff(attempt)
    _schedule(cases, record, "retry", due, now, spiff_id=incident.spiff_task_id, element_id=incident.element_id,
              attempt=attempt)
    uow.record(
        "service.retry_scheduled", record.tenant_id, case_id=record.id, at=now,
        data={"element_id": incident.element_id, "attempt": attempt, "due_at": due.isoformat(),
              "message": incident.message},
    )
    outcome.incident = None
