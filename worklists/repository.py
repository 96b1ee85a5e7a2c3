"""Tasks as the worklist commands see them, and the repository that keeps them.

A :class:`TaskRecord` is a plain snapshot of one ``tasks`` row. The repository reads
records and changes them by compare-and-set on the row's ``version``: a change applies
only if nobody changed the task since it was read, which is what makes claim, assign
and the rest correct under concurrency on SQLite and PostgreSQL alike. Repositories
never commit; the unit of work does (:mod:`worklists.unit_of_work`).

:class:`SqlTaskRepository` works on the engine's session; the unit tests use an
in-memory fake with the same contract (tests/worklist_helpers.py).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select

from workflows.cases import task_view
from workflows.models import Case, Group, GroupMembership, Task, TaskCandidate, User

TASKS = Task.__table__
CANDIDATES = TaskCandidate.__table__
CASES = Case.__table__


@dataclass(frozen=True)
class TaskRecord:
    """One task as read from its row; changes produce a new record (see ``TaskRepository.change``)."""

    id: int
    tenant_id: int
    case_id: int
    spiff_id: str
    element_id: str
    name: str
    group: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    status: str
    assignee: str | None
    delegated_by: str | None
    service_code: str | None
    priority: int
    form_key: str | None
    created_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    version: int
    # handling operations (worklists.handling); defaults for rows read before they existed
    kind: str = "user"
    parent_id: int | None = None
    note: str | None = None
    urged_count: int = 0
    urged_at: datetime | None = None
    handling: dict | None = None

    @classmethod
    def of(cls, row: Any) -> TaskRecord:
        """A record from a row mapping or any object with the task's attributes."""
        get = row.__getitem__ if hasattr(row, "keys") else row.__getattribute__
        values = {name: get(name) for name in _RECORD_FIELDS if name not in _OPTIONAL or _has(row, name)}
        values["candidate_groups"] = tuple(values["candidate_groups"] or ())
        values["candidate_users"] = tuple(values["candidate_users"] or ())
        return cls(**values)


_RECORD_FIELDS = tuple(f.name for f in fields(TaskRecord))
_OPTIONAL = ("kind", "parent_id", "note", "urged_count", "urged_at", "handling")


def _has(row: Any, name: str) -> bool:
    return name in row.keys() if hasattr(row, "keys") else hasattr(row, name)


@dataclass(frozen=True)
class Colleague:
    """An active user of the tenant, as assignment and delegation need to know them."""

    username: str
    roles: frozenset[str]
    groups: frozenset[str]

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def task_item(task: TaskRecord, case_number: str | None) -> dict:
    """The API representation of a task (``GET /api/tasks`` items and command answers)."""
    view = task_view(task, case_number)
    view["delegated_by"] = task.delegated_by
    view["service_code"] = task.service_code
    view["kind"] = task.kind or "user"
    view["parent_id"] = task.parent_id
    view["note"] = task.note
    view["urged_count"] = task.urged_count or 0
    view["urged_at"] = task.urged_at
    handling = task.handling or {}
    view["signing"] = {  # what the holder waits for, or what the signer signs
        key: handling[key] for key in ("mode", "after", "for", "opinion", "agree") if key in handling
    } or None
    return view


class TaskRepository(Protocol):
    def get(self, tenant_id: int, task_id: int) -> TaskRecord | None:
        """The task with this id in this tenant, or None."""

    def change(self, task: TaskRecord, **values) -> TaskRecord | None:
        """Apply ``values`` if the task is still at ``task.version``; bump the version.

        Returns the changed record, or None when someone changed the task meanwhile.
        With no values it only bumps the version, which still serialises the caller
        against every other change of the task (the row stays locked until commit).
        """

    def forget_candidates(self, task_id: int) -> None:
        """Drop the candidate rows of a task that is no longer open."""

    def colleague(self, tenant_id: int, username: str) -> Colleague | None:
        """An active user of the tenant by username, or None."""

    def case_number(self, case_id: int) -> str | None:
        """The application number residents quote for the case."""

    def case_status(self, case_id: int) -> str | None:
        """The case's status (``suspended`` stops all work on its tasks)."""

    def case_tasks(self, case_id: int) -> list[TaskRecord]:
        """Every task row of the case, oldest first."""

    def add(self, **values) -> TaskRecord:
        """Insert a task row (a co-signer's task); returns it."""

    def urge_open(self, case_id: int, at: datetime) -> list[TaskRecord]:
        """Count an urging on every open task of the case; returns them."""


