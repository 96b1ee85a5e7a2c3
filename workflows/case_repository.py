"""Where a case step reads and writes its case, its task rows and its incidents.

:class:`CaseRepository` is what :mod:`workflows.steps` needs from storage; the step and its
engine handlers (task rows, incidents, the case row) are written against it. In production
it is :class:`SqlCaseRepository` (PostgreSQL or SQLite, on the unit of work's session, never
committing); the unit tests pass an in-memory one (``tests/case_fakes.py``) that keeps the
same contract. The deadline clock and the timer rows the step's handlers keep
(``workflows.deadlines``: the case clock, supervision, BPMN and retry timers) are read and
written through it too, so every step handler writes only through the repository.
"""
from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, bindparam, case, cast, exists, func, literal_column, or_, select, union_all

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
from .deadlines import OPEN_TIMER_STATUSES, TIMERS
from .driver import DriverStatement, driver_statement
from .engine import ModelRuntime
from .models import ProcessModel
from .process_models import find_model, require_executable
from .trail import _EVENT_COLUMNS, _plain, remember_head, write_case_row


MODELS = ProcessModel.__table__


class CaseRepository(Protocol):
    def model_to_start(self, tenant_id: int, key: str, version: int | None) -> Any:
        """``id, key, version`` of the executable model to start (NotFound, Conflict otherwise)."""

    def runtime(self, model_id: int) -> ModelRuntime:
        """The parsed model (cached by the context)."""

    def load(self, tenant_id: int, case_id: int) -> dict | None:
        """The case's record values and ``state``, or None (unknown id, another tenant's case)."""

    def load_task(self, tenant_id: int, task_id: int) -> tuple[dict, dict] | None:
        """``(task row values, case record values with state)`` in one read, or None."""

    def insert_case(self, record: CaseRecord, state: str, tenant_code: str, timezone: str,
                    as_latest: bool = False) -> bool:
        """Insert a new case; sets ``record.id`` and its application number ``record.number``.
        ``as_latest``: only if its model version is still the latest of its key (False if not)."""

    def forget_latest(self, tenant_id: int, key: str) -> None:
        """Forget which version of ``key`` was the latest (a newer one was deployed)."""

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

    def write_new_case(self, record: CaseRecord, events: list) -> None:
        """A case just inserted: write its held task rows with its trail events so far, where one
        statement can (the case row handler of a start)."""

    def write_held(self) -> None:
        """Write what the repository still holds back for the step (run after its handlers)."""

    def open_tasks(self, case_id: int, spiff_ids: set[str]) -> list:
        """The open rows of these engine tasks, by id."""

    def open_incident(self, tenant_id: int, incident_id: int) -> Any:
        """``case_id, element_id, resolved_at`` of the incident, or None."""

    def resolve_incidents(self, case_id: int, now) -> int:
        """Resolve every open incident of the case; how many."""

    def add_incident(self, values: dict) -> None:
        """Write an incident row."""

    # -- the deadline clock and the timer rows (workflows.deadlines) ----------------------------------
    def calendar(self, tenant_id: int) -> Any:
        """The tenant's working-day calendar (``workflows.calendar.TenantCalendar``)."""

    def clock(self, case_id: int) -> dict | None:
        """The case's clock row (every column), or None."""

    def add_clock(self, values: dict) -> None:
        """Write a clock row (``case_id`` and the columns given)."""

    def update_clock(self, case_id: int, values: dict) -> int:
        """Change the case's clock row; how many rows (0: it has none)."""

    def set_deadline(self, case_id: int, deadline) -> None:
        """The case row's ``deadline`` (None while paused or without a time limit)."""

    def clear_task_due(self, case_id: int, deadline) -> None:
        """Open task rows of the case due at ``deadline`` (the case's) lose their due and warning times."""

    def set_task_due(self, case_id: int, deadline, warn_at) -> None:
        """Open task rows of the case without a due time get ``deadline`` and ``warn_at``."""

    def add_timer(self, values: dict) -> None:
        """Write a timer row."""

    def cancel_timers(self, case_id: int, kinds: tuple[str, ...] | None = None) -> None:
        """Cancel the case's open timer rows of ``kinds`` (None: of every kind)."""

    def open_bpmn_timers(self, case_id: int) -> dict:
        """``{spiff_id: due_at}`` of the case's open BPMN timer rows."""

    def fire_bpmn_timers(self, case_id: int, spiff_ids: list[str], now, by: str) -> list:
        """Mark the open BPMN timer rows of these events fired; their ``id, element_id, due_at``."""

    def cancel_bpmn_timers(self, case_id: int, spiff_ids: list[str]) -> None:
        """Cancel the open BPMN timer rows of these events."""

    def move_bpmn_timer(self, case_id: int, spiff_id: str, due_at) -> None:
        """An open BPMN timer row due again at ``due_at`` (a cycle timer's next round), unclaimed."""

    def retry_attempts(self, case_id: int, spiff_id: str) -> int:
        """How many retry timer rows of this engine task were written and not cancelled."""


