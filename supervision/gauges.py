"""Installation-wide gauges for monitoring (``GET /metrics``): read from the database at scrape
time, so every web process reports the same figures."""
from __future__ import annotations

from sqlalchemy import func, select

from workflows.context import EngineContext
from workflows.models import Case, Incident, Task, Tenant
from workflows.timers import timer_status


def operational_gauges(ctx: EngineContext) -> dict:
    """Counts by tenant: cases by status, open tasks by status, open incidents; timer backlog."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        codes = dict(s.execute(select(Tenant.id, Tenant.code)).all())
        cases = s.execute(select(Case.tenant_id, Case.status, func.count()).group_by(Case.tenant_id, Case.status)).all()
        tasks = s.execute(
            select(Task.tenant_id, Task.status, func.count())
            .where(Task.status.in_(("ready", "claimed")))
            .group_by(Task.tenant_id, Task.status)
        ).all()
        incidents = s.execute(
            select(Incident.tenant_id, func.count()).where(Incident.resolved_at.is_(None)).group_by(Incident.tenant_id)
        ).all()
    timers = timer_status(ctx)
    return {
        "cases": [(codes.get(t, str(t)), status, n) for t, status, n in cases],
        "open_tasks": [(codes.get(t, str(t)), status, n) for t, status, n in tasks],
        "open_incidents": [(codes.get(t, str(t)), n) for t, n in incidents],
        "timers_pending": timers["pending"],
        "timers_due": timers["due"],
        "scheduler_lag_seconds": timers["lag_seconds"],
        "schedulers": len(timers["schedulers"]),
    }
