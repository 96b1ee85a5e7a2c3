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

from sqlalchemy import and_, bindparam, delete, func, or_, select

from .case_repository import BurstCaseRepository
from .cases import _RECORD_COLUMNS, CASES
from .context import EngineContext
from .deadlines import OPEN_TIMER_STATUSES, SUPERVISION_KINDS, TIMERS
from .errors import Conflict, NotFound
from .models import SchedulerHeartbeat
from .steps import FireTimers, NotDueYet, Skipped, run_step

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
    max_in_flight: int | None = None,
) -> Claim:
    """Claim up to ``limit`` due timers for ``claimer``; ``on_claimed(ids)`` runs after the commit.

    ``max_in_flight`` keeps the claimed-but-unfired rows (of every scheduler) under that number:
    a backlog then waits as ``pending`` rows instead of as broker messages whose lease runs out.
    """
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        now = now or ctx.clock()
        expired = now - timedelta(seconds=ctx.timing.lease_seconds)
        if max_in_flight is not None:
            in_flight = conn.execute(
                select(func.count()).select_from(TIMERS).where(TIMERS.c.status == "claimed",
                                                               TIMERS.c.claimed_at >= expired)
            ).scalar_one()
            limit = min(limit, max(max_in_flight - in_flight, 0))
        claimed = {"status": "claimed", "claimed_by": claimer[:150], "claimed_at": now, "claims": TIMERS.c.claims + 1}
        rows = []
        for condition in (
            # a lost claim first (the oldest work); then what is due, strictly after its time as
            # SpiffWorkflow's timers compare
            and_(TIMERS.c.status == "claimed", TIMERS.c.claimed_at < expired),
            and_(TIMERS.c.status == "pending", TIMERS.c.due_at < now),
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
_NotDueYet = NotDueYet


def fire_timer(ctx: EngineContext, timer_id: int, worker: str = "worker") -> str:
    """Fire timer ``timer_id`` if it is still open and due. Safe to call any number of times.

    Returns what happened: ``fired``; ``done`` (fired or cancelled before, possibly by a
    concurrent call that this one waited for); ``not-due`` (put back with its due time);
    ``stale`` (the case moved on: cancelled); ``raced`` (lost to concurrent changes of the
    case three times: it stays claimed and its lease brings it back).
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


def fire_timers(ctx: EngineContext, timer_ids: list[int], worker: str = "worker", together: bool = True) -> dict[str, int]:
    """Fire several timers; returns counts of outcomes.

    ``together``: first try them all in one transaction (a burst then costs one commit per
    batch, not per timer). If any of them cannot fire cleanly (a race with a clerk, a clock
    behind, an error) that transaction is rolled back and each is fired in its own.
    """
    counts: dict[str, int] = {}
    if together and len(timer_ids) > 1:
        try:
            timer_ids, counts = _fire_together(ctx, timer_ids, worker)
        except Exception:  # noqa: BLE001 - every one of them is tried again on its own below
            log.debug("timers %s could not fire together; firing them one by one", timer_ids, exc_info=True)
            counts = {}
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


_NOW = bindparam("b_now", type_=TIMERS.c.due_at.type)
# Built once (a hot path): take the row if it is open and due. A concurrent firing of the same
# row holds its lock; this waits for it, then finds the row fired and takes nothing.
_MARK_FIRED = (
    TIMERS.update()
    .where(TIMERS.c.id == bindparam("b_id"), TIMERS.c.status.in_(OPEN_TIMER_STATUSES), TIMERS.c.due_at < _NOW)
    .values(status="fired", fired_at=_NOW, fired_by=bindparam("b_by"))
    .returning(TIMERS.c.id, TIMERS.c.tenant_id, TIMERS.c.case_id, TIMERS.c.kind, TIMERS.c.spiff_id,
               TIMERS.c.element_id, TIMERS.c.due_at, TIMERS.c.attempt)
)


_MARK_MANY_FIRED = (
    TIMERS.update()
    .where(TIMERS.c.id.in_(bindparam("b_ids", expanding=True)), TIMERS.c.status.in_(OPEN_TIMER_STATUSES),
           TIMERS.c.due_at < _NOW)
    .values(status="fired", fired_at=_NOW, fired_by=bindparam("b_by"))
    .returning(TIMERS.c.id, TIMERS.c.tenant_id, TIMERS.c.case_id, TIMERS.c.kind, TIMERS.c.spiff_id,
               TIMERS.c.element_id, TIMERS.c.due_at, TIMERS.c.attempt)
)
_CASES_FOR_UPDATE = select(*_RECORD_COLUMNS, CASES.c.state).where(CASES.c.id.in_(bindparam("b_ids", expanding=True)))


def _fire_together(ctx: EngineContext, timer_ids: list[int], worker: str) -> tuple[list[int], dict[str, int]]:
    """Fire the due, open timers of ``timer_ids`` in one transaction, with one statement to take
    them and one to read their cases. Returns the ids left for one-by-one handling (not taken:
    fired before, or not due) and the counts."""
    counts: dict[str, int] = {}
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        now = ctx.clock()
        rows = sorted(conn.execute(_MARK_MANY_FIRED, {"b_ids": list(timer_ids), "b_now": now,
                                                      "b_by": worker[:150]}).all(), key=lambda r: r.id)
        cases = {c.id: c._asdict() for c in conn.execute(
            _CASES_FOR_UPDATE, {"b_ids": sorted({r.case_id for r in rows if r.kind in ("bpmn", "retry")})})}
        # On PostgreSQL the burst's task rows and case writes go in two statements (case_repository)
        burst = BurstCaseRepository(ctx, uow, len(rows)) if conn.dialect.name == "postgresql" else None
        for row in rows:
            if burst is not None and row.kind not in ("bpmn", "retry"):
                burst.flush()  # supervision levels read and write cases outside the burst's repository
            result = _fire_taken(ctx, uow, row, now, worker, loaded=cases.pop(row.case_id, None), cases=burst)
            counts[result] = counts.get(result, 0) + 1
        if burst is not None:
            burst.flush()
        uow.commit()
    taken = {r.id for r in rows}
    return [i for i in timer_ids if i not in taken], counts


def _fire_once(ctx: EngineContext, timer_id: int, worker: str) -> str:
    with ctx.unit_of_work() as uow:
        result = _fire_in(ctx, uow, timer_id, worker)
        uow.commit()
        return result


def _fire_in(ctx: EngineContext, uow, timer_id: int, worker: str) -> str:
    """Fire one timer inside ``uow`` (not committed); see :func:`fire_timer`."""
    conn = uow.session.connection()
    now = ctx.clock()
    # Fired first, in the step's transaction: the step below sees this row as no longer open.
    row = conn.execute(_MARK_FIRED, {"b_id": timer_id, "b_now": now, "b_by": worker[:150]}).one_or_none()
    if row is None:
        left = conn.execute(select(TIMERS.c.status, TIMERS.c.due_at).where(TIMERS.c.id == timer_id)).one_or_none()
        if left is not None and left.status in OPEN_TIMER_STATUSES:
            raise _NotDueYet(left.due_at)
        return "done"
    return _fire_taken(ctx, uow, row, now, worker)


def _fire_taken(ctx: EngineContext, uow, row, now: datetime, worker: str, loaded: dict | None = None,
                cases=None) -> str:
    """Run the step of a timer row just marked fired; ``loaded``: its case row, read already."""
    conn = uow.session.connection()
    timer_id = row.id
    # Recorded before the step so that it rides along with the case row's write (workflows.trail);
    # taken back if the timer turns out stale.
    fired = uow.record(
        "timer.fired", row.tenant_id, case_id=row.case_id, at=now, actor=worker[:150],
        data={"timer_id": row.id, "kind": row.kind, "element_id": row.element_id,
              "due_at": row.due_at.isoformat(), "lag_seconds": round((now - row.due_at).total_seconds(), 3)},
    )
    if row.kind == "bpmn":
        effect = _fire_step(ctx, uow, row, now, loaded, cases)
    elif row.kind == "retry":
        effect = _fire_step(ctx, uow, row, now, loaded, cases)
    elif row.kind in SUPERVISION_KINDS:
        from .supervision import reach_level

        effect = reach_level(ctx, uow, row, now)
    else:
        effect = "stale"
    if effect == "stale":
        uow.events.remove(fired)
        conn.execute(TIMERS.update().where(TIMERS.c.id == timer_id).values(status="cancelled"))
    return "fired" if effect != "stale" else "stale"


def _fire_bpmn(ctx: EngineContext, uow, row, now: datetime, loaded: dict | None = None) -> str:
    return _fire_step(ctx, uow, row, now, loaded)


def _fire_retry(ctx: EngineContext, uow, row, now: datetime, loaded: dict | None = None) -> str:
    return _fire_step(ctx, uow, row, now, loaded)


def _fire_step(ctx: EngineContext, uow, row, now: datetime, loaded: dict | None, cases=None) -> str:
    """The case step of a BPMN or retry timer row (``workflows.steps``): fired or stale."""
    done = run_step(ctx, uow, FireTimers(row, loaded, now), None, cases=cases)
    if isinstance(done, Skipped):
        return done.reason
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
                or_(TIMERS.c.status == "claimed", and_(TIMERS.c.status == "pending", TIMERS.c.due_at < now)))
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
