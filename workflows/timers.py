"""Timers: claiming the rows that are due and firing each of them exactly once.

Rows are written by ``workflows.deadlines`` inside the case steps that create them. Then:

* **claim** (:func:`claim_due_timers`, run by every scheduler): one statement moves up to
  ``limit`` due rows from ``pending`` to ``claimed``, oldest first. On PostgreSQL the rows
  are picked with ``FOR UPDATE SKIP LOCKED``, so several schedulers claim disjoint sets
  without waiting on each other; on SQLite the same ``UPDATE … RETURNING`` runs under the
  database's single writer lock, which gives the same guarantee. A claimed row that has not
  fired ``lease_seconds`` after its claim (its scheduler or worker died, the broker lost
  the message) is claimed again, so nothing is lost; the claim commits before anything is
  dispatched (``on_claimed`` runs after the commit).
* **fire** (:func:`fire_timer`, run by Celery workers or the embedded thread): in one
  transaction, take the row (``SKIP LOCKED``: a row another worker is firing is left to it),
  check it is still open and due, mark it ``fired`` and run the case step it stands for
  (a BPMN timer event, a supervision threshold, a service retry) under the case's version
  check. Commit both or neither: a row fires once however often it is dispatched.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, delete, func, or_, select

from .cases import FINAL_CASE_STATUSES, _apply_outcome, _write_case, load_case_for_update
from .context import EngineContext
from .deadlines import OPEN_TIMER_STATUSES, SUPERVISION_KINDS, TIMERS
from .errors import Conflict, NotFound
from .models import SchedulerHeartbeat

log = logging.getLogger(__name__)

HEARTBEATS = SchedulerHeartbeat.__table__


@dataclass
class Claim:
    ids: list[int]
    #: lateness of the oldest claimed timer, in seconds (0 when nothing was due)
    lag_seconds: float


def claim_due_timers(
    ctx: EngineContext,
    claimer: str,
    limit: int = 500,
    on_claimed: Callable[[list[int]], None] | None = None,
    now: datetime | None = None,
) -> Claim:
    """Claim up to ``limit`` due timers for ``claimer``; ``on_claimed(ids)`` runs after the commit."""
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        now = now or ctx.clock()
        expired = now - timedelta(seconds=ctx.timing.lease_seconds)
        claimed = {"status": "claimed", "claimed_by": claimer[:150], "claimed_at": now, "claims": TIMERS.c.claims + 1}
        rows = []
        for condition in (
            and_(TIMERS.c.status == "pending", TIMERS.c.due_at <= now),
            and_(TIMERS.c.status == "claimed", TIMERS.c.claimed_at < expired),
        ):
            left = limit - len(rows)
            if left <= 0:
                break
            due = (
                select(TIMERS.c.id).where(condition).order_by(TIMERS.c.due_at).limit(left)
                .with_for_update(skip_locked=True)
            )
            rows += conn.execute(
                TIMERS.update().where(TIMERS.c.id.in_(due)).values(**claimed).returning(TIMERS.c.id, TIMERS.c.due_at)
            ).all()
        ids = [row.id for row in rows]
        lag = max(((now - row.due_at).total_seconds() for row in rows), default=0.0)
        _beat(conn, claimer, now, len(ids), lag)
        if on_claimed is not None and ids:
            uow.after_commit(lambda: on_claimed(ids))
        uow.commit()
    return Claim(ids, lag)


def _beat(conn, name: str, now: datetime, claimed: int, lag: float) -> None:
    values = {"beat_at": now, "claimed": HEARTBEATS.c.claimed + claimed, "lag_ms": int(lag * 1000)}
    if conn.execute(HEARTBEATS.update().where(HEARTBEATS.c.name == name[:150]).values(**values)).rowcount == 0:
        conn.execute(HEARTBEATS.insert().values(name=name[:150], started_at=now, beat_at=now, claimed=claimed,
                                                lag_ms=int(lag * 1000)))


def forget_scheduler(ctx: EngineContext, name: str) -> None:
    """Remove a scheduler's heartbeat when it stops cleanly."""
    with ctx.unit_of_work() as uow:
        uow.session.connection().execute(HEARTBEATS.delete().where(HEARTBEATS.c.name == name[:150]))
        uow.commit()


# -- firing -----------------------------------------------------------------------------------------
class _NotDueYet(Exception):
    def __init__(self, due_at: datetime):
        self.due_at = due_at


