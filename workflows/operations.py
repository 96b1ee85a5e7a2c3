"""What the operations page shows besides health and incidents: the tenant's cases by status."""
from __future__ import annotations

from sqlalchemy import func, select

from .accounts import Actor
from .context import EngineContext
from .errors import Forbidden
from .models import Case


def cases_by_status(ctx: EngineContext, actor: Actor) -> dict[str, int]:
    if not actor.is_admin:
        raise Forbidden("only admins read the operations figures")
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(select(Case.status, func.count()).where(Case.tenant_id == actor.tenant_id)
                                   .group_by(Case.status)).all()
    return {status: count for status, count in sorted(rows)}
