"""Where a case step reads and writes its case, its task rows and its incidents.

:class:`CaseRepository` is what :mod:`workflows.steps` needs from storage; the step and its
engine handlers (task rows, incidents, the case row) are written against it. In production
it is :class:`SqlCaseRepository` (PostgreSQL or SQLite, on the unit of work's session, never
committing); the unit tests pass an in-memory one (``tests/case_fakes.py``) that keeps the
same contract. The deadline clock and the timer rows (``workflows.deadlines``) still work on
the session directly.
"""
from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, func, literal, select

from .cases import (
    _CLOCK_STATE,
    _RECORD_COLUMNS,
    _TASK_AND_CASE,
    _WRITE_CASE,
    CASES,
    CLOCKS,
    INCIDENTS,
    OPEN_TASK_STATUSES,
    TASK_CANDIDATES,
    TASKS,
    _COMPLETE_TASK,
    _INSERT_TASKS,
    CaseRecord,
)
from .engine import ModelRuntime
from .process_models import find_model, require_executable
from .trail import remember_head, write_case_row


class CaseRepository(Protocol):
    def model_to_start(self, tenant_id: int, key: str, version: int | None) -> Any:
        """``id, key, version`` of the executable model to start (NotFound, Conflict otherwise)."""

    def runtime(self, model_id: int) -> ModelRuntime:
        """The parsed model (cached by the context)."""

    def load(self, tenant_id: int, case_id: int) -> dict | None:
        """The case's record values and ``state``, or None (unknown id, another tenant's case)."""

    def load_task(self, tenant_id: int, task_id: int) -> tuple[dict, dict] | None:
        """``(task row values, case record values with state)`` in one read, or None."""

    def insert_case(self, record: CaseRecord, state: str, tenant_code: str, timezone: str) -> None:
        """Insert a new case; sets ``record.id`` and its application number ``record.number``."""

    def write_case(self, record: CaseRecord, state: str | None, events: list) -> bool:
        """Write the case under ``record.version`` (bumping it); False if someone else changed it."""

    def set_has_incident(self, case_id: int) -> None:
        """A new case whose start failed gets its incident flag."""

    def complete_task(self, task_id: int, now, by: str | None) -> bool:
        """Complete an open task row; False if it is no longer open."""

    def cancel_tasks(self, case_id: int, spiff_ids: set[str], now) -> list[int]:
        """Cancel the open rows of these engine tasks and of their co-signers; their ids."""

    def add_tasks(self, rows: list[dict]) -> list[int]:
        """Insert task rows (and the candidates index); their ids in order."""

    def open_tasks(self, case_id: int, spiff_ids: set[str]) -> list:
        """The open rows of these engine tasks, by id."""

    def open_incident(self, tenant_id: int, incident_id: int) -> Any:
        """``case_id, element_id, resolved_at`` of the incident, or None."""

    def resolve_incidents(self, case_id: int, now) -> int:
        """Resolve every open incident of the case; how many."""

    def add_incident(self, values: dict) -> None:
        """Write an incident row."""


def case_number(tenant_code: str, timezone: str, now, case_id: int) -> str:
    """The application number residents quote: tenant, day of receipt, case id."""
    return f"{number_prefix(tenant_code, timezone, now)}{case_id:06d}"


def number_prefix(tenant_code: str, timezone: str, now) -> str:
    return f"{tenant_code.upper()}-{now.astimezone(ZoneInfo(timezone)):%Y%m%d}-"


def _number_expression(prefix: str, new_id):
    text = cast(new_id, String)
    # lpad would cut ids of seven digits and more: those are written as they are
    return (literal(prefix) + case((new_id < 1000000, func.lpad(text, 6, "0")), else_=text)).label("number")