def fire_timer(ctx: EngineContext, timer_id: int, worker: str = "worker") -> str:
    """Fire timer ``timer_id`` if it is still open and due. Safe to call any number of times.

    Returns what happened: ``fired``; ``done`` (fired or cancelled before); ``busy`` (another
    worker holds it); ``not-due`` (put back with its due time); ``stale`` (the case moved on:
    cancelled); ``raced`` (lost to concurrent changes of the case three times: it stays
    claimed and its lease brings it back).
    """
    for _ in range(3):
        try:
            return _fire_once(ctx, timer_id, worker)
        except _NotDueYet as exc:
            with ctx.unit_of_work() as uow:
                uow.session.connection().execute(
                    TIMERS.update().where(TIMERS.c.id == timer_id, TIMERS.c.status.in_(OPEN_TIMER_STATUSES))
                    .values(status="pending", due_at=exc.due_at, claimed_by=None, claimed_at=None))
                uow.commit()
            return "not-due"
        except Conflict:
            continue
    return "raced"


def fire_timers(ctx: EngineContext, timer_ids: list[int], worker: str = "worker") -> dict[str, int]:
    """Fire several timers, each in its own transaction; counts of outcomes."""
    counts: dict[str, int] = {}
    for timer_id in timer_ids:
        try:
            result = fire_timer(ctx, timer_id, worker)
        except NotFound:
            result = "stale"
        except Exception:  # one broken case must not keep the others from firing
            log.exception("timer %s could not fire; its lease will bring it back", timer_id)
            result = "error"
        counts[result] = counts.get(result, 0) + 1
    return counts


def _fire_once(ctx: EngineContext, timer_id: int, worker: str) -> str:
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        row = conn.execute(
            select(TIMERS).where(TIMERS.c.id == timer_id).with_for_update(skip_locked=True)
        ).one_or_none()
        if row is None:
            exists = conn.execute(select(TIMERS.c.id).where(TIMERS.c.id == timer_id)).scalar()
            return "busy" if exists else "done"
        if row.status not in OPEN_TIMER_STATUSES:
            return "done"
        now = ctx.clock()
        if row.due_at > now:
            raise _NotDueYet(row.due_at)
        # Fired first: the step below then sees this row as no longer open.
        marked = conn.execute(
            TIMERS.update().where(TIMERS.c.id == timer_id, TIMERS.c.status.in_(OPEN_TIMER_STATUSES))
            .values(status="fired", fired_at=now, fired_by=worker[:150])
        )
        if marked.rowcount != 1:
            return "done"
        if row.kind == "bpmn":
            effect = _fire_bpmn(ctx, uow, row, now)
        elif row.kind == "retry":
            effect = _fire_retry(ctx, uow, row, now)
        elif row.kind in SUPERVISION_KINDS:
            from .supervision import reach_level

            effect = reach_level(ctx, uow, row, now)
        else:
            effect = "stale"
        if effect == "stale":
            conn.execute(TIMERS.update().where(TIMERS.c.id == timer_id).values(status="cancelled"))
        else:
            uow.record(
                "timer.fired", row.tenant_id, case_id=row.case_id, at=now, actor=worker[:150],
                data={"timer_id": row.id, "kind": row.kind, "element_id": row.element_id,
                      "due_at": row.due_at.isoformat(), "lag_seconds": round((now - row.due_at).total_seconds(), 3)},
            )
        uow.commit()
        return "fired" if effect != "stale" else "stale"