def case_number(tenant_code: str, timezone: str, now, case_id: int) -> str:
    """The application number residents quote: tenant, day of receipt, case id."""
    return f"{number_prefix(tenant_code, timezone, now)}{case_id:06d}"


def number_prefix(tenant_code: str, timezone: str, now) -> str:
    return f"{tenant_code.upper()}-{now.astimezone(ZoneInfo(timezone)):%Y%m%d}-"


def _number_expression(prefix, new_id):
    text = cast(new_id, String)
    # lpad would cut ids of seven digits and more: those are written as they are
    return (prefix + case((new_id < 1000000, func.lpad(text, 6, "0")), else_=text)).label("number")


_insert_cases: dict[tuple, Any] = {}


def _insert_case_statement(names: tuple[str, ...], as_latest: bool):
    """PostgreSQL: the case INSERT for these columns, built once per shape. The id is drawn first
    so the number can name it in the same INSERT (no follow-up UPDATE). ``as_latest``: only if
    no newer version of the model exists (the start took the latest version from a hint)."""
    key = (names, as_latest)
    statement = _insert_cases.get(key)
    if statement is None:
        params = {name: bindparam(f"v_{name}", type_=CASES.c[name].type) for name in names}
        drawn = select(func.nextval(func.pg_get_serial_sequence("cases", "id")).label("new_id")).subquery()
        source = select(drawn.c.new_id, _number_expression(bindparam("v_prefix", type_=String), drawn.c.new_id),
                        *params.values()).select_from(drawn)
        if as_latest:
            source = source.where(~exists().where(
                MODELS.c.tenant_id == params["tenant_id"], MODELS.c.key == params["process_key"],
                MODELS.c.version > params["model_version"]))
        statement = CASES.insert().from_select(["id", "number", *names], source).returning(CASES.c.id, _SPARE_IDS)
        _insert_cases[key] = statement
    return statement


# Task ids a completion draws with the task it completes: the rows of the tasks its step creates
# (usually one, at most two after a parallel split) are then written with the case row in one
# statement (``SqlCaseRepository.write_case``); a step that creates more writes them on its own.
# Ids drawn and not used leave gaps in the sequence, nothing else.
SPARE_TASK_IDS = 2
_SPARE = "redwall.spare_task_ids"
# The series' bounds are written into the SQL: bound as parameters, PostgreSQL's generic plan
# guesses 1,000 rows for the series, and the case INSERT (whose plan is otherwise trivial) was
# planned afresh at every execution (0.11 ms of the database's CPU per start).
_SPARE_IDS = (
    select(func.array_agg(func.nextval(func.pg_get_serial_sequence("tasks", "id"))))
    .select_from(func.generate_series(literal_column("1"), literal_column(str(int(SPARE_TASK_IDS)))))
    .scalar_subquery().label("spare_task_ids")
)