class SqlCaseRepository:
    """Cases in the engine's database, on the unit of work's session (never commits)."""

    def __init__(self, ctx, uow):
        self.ctx = ctx
        self.uow = uow

    @property
    def _conn(self):
        return self.uow.session.connection()

    def model_to_start(self, tenant_id: int, key: str, version: int | None):
        model = find_model(self.uow.session, tenant_id, key, version)
        require_executable(self.uow.session, tenant_id, model)
        return model

    def runtime(self, model_id: int) -> ModelRuntime:
        return self.ctx.runtimes.get(self.uow.session, model_id)

    def load(self, tenant_id: int, case_id: int) -> dict | None:
        row = self._conn.execute(
            select(*_RECORD_COLUMNS, CASES.c.state, _CLOCK_STATE)
            .select_from(CASES.outerjoin(CLOCKS, CLOCKS.c.case_id == CASES.c.id))
            .where(CASES.c.id == case_id, CASES.c.tenant_id == tenant_id)
        ).one_or_none()
        return row._asdict() if row is not None else None

    def load_task(self, tenant_id: int, task_id: int) -> tuple[dict, dict] | None:
        row = self._conn.execute(_TASK_AND_CASE, {"task_id": task_id, "tenant_id": tenant_id}).one_or_none()
        if row is None:
            return None
        values = row._asdict()
        task = {c.name: values.pop(f"task_{c.name}") for c in TASKS.c}
        return task, values

    def insert_case(self, record: CaseRecord, state: str, tenant_code: str, timezone: str) -> None:
        values = {k: v for k, v in vars(record).items()
                  if k in CASES.c and k not in ("id", "number", "trail_seq", "trail_hash")}
        values["state"] = state
        prefix = number_prefix(tenant_code, timezone, record.created_at)
        conn = self._conn
        if conn.dialect.name == "postgresql":
            # The id is drawn first so the number can name it in the same INSERT (no follow-up UPDATE).
            drawn = select(func.nextval(func.pg_get_serial_sequence("cases", "id")).label("new_id")).subquery()
            source = select(drawn.c.new_id, _number_expression(prefix, drawn.c.new_id),
                            *[literal(v, type_=CASES.c[k].type) for k, v in values.items()]).select_from(drawn)
            record.id = conn.execute(
                CASES.insert().from_select(["id", "number", *values], source).returning(CASES.c.id)).scalar_one()
            record.number = f"{prefix}{record.id:06d}"
        else:
            record.id = conn.execute(CASES.insert().returning(CASES.c.id), {**values, "number": None}).scalar_one()
            record.number = f"{prefix}{record.id:06d}"
            conn.execute(CASES.update().where(CASES.c.id == record.id).values(number=record.number))
        remember_head(self.uow.session, record.id, 0, None)  # a new case's trail starts empty

    def write_case(self, record: CaseRecord, state: str | None, events: list) -> bool:
        params = {
            "b_id": record.id, "b_version": record.version, "b_state": state, "b_status": record.status,
            "b_data": record.data, "b_updated_at": record.updated_at, "b_ended_at": record.ended_at,
            "b_has_incident": record.has_incident,
        }
        # The trail's events so far ride along in the same statement where it can (workflows.trail).
        if write_case_row(self.ctx, self.uow, self._conn, _WRITE_CASE, params, record) is None:
            return False
        record.version += 1
        return True

    def set_has_incident(self, case_id: int) -> None:
        self._conn.execute(CASES.update().where(CASES.c.id == case_id).values(has_incident=True))

    def complete_task(self, task_id: int, now, by: str | None) -> bool:
        return self._conn.execute(_COMPLETE_TASK, {"b_id": task_id, "b_now": now, "b_by": by}).rowcount == 1

    def cancel_tasks(self, case_id: int, spiff_ids: set[str], now) -> list[int]:
        conn = self._conn
        cancelled = conn.execute(
            TASKS.update()
            .where(TASKS.c.case_id == case_id, TASKS.c.spiff_id.in_(spiff_ids), TASKS.c.status.in_(OPEN_TASK_STATUSES))
            .values(status="cancelled", completed_at=now, version=TASKS.c.version + 1)
            .returning(TASKS.c.id)
        ).scalars().all()
        # co-signers' tasks (加签) go with the task they sign for (open, or completed and held for them)
        signed_for = select(TASKS.c.id).where(TASKS.c.case_id == case_id, TASKS.c.spiff_id.in_(spiff_ids))
        cancelled += conn.execute(
            TASKS.update()
            .where(TASKS.c.case_id == case_id, TASKS.c.parent_id.in_(signed_for), TASKS.c.status.in_(OPEN_TASK_STATUSES))
            .values(status="cancelled", completed_at=now, version=TASKS.c.version + 1)
            .returning(TASKS.c.id)
        ).scalars().all()
        if cancelled:  # candidates index open tasks only (worklists)
            conn.execute(TASK_CANDIDATES.delete().where(TASK_CANDIDATES.c.task_id.in_(cancelled)))
        return list(cancelled)

    def add_tasks(self, rows: list[dict]) -> list[int]:
        conn = self._conn
        ids = conn.execute(_INSERT_TASKS, rows).scalars().all()
        candidates = [  # the worklists find candidate tasks through this side table
            {"task_id": task_id, "kind": kind, "name": name, "tenant_id": row["tenant_id"]}
            for task_id, row in zip(ids, rows)
            for kind, names in (("group", row["candidate_groups"]), ("user", row["candidate_users"]))
            for name in sorted(set(names or ()))
            if len(name) <= 150  # longer than any group code or username: names nobody
        ]
        if candidates:
            conn.execute(TASK_CANDIDATES.insert(), candidates)
        return list(ids)

    def open_tasks(self, case_id: int, spiff_ids: set[str]) -> list:
        return self._conn.execute(
            select(TASKS).where(TASKS.c.case_id == case_id, TASKS.c.spiff_id.in_(spiff_ids),
                                TASKS.c.status.in_(OPEN_TASK_STATUSES)).order_by(TASKS.c.id)
        ).all()

    def open_incident(self, tenant_id: int, incident_id: int):
        return self._conn.execute(
            select(INCIDENTS).where(INCIDENTS.c.id == incident_id, INCIDENTS.c.tenant_id == tenant_id)
        ).one_or_none()

    def resolve_incidents(self, case_id: int, now) -> int:
        return self._conn.execute(
            INCIDENTS.update().where(INCIDENTS.c.case_id == case_id, INCIDENTS.c.resolved_at.is_(None))
            .values(resolved_at=now)
        ).rowcount

    def add_incident(self, values: dict) -> None:
        self._conn.execute(INCIDENTS.insert().values(**values))