def _open_tasks(workflow) -> set[str]:
    return {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _fire_bpmn(ctx: EngineContext, uow, row, now: datetime) -> str:
    record, runtime, workflow = load_case_for_update(ctx, uow, row.tenant_id, row.case_id)
    if record.status in FINAL_CASE_STATUSES or _spiff_state(workflow, row.spiff_id) != TaskState.WAITING:
        return "stale"  # the timer event is gone (its task was cancelled or completed meanwhile)
    before = _open_tasks(workflow)
    outcome = ctx.engine.fire_timers(runtime, workflow)
    still = next((t for t in outcome.timers or () if t.spiff_id == row.spiff_id), None)
    if still is not None:
        # This process's clock runs behind the one that wrote the row: roll back, try later.
        raise _NotDueYet(max(still.due_at, now + timedelta(milliseconds=200)))
    _sweep_fired_along(uow, row, workflow, now)
    _apply_outcome(uow, record, outcome, before=before, now=now, previous_status=record.status, ctx=ctx)
    _write_case(ctx, uow, uow.session, record, outcome, workflow)
    return "fired"


def _spiff_state(workflow, spiff_id: str | None):
    from uuid import UUID

    try:
        task = workflow.get_task_from_id(UUID(spiff_id))
    except (TypeError, ValueError):
        return None
    return task.state if task is not None else None


def _sweep_fired_along(uow, row, workflow, now: datetime) -> None:
    """Other timer events of the case that were due too fired in the same run: say so on their rows."""
    conn = uow.session.connection()
    others = conn.execute(
        select(TIMERS.c.id, TIMERS.c.spiff_id, TIMERS.c.element_id, TIMERS.c.due_at).where(
            TIMERS.c.case_id == row.case_id, TIMERS.c.kind == "bpmn", TIMERS.c.id != row.id,
            TIMERS.c.status.in_(OPEN_TIMER_STATUSES), TIMERS.c.due_at <= now)
    ).all()
    fired = [o for o in others if _spiff_state(workflow, o.spiff_id) == TaskState.COMPLETED]
    if fired:
        conn.execute(TIMERS.update().where(TIMERS.c.id.in_([o.id for o in fired])).values(
            status="fired", fired_at=now, fired_by=f"with timer {row.id}"))
    for other in fired:
        uow.record(
            "timer.fired", row.tenant_id, case_id=row.case_id, at=now, actor=f"with timer {row.id}",
            data={"timer_id": other.id, "kind": "bpmn", "element_id": other.element_id,
                  "due_at": other.due_at.isoformat(), "lag_seconds": round((now - other.due_at).total_seconds(), 3)},
        )


def _fire_retry(ctx: EngineContext, uow, row, now: datetime) -> str:
    record, runtime, workflow = load_case_for_update(ctx, uow, row.tenant_id, row.case_id)
    if record.status in FINAL_CASE_STATUSES or not workflow.get_tasks(state=TaskState.ERROR):
        return "stale"
    before = _open_tasks(workflow)
    outcome = ctx.engine.retry(runtime, workflow)
    uow.record(
        "service.retried", record.tenant_id, case_id=record.id, at=now,
        data={"element_id": row.element_id, "attempt": row.attempt, "succeeded": outcome.incident is None},
    )
    _apply_outcome(uow, record, outcome, before=before, now=now, previous_status=record.status, ctx=ctx)
    _write_case(ctx, uow, uow.session, record, outcome, workflow)
    return "fired"


# -- looking after the table ---------------------------------------------------------------------
def timer_status(ctx: EngineContext, now: datetime | None = None) -> dict:
    """Pending and due timers, how late the oldest due one is, and the schedulers' heartbeats."""
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        now = now or ctx.clock()
        pending = conn.execute(
            select(func.count()).select_from(TIMERS).where(TIMERS.c.status.in_(OPEN_TIMER_STATUSES))
        ).scalar_one()
        due, oldest = conn.execute(
            select(func.count(), func.min(TIMERS.c.due_at)).where(
                or_(TIMERS.c.status == "claimed", and_(TIMERS.c.status == "pending", TIMERS.c.due_at <= now)))
        ).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite aggregates lose the type
            oldest = _utc(oldest)
        schedulers = [
            {"name": r.name, "beat_age_seconds": round((now - r.beat_at).total_seconds(), 3),
             "claimed": r.claimed, "lag_seconds": r.lag_ms / 1000}
            for r in conn.execute(select(HEARTBEATS).order_by(HEARTBEATS.c.beat_at.desc()).limit(20))
        ]
    return {
        "pending": pending,
        "due": due,
        "lag_seconds": round(max((now - oldest).total_seconds(), 0.0), 3) if oldest is not None else 0.0,
        "schedulers": schedulers,
    }


def _utc(value):
    from datetime import timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def purge_finished_timers(ctx: EngineContext, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete fired and cancelled rows older than ``older_than`` (the trail keeps their story)."""
    with ctx.unit_of_work() as uow:
        cutoff = ctx.clock() - older_than
        done = uow.session.connection().execute(
            delete(TIMERS).where(TIMERS.c.status.in_(("fired", "cancelled")), TIMERS.c.created_at < cutoff)
        ).rowcount
        stale = ctx.clock() - timedelta(hours=1)
        uow.session.connection().execute(delete(HEARTBEATS).where(HEARTBEATS.c.beat_at < stale))
        uow.commit()
    return done
