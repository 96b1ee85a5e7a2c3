"""Helpers for the worklist tests: in-memory fakes for the unit tier, and small processes,
users and task set-up for the integration and end-to-end tiers."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from workflows.accounts import Actor
from workflows.errors import NotFound
from worklists.repository import Colleague, TaskRecord
from worklists.unit_of_work import Completion, TaskUnitOfWork

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


# -- unit tier: fakes ---------------------------------------------------------------------------
def actor(username, roles=("clerk",), groups=(), supervises=(), tenant_id=1, user_id=0) -> Actor:
    return Actor(
        user_id=user_id, username=username, tenant_id=tenant_id, tenant_code=f"t{tenant_id}",
        roles=frozenset(roles), groups=frozenset(groups), supervised_groups=frozenset(supervises),
    )


def task(task_id=1, **values) -> TaskRecord:
    base = dict(
        id=task_id, tenant_id=1, case_id=100 + task_id, spiff_id=f"spiff-{task_id}", element_id="review",
        name="Review", group="civil_affairs", candidate_groups=(), candidate_users=(), status="ready",
        assignee=None, delegated_by=None, service_code=None, priority=50, form_key=None, created_at=NOW,
        due_at=None, warn_at=None, completed_at=None, completed_by=None, version=1,
    )
    base.update(values)
    return TaskRecord(**base)


class InMemoryTaskRepository:
    """The TaskRepository contract over a dict: compare-and-set on ``version`` like the SQL one.

    ``before_change`` runs inside ``change`` before the version check: tests use it to play
    a concurrent writer that gets in between a command's read and its write.
    """

    def __init__(self, tasks=(), colleagues=(), case_numbers=None, case_statuses=None):
        self.rows = {t.id: t for t in tasks}
        self.case_statuses = dict(case_statuses or {})
        self.colleagues = {c.username: (tenant, c) for tenant, c in colleagues}
        self.case_numbers = dict(case_numbers or {})
        self.candidates = {t.id: set(t.candidate_groups) | set(t.candidate_users) for t in tasks}
        self.before_change = None

    def get(self, tenant_id, task_id):
        row = self.rows.get(task_id)
        return row if row is not None and row.tenant_id == tenant_id else None

    def change(self, task, **values):
        if self.before_change is not None:
            hook, self.before_change = self.before_change, None
            hook(self)
        current = self.rows.get(task.id)
        if current is None or current.version != task.version:
            return None
        changed = dataclasses.replace(current, **values, version=current.version + 1)
        self.rows[task.id] = changed
        return changed

    def forget_candidates(self, task_id):
        self.candidates.pop(task_id, None)

    def colleague(self, tenant_id, username):
        found = self.colleagues.get(username)
        return found[1] if found is not None and found[0] == tenant_id else None

    def case_number(self, case_id):
        return self.case_numbers.get(case_id, f"T1-20261125-{case_id:06d}")

    def case_status(self, case_id):
        return self.case_statuses.get(case_id, "open")

    def case_tasks(self, case_id):
        return [t for _, t in sorted(self.rows.items()) if t.case_id == case_id]

    def add(self, **values):
        values.setdefault("id", max(self.rows, default=0) + 1)
        values["candidate_groups"] = tuple(values.get("candidate_groups") or ())
        values["candidate_users"] = tuple(values.get("candidate_users") or ())
        record = TaskRecord(**values)
        self.rows[record.id] = record
        return record

    def urge_open(self, case_id, at):
        urged = []
        for t in self.case_tasks(case_id):
            if t.status in ("ready", "claimed"):
                self.rows[t.id] = dataclasses.replace(t, urged_count=t.urged_count + 1, urged_at=at)
                urged.append(self.rows[t.id])
        return urged


class FakeTaskUnitOfWork(TaskUnitOfWork):
    """Commits and events in memory; completion marks the task completed like the engine step does."""

    def __init__(self, repository: InMemoryTaskRepository):
        self.tasks = repository
        self.events = []
        self.pending = []
        self.commits = 0
        self.completions = []

    def __enter__(self):
        self.pending = []
        return self

    def __exit__(self, exc_type, exc, tb):
        self.pending = []  # rollback: uncommitted events are dropped

    def record(self, kind, tenant_id, **details):
        self.pending.append(SimpleNamespace(kind=kind, tenant_id=tenant_id, **details))

    def commit(self):
        self.events.extend(self.pending)
        self.pending = []
        self.commits += 1

    def open_for_completion(self, tenant_id, task_id):
        found = self.tasks.get(tenant_id, task_id)
        if found is None:
            raise NotFound(f"task {task_id} does not exist")
        return Completion(found, step=("engine-step", task_id))

    def run_completion(self, actor, completion, data):
        current = self.tasks.rows[completion.task.id]
        self.tasks.rows[current.id] = dataclasses.replace(
            current, status="completed", completed_by=actor.username, completed_at=NOW, version=current.version + 1
        )
        self.completions.append((actor.username, completion.step, data))
        self.record("task.completed", current.tenant_id, task_id=current.id, actor=actor.username)
        return {"id": current.case_id, "status": "open"}, []


    # -- handling operations: the engine's part played in memory -------------------------------
    #: ``paths[spiff_id]``: the completed user tasks before it, nearest first (the engine's path_back)
    paths: dict = {}
    #: ``follows[spiff_id]``: the user tasks after it, ``(spiff_id, still ready)`` each
    follows: dict = {}

    def validate(self, completion, data):
        from workflows.errors import InvalidInput

        if "invalid" in data:
            raise InvalidInput("the submitted data does not match the task's form", {"data": {"invalid": ["no"]}})

    def release(self, actor, task, data):
        self.completions.append((actor.username, ("released", task.id), data))
        self.record("task.released", task.tenant_id, task_id=task.id, actor=actor.username)
        return {"id": task.case_id, "status": "open"}, []

    def case(self, tenant_id, case_id):
        rows = self.tasks.case_tasks(case_id)
        if not rows or rows[0].tenant_id != tenant_id:
            return None
        started_by = getattr(self, "started_by", {}).get(case_id, "intake1")
        return SimpleNamespace(id=case_id, tenant_id=tenant_id, number=self.tasks.case_number(case_id),
                               status=self.tasks.case_status(case_id), started_by=started_by, version=3,
                               service_code=None)

    def case_groups(self, case_id):
        groups = set()
        for t in self.tasks.case_tasks(case_id):
            groups |= {t.group} | set(t.candidate_groups)
        return groups - {None}

    def case_view(self, tenant_id, case_id):
        return {"id": case_id, "status": self.tasks.case_status(case_id)}

    def open_case(self, tenant_id, case_id):
        return ("case", case_id)

    def path_back(self, handle, spiff_id):
        return list(self.paths.get(spiff_id, []))

    def followers(self, handle, spiff_id):
        return list(self.follows.get(spiff_id, []))

    def rewind(self, actor, handle, spiff_id):
        """Cancel the case's open tasks other than ``spiff_id`` (what the engine's reset drops)."""
        case_id = handle[1]
        for t in self.tasks.case_tasks(case_id):  # (a co-signer's task goes with the task it signs for)
            if t.spiff_id != spiff_id and t.status in ("ready", "claimed"):
                self.tasks.rows[t.id] = dataclasses.replace(t, status="cancelled", version=t.version + 1)
                self.record("task.cancelled", t.tenant_id, task_id=t.id)
        return self.case_view(1, case_id)

    def suspend(self, actor, case, reason):
        self.tasks.case_statuses[case.id] = "suspended"
        self.record("case.suspended", case.tenant_id, case_id=case.id, actor=actor.username, data={"reason": reason})
        return self.case_view(case.tenant_id, case.id)

    def resume(self, actor, handle):
        self.tasks.case_statuses[handle[1]] = "open"
        self.record("case.resumed", 1, case_id=handle[1], actor=actor.username)
        return self.case_view(1, handle[1])

    def add_copies(self, case, usernames, by, comment, at):
        self.copy_rows = getattr(self, "copy_rows", [])
        known = {(c["case_id"], c["username"]) for c in self.copy_rows}
        fresh = [{"kind": "cc", "id": len(self.copy_rows) + i + 1, "case_id": case.id, "case_number": case.number,
                  "username": u, "copied_by": by, "comment": comment, "created_at": at, "read_at": None,
                  "status": "unread"} for i, u in enumerate(u for u in usernames if (case.id, u) not in known)]
        self.copy_rows += fresh
        return fresh

    def copies(self, tenant_id, username, limit, before_id):
        mine = [c for c in reversed(getattr(self, "copy_rows", [])) if c["username"] == username
                and (before_id is None or c["id"] < before_id)]
        return mine[:limit]

    def mark_copy_read(self, tenant_id, username, copy_id, at):
        for c in getattr(self, "copy_rows", []):
            if c["id"] == copy_id and c["username"] == username:
                fresh = c["read_at"] is None
                if fresh:
                    c.update(read_at=at, status="read")
                return dict(c), fresh
        return None, False

    def add_urging(self, case, by, comment, targets, at):
        self.urgings = getattr(self, "urgings", []) + [(case.id, by, comment, targets)]
        return len(self.urgings)


def colleague(username, roles=("clerk",), groups=()) -> Colleague:
    return Colleague(username=username, roles=frozenset(roles), groups=frozenset(groups))


FIXED_CLOCK = SimpleNamespace(clock=lambda: NOW)


# -- integration and e2e tiers ------------------------------------------------------------------
def one_task_bpmn(process_id: str, lane: str, with_form: bool = False) -> bytes:
    """A process with a single user task in lane ``lane`` (the group that works it)."""
    form = (
        '<bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="note.json"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>'
        if with_form else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="{process_id}_definitions" targetNamespace="https://redwall.example/tests">
  <bpmn:collaboration id="{process_id}_collaboration">
    <bpmn:participant id="{process_id}_office" processRef="{process_id}"/>
  </bpmn:collaboration>
  <bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">
    <bpmn:laneSet id="{process_id}_lanes">
      <bpmn:lane id="{lane}" name="{lane}">
        <bpmn:flowNodeRef>{process_id}_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{process_id}_work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{process_id}_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="{process_id}_start"/>
    <bpmn:sequenceFlow id="{process_id}_f1" sourceRef="{process_id}_start" targetRef="{process_id}_work"/>
    <bpmn:userTask id="{process_id}_work" name="Work {lane}">{form}</bpmn:userTask>
    <bpmn:sequenceFlow id="{process_id}_f2" sourceRef="{process_id}_work" targetRef="{process_id}_end"/>
    <bpmn:endEvent id="{process_id}_end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


NOTE_FORM = b'{"type": "object", "properties": {"note": {"type": "string", "maxLength": 20}}}'
LANES = ("intake", "civil_affairs", "disabled_federation")


def deploy_lane_processes(ctx, designer) -> None:
    """``desk_<lane>`` for every lane in LANES, in the designer's tenant."""
    from workflows.process_models import deploy_model

    for lane in LANES:
        files = [(f"desk_{lane}.bpmn", one_task_bpmn(f"desk_{lane}", lane, with_form=True)), ("note.json", NOTE_FORM)]
        deploy_model(ctx, designer, files)


def open_task(ctx, starter, lane: str, data: dict | None = None, **case_args) -> int:
    """Start a ``desk_<lane>`` case and return the id of its one task."""
    from workflows.cases import start_case

    case = start_case(ctx, starter, f"desk_{lane}", data or {}, **case_args)
    return case["tasks"][0]["id"]


def set_task(ctx, task_id: int, **values) -> None:
    """Set columns another part of the engine computes (due_at and warn_at come from the timers)."""
    from sqlalchemy import update

    from workflows.models import Task

    with ctx.unit_of_work() as uow:
        uow.session.execute(update(Task).where(Task.id == task_id).values(**values))
        uow.commit()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
