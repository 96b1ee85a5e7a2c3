"""An in-memory case repository and unit of work: case steps (``workflows.steps``) without a database.

:class:`InMemoryCaseRepository` keeps the contract of ``workflows.case_repository.CaseRepository``
(the SQL one runs against the same scenarios in tests/integration/test_steps_fake_vs_sql.py):
cases, task rows, incidents, the case clock and the timer rows, so every engine handler (the
deadline clock, BPMN timers and retries included) runs without a database. :func:`fire_due`
fires due timer rows as ``workflows.timers.fire_timer`` does (marked fired, then the case step).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from workflows.accounts import Actor
from workflows.calendar import WorkingCalendar
from workflows.case_repository import case_number
from workflows.cases import OPEN_TASK_STATUSES
from workflows.context import build_context
from workflows.deadlines import CLOCKS, OPEN_TIMER_STATUSES, TIMERS
from workflows.errors import Conflict, NotFound
from workflows.model_parsing import parse_model_files
from workflows.steps import ENGINE_HANDLERS, FireTimers, Skipped, run_step
from workflows.unit_of_work import Event

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent
THREE_TASKS = (REPO / "bench" / "three_tasks.bpmn").read_bytes()

#: Every engine handler writes through the repository: the fake runs them all, in their order.
FAKE_HANDLERS = ENGINE_HANDLERS


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
        self.clocks: dict[int, dict] = {}
        self.timers: dict[int, dict] = {}
        self.trail: list[Event] = []
        self._ids = {"case": 0, "task": 0, "incident": 0, "timer": 0}

    # -- transactions (the fake unit of work rolls back to a snapshot) --------------------------------
    _TABLES = ("cases", "tasks", "incidents", "clocks", "timers")

    def snapshot(self):
        return tuple({k: dict(v) for k, v in getattr(self, name).items()} for name in self._TABLES) + (dict(self._ids),)

    def restore(self, snapshot) -> None:
        *tables, ids = snapshot
        for name, rows in zip(self._TABLES, tables):
            setattr(self, name, {k: dict(v) for k, v in rows.items()})
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
        return {**row, "clock_state": self._clock_state(case_id)}

    def _clock_state(self, case_id: int) -> str | None:
        clock = self.clocks.get(case_id)
        return clock["state"] if clock is not None else None

    def load_task(self, tenant_id: int, task_id: int):
        task = self.tasks.get(task_id)
        if task is None or task["tenant_id"] != tenant_id:
            return None
        return dict(task), {**self.cases[task["case_id"]], "clock_state": self._clock_state(task["case_id"])}

    def write_new_case(self, record, events) -> None:
        pass  # the fake wrote the task rows at once; its trail is the unit of work's events

    def write_held(self) -> None:
        pass  # the fake writes every row at once

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

    # -- the deadline clock and the timer rows ---------------------------------------------------------
    def calendar(self, tenant_id: int):
        return self.ctx.calendar.for_tenant(tenant_id)  # the library and weekends (engine_context)

    def clock(self, case_id: int) -> dict | None:
        clock = self.clocks.get(case_id)
        return dict(clock) if clock is not None else None

    def add_clock(self, values: dict) -> None:
        if values["case_id"] in self.clocks:
            raise ValueError(f"case {values['case_id']} has a clock row already")  # its primary key
        row = {c.name: c.default.arg if c.default is not None and not callable(c.default.arg) else None
               for c in CLOCKS.c}
        self.clocks[values["case_id"]] = {**row, "pauses": [], **values}

    def update_clock(self, case_id: int, values: dict) -> int:
        clock = self.clocks.get(case_id)
        if clock is None:
            return 0
        clock.update(values)
        return 1

    def set_deadline(self, case_id: int, deadline) -> None:
        self.cases[case_id]["deadline"] = deadline

    def _open_tasks_of(self, case_id: int):
        return [t for t in self.tasks.values() if t["case_id"] == case_id and t["status"] in OPEN_TASK_STATUSES]

    def clear_task_due(self, case_id: int, deadline) -> None:
        for task in self._open_tasks_of(case_id):
            if task["due_at"] is not None and task["due_at"] == deadline:
                task.update(due_at=None, warn_at=None)

    def set_task_due(self, case_id: int, deadline, warn_at) -> None:
        for task in self._open_tasks_of(case_id):
            if task["due_at"] is None:
                task.update(due_at=deadline, warn_at=warn_at)

    def add_timer(self, values: dict) -> None:
        timer_id = self._next("timer")
        row = {c.name: None for c in TIMERS.c}
        self.timers[timer_id] = {**row, **values, "id": timer_id}

    def _open_timers(self, case_id: int, kinds=None) -> list[dict]:
        return [t for _, t in sorted(self.timers.items()) if t["case_id"] == case_id
                and t["status"] in OPEN_TIMER_STATUSES and (kinds is None or t["kind"] in kinds)]

    def cancel_timers(self, case_id: int, kinds=None) -> None:
        for timer in self._open_timers(case_id, kinds):
            timer["status"] = "cancelled"

    def open_bpmn_timers(self, case_id: int) -> dict:
        return {t["spiff_id"]: t["due_at"] for t in self._open_timers(case_id, ("bpmn",))}

    def fire_bpmn_timers(self, case_id: int, spiff_ids, now, by: str) -> list:
        fired = []
        for timer in self._open_timers(case_id, ("bpmn",)):
            if timer["spiff_id"] in spiff_ids:
                timer.update(status="fired", fired_at=now, fired_by=by)
                fired.append(SimpleNamespace(id=timer["id"], element_id=timer["element_id"], due_at=timer["due_at"]))
        return fired

    def cancel_bpmn_timers(self, case_id: int, spiff_ids) -> None:
        for timer in self._open_timers(case_id, ("bpmn",)):
            if timer["spiff_id"] in spiff_ids:
                timer["status"] = "cancelled"

    def move_bpmn_timer(self, case_id: int, spiff_id: str, due_at) -> None:
        for timer in self._open_timers(case_id, ("bpmn",)):
            if timer["spiff_id"] == spiff_id:
                timer.update(due_at=due_at, status="pending", claimed_by=None, claimed_at=None)

    def retry_attempts(self, case_id: int, spiff_id: str) -> int:
        return sum(1 for t in self.timers.values() if t["case_id"] == case_id and t["kind"] == "retry"
                   and t["spiff_id"] == spiff_id and t["status"] != "cancelled")


def engine_context(clock=lambda: NOW):
    """The real engine (SpiffWorkflow, restricted scripts in this process) with no database behind it.

    Working days come from the calendar library and weekends (there is no override table).
    """
    ctx = build_context(session_factory=lambda: None, script_workers=0, trail=False, clock=clock,
                        calendar=WorkingCalendar())
    ctx.step_handlers = FAKE_HANDLERS
    return ctx


def fire_due(ctx, repository: InMemoryCaseRepository, worker: str = "worker") -> dict[str, int]:
    """Fire the repository's due BPMN and retry timer rows, one transaction each, as
    ``workflows.timers.fire_timer`` does: the row marked fired and ``timer.fired`` recorded, then
    the case step; a stale row (its event gone) is cancelled and its event taken back; a row
    that went with another timer of its case meanwhile is ``done``. Supervision level timers are
    not case steps (``workflows.supervision``) and are left alone. Returns the counts."""
    counts: dict[str, int] = {}
    now = ctx.clock()
    due = [timer_id for timer_id, t in sorted(repository.timers.items())
           if t["kind"] in ("bpmn", "retry") and t["status"] in OPEN_TIMER_STATUSES and t["due_at"] < now]
    for timer_id in due:
        with FakeUnitOfWork(repository) as uow:
            timer = repository.timers[timer_id]
            if timer["status"] not in OPEN_TIMER_STATUSES:  # went with another timer of its case
                counts["done"] = counts.get("done", 0) + 1
                continue
            timer.update(status="fired", fired_at=now, fired_by=worker)
            row = SimpleNamespace(**timer)
            fired = uow.record(
                "timer.fired", row.tenant_id, case_id=row.case_id, at=now, actor=worker,
                data={"timer_id": row.id, "kind": row.kind, "element_id": row.element_id,
                      "due_at": row.due_at.isoformat(), "lag_seconds": round((now - row.due_at).total_seconds(), 3)},
            )
            done = run_step(ctx, uow, FireTimers(row, None, now), None, cases=repository)
            if isinstance(done, Skipped):
                uow.events.remove(fired)
                repository.timers[timer_id]["status"] = "cancelled"
            result = "stale" if isinstance(done, Skipped) else "fired"
            uow.commit()
        counts[result] = counts.get(result, 0) + 1
    return counts


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

