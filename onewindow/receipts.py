"""What the window's documents need about how a case was received (受理回执 and notices)."""
from __future__ import annotations

from sqlalchemy import select

from workflows.accounts import Actor
from workflows.context import EngineContext

from .models import Intake


def intake_of_case(ctx: EngineContext, actor: Actor, case_id: int) -> dict | None:
    """Who received the case at the window and when, with the typed/prefilled counts; None if
    the case did not come through the window (a grid event, a test case)."""
    with ctx.unit_of_work() as uow:
        row = uow.session.scalar(select(Intake).where(Intake.tenant_id == actor.tenant_id, Intake.case_id == case_id))
        if row is None:
            return None
        return {"received_by": row.received_by, "received_at": row.created_at, "origin": row.origin,
                "total_fields": row.total_fields, "prefilled_fields": row.prefilled_fields,
                "typed_fields": row.typed_fields}
