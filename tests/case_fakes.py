"""An in-memory case repository and unit of work: case steps (``workflows.steps``) without a database.

:class:`InMemoryCaseRepository` keeps the contract of ``workflows.case_repository.CaseRepository``
(the SQL one runs against the same scenarios in tests/integration/test_steps_fake_vs_sql.py).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from workflows.accounts import Actor
from workflows.case_repository import case_number
from workflows.cases import OPEN_TASK_STATUSES
from workflows.context import build_context
from workflows.errors import Conflict, NotFound
from workflows.model_parsing import parse_model_files
from workflows.steps import StepHandlers, bpmn_timers, case_row, incidents, retries, task_rows
from workflows.unit_of_work import Event

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent
THREE_TASKS = (REPO / "bench" / "three_tasks.bpmn").read_bytes()

#: The engine's handlers that write through the repository (the deadline clock works on a session).
FAKE_HANDLERS = StepHandlers([
    ("retries", retries), ("bpmn_timers", bpmn_timers), ("task_rows", task_rows), ("incidents", incidents),
    ("case_row", case_row),
])


class FakeUnitOfWork:
    """Events, after-commit and after-rollback work as ``workflows.unit_of_work.UnitOfWork`` keeps them."""

    session = None

    def __init__(self, repository: "InMemoryCaseRepository"):
        self.repository = repository
        self.events: list[Event] = []
        self.committed: list[Event] = []
        self._after_commit: list = []
        self._after_rollback: list = []
        self._snapshot = repository.snapshot()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.rollback()

    def record(self, kind: str, tenant_id: int, **details) -> Event:
        event = Event(kind=kind, tenant_id=tenant_id, **details)
        self.events.append(event)
        return event

    def after_commit(self, callback) -> None:
        self._after_commit.append(callback)

    def after_rollback(self, callback) -> None:
        self._after_rollback.append(callback)

    def commit(self) -> None:
        self.committed += self.events
        self.repository.trail += self.events
        self.events = []
        callbacks, self._after_commit, self._after_rollback = self._after_commit, [], []
        self._snapshot = self.repository.snapshot()
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.events = []
        self.repository.restore(self._snapshot)
        callbacks, self._after_rollback, self._after_commit = self._after_rollback, [], []
        for callback in callbacks:
            callback()


@dataclasses.dataclass
class FakeModel:
    id: int
    key: str
    version: int
    executable: bool = True


class InMemoryCaseRepository:
    """Cases, task rows and incidents in dictionaries, with the SQL repository's contract."""

    def __init__(self, ctx, models: dict[str, FakeModel] | None = None):
        self.ctx = ctx
        self.models = dict(models or {})
        self.cases: dict[int, dict] = {}
        self.tasks: dict[int, dict] = {}
        self.incidents: dict[int, dict] = {}
        self.trail: list[Event] = []
        self._ids = {"case": 0, "task": 0, "incident": 0}

    # -- transactions (the fake unit of work rolls back to a snapshot) --------------------------------
    def snapshot(self):
        return ({k: dict(v) for k, v in self.cases.items()}, {k: dict(v) for k, v in self.tasks.items()},
                {k: dict(v) for k, v in self.incidents.items()}, dict(self._ids))

    def restore(self, snapshot) -> None:
        cases, tasks, incidents, ids = snapshot
        self.cases = {k: dict(v) for k, v in cases.items()}
        self.tasks = {k: dict(v) for k, v in tasks.items()}
        self.incidents = {k: dict(v) for k, v in incidents.items()}
        self._ids = dict(ids)

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # -- the contract -------------------------------------------------------------------------------
    def model_to_start(self, tenant_id: int, key: str, version: int | None):
        model = self.models.get(key)
        if model is None or (version is not None and version != model.version):
            raise NotFound(f"no process model {key!r}")
        if not model.executable:
            raise Conflict(f"version {model.version} of process model {key!r} has nothing to run")
        return model

    def runtime(self, model_id: int):
        return self.ctx.runtimes.get(None, model_id)

    def load(self, tenant_id: int, case_id: int) -> dict | None:
        row = self.cases.get(case_id)
        if row is None or row["tenant_id"] != tenant_id:
            return None
        return {**row, "clock_state": None}

    def load_task(self, tenant_id: int, task_id: int):
        task = self.tasks.get(task_id)
        if task is None or task["tenant_id"] != tenant_id:
            return None
        return dict(task), {**self.cases[task["case_id"]], "clock_state": None}

    def forget_latest(self, tenant_id: int, key: str) -> None:
        pass  # the fake reads its one model per key every time

    def insert_case(self, record, state: str, tenant_code: str, timezone: str, as_latest: bool = False) -> bool:
        if as_latest and self.models[record.process_key].version > record.model_version:
            return False
        record.id = self._next("case")
        record.number = case_number(tenant_code, timezone, record.created_at, record.id)
        row = {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "clock_state"}
        self.cases[record.id] = {**row, "state": state}
        return True

    def write_case(self, record, state, events) -> bool:
        row = self.cases.get(record.id)
        if row is None or row["version"] != record.version:
            return False
        row.update(status=record.status, data=record.data, updated_at=record.updated_at, ended_at=record.ended_at,
                   has_incident=record.has_incident, version=record.version + 1)
        if state is not None:
            row["state"] = state
        record.version += 1
        return True

    def set_has_incident(self, case_id: int) -> None:
        self.cases[case_id]["has_incident"] = True

    def complete_task(self, task_id: int, now, by) -> bool:
        task = self.tasks.get(task_id)
        if task is None or task["status"] not in OPEN_TASK_STATUSES:
            return False
        task.update(status="completed", completed_at=now, completed_by=by, version=task["version"] + 1)
        return True

    def cancel_tasks(self, case_id: int, spiff_ids: set[str], now) -> list[int]:
        named = [t for t in self.tasks.values() if t["case_id"] == case_id and t["spiff_id"] in spiff_ids]
        parents = {t["id"] for t in named}
        cancelled = []
        for group in (named, [t for t in self.tasks.values() if t.get("parent_id") in parents]):
            for task in sorted(group, key=lambda t: t["id"]):
                if task["status"] in OPEN_TASK_STATUSES:
                    task.update(status="cancelled", completed_at=now, version=task["version"] + 1)
                    cancelled.append(task["id"])
        return cancelled

    def add_tasks(self, rows: list[dict]) -> list[int]:
        ids = []
        for row in rows:
            task_id = self._next("task")
            self.tasks[task_id] = {**row, "id": task_id, "parent_id": None, "kind": "user"}
            ids.append(task_id)
        return ids

    def open_tasks(self, case_id: int, spiff_ids: set[str]) -> list:
        return [SimpleNamespace(**t) for _, t in sorted(self.tasks.items())
                if t["case_id"] == case_id and t["spiff_id"] in spiff_ids and t["status"] in OPEN_TASK_STATUSES]

    def open_incident(self, tenant_id: int, incident_id: int):
        row = self.incidents.get(incident_id)
        return SimpleNamespace(**row) if row is not None and row["tenant_id"] == tenant_id else None

    def resolve_incidents(self, case_id: int, now) -> int:
        open_ = [i for i in self.incidents.values() if i["case_id"] == case_id and i["resolved_at"] is None]
        for incident in open_:
            incident["resolved_at"] = now
        return len(open_)

    def add_incident(self, values: dict) -> None:
        incident_id = self._next("incident")
        self.incidents[incident_id] = {**values, "id": incident_id, "resolved_at": None}


def engine_context(clock=lambda: NOW):
    """The real engine (SpiffWorkflow, restricted scripts in this process) with no database behind it."""
    ctx = build_context(session_factory=lambda: None, script_workers=0, trail=False, clock=clock)
    ctx.step_handlers = FAKE_HANDLERS
    return ctx


def deploy(ctx, repository: InMemoryCaseRepository, key: str, files: list[tuple[str, bytes]], model_id: int = 1,
           tenant_id: int = 1) -> FakeModel:
    parsed = parse_model_files(files, key=key)
    ctx.runtimes.put(model_id, parsed, tenant_id=tenant_id)
    model = FakeModel(model_id, key, 1, executable=parsed.executable)
    repository.models[key] = model
    return model


def actor(username: str = "intake1", roles=("intake", "clerk", "supervisor"), tenant_id: int = 1) -> Actor:
    return Actor(user_id=1, username=username, tenant_id=tenant_id, tenant_code="xichangan", roles=frozenset(roles),
                 groups=frozenset({"intake", "civil_affairs"}), timezone="Asia/Shanghai")
