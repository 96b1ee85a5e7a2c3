"""What a case page shows besides the case itself: its story in order and its diagram.

:func:`case_story` turns the trail of a case into steps a person can read — who did what,
when — keeping from each event only what names the step (task names, the flow a gateway
took, deadlines, statuses), never the data that was entered, so the story can be shown to
everyone who may see the case. :func:`case_diagram` gives the BPMN of the case's model
version with the elements the case has passed through and the ones it waits at, for the
diagram viewer.
"""
from __future__ import annotations

import json

from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from .accounts import Actor
from .calendar_desk import is_provisional
from .context import EngineContext
from .errors import NotFound
from .models import Case, ProcessModel, Task
from .personal_data import may_read_case
from .process_models import model_xml
from .trail import EVENTS

# What of an event's data names the step (never what was entered into a form).
STORY_KEYS = ("taken", "name", "gateway", "deadline", "time_limit_working_days", "status", "to", "from",
              "message", "type", "number", "level", "score", "origin", "service_code")


def _visible_case(session, actor: Actor, case_id: int) -> Case:
    """The case if the actor may read it (the same rule as ``get_case``), else NotFound."""
    case = session.get(Case, case_id)
    if case is None or case.tenant_id != actor.tenant_id or not may_read_case(actor, case.started_by):
        raise NotFound(f"case {case_id} does not exist")
    return case


def case_story(ctx: EngineContext, actor: Actor, case_id: int) -> list[dict]:
    """The case's trail as steps: ``{"seq", "at", "kind", "actor", "task_name", "details"}``."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        _visible_case(s, actor, case_id)
        rows = s.execute(
            select(EVENTS.c.seq, EVENTS.c.at, EVENTS.c.kind, EVENTS.c.actor, EVENTS.c.task_id, EVENTS.c.data)
            .where(EVENTS.c.tenant_id == actor.tenant_id, EVENTS.c.case_id == case_id)
            .order_by(EVENTS.c.seq)
        ).all()
        task_ids = {r.task_id for r in rows if r.task_id is not None}
        names = dict(s.execute(select(Task.id, Task.name).where(Task.id.in_(task_ids))).all()) if task_ids else {}
    story = []
    for row in rows:
        data = json.loads(row.data) if isinstance(row.data, str) else (row.data or {})
        details = {k: data[k] for k in STORY_KEYS if isinstance(data, dict) and k in data}
        story.append({"seq": row.seq, "at": row.at, "kind": row.kind, "actor": row.actor,
                      "task_name": names.get(row.task_id), "details": details})
    return story


def case_diagram(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    """``{"xml", "completed": [element ids], "current": [element ids]}`` for the diagram viewer."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = _visible_case(s, actor, case_id)
        model = s.get(ProcessModel, case.model_id)
        runtime = ctx.runtimes.get(s, case.model_id)
        workflow = ctx.engine.load(runtime, case.state)
        completed, current = set(), set()
        for task in workflow.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                completed.add(bpmn_id)
            elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR):
                current.add(bpmn_id)
        key, version = model.key, model.version
    _, xml = model_xml(ctx, actor, key, version)
    return {"xml": xml.decode("utf-8"), "completed": sorted(completed - current), "current": sorted(current)}


def urgency(ctx: EngineContext, actor: Actor, due_at, warn_at) -> dict:
    """How pressing a task is: ``level`` none / warned (预警) / overdue (黄牌) / red (红牌, seriously
    overdue: more than the policy's working days past due), and the working days left."""
    if due_at is None:
        return {"level": "none", "working_days_left": None, "provisional": False}
    now = ctx.clock()
    calendar = ctx.calendar.for_tenant(actor.tenant_id)
    left = calendar.working_days_left(now, due_at)
    if now > due_at:
        level = "red" if -left > ctx.timing.red_after_working_days else "overdue"
    elif warn_at is not None and now >= warn_at:
        level = "warned"
    else:
        level = "none"
    return {"level": level, "working_days_left": left, "provisional": is_provisional(calendar, due_at, now)}


def case_summary(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    """The head of a task page: number, service, applicant (identity number always masked),
    received, deadline. Reads no form data, so it records no personal-data read."""
    from .identity_numbers import mask_id_number as mask

    with ctx.unit_of_work() as uow:
        case = _visible_case(uow.session, actor, case_id)
        data = case.data or {}
        number = data.get("id_number") if isinstance(data.get("id_number"), str) else None
        return {"id": case.id, "number": case.number, "status": case.status, "service_code": case.service_code,
                "service_name": data.get("service_name"), "created_at": case.created_at, "deadline": case.deadline,
                "applicant_name": data.get("applicant_name") or data.get("reporter_name"),
                "applicant_id_number": mask(number) if number else None, "version": case.version}


def deadline_view(ctx: EngineContext, actor: Actor, deadline, status: str | None = None) -> dict | None:
    """A deadline as the pages show it: the local date and the working days left (negative: over)."""
    if deadline is None:
        return None
    calendar = ctx.calendar.for_tenant(actor.tenant_id)
    now = ctx.clock()
    left = calendar.working_days_left(now, deadline)
    over = now > deadline
    return {"at": deadline, "date": calendar.local_date(deadline), "working_days_left": left, "overdue": over,
            # counted through a year the calendar does not know (Monday–Friday assumed): it may move
            "provisional": is_provisional(calendar, deadline, now)}
