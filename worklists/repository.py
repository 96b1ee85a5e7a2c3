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
from workflows.driver import driver_rows
from workflows.trail import PG_EVENT_HASH, appended_with, remember_head, sql_event
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
        """One statement on PostgreSQL: the compare-and-set, the candidates of a task that closes,
        and the case's trail head read under its lock (for the event every change records)."""
        conn = self.session.connection()
        closes = values.get("status") in _CLOSED
        postgres = conn.dialect.name == "postgresql"
        statement = _change_statement(tuple(sorted(values)), closes, postgres)
        params = {f"v_{name}": value for name, value in values.items()}
        params.update(c_id=task.id, c_version=task.version)
        row = conn.execute(statement, params).one_or_none()
        if row is None:
            return None
        if not postgres:
            return TaskRecord.of(row._mapping)
        if closes:
            self._forgotten.add(task.id)
        remember_head(self.session, row.case_id, row.case_trail_seq, row.case_trail_hash)
        return TaskRecord.of(row._mapping)

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


_BY_ID = (
    select(TASKS, CASES.c.status.label("case_status"), CASES.c.number.label("case_number"))
    .join_from(TASKS, CASES, CASES.c.id == TASKS.c.case_id)
    .where(TASKS.c.id == bindparam("task_id"), TASKS.c.tenant_id == bindparam("tenant_id"))
)
_CLOSED = ("completed", "cancelled")
_CASE_NUMBER = select(CASES.c.number).where(CASES.c.id == bindparam("case_id"))
_CASE_STATUS = select(CASES.c.status).where(CASES.c.id == bindparam("case_id"))
_FORGET = CANDIDATES.delete().where(CANDIDATES.c.task_id == bindparam("task_id"))
# The largest id a BIGINT holds: larger ids name nothing (and would be a database error).
MAX_ID = 2**63 - 1


# A claim in one statement (SqlTaskRepository.claim_at_once). Lock order as every task change:
# the task row, then its case row. The statement claims the task if and only if it appends the
# claim's event (the case row always joins), so it is whole on its own and may run as a
# transaction by itself. Whether the case is suspended is read as the statement starts, as the
# general path reads it before its change: a suspension committed in the same instant may
# precede the claim in the trail (the completion checks it again under the case's lock).
_CLAIM_AT_ONCE = """
WITH changed AS (
    UPDATE tasks SET status = 'claimed', assignee = %(me)s, version = version + 1
    WHERE id = %(task_id)s AND tenant_id = %(tenant_id)s AND status = 'ready'
      AND (%(expected)s::integer IS NULL OR version = %(expected)s::integer)
      -- access.may_work: one of its candidate users, or a member of its lane or candidate groups
      AND (candidate_users::jsonb ? %(me)s OR "group" = ANY(%(groups)s::text[])
           OR candidate_groups::jsonb ?| %(groups)s::text[])
      AND EXISTS (SELECT 1 FROM cases WHERE cases.id = tasks.case_id AND cases.status <> 'suspended')
    RETURNING *
), head AS (
    SELECT cases.id, cases.number, cases.status, cases.trail_seq + 1 AS seq, coalesce(cases.trail_hash, %(e_genesis)s) AS prev
    FROM cases JOIN changed ON cases.id = changed.case_id
    FOR UPDATE OF cases
), event AS (
    SELECT head.id, head.number, head.status, head.seq, head.prev, """ + PG_EVENT_HASH.format(prev="head.prev", case="head.id", seq="head.seq") + """ AS hash
    FROM head
), moved AS (
    UPDATE cases SET trail_seq = event.seq, trail_hash = event.hash FROM event WHERE cases.id = event.id
), appended AS (
    INSERT INTO trail_events (tenant_id, case_id, seq, at, kind, actor, task_id, data, prev_hash, hash)
    SELECT %(e_tenant_id)s, event.id, event.seq, %(e_at)s, %(e_kind)s, %(e_actor)s, %(e_task_id)s, %(e_data)s,
           event.prev, event.hash
    FROM event
)
SELECT """ + ", ".join(f'changed."{name}"' for name in _RECORD_FIELDS) + """,
       event.number AS case_number, event.status AS case_status, event.seq AS trail_seq_after,
       event.hash AS trail_hash_after
FROM changed JOIN event ON event.id = changed.case_id
"""
_CLAIM_AT_ONCE_COLUMNS = (*_RECORD_FIELDS, "case_number", "case_status", "trail_seq_after", "trail_hash_after")
_changes: dict[tuple, Any] = {}


def _change_statement(names: tuple[str, ...], closes: bool, postgres: bool):
    """The compare-and-set of :meth:`SqlTaskRepository.change` for these columns, built once per
    shape (building and hashing a statement on every request cost more than running it)."""
    key = (names, closes, postgres)
    statement = _changes.get(key)
    if statement is not None:
        return statement
    update = (
        TASKS.update()
        .where(TASKS.c.id == bindparam("c_id"), TASKS.c.version == bindparam("c_version"))
        .values(**{name: bindparam(f"v_{name}", type_=TASKS.c[name].type) for name in names},
                version=TASKS.c.version + 1)
        .returning(*TASKS.c)
    )
    if not postgres:
        statement = update
    else:
        changed = update.cte("changed")
        statement = select(changed, CASES.c.trail_seq.label("case_trail_seq"), CASES.c.trail_hash.label("case_trail_hash"))
        if closes:
            statement = statement.add_cte(CANDIDATES.delete().where(CANDIDATES.c.task_id == bindparam("c_id")).cte("gone"))
        statement = statement.join_from(changed, CASES, CASES.c.id == changed.c.case_id).with_for_update(of=CASES)
    _changes[key] = statement
    return statement