def _keep_spare_ids(session, ids) -> None:
    session = _plain(session)
    session.info[_SPARE] = (session.get_transaction(), list(ids or ()))


def _take_spare_ids(session, n: int) -> list[int] | None:
    """``n`` ids drawn in this transaction and not used yet, or None."""
    session = _plain(session)
    store = session.info.get(_SPARE)
    if store is None or store[0] is not session.get_transaction() or len(store[1]) < n:
        return None
    taken, store[1][:] = store[1][:n], store[1][n:]
    return taken


_with_tasks: dict[tuple, Any] = {}


def _write_case_with_tasks(names: tuple[str, ...], tasks: int, candidates: int):
    """The case row's UPDATE with the step's new task rows (and their candidates) inserted in
    the same statement, as data-modifying CTEs; parameters ``t{i}_{column}``, ``c{j}_{column}``."""
    key = (names, tasks, candidates)
    statement = _with_tasks.get(key)
    if statement is None:
        statement = _with_task_rows(_WRITE_CASE, names, tasks, candidates)
        _with_tasks[key] = statement
    return statement


def _rows_insert(table, names: tuple[str, ...], prefix: str, rows: int):
    """An INSERT of ``rows`` rows with parameters ``{prefix}{i}_{column}`` that SQLAlchemy can
    cache: a multi-row ``values([...])`` has no cache key and is compiled again at every
    execution; one row is a plain VALUES, several a SELECT … UNION ALL SELECT …."""
    def param(i: int, name: str):
        return bindparam(f"{prefix}{i}_{name}", type_=table.c[name].type)

    if rows == 1:
        return table.insert().values({name: param(0, name) for name in names})
    selects = [select(*[cast(param(i, name), table.c[name].type).label(name) for name in names]) for i in range(rows)]
    return table.insert().from_select(list(names), union_all(*selects))


def _with_task_rows(statement, names: tuple[str, ...], tasks: int, candidates: int):
    """``statement`` with task rows (and their candidates) inserted by data-modifying CTEs;
    parameters ``t{i}_{column}``, ``c{j}_{column}``."""
    statement = statement.add_cte(_rows_insert(TASKS, names, "t", tasks).cte("new_tasks"))
    if candidates:
        statement = statement.add_cte(
            _rows_insert(TASK_CANDIDATES, _CANDIDATE_COLUMNS, "c", candidates).cte("new_candidates"))
    return statement


_new_cases: dict[tuple, Any] = {}


def _new_case_rows(names: tuple[str, ...], tasks: int, candidates: int, events: int):
    """A new case's first task rows, its trail events (``e{k}_{column}``) and its chain head
    (``h_id``, ``h_seq``, ``h_hash``) in one statement."""
    key = (names, tasks, candidates, events)
    statement = _new_cases.get(key)
    if statement is None:
        from .trail import EVENTS

        head = (CASES.update().where(CASES.c.id == bindparam("h_id", type_=CASES.c.id.type))
                .values(trail_seq=bindparam("h_seq", type_=CASES.c.trail_seq.type),
                        trail_hash=bindparam("h_hash", type_=CASES.c.trail_hash.type)).cte("head"))
        statement = _rows_insert(EVENTS, _EVENT_COLUMNS, "e", events).add_cte(head)
        statement = _with_task_rows(statement, names, tasks, candidates)
        _new_cases[key] = statement
    return statement


_CANDIDATE_COLUMNS = ("task_id", "kind", "name", "tenant_id")
_TASK_DEFAULTS = {c.name: c.default.arg for c in TASKS.c if c.default is not None and c.default.is_scalar}
# task columns that are NULL when an INSERT leaves them out
_NULL_UNLESS_GIVEN = frozenset(c.name for c in TASKS.c if c.nullable and c.default is None and c.server_default is None)


