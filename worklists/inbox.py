"""Inbox queries: the tasks a clerk may see, one page at a time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from workflows.accounts import Actor
from workflows.cases import OPEN_TASK_STATUSES, decode_cursor, encode_cursor, task_form, task_view
from workflows.context import EngineContext
from workflows.errors import InvalidInput, NotFound
from workflows.models import Case, Task

from .access import may_see, visible_filter

SCOPES = ("mine", "group", "all")


def list_tasks(
    ctx: EngineContext,
    actor: Actor,
    scope: str = "all",
    group: str | None = None,
    service_code: str | None = None,
    status: str | None = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """A page of tasks in ``scope``, ordered by id (keyset; stable while tasks come and go)."""
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}", {"scope": [f"choose from {', '.join(SCOPES)}"]})
    with ctx.unit_of_work() as uow:
        s = uow.session
        query = select(Task, Case.number).join(Case, Case.id == Task.case_id).where(Task.tenant_id == actor.tenant_id)
        if scope == "mine":
            query = query.where(Task.assignee == actor.username, Task.status == "claimed")
        elif scope == "group":
            query = query.where(Task.group.in_(sorted(actor.groups)), Task.status == "ready")
        else:
            condition = visible_filter(actor)
            if condition is not None:
                query = query.where(condition)
            query = query.where(Task.status.in_([status] if status else OPEN_TASK_STATUSES))
        if group:
            query = query.where(Task.group == group)
        if service_code:
            query = query.where(Case.service_code == service_code)
        if due_before is not None:
            query = query.where(Task.due_at < due_before)
        if overdue:
            query = query.where(Task.due_at < ctx.clock())
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            if not isinstance(last_id, int):
                raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
            query = query.where(Task.id > last_id)
        rows = s.execute(query.order_by(Task.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [task_view(t, number) for t, number in rows]
        return items, (encode_cursor([rows[-1][0].id]) if more else None)


def get_task(ctx: EngineContext, actor: Actor, task_id: int) -> dict:
    """One task with its form (JSON Schema) and the data it currently holds."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        task = s.get(Task, task_id)
        if task is None or not may_see(actor, task):
            raise NotFound(f"task {task_id} does not exist")
        case = s.get(Case, task.case_id)
        view = task_view(task, case.number)
        runtime = ctx.runtimes.get(s, case.model_id)
        view["form"] = task_form(runtime, task.form_key)
        data = dict(case.data or {})
        if task.status in OPEN_TASK_STATUSES:
            workflow = ctx.engine.load(runtime, case.state)
            spiff_task = ctx.engine.find_ready_task(workflow, task.spiff_id)
            if spiff_task is not None:
                data = {k: v for k, v in spiff_task.data.items() if not k.startswith("_")}
        view["data"] = data
        return view
