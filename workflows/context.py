"""The engine's wiring: database sessions, the SpiffWorkflow adapter and its caches.

Built once per process by the host (the Flask app factory, a Celery worker, a script)
and passed to every use case; nothing is built at import time.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .calendar import WorkingCalendar, script_helpers
from .connectors import ConnectorRegistry, default_connectors
from .deadlines import TimingPolicy
from .engine import CaseEngine, ModelRuntime, WorkflowCache
from .errors import Conflict, NotFound
from .model_parsing import parse_model_files
from .models import ProcessModel, ProcessModelFile, utcnow
from .unit_of_work import EventSink, UnitOfWork


class RuntimeCache:
    """Parsed process specs by model id. Model versions never change, so entries never go stale."""

    def __init__(self):
        self._items: dict[int, ModelRuntime] = {}
        self._lock = threading.Lock()
        #: (tenant id, key) → the row of its latest version as this process last read it: a hint
        #: only; the case INSERT that uses it checks it is still the latest (workflows.case_repository)
        self.latest: dict[tuple[int, str], object] = {}

    def get(self, session: Session, model_id: int) -> ModelRuntime:
        runtime = self._items.get(model_id)
        if runtime is not None:
            return runtime
        model = session.get(ProcessModel, model_id)
        if model is None:
            raise NotFound(f"process model {model_id} does not exist")
        files = session.execute(
            select(ProcessModelFile.filename, ProcessModelFile.content)
            .where(ProcessModelFile.model_id == model_id)
            .order_by(ProcessModelFile.position)
        ).all()
        parsed = parse_model_files([(f, bytes(c)) for f, c in files], key=model.key)
        if not parsed.executable:  # start_case refuses these first; never build a runtime of nothing
            raise Conflict(f"version {model.version} of process model {model.key!r} is not executable")
        return self.put(model_id, parsed, tenant_id=model.tenant_id)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.latest.clear()

    def put(self, model_id: int, parsed, tenant_id: int | None = None) -> ModelRuntime:
        runtime = ModelRuntime(
            model_id=model_id,
            key=parsed.key,
            spec=parsed.spec,
            subprocess_specs=parsed.subprocess_specs,
            lanes=dict(parsed.lanes),
            forms=dict(parsed.forms),
            tenant_id=tenant_id,
        )
        with self._lock:
            self._items.setdefault(model_id, runtime)
            return self._items[model_id]


@dataclass
class EngineContext:
    session_factory: Callable[[], Session]
    engine: CaseEngine
    connectors: ConnectorRegistry
    runtimes: RuntimeCache = field(default_factory=RuntimeCache)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    clock: Callable[[], datetime] = utcnow
    # Writes recorded events (the trail) inside the committing transaction; None keeps none.
    event_sink: EventSink | None = None
    # Working days (holidays, 调休, override table) and the deadline/timer rules (workflows.deadlines).
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    timing: TimingPolicy = field(default_factory=TimingPolicy)
    # What every case step writes, in order (workflows.steps.StepHandlers); None: the engine's own.
    # The host registers them once at start-up (server.wiring).
    step_handlers: "object | None" = None
    # The SQLAlchemy engine under ``session_factory``'s scoped session (PostgreSQL), for the hot
    # path's work that needs no ORM session: a claim on a pooled connection of its own, a start
    # and a completion on a LeanSession. None: everything goes through Sessions. The host sets it.
    sql_engine: "object | None" = None

    def unit_of_work(self, lean: bool = False) -> UnitOfWork:
        """A unit of work; ``lean``: on a :class:`~workflows.unit_of_work.LeanSession` where the host
        allows it (``sql_engine``) and the unit is one of its own (the hot path's start and completion)."""
        return UnitOfWork(self.session_factory, self.event_sink, lean_engine=self.sql_engine if lean else None)


def quiet_engine_logs(level: str) -> None:
    """SpiffWorkflow's loggers from ``level`` on (a level name; an unknown name is an error)."""
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"unknown log level {level!r} (DEBUG, INFO, WARNING, ERROR)")
    logging.getLogger("spiff").setLevel(level)


def build_context(
    session_factory: Callable[[], Session],
    connectors: ConnectorRegistry | None = None,
    helpers: dict | None = None,
    script_time_limit: float = 2.0,
    clock: Callable[[], datetime] = utcnow,
    cache_workflows: bool = True,
    trail: bool = True,
    calendar: WorkingCalendar | None = None,
    timing: TimingPolicy | None = None,
    script_workers: int = 2,
    script_memory_mb: int = 256,
    engine_log_level: str = "WARNING",
) -> EngineContext:
    """Wire the engine: restricted scripts, named service connectors, caches, the trail.

    ``trail=False`` writes no events (benchmarks compare both). Scripts run in
    ``script_workers`` bounded worker processes (:mod:`workflows.sandbox`); 0 runs them in
    this process, bounded by the restricted engine's checks only.

    ``engine_log_level`` is SpiffWorkflow's loggers' level ("spiff.*"). At INFO they build and
    write a record for every task's state change, about 3 % of a step's CPU and a line per task
    per step in the log; WARNING keeps what an operator needs.
    """
    quiet_engine_logs(engine_log_level)
    from .sandbox import shared_pool
    from .scripting import RestrictedScriptEngine
    from .trail import TrailWriter

    connectors = connectors or default_connectors()
    calendar = calendar or WorkingCalendar(session_factory)
    script_engine = RestrictedScriptEngine(
        helpers={**script_helpers(calendar), **(helpers or {})},
        time_limit=script_time_limit,
        service_caller=connectors.call,
        pool=shared_pool(script_workers, script_memory_mb) if script_workers > 0 else None,
    )
    ctx = EngineContext(
        session_factory=session_factory,
        engine=CaseEngine(script_engine),
        connectors=connectors,
        workflows=WorkflowCache(size=2048 if cache_workflows else 0),
        clock=clock,
        calendar=calendar,
        timing=timing or TimingPolicy(),
    )
    if trail:  # default on: every unit of work's events are chained in its own transaction
        ctx.event_sink = TrailWriter(session_factory, clock=lambda: ctx.clock())
    return ctx