def _candidate_rows(ids, rows) -> list[dict]:
    return [  # the worklists find candidate tasks through this side table
        {"task_id": task_id, "kind": kind, "name": name, "tenant_id": row["tenant_id"]}
        for task_id, row in zip(ids, rows)
        for kind, names in (("group", row["candidate_groups"]), ("user", row["candidate_users"]))
        for name in sorted(set(names or ()))
        if len(name) <= 150  # longer than any group code or username: names nobody
    ]


def _take_task_statement():
    """PostgreSQL: complete the row of a task its holder completes, drop its candidates, and read
    it with its case locked, the case's record, state and clock: one statement
    (:meth:`SqlCaseRepository.take_task`). Only a plain claimed BPMN task the caller holds, not
    delegated, with no co-signers, at the version the caller saw, of a case not suspended."""
    expected = bindparam("b_expected", type_=Integer)
    changed = (
        TASKS.update()
        .where(
            TASKS.c.id == bindparam("b_task_id"), TASKS.c.tenant_id == bindparam("b_tenant_id"),
            TASKS.c.status == "claimed", TASKS.c.assignee == bindparam("b_me"), TASKS.c.delegated_by.is_(None),
            func.coalesce(TASKS.c.kind, "user") == "user", TASKS.c.handling.is_(None),
            or_(expected.is_(None), TASKS.c.version == expected),
        )
        .values(status="completed", completed_at=bindparam("b_now", type_=TASKS.c.completed_at.type),
                completed_by=bindparam("b_me"), version=TASKS.c.version + 1)
        .returning(*TASKS.c)
        .cte("changed")
    )
    gone = TASK_CANDIDATES.delete().where(TASK_CANDIDATES.c.task_id.in_(select(changed.c.id))).cte("gone")
    spare = _SPARE_IDS
    return (
        select(*[changed.c[c.name].label(f"task_{c.name}") for c in TASKS.c], *_RECORD_COLUMNS, CASES.c.state,
               _CLOCK_STATE, spare)
        .add_cte(gone)
        .select_from(changed.join(CASES, CASES.c.id == changed.c.case_id).outerjoin(CLOCKS, CLOCKS.c.case_id == CASES.c.id))
        .where(CASES.c.status != "suspended")
        .with_for_update(of=CASES)
    )


_TAKE_TASK = DriverStatement(_take_task_statement())