def claim_statement(conn, event, tenant_id: int, task_id: int, username: str, groups: frozenset[str],
                    expected_version: int | None, *, alone: bool = False) -> dict | None:
    """The claim in one statement (:data:`_CLAIM_AT_ONCE`, PostgreSQL) on the SQLAlchemy connection
    ``conn``: the claimed task's row with its case's number and status and the trail head after
    ``event``, or None when it claimed nothing. ``alone``: see ``workflows.driver.driver_rows``."""
    if not 0 < task_id <= MAX_ID:
        return None
    params = sql_event(event)
    params.update(me=username, groups=sorted(groups), task_id=task_id, tenant_id=tenant_id,
                  expected=expected_version)
    found = driver_rows(conn, _CLAIM_AT_ONCE, params, alone=alone)
    return dict(zip(_CLAIM_AT_ONCE_COLUMNS, found[0])) if found else None


class SqlTaskRepository:
    """Tasks in the engine's database, through the unit of work's session (never commits)."""

    def __init__(self, session):
        self.session = session
        # A case's number never changes; its status as read with its task in this unit of work
        # (the suspension check then costs no query of its own).
        self._cases: dict[int, tuple[str | None, str | None]] = {}
        self._forgotten: set[int] = set()

    def get(self, tenant_id: int, task_id: int) -> TaskRecord | None:
        if not 0 < task_id <= MAX_ID:
            return None
        row = self.session.connection().execute(_BY_ID, {"task_id": task_id, "tenant_id": tenant_id}).one_or_none()
        if row is None:
            return None
        self._cases[row.case_id] = (row.case_status, row.case_number)
        return TaskRecord.of(row._mapping)

    def remember_case(self, case_id: int, status: str | None, number: str | None) -> None:
        """The case's status and number as the caller read them in this unit of work."""
        self._cases[case_id] = (status, number)

    def change(self, task: TaskRecord, **values) -> TaskRecord | None:
        """One statement on PostgreSQL: the compare-and-set, the candidates of a task that closes,
        and the case's trail head read under its lock (for the event every change records)."""
        statement = (
            TASKS.update()
            .where(TASKS.c.id == task.id, TASKS.c.version == task.version)
            .values(**values, version=TASKS.c.version + 1)
            .returning(*TASKS.c)
        )
        conn = self.session.connection()
        closes = values.get("status") in _CLOSED
        if conn.dialect.name != "postgresql":
            row = conn.execute(statement).one_or_none()
            return TaskRecord.of(row._mapping) if row is not None else None
        changed = statement.cte("changed")
        query = select(changed, CASES.c.trail_seq.label("case_trail_seq"), CASES.c.trail_hash.label("case_trail_hash"))
        if closes:
            gone = CANDIDATES.delete().where(CANDIDATES.c.task_id == task.id).cte("gone")
            query = query.add_cte(gone)
        query = query.join_from(changed, CASES, CASES.c.id == changed.c.case_id).with_for_update(of=CASES)
        row = conn.execute(query).one_or_none()
        if row is None:
            return None
        if closes:
            self._forgotten.add(task.id)
        remember_head(self.session, row.case_id, row.case_trail_seq, row.case_trail_hash)
        return TaskRecord.of(row._mapping)

    def claim_at_once(self, event, tenant_id: int, task_id: int, username: str, groups: frozenset[str],
                      expected_version: int | None, *, alone: bool = False) -> tuple[TaskRecord, str] | None:
        """PostgreSQL: claim a ready task of an unsuspended case that ``username`` (a member of
        ``groups``) may work, and append ``event`` to its case's trail, in ONE statement (the
        compare-and-set, the case row's lock, the hash on the head read under it). Returns the
        claimed task (its other columns as they were) and the case number, or None when the task
        is not ready, not at ``expected_version``, not the claimant's to work, its case is
        suspended, or the database is not PostgreSQL: the caller then takes the general path,
        which says why.

        ``alone``: the statement is all its unit does, so it runs as a transaction by itself
        (no BEGIN and COMMIT round trips; the statement is whole on its own), where no
        transaction is open yet (see ``workflows.driver.driver_rows``)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        row = claim_statement(self.session.connection(), event, tenant_id, task_id, username, groups,
                              expected_version, alone=alone)
        if row is None:
            return None
        appended_with(self.session, event, row["case_id"], row["trail_seq_after"], row["trail_hash_after"])
        self._cases[row["case_id"]] = (row["case_status"], row["case_number"])
        return TaskRecord.of(row), row["case_number"]

    def closed_with_its_candidates(self, task_id: int) -> None:
        """The caller's statement closed the task and deleted its candidates already."""
        self._forgotten.add(task_id)

    def forget_candidates(self, task_id: int) -> None:
        if task_id in self._forgotten:  # deleted with the change that closed the task
            return
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
        if case_id in self._cases:
            return self._cases[case_id][1]
        return self.session.connection().execute(_CASE_NUMBER, {"case_id": case_id}).scalar_one_or_none()

    def case_status(self, case_id: int) -> str | None:
        if case_id in self._cases:
            return self._cases[case_id][0]
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
