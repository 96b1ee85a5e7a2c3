"""Inbox filters a clerk saves for themself or shares with one of their groups.

A filter is a small set of inbox parameters (:data:`FILTER_KEYS`); saving one checks them
with the same rules the inbox applies, so a saved filter always opens.
"""
from __future__ import annotations

from sqlalchemy import delete, or_, select

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Forbidden, InvalidInput, NotFound

from .access import require_worklist
from .models import SavedFilter

FILTER_KEYS = ("scope", "service_code", "overdue", "warned", "due_before", "group", "sort")
MAX_FILTERS = 50


def _view(row: SavedFilter, actor: Actor) -> dict:
    return {"id": row.id, "name": row.name, "query": dict(row.query or {}), "shared_with": row.shared_with,
            "owner": row.owner, "mine": row.owner_id == actor.user_id}


def list_filters(ctx: EngineContext, actor: Actor) -> list[dict]:
    """The actor's own filters and those shared with their groups, by name."""
    require_worklist(actor)
    with ctx.unit_of_work() as uow:
        groups = sorted(actor.groups | actor.supervised_groups)
        rows = uow.session.scalars(
            select(SavedFilter).where(
                SavedFilter.tenant_id == actor.tenant_id,
                or_(SavedFilter.owner_id == actor.user_id, SavedFilter.shared_with.in_(groups)),
            ).order_by(SavedFilter.name, SavedFilter.id)
        ).all()
        return [_view(r, actor) for r in rows]


def save_filter(ctx: EngineContext, actor: Actor, name: str, query: dict, shared_with: str | None = None) -> dict:
    require_worklist(actor)
    name = (name or "").strip()
    problems = {}
    if not 1 <= len(name) <= 60:
        problems["name"] = ["1 to 60 characters"]
    unknown = sorted(set(query) - set(FILTER_KEYS))
    if unknown:
        problems["query"] = [f"unknown filter {', '.join(unknown)}"]
    elif any(not isinstance(v, str) or len(v) > 100 for v in query.values()):
        problems["query"] = ["filter values are short texts"]
    if shared_with is not None and shared_with not in actor.groups | actor.supervised_groups:
        problems["shared_with"] = ["one of your groups"]
    if problems:
        raise InvalidInput("the filter cannot be saved", problems)
    with ctx.unit_of_work() as uow:
        s = uow.session
        count = len(s.scalars(select(SavedFilter.id).where(SavedFilter.tenant_id == actor.tenant_id,
                                                             SavedFilter.owner_id == actor.user_id)).all())
        if count >= MAX_FILTERS:
            raise InvalidInput("too many saved filters", {"name": [f"at most {MAX_FILTERS}; delete one first"]})
        row = SavedFilter(tenant_id=actor.tenant_id, owner_id=actor.user_id, owner=actor.username, name=name,
                          shared_with=shared_with, query={k: v for k, v in query.items() if v != ""})
        s.add(row)
        s.flush()
        view = _view(row, actor)
        uow.commit()
        return view


def delete_filter(ctx: EngineContext, actor: Actor, filter_id: int) -> None:
    """Only its owner deletes a filter (a shared one disappears for the group too)."""
    require_worklist(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        row = s.get(SavedFilter, filter_id) if 0 < filter_id < 2**63 else None
        visible = row is not None and row.tenant_id == actor.tenant_id and (
            row.owner_id == actor.user_id or row.shared_with in actor.groups | actor.supervised_groups)
        if not visible:
            raise NotFound(f"filter {filter_id} does not exist")
        if row.owner_id != actor.user_id:
            raise Forbidden("only the clerk who saved a filter deletes it")
        s.execute(delete(SavedFilter).where(SavedFilter.id == filter_id))
        uow.commit()