class SqlCaseRepository:
    """Cases in the engine's database, on the unit of work's session (never commits)."""

    def __init__(self, ctx, uow):
        self.ctx = ctx
        self.uow = uow
        # new task rows whose ids were drawn ahead, written with the case row (write_case)
        self._held: list[dict] = []

    @property
    def _conn(self):
        return self.uow.session.connection()

    def model_to_start(self, tenant_id: int, key: str, version: int | None):
        if version is None:  # the latest: as last read here, checked again by the case's INSERT
            model = self.ctx.runtimes.latest.get((tenant_id, key))
            if model is not None:
                return model
        model = find_model(self.uow.session, tenant_id, key, version)
        require_executable(self.uow.session, tenant_id, model)
        if version is None:
            self.ctx.runtimes.latest[(tenant_id, key)] = model
        return model

    def forget_latest(self, tenant_id: int, key: str) -> None:
        self.ctx.runtimes.latest.pop((tenant_id, key), None)

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

    def take_task(self, tenant_id: int, task_id: int, username: str, expected_version: int | None,
                  now) -> tuple[dict, dict] | None:
        """Like :meth:`load_task`, completing the task's row in the same statement (see
        ``_take_task_statement``); None, with nothing changed, if the task is not such a task or
        the database is not PostgreSQL (the caller takes the general path, which says why)."""
        conn = self._conn
        if conn.dialect.name != "postgresql":
            return None
        found = _TAKE_TASK.rows(conn, {"b_task_id": task_id, "b_tenant_id": tenant_id, "b_me": username,
                                       "b_expected": expected_version, "b_now": now})
        if not found:
            return None
        values = dict(zip(_TAKE_TASK.names, found[0]))
        task = {c.name: values.pop(f"task_{c.name}") for c in TASKS.c}
        _keep_spare_ids(self.uow.session, values.pop("spare_task_ids"))
        remember_head(self.uow.session, values["id"], values["trail_seq"], values["trail_hash"])
        return task, values

    def insert_case(self, record: CaseRecord, state: str, tenant_code: str, timezone: str,
                    as_latest: bool = False) -> bool:
        values = {k: v for k, v in vars(record).items()
                  if k in CASES.c and k not in ("id", "number", "trail_seq", "trail_hash")}
        values["state"] = state
        prefix = number_prefix(tenant_code, timezone, record.created_at)
        conn = self._conn
        if conn.dialect.name == "postgresql":
            params = {f"v_{k}": v for k, v in values.items()}
            params["v_prefix"] = prefix
            found = driver_statement(_insert_case_statement(tuple(values), as_latest)).rows(conn, params)
            if not found:  # a newer version was deployed since this process read the latest
                return False
            row = found[0]
            record.id = row[0]
            _keep_spare_ids(self.uow.session, row[1])
            record.number = f"{prefix}{record.id:06d}"
        else:
            if as_latest and conn.execute(
                select(MODELS.c.id).where(MODELS.c.tenant_id == record.tenant_id, MODELS.c.key == record.process_key,
                                          MODELS.c.version > record.model_version).limit(1)
            ).first() is not None:
                return False
            record.id = conn.execute(CASES.insert().returning(CASES.c.id), {**values, "number": None}).scalar_one()
            record.number = f"{prefix}{record.id:06d}"
            conn.execute(CASES.update().where(CASES.c.id == record.id).values(number=record.number))
        remember_head(self.uow.session, record.id, 0, None)  # a new case's trail starts empty
        return True

    def write_case(self, record: CaseRecord, state: str | None, events: list) -> bool:
        params = {
            "b_id": record.id, "b_version": record.version, "b_state": state, "b_status": record.status,
            "b_data": record.data, "b_updated_at": record.updated_at, "b_ended_at": record.ended_at,
            "b_has_incident": record.has_incident,
        }
        statement = _WRITE_CASE
        if self._held:  # the step's new tasks, their ids drawn ahead: inserted by the same statement
            statement = _write_case_with_tasks(*self._held_rows(params))
        # The trail's events so far ride along in the same statement where it can (workflows.trail).
        if write_case_row(self.ctx, self.uow, self._conn, statement, params, record) is None:
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
        ids = _take_spare_ids(self.uow.session, len(rows)) if rows else None
        if ids is not None:  # drawn with the task the step completes: written with the case row
            self._held += [{**row, "id": task_id} for task_id, row in zip(ids, rows)]
            return ids
        conn = self._conn
        ids = conn.execute(_INSERT_TASKS, rows).scalars().all()
        candidates = _candidate_rows(ids, rows)
        if candidates:
            conn.execute(TASK_CANDIDATES.insert(), candidates)
        return list(ids)

    def write_new_case(self, record: CaseRecord, events: list) -> None:
        """PostgreSQL, a case just inserted: its first task rows (ids drawn with the case) and its
        trail events so far in one statement that also moves the chain head; elsewhere nothing
        (the rows are written after the handlers, the events at commit)."""
        from .trail import _WRITTEN, GENESIS, trail_writer_of

        writer = trail_writer_of(self.ctx.event_sink)
        pending = [e for e in events if e.case_id == record.id and not getattr(e, _WRITTEN, False)]
        if not (self._held and writer is not None and pending) or self._conn.dialect.name != "postgresql":
            return
        rows, seq, digest = writer.chain_rows(record.tenant_id, record.id, pending, record.trail_seq or 0,
                                              record.trail_hash or GENESIS)
        params = {"h_id": record.id, "h_seq": seq, "h_hash": digest}
        shape = self._held_rows(params)
        for k, row in enumerate(rows):
            params.update({f"e{k}_{name}": value for name, value in zip(_EVENT_COLUMNS, row)})
        driver_statement(_new_case_rows(*shape, len(rows))).rows(self._conn, params)
        for event in pending:
            setattr(event, _WRITTEN, True)
        record.trail_seq, record.trail_hash = seq, digest
        remember_head(self.uow.session, record.id, seq, digest)

    def _held_rows(self, params: dict) -> tuple[tuple[str, ...], int, int]:
        """Take the held task rows into ``params`` (``t{i}_…``, their candidates ``c{j}_…``) for
        :func:`_with_task_rows`; returns its shape (columns, task rows, candidate rows)."""
        # an INSERT in a CTE gets none of SQLAlchemy's Python-side defaults: the rows carry them
        held, self._held = [{**_TASK_DEFAULTS, **row} for row in self._held], []
        # a column no row fills is left to its NULL default: fewer parameters (psycopg caches
        # the conversion of a statement of at most 50) and fewer shapes than rows' values
        names = tuple(name for name in held[0]
                      if name not in _NULL_UNLESS_GIVEN or any(row[name] is not None for row in held))
        candidates = _candidate_rows([row["id"] for row in held], held)
        for i, row in enumerate(held):
            params.update({f"t{i}_{name}": row[name] for name in names})
        for j, row in enumerate(candidates):
            params.update({f"c{j}_{name}": row[name] for name in _CANDIDATE_COLUMNS})
        return names, len(held), len(candidates)

    def write_held(self) -> None:
        """New task rows no case write took along (a step whose handlers wrote no case row)."""
        held, self._held = self._held, []
        if held:
            conn = self._conn
            conn.execute(_INSERT_TASK_ROWS, held)
            candidates = _candidate_rows([row["id"] for row in held], held)
            if candidates:
                conn.execute(TASK_CANDIDATES.insert(), candidates)

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

    # -- the deadline clock and the timer rows ---------------------------------------------------------
    def calendar(self, tenant_id: int):
        return self.ctx.calendar.for_tenant(tenant_id, self.uow.session)

    def clock(self, case_id: int) -> dict | None:
        row = self._conn.execute(select(CLOCKS).where(CLOCKS.c.case_id == case_id)).one_or_none()
        return row._asdict() if row is not None else None

    def add_clock(self, values: dict) -> None:
        self._conn.execute(CLOCKS.insert().values(**values))

    def update_clock(self, case_id: int, values: dict) -> int:
        return self._conn.execute(CLOCKS.update().where(CLOCKS.c.case_id == case_id).values(**values)).rowcount

    def set_deadline(self, case_id: int, deadline) -> None:
        self._conn.execute(CASES.update().where(CASES.c.id == case_id).values(deadline=deadline))

    def clear_task_due(self, case_id: int, deadline) -> None:
        self._conn.execute(TASKS.update().where(
            TASKS.c.case_id == case_id, TASKS.c.status.in_(OPEN_TASK_STATUSES), TASKS.c.due_at == deadline,
        ).values(due_at=None, warn_at=None))

    def set_task_due(self, case_id: int, deadline, warn_at) -> None:
        self._conn.execute(TASKS.update().where(
            TASKS.c.case_id == case_id, TASKS.c.status.in_(OPEN_TASK_STATUSES), TASKS.c.due_at.is_(None),
        ).values(due_at=deadline, warn_at=warn_at))

    def add_timer(self, values: dict) -> None:
        self._conn.execute(TIMERS.insert().values(**values))

    def cancel_timers(self, case_id: int, kinds: tuple[str, ...] | None = None) -> None:
        query = TIMERS.update().where(TIMERS.c.case_id == case_id, TIMERS.c.status.in_(OPEN_TIMER_STATUSES))
        if kinds is not None:
            query = query.where(TIMERS.c.kind.in_(kinds))
        self._conn.execute(query.values(status="cancelled"))

    @staticmethod
    def _open_bpmn(case_id: int):
        return and_(TIMERS.c.case_id == case_id, TIMERS.c.kind == "bpmn", TIMERS.c.status.in_(OPEN_TIMER_STATUSES))

    def open_bpmn_timers(self, case_id: int) -> dict:
        return {row.spiff_id: row.due_at for row in self._conn.execute(
            select(TIMERS.c.spiff_id, TIMERS.c.due_at).where(self._open_bpmn(case_id)))}

    def fire_bpmn_timers(self, case_id: int, spiff_ids: list[str], now, by: str) -> list:
        return self._conn.execute(
            TIMERS.update().where(self._open_bpmn(case_id), TIMERS.c.spiff_id.in_(spiff_ids))
            .values(status="fired", fired_at=now, fired_by=by)
            .returning(TIMERS.c.id, TIMERS.c.element_id, TIMERS.c.due_at)
        ).all()

    def cancel_bpmn_timers(self, case_id: int, spiff_ids: list[str]) -> None:
        self._conn.execute(TIMERS.update().where(self._open_bpmn(case_id), TIMERS.c.spiff_id.in_(spiff_ids))
                           .values(status="cancelled"))

    def move_bpmn_timer(self, case_id: int, spiff_id: str, due_at) -> None:
        self._conn.execute(TIMERS.update().where(self._open_bpmn(case_id), TIMERS.c.spiff_id == spiff_id).values(
            due_at=due_at, status="pending", claimed_by=None, claimed_at=None))

    def retry_attempts(self, case_id: int, spiff_id: str) -> int:
        return self._conn.execute(
            select(func.count()).select_from(TIMERS).where(
                TIMERS.c.case_id == case_id, TIMERS.c.kind == "retry", TIMERS.c.spiff_id == spiff_id,
                TIMERS.c.status != "cancelled")
        ).scalar_one()


