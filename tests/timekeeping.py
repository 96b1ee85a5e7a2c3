"""Helpers for the timer, deadline and supervision tests: the supervised demo process, a
scheduler pass run in the test, a recorder of events, Beijing wall-clock times."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows import timers
from workflows.models import CaseClock, Task, Timer

REPO = Path(__file__).resolve().parent.parent
SUPERVISED_DIR = REPO / "bpmn" / "processes" / "supervised_application"
SH = ZoneInfo("Asia/Shanghai")


def beijing(*parts) -> datetime:
    """An aware datetime in Beijing time: ``beijing(2026, 10, 1, 9, 30)``."""
    return datetime(*parts, tzinfo=SH)


def supervised_files() -> list[tuple[str, bytes]]:
    files = sorted(SUPERVISED_DIR.iterdir(), key=lambda p: (p.suffix != ".bpmn", p.name))
    return [(p.name, p.read_bytes()) for p in files]


def run_due(ctx, name: str = "test-scheduler") -> dict[str, int]:
    """One scheduler doing everything that is due now: claim, fire, until nothing is left."""
    counts: dict[str, int] = {}
    while True:
        claim = timers.claim_due_timers(ctx, name, 100)
        if not claim.ids:
            return counts
        for outcome, n in timers.fire_timers(ctx, claim.ids, name).items():
            counts[outcome] = counts.get(outcome, 0) + n


class EventLog(list):
    restore: object


def record_events(ctx) -> EventLog:
    """Keep every recorded event in a list while the trail goes on being written."""
    events = EventLog()
    sink = ctx.event_sink

    def recording(session, batch):
        events.extend(batch)
        return sink(session, batch) if sink is not None else None

    ctx.event_sink = recording
    events.restore = lambda: setattr(ctx, "event_sink", sink)
    return events


def clock_of(ctx, case_id: int) -> CaseClock | None:
    with ctx.unit_of_work() as uow:
        clock = uow.session.get(CaseClock, case_id)
        if clock is not None:
            uow.session.expunge(clock)
        return clock


def timers_of(ctx, case_id: int) -> list[Timer]:
    with ctx.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(Timer).where(Timer.case_id == case_id).order_by(Timer.id)))
        uow.session.expunge_all()
        return rows


def tasks_of(ctx, case_id: int) -> list[Task]:
    with ctx.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))
        uow.session.expunge_all()
        return rows