# The task with its case's number and status: a command's checks (suspended?) and its answer
# (the case number) need no statements of their own.
_BY_ID = (
    select(TASKS, CASES.c.number.label("case_number_"), CASES.c.status.label("case_status_"))
    .join_from(TASKS, CASES, CASES.c.id == TASKS.c.case_id)
    .where(TASKS.c.id == bindparam("task_id"), TASKS.c.tenant_id == bindparam("tenant_id"))
)
_CASE_NUMBER = select(CASES.c.number).where(CASES.c.id == bindparam("case_id"))
_CASE_STATUS = select(CASES.c.status).where(CASES.c.id == bindparam("case_id"))
_FORGET = CANDIDATES.delete().where(CANDIDATES.c.task_id == bindparam("task_id"))
# The largest id a BIGINT holds: larger ids name nothing (and would be a database error).
MAX_ID = 2**63 - 1


class SqlTaskRepository:
    """Tasks in the engine's database, through the unit of work's session (never commits)."""

    def __init__(self, session):
        self.session = session
        # read with a task (``get``): a case's number (never changes once set) and its status
        # (used once, by the next ``case_status``: later reads go to the database again)
        self._numbers: dict[int, str] = {}
        self._statuses: dict[int, str] = {}

    def get(self, tenant_id: int, task_id: int) -> TaskRecord | None:
        if not 0 < task_id <= MAX_ID:
            return None
        row = self.session.connection().execute(_BY_ID, {"task_id": task_id, "tenant_id": tenant_id}).one_or_none()
        if row is None:
            return None
        values = row._mapping
        if values["case_number_"] is not None:
            self._numbers[values["case_id"]] = values["case_number_"]
        self._statuses[values["case_id"]] = values["case_status_"]
        return TaskRecord.of(values)

    def change(self, task: TaskRecord, **values) -> TaskRecord | None:
        statement = (
            TASKS.update()
            .where(TASKS.c.id == task.id, TASKS.c.version == task.version)
            .values(**values, version=TASKS.c.version + 1)
            .returning(*TASKS.c)
        )
        row = self.session.connection().execute(statement).one_or_none()
        return TaskRecord.of(row._mapping) if row is not None else None

    def forget_candidates(self, task_id: int) -> None:
        self.session.connection().execute(_FORGET, {"task_id": task_id})

    def colleague(self, tenant_id: int, username: str) -> Colleague | None:
        user = self.session.execute(
            select(User.id, User.roles).where(User.tenant_id == tenant_id, User.username == username, User.active)
        ).one_or_none()
        if user is None:
            return None
        groups = self.session.scalars(
            select(Group.code)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(GroupMembership.user_id == user.id, GroupMembership.kind == "member")
        ).all()
        return Colleague(username=username, roles=frozenset(user.roles or ()), groups=frozenset(groups))

    def case_number(self, case_id: int) -> str | None:
        if case_id in self._numbers:
            return self._numbers[case_id]
        return self.session.connection().execute(_CASE_NUMBER, {"case_id": case_id}).scalar_one_or_none()

    def case_status(self, case_id: int) -> str | None:
        if case_id in self._statuses:
            return self._statuses.pop(case_id)
        return self.session.connection().execute(_CASE_STATUS, {"case_id": case_id}).scalar_one_or_none()

    def case_tasks(self, case_id: int) -> list[TaskRecord]:
        rows = self.session.connection().execute(select(TASKS).where(TASKS.c.case_id == case_id).order_by(TASKS.c.id))
        return [TaskRecord.of(row._mapping) for row in rows]

    def add(self, **values) -> TaskRecord:
        row = self.session.connection().execute(TASKS.insert().values(**values).returning(*TASKS.c)).one()
        return TaskRecord.of(row._mapping)

    def urge_open(self, case_id: int, at: datetime) -> list[TaskRecord]:
        rows = self.session.connection().execute(
            TASKS.update()
            .where(TASKS.c.case_id == case_id, TASKS.c.status.in_(("ready", "claimed")))
            .values(urged_count=TASKS.c.urged_count + 1, urged_at=at)
            .returning(*TASKS.c)
        ).all()
        return sorted((TaskRecord.of(row._mapping) for row in rows), key=lambda t: t.id)