_INSERT_TASK_ROWS = TASKS.insert()
_BURST_WRITE = (
    CASES.update()
    .where(CASES.c.id == bindparam("b_id", type_=CASES.c.id.type),
           CASES.c.version == bindparam("b_seen_version", type_=CASES.c.version.type),
           CASES.c.trail_seq == bindparam("b_seen_seq", type_=CASES.c.trail_seq.type))
    .values(**{name: bindparam(f"b_{name}", type_=CASES.c[name].type)
               for name in ("state", "status", "data", "updated_at", "ended_at", "has_incident", "trail_seq",
                            "trail_hash")},
            version=CASES.c.version + 1)
)


class BurstCaseRepository(SqlCaseRepository):
    """A burst of steps in one transaction (timers due together, ``workflows.timers``), on PostgreSQL.

    New task rows and case writes are kept back and written by :meth:`flush` in two statements
    for the whole burst: one multi-row INSERT of the tasks (their ids drawn ahead from the
    sequence), and one UPDATE of every case written, under each case's version and trail head
    as read, with the trail events of the steps appended in the same statement. If any case
    was changed meanwhile the flush raises Conflict and the caller's transaction is rolled back
    (the timers then fire one by one). Anything else that reads or writes rows flushes first,
    so no step ever sees a row the burst still holds back.
    """

    def __init__(self, ctx, uow, expected_tasks: int = 0):
        super().__init__(ctx, uow)
        self._block = max(expected_tasks, 1)
        self._spare_ids: list[int] = []
        self._tasks: list[dict] = []
        self._candidates: list[dict] = []
        self._writes: list[dict] = []
        self._events: list[tuple] = []

    @property
    def pending(self) -> bool:
        return bool(self._tasks or self._writes)

    def _ids(self, n: int) -> list[int]:
        if len(self._spare_ids) < n:
            self._spare_ids += self._conn.execute(
                select(func.nextval(func.pg_get_serial_sequence("tasks", "id"))).select_from(
                    func.generate_series(1, max(n, self._block)))).scalars().all()
        taken, self._spare_ids = self._spare_ids[:n], self._spare_ids[n:]
        return taken

    def add_tasks(self, rows: list[dict]) -> list[int]:
        ids = self._ids(len(rows))
        for task_id, row in zip(ids, rows):
            self._tasks.append({**row, "id": task_id})
            for kind, names in (("group", row["candidate_groups"]), ("user", row["candidate_users"])):
                for name in sorted(set(names or ())):
                    if len(name) <= 150:
                        self._candidates.append({"task_id": task_id, "kind": kind, "name": name,
                                                 "tenant_id": row["tenant_id"]})
        return ids

    def write_case(self, record: CaseRecord, state: str | None, events: list) -> bool:
        from .trail import _WRITTEN, GENESIS, trail_writer_of

        writer = trail_writer_of(self.ctx.event_sink)
        if writer is None or state is None:
            self.flush()
            return super().write_case(record, state, events)
        pending = [e for e in events if e.case_id == record.id and not getattr(e, _WRITTEN, False)]
        rows, seq, digest = writer.chain_rows(record.tenant_id, record.id, pending, record.trail_seq,
                                              record.trail_hash or GENESIS)
        self._writes.append({
            "id": record.id, "seen_version": record.version, "seen_seq": record.trail_seq, "state": state,
            "status": record.status, "data": record.data, "updated_at": record.updated_at,
            "ended_at": record.ended_at, "has_incident": record.has_incident, "trail_seq": seq, "trail_hash": digest,
        })
        self._events += rows
        for event in pending:
            setattr(event, _WRITTEN, True)
        record.version += 1
        record.trail_seq, record.trail_hash = seq, digest
        return True

    def flush(self) -> None:
        """Write what the burst kept back (before anything else reads rows, and before the commit).

        Three cached statements, each sent once for the whole burst: the task rows and the trail
        events as multi-row INSERTs (SQLAlchemy's insertmanyvalues), the case rows as one
        executemany UPDATE whose summed row count says whether every case was still as read.
        """
        from .errors import Conflict
        from .trail import _EVENT_COLUMNS, _INSERT_EVENTS

        conn = self._conn
        if self._tasks:
            conn.execute(_INSERT_TASK_ROWS, self._tasks)
            if self._candidates:
                conn.execute(TASK_CANDIDATES.insert(), self._candidates)
            self._tasks, self._candidates = [], []
        if not self._writes:
            return
        writes, events = self._writes, self._events
        self._writes, self._events = [], []
        if events:
            conn.execute(_INSERT_EVENTS, [dict(zip(_EVENT_COLUMNS, row)) for row in events])
        written = conn.execute(_BURST_WRITE, [{f"b_{k}": v for k, v in w.items()} for w in writes]).rowcount
        if written != len(writes):
            raise Conflict("a case of the burst was changed by someone else at the same time")
        for w in writes:
            remember_head(self.uow.session, w["id"], w["trail_seq"], w["trail_hash"])

    # -- everything else sees the rows written first ------------------------------------------------
    def load(self, tenant_id: int, case_id: int) -> dict | None:
        self.flush()
        return super().load(tenant_id, case_id)

    def load_task(self, tenant_id: int, task_id: int):
        self.flush()
        return super().load_task(tenant_id, task_id)

    def set_has_incident(self, case_id: int) -> None:
        self.flush()
        super().set_has_incident(case_id)

    def complete_task(self, task_id: int, now, by) -> bool:
        self.flush()
        return super().complete_task(task_id, now, by)

    def cancel_tasks(self, case_id: int, spiff_ids: set[str], now) -> list[int]:
        self.flush()
        return super().cancel_tasks(case_id, spiff_ids, now)

    def open_tasks(self, case_id: int, spiff_ids: set[str]) -> list:
        self.flush()
        return super().open_tasks(case_id, spiff_ids)

    def open_incident(self, tenant_id: int, incident_id: int):
        self.flush()
        return super().open_incident(tenant_id, incident_id)

    def resolve_incidents(self, case_id: int, now) -> int:
        self.flush()
        return super().resolve_incidents(case_id, now)

    def add_incident(self, values: dict) -> None:
        self.flush()
        super().add_incident(values)
