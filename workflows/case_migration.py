"""Moving running cases of a process key to another deployed version (bulk migration, issue 12).

A run names the key, the version the cases run on and the one they move to, optionally the
cases and a mapping ``{"old_element_id": "new_element_id"}`` for elements the new version
no longer has. Per case it answers whether the case can move, or why not:

* an element the case waits on (or went through) is gone and not mapped;
* the case would stand on an automatic step after the move (it never runs scripts here);
* a field the new version's form of an open task shows read-only (from the case data) and
  requires is not in the case data;
* the case is suspended or has an open incident (resolve that first).

The workflow is moved with SpiffWorkflow's own diff utilities
(:mod:`SpiffWorkflow.bpmn.util.diff`: ``SpecDiff`` aligns the two specs by element id and
structure, the mapping overrides it, ``migrate_workflow`` re-points the tasks and re-predicts
what follows the waiting ones). Waiting timer events keep their due time (the timer's value
is kept when the timer is the same in both versions), so timers stay valid and the case's
deadline clock (``case_clocks``, ``cases.deadline``, task due dates) is not touched.

Every case moves in its own transaction under its version check (a case changed meanwhile is
reported ``stale``, never overwritten) and writes its item row there too, with a
``case.migrated`` trail event (from, to, mapping, who, the tasks re-pointed). The run is
resumable: the cases left are those of the old version with no item of the run yet, so a
crash between (or inside) batches loses nothing and moves no case twice.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, exists, func, select

from .accounts import Actor
from .cases import CASES, FINAL_CASE_STATUSES, OPEN_TASK_STATUSES, SUSPENDED, TASK_CANDIDATES, TASKS, CaseRecord
from .context import EngineContext
from .deadlines import TIMERS, OPEN_TIMER_STATUSES
from .engine import ModelRuntime, own_spec, reconnect_triggered_participants, waiting_timers
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import CaseMigration, CaseMigrationItem, ProcessModel, utcnow
from .trail import write_case_row

log = logging.getLogger(__name__)

MIGRATE_ROLES = ("designer", "admin")
DEFAULT_BATCH = 100
MAX_CASE_IDS = 10_000
MAX_MAPPING = 500
RUNS = CaseMigration.__table__
ITEMS = CaseMigrationItem.__table__
ALL_OUTCOMES = ("migrated", "can_migrate", "blocked", "stale", "failed")


# -- the plan: two versions and how their elements line up ---------------------------------------
@dataclass
class Plan:
    run_id: int
    tenant_id: int
    key: str
    from_model: Any
    to_model: Any
    old: ModelRuntime
    new: ModelRuntime
    mapping: dict[str, str]
    top: SpecDiff
    subprocesses: dict[str, SpecDiff | None]
    dry_run: bool
    actor: str


def _element_ids(runtime: ModelRuntime) -> dict[str, Any]:
    ids = {}
    for spec in [runtime.spec, *runtime.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id:
                ids.setdefault(bpmn_id, task_spec)
    return ids


def _apply_mapping(diff: SpecDiff, old_spec, new_spec, mapping: dict[str, str]) -> None:
    """Point the diff's alignment of each mapped old element at the new element it maps to."""
    for old_id, new_id in mapping.items():
        old_task_spec = old_spec.task_specs.get(old_id)
        new_task_spec = new_spec.task_specs.get(new_id)
        if old_task_spec is None or new_task_spec is None:
            continue
        diff.alignment[old_task_spec] = new_task_spec
        if new_task_spec in diff.added:
            diff.added.remove(new_task_spec)


def _spec_diffs(registry, old: ModelRuntime, new: ModelRuntime, mapping: dict[str, str]):
    top = SpecDiff(registry, old.spec, new.spec)
    _apply_mapping(top, old.spec, new.spec, mapping)
    subprocesses: dict[str, SpecDiff | None] = {}
    for name, spec in old.subprocess_specs.items():
        target = new.subprocess_specs.get(name)
        if target is None:
            subprocesses[name] = None
            continue
        diff = SpecDiff(registry, spec, target)
        _apply_mapping(diff, spec, target, mapping)
        subprocesses[name] = diff
    return top, subprocesses


def _check_mapping(mapping: Any, old: ModelRuntime, new: ModelRuntime, from_version: int, to_version: int) -> dict:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidInput("the mapping must be an object of old element id → new element id",
                           {"mapping": ["not an object"]})
    if len(mapping) > MAX_MAPPING:
        raise InvalidInput(f"at most {MAX_MAPPING} mapped elements", {"mapping": [f"at most {MAX_MAPPING} entries"]})
    problems = []
    old_ids, new_ids = _element_ids(old), _element_ids(new)
    for old_id, new_id in mapping.items():
        if not isinstance(new_id, str) or not new_id or len(old_id) > 255 or len(new_id) > 255:
            problems.append(f"{old_id[:255]}: the new element id must be a non-empty string")
        elif old_id not in old_ids:
            problems.append(f"{old_id}: version {from_version} has no element with this id")
        elif new_id not in new_ids:
            problems.append(f"{old_id} → {new_id}: version {to_version} has no element with this id")
    if problems:
        raise InvalidInput("the mapping names elements the versions do not have: " + "; ".join(problems[:3]),
                           {"mapping": problems})
    return dict(mapping)


def _check_case_ids(case_ids: Any) -> list[int] | None:
    if case_ids is None:
        return None
    if not isinstance(case_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in case_ids):
        raise InvalidInput("case_ids must be a list of case ids", {"case_ids": ["a list of integers"]})
    if len(case_ids) > MAX_CASE_IDS:
        raise InvalidInput(f"at most {MAX_CASE_IDS:,} cases per run", {"case_ids": [f"at most {MAX_CASE_IDS:,}"]})
    return sorted(set(case_ids))


def _model(s, tenant_id: int, key: str, version: Any, what: str) -> ProcessModel:
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput(f"{what} must be a version number", {what: ["an integer"]})
    model = s.scalar(select(ProcessModel).where(
        ProcessModel.tenant_id == tenant_id, ProcessModel.key == key, ProcessModel.version == version))
    if model is None:
        raise NotFound(f"process model {key!r} has no version {version}")
    return model


# -- one case --------------------------------------------------------------------------------------
@dataclass
class Assessment:
    reasons: list[dict] = field(default_factory=list)
    workflow: Any = None

    def why(self, code: str, message: str, element_id: str | None = None, **detail) -> None:
        self.reasons.append({"code": code, "element_id": element_id, "message": message, **detail})


def _label(task) -> str:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    return f"{bpmn_id} ({name})" if name and name != bpmn_id else bpmn_id


def assess(ctx: EngineContext, plan: Plan, record: CaseRecord, state: str) -> Assessment:
    """Whether the case can move to the plan's new version; with the moved workflow if it can."""
    result = Assessment()
    if record.status == SUSPENDED:
        result.why("suspended", "the case is suspended; resume it before moving it")
    if record.has_incident:
        result.why("incident", "the case has an open incident; resolve it before moving it")
    if result.reasons:
        return result
    workflow = ctx.engine.load(plan.old, state)
    timers_before = {t.spiff_id: t for t in waiting_timers(workflow)}
    kept_values = {
        str(task.id): (task._get_internal_data("event_value"), getattr(task.task_spec, "event_definition", None))
        for task in workflow.get_tasks(state=TaskState.WAITING)
    }
    top, new_spec = plan.top, plan.new.spec
    if workflow.spec is not plan.old.spec:
        # A collaboration's case runs on its own copy of the spec (engine.own_spec): diff that copy,
        # and move the case onto its own copy of the new spec, never onto the shared one.
        new_spec = own_spec(plan.new.spec)
        top = SpecDiff(ctx.engine.registry_for(workflow.spec), workflow.spec, new_spec)
        _apply_mapping(top, workflow.spec, new_spec, plan.mapping)
    diffs = [(workflow, WorkflowDiff(workflow, top), new_spec)]
    for sp_id, sub in workflow.subprocesses.items():
        diff = plan.subprocesses.get(sub.spec.name)
        if diff is None:
            result.why("subprocess_gone", f"the subprocess {sub.spec.name} the case is in is gone in version "
                       f"{plan.to_model.version}", sub.spec.name)
            continue
        diffs.append((sub, WorkflowDiff(sub, diff), plan.new.subprocess_specs[sub.spec.name]))
    for _, diff, _ in diffs:
        for task in diff.removed:
            if task.has_state(TaskState.FUTURE | TaskState.PREDICTED_MASK):
                continue  # not reached yet: predicted again from the new version (checked below)
            element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
            if task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR):
                result.why("waiting_element_gone",
                           f"the case waits at {_label(task)}, which version {plan.to_model.version} no longer has; "
                           "map it to an element of that version", element)
            else:
                result.why("passed_element_gone",
                           f"the case went through {_label(task)}, which version {plan.to_model.version} no longer "
                           "has; map it to an element of that version", element)
    if result.reasons:
        return result
    old_forms = {t.spiff_id: plan.old.forms.get(t.form_key) if t.form_key else None
                 for t in ctx.engine.ready_tasks(plan.old, workflow)}
    for target, diff, spec in diffs:
        migrate_workflow(diff, target, spec)
    workflow.subprocess_specs = plan.new.subprocess_specs
    reconnect_triggered_participants(workflow)
    # Same timer in both versions: it keeps its due time (migrate_workflow predicted it anew).
    for task in workflow.get_tasks(state=TaskState.WAITING):
        value, definition = kept_values.get(str(task.id), (None, None))
        if value is None or definition is None:
            continue
        new_definition = getattr(task.task_spec, "event_definition", None)
        if new_definition is not None and _same_definition(ctx, definition, new_definition):
            task._set_internal_data(event_value=value)
    automatic = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
    for task in automatic:
        result.why("automatic_step", f"after the move the case would stand on the automatic step {_label(task)}; "
                   "map its element to a user task or an event", task.task_spec.bpmn_id)
    if result.reasons:
        return result
    ready = ctx.engine.ready_tasks(plan.new, workflow)
    data = record.data or {}
    for task in ready:
        schema = plan.new.forms.get(task.form_key) if task.form_key else None
        if schema == old_forms.get(task.spiff_id):
            continue  # the form the task had: what it lacks now it lacked before the move
        for name in _shown_required(schema):
            if name not in data:
                result.why("missing_data", f"the form {task.form_key} of {task.element_id} requires {name}, "
                           "which it shows from the case data, and the case has no such data", task.element_id,
                           field=name)
    if result.reasons:
        return result
    # The moved state must stand on the new version alone (no task left on an old element).
    for target, _, spec in diffs:
        for task in target.tasks.values():
            if spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                result.why("passed_element_gone",
                           f"the case holds {_label(task)}, which version {plan.to_model.version} no longer has; "
                           "map it to an element of that version", getattr(task.task_spec, "bpmn_id", None))
                return result
    state_after = ctx.engine.dump(workflow)
    result.workflow = SimpleNamespace(
        state=state_after, ready=ready, timers=waiting_timers(workflow), timers_before=timers_before,
    )
    return result


def _same_definition(ctx: EngineContext, old, new) -> bool:
    registry = ctx.engine.serializer.registry
    try:
        return registry.convert(old) == registry.convert(new)
    except Exception:  # an event definition the serializer cannot compare: start it anew
        return False


def _shown_required(schema: dict | None) -> list[str]:
    """Required top-level fields a form shows from the case data (``readOnly``): the clerk cannot fill them."""
    if not isinstance(schema, dict):
        return []
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    if not isinstance(props, dict) or not isinstance(required, list):
        return []
    return [name for name in required
            if isinstance(name, str) and isinstance(props.get(name), dict) and props[name].get("readOnly") is True]


# -- writing a moved case -----------------------------------------------------------------------------
_RECORD_COLUMNS = [CASES.c[name] for name in CaseRecord.__dataclass_fields__ if name in CASES.c]
_MOVE_CASE = (
    CASES.update()
    .where(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_version"),
           CASES.c.model_id == bindparam("b_from_model"))
    .values(
        model_id=bindparam("b_to_model"),
        model_version=bindparam("b_to_version"),
        state=bindparam("b_state", type_=CASES.c.state.type),
        updated_at=bindparam("b_updated_at", type_=CASES.c.updated_at.type),
        version=CASES.c.version + 1,
    )
    .returning(CASES.c.trail_seq, CASES.c.trail_hash)
)


_CLAIM_CASE = (
    CASES.update()
    .where(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_version"),
           CASES.c.model_id == bindparam("b_from_model"))
    .values(version=CASES.c.version)
)


def _write_moved(ctx: EngineContext, uow, plan: Plan, record: CaseRecord, moved, now: datetime) -> list[dict]:
    conn = uow.session.connection()
    ready = {t.spiff_id: t for t in moved.ready}
    rows = conn.execute(select(TASKS).where(
        TASKS.c.case_id == record.id, TASKS.c.status.in_(OPEN_TASK_STATUSES), TASKS.c.kind == "user")).all()
    repointed = []
    gone = []
    for row in rows:
        task = ready.get(row.spiff_id)
        if task is None:
            gone.append(row.id)
            continue
        changed = (row.element_id, row.name, row.group, row.form_key) != (task.element_id, task.name, task.lane, task.form_key)
        conn.execute(TASKS.update().where(TASKS.c.id == row.id).values(
            element_id=task.element_id, name=task.name, group=task.lane, form_key=task.form_key,
            candidate_groups=task.candidate_groups, candidate_users=task.candidate_users, version=TASKS.c.version + 1,
        ))
        conn.execute(TASK_CANDIDATES.delete().where(TASK_CANDIDATES.c.task_id == row.id))
        candidates = [{"task_id": row.id, "kind": kind, "name": name, "tenant_id": record.tenant_id}
                      for kind, names in (("group", task.candidate_groups), ("user", task.candidate_users))
                      for name in sorted(set(names or ())) if len(name) <= 150]
        if candidates:
            conn.execute(TASK_CANDIDATES.insert(), candidates)
        if changed:
            repointed.append({"task_id": row.id, "from": row.element_id, "to": task.element_id,
                              "group": task.lane, "form": task.form_key})
    if gone:  # cannot happen for a user task kept by the diff; kept safe all the same
        conn.execute(TASKS.update().where(TASKS.c.id.in_(gone)).values(status="cancelled", completed_at=now,
                                                                       version=TASKS.c.version + 1))
        conn.execute(TASK_CANDIDATES.delete().where(TASK_CANDIDATES.c.task_id.in_(gone)))
        for task_id in gone:
            uow.record("task.cancelled", record.tenant_id, case_id=record.id, task_id=task_id, at=now)
    known = {row.spiff_id for row in rows}
    new_rows = [
        {"tenant_id": record.tenant_id, "case_id": record.id, "spiff_id": t.spiff_id, "element_id": t.element_id,
         "name": t.name, "group": t.lane, "candidate_groups": t.candidate_groups, "candidate_users": t.candidate_users,
         "status": "ready", "assignee": None, "delegated_by": None, "service_code": record.service_code,
         "priority": t.priority, "form_key": t.form_key, "created_at": now, "due_at": record.deadline,
         "warn_at": None, "completed_at": None, "completed_by": None, "version": 1}
        for t in moved.ready if t.spiff_id not in known
    ]
    if new_rows:
        ids = conn.execute(TASKS.insert().returning(TASKS.c.id, sort_by_parameter_order=True), new_rows).scalars().all()
        for task_id, row in zip(ids, new_rows):
            candidates = [{"task_id": task_id, "kind": kind, "name": name, "tenant_id": record.tenant_id}
                          for kind, names in (("group", row["candidate_groups"]), ("user", row["candidate_users"]))
                          for name in sorted(set(names or ())) if len(name) <= 150]
            if candidates:
                conn.execute(TASK_CANDIDATES.insert(), candidates)
            uow.record("task.created", record.tenant_id, case_id=record.id, task_id=task_id, at=now,
                       data={"name": row["name"], "element_id": row["element_id"], "group": row["group"]})
    _sync_timers(conn, record, moved, now)
    return repointed


def _sync_timers(conn, record: CaseRecord, moved, now: datetime) -> None:
    """Timer rows follow the moved workflow: kept timers keep their row (re-pointed), others go or come."""
    after = {t.spiff_id: t for t in moved.timers}
    open_rows = (TIMERS.c.case_id == record.id) & (TIMERS.c.kind == "bpmn") & TIMERS.c.status.in_(OPEN_TIMER_STATUSES)
    rows = conn.execute(select(TIMERS.c.id, TIMERS.c.spiff_id, TIMERS.c.element_id, TIMERS.c.due_at).where(open_rows)).all()
    have = set()
    for row in rows:
        timer = after.get(row.spiff_id)
        if timer is None:
            conn.execute(TIMERS.update().where(TIMERS.c.id == row.id).values(status="cancelled"))
            continue
        have.add(row.spiff_id)
        if row.element_id != timer.element_id or abs((row.due_at - timer.due_at).total_seconds()) > 0.001:
            conn.execute(TIMERS.update().where(TIMERS.c.id == row.id).values(
                element_id=timer.element_id, due_at=timer.due_at, status="pending", claimed_by=None, claimed_at=None))
    for spiff_id, timer in after.items():
        if spiff_id not in have:
            conn.execute(TIMERS.insert().values(
                tenant_id=record.tenant_id, case_id=record.id, kind="bpmn", spiff_id=spiff_id,
                element_id=timer.element_id, due_at=timer.due_at, status="pending", attempt=0, claims=0, created_at=now))


def _item(conn, run_id: int, case_id: int, outcome: str, reasons: list[dict], now: datetime) -> None:
    conn.execute(ITEMS.insert().values(run_id=run_id, case_id=case_id, outcome=outcome, reasons=reasons, at=now))


class _Stale(Exception):
    """The case's version moved between reading and writing it (rolled back, reported stale)."""


def _migrate_case(ctx: EngineContext, plan: Plan, case_id: int) -> str:
    """Assess one case and, unless dry, move it: one transaction, its item row included."""
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        row = conn.execute(select(*_RECORD_COLUMNS, CASES.c.state, CASES.c.model_id.label("on_model")).where(
            CASES.c.id == case_id, CASES.c.tenant_id == plan.tenant_id)).one_or_none()
        now = ctx.clock()
        if row is None or row.on_model != plan.from_model.id:  # moved meanwhile (another run) or gone
            _item(conn, plan.run_id, case_id, "stale",
                  [{"code": "stale", "element_id": None, "message": "the case is no longer on the old version"}], now)
            uow.commit()
            return "stale"
        values = row._asdict()
        state = values.pop("state")
        values.pop("on_model")
        record = CaseRecord(**values)
        assessment = _assess_for(ctx, plan, record, state)
        if assessment.reasons:
            _item(conn, plan.run_id, case_id, "blocked", assessment.reasons, now)
            uow.commit()
            return "blocked"
        if plan.dry_run:
            _item(conn, plan.run_id, case_id, "can_migrate", [], now)
            uow.commit()
            return "can_migrate"
        moved = assessment.workflow
        # Lock the row under the version read (a concurrent step makes this match nothing: stale).
        if conn.execute(_CLAIM_CASE, {"b_id": record.id, "b_version": record.version,
                                      "b_from_model": plan.from_model.id}).rowcount != 1:
            raise _Stale()
        repointed = _write_moved(ctx, uow, plan, record, moved, now)
        uow.record(
            "case.migrated", record.tenant_id, case_id=record.id, actor=plan.actor, at=now,
            data={"run_id": plan.run_id, "process_key": plan.key, "from_version": plan.from_model.version,
                  "to_version": plan.to_model.version, "mapping": plan.mapping, "tasks": repointed},
        )
        params = {"b_id": record.id, "b_version": record.version, "b_from_model": plan.from_model.id,
                  "b_to_model": plan.to_model.id, "b_to_version": plan.to_model.version, "b_state": moved.state,
                  "b_updated_at": now}
        if write_case_row(ctx, uow, conn, _MOVE_CASE, params, record) is None:
            raise _Stale()
        _item(conn, plan.run_id, case_id, "migrated", [], now)
        uow.after_commit(lambda: ctx.workflows.take(case_id, -1))  # the cached workflow is the old version's
        uow.commit()
        return "migrated"


def _assess_for(ctx: EngineContext, plan: Plan, record: CaseRecord, state: str) -> Assessment:
    """:func:`assess`, kept as a seam so tests can act as a concurrent clerk between read and write."""
    return assess(ctx, plan, record, state)


def _stale(ctx: EngineContext, plan: Plan, case_id: int) -> str:
    with ctx.unit_of_work() as uow:
        _item(uow.session.connection(), plan.run_id, case_id, "stale",
              [{"code": "stale", "element_id": None,
                "message": "the case was changed while it was being moved; it was left as it is — run again"}],
              ctx.clock())
        uow.commit()
    return "stale"


def _failed(ctx: EngineContext, plan: Plan, case_id: int, exc: Exception) -> str:
    log.exception("moving case %s (run %s) failed", case_id, plan.run_id)
    with ctx.unit_of_work() as uow:
        _item(uow.session.connection(), plan.run_id, case_id, "failed",
              [{"code": "error", "element_id": None, "message": f"{type(exc).__name__}: {exc}"[:500]}], ctx.clock())
        uow.commit()
    return "failed"


# -- runs ---------------------------------------------------------------------------------------------
def _pending_cases(s, plan: Plan, case_ids: list[int] | None, limit: int) -> list[int]:
    query = select(CASES.c.id).where(
        CASES.c.tenant_id == plan.tenant_id, CASES.c.model_id == plan.from_model.id,
        CASES.c.status.not_in(FINAL_CASE_STATUSES),
        ~exists().where(ITEMS.c.run_id == plan.run_id, ITEMS.c.case_id == CASES.c.id),
    )
    if case_ids is not None:
        query = query.where(CASES.c.id.in_(case_ids))
    return list(s.execute(query.order_by(CASES.c.id).limit(limit)).scalars())


def _batch_done(ctx: EngineContext, run_id: int, number: int) -> None:
    """After each batch: the run's progress (a seam where tests make the process die)."""
    with ctx.unit_of_work() as uow:
        uow.session.execute(RUNS.update().where(RUNS.c.id == run_id).values(batches=RUNS.c.batches + 1,
                                                                             updated_at=ctx.clock()))
        uow.commit()


#: a run whose executor has not reported for this long is taken to have died: it may be resumed
LEASE_SECONDS = 120


def migrate_cases(
    ctx: EngineContext, actor: Actor, key: str, from_version: Any, to_version: Any, *,
    case_ids: Any = None, mapping: Any = None, dry_run: bool = True, resume: int | None = None,
    batch_size: int = DEFAULT_BATCH, progress: Callable[[dict], None] | None = None,
) -> dict:
    """Start (or resume) a migration run and carry it to its end here; returns the run's report.

    Re-posting the same parameters while an earlier real run of them is unfinished resumes it.
    """
    run_id = start_run(ctx, actor, key, from_version, to_version, case_ids=case_ids, mapping=mapping,
                       dry_run=dry_run, resume=resume, batch_size=batch_size)
    return execute_run(ctx, run_id, actor.username, progress=progress)


def start_run(
    ctx: EngineContext, actor: Actor, key: str, from_version: Any, to_version: Any, *,
    case_ids: Any = None, mapping: Any = None, dry_run: bool = True, resume: int | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Check the request and write (or take over) the run row; :func:`execute_run` does the work."""
    if not actor.has_role(*MIGRATE_ROLES):
        raise Forbidden("only designers and admins move cases to another version")
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false", {"dry_run": ["a boolean"]})
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 1000:
        raise InvalidInput("batch_size must be between 1 and 1000", {"batch_size": ["1 … 1000"]})
    with ctx.unit_of_work() as uow:
        s = uow.session
        run = None
        if resume is not None:
            run = s.get(CaseMigration, resume)
            if run is None or run.tenant_id != actor.tenant_id or run.process_key != key:
                raise NotFound(f"migration run {resume} does not exist")
            from_version, to_version, mapping, case_ids = run.from_version, run.to_version, run.mapping, run.case_ids
            dry_run = run.dry_run
        old_model = _model(s, actor.tenant_id, key, from_version, "from_version")
        new_model = _model(s, actor.tenant_id, key, to_version, "to_version")
        if old_model.id == new_model.id:
            raise InvalidInput("from_version and to_version are the same", {"to_version": ["another version"]})
        if not new_model.executable:
            raise Conflict(f"version {new_model.version} of {key!r} is not executable; cases cannot run on it")
        if not old_model.executable:
            raise Conflict(f"version {old_model.version} of {key!r} is not executable; no case runs on it")
        old = ctx.runtimes.get(s, old_model.id)
        new = ctx.runtimes.get(s, new_model.id)
        mapping = _check_mapping(mapping, old, new, old_model.version, new_model.version)
        case_ids = _check_case_ids(case_ids)
        if case_ids and resume is None:
            known = set(s.scalars(select(CASES.c.id).where(CASES.c.tenant_id == actor.tenant_id,
                                                            CASES.c.id.in_(case_ids))))
            unknown = [i for i in case_ids if i not in known]
            if unknown:
                raise NotFound(f"case {unknown[0]} does not exist"
                               + (f" (nor {len(unknown) - 1} more of the cases asked for)" if len(unknown) > 1 else ""))
        if resume is None and not dry_run:  # the same request again continues its unfinished run
            earlier = s.scalars(select(CaseMigration).where(
                CaseMigration.tenant_id == actor.tenant_id, CaseMigration.process_key == key,
                CaseMigration.from_model_id == old_model.id, CaseMigration.to_model_id == new_model.id,
                CaseMigration.dry_run.is_(False), CaseMigration.status != "done",
            ).order_by(CaseMigration.id.desc())).all()
            run = next((r for r in earlier if (r.mapping or {}) == mapping and r.case_ids == case_ids), None)
        now = ctx.clock()
        if run is None:
            run = CaseMigration(
                tenant_id=actor.tenant_id, process_key=key, from_version=old_model.version,
                to_version=new_model.version, from_model_id=old_model.id, to_model_id=new_model.id,
                mapping=mapping, case_ids=case_ids, dry_run=dry_run, status="running", batch_size=batch_size,
                batches=0, created_by=actor.username, created_at=now, updated_at=now,
            )
            s.add(run)
            s.flush()
            uow.record("migration.started", actor.tenant_id, actor=actor.username, at=now,
                       data={"run_id": run.id, "process_key": key, "from_version": old_model.version,
                             "to_version": new_model.version, "mapping": mapping, "dry_run": dry_run,
                             "cases": len(case_ids) if case_ids is not None else None})
        else:
            if run.status == "done":
                raise Conflict(f"migration run {run.id} is finished; nothing to resume")
            if run.status == "running" and (now - run.updated_at).total_seconds() < LEASE_SECONDS:
                raise Conflict(f"migration run {run.id} is in progress; follow it, or resume it if it stops "
                               f"reporting for {LEASE_SECONDS} seconds")
            taken = s.execute(RUNS.update().where(RUNS.c.id == run.id, RUNS.c.updated_at == run.updated_at)
                              .values(status="running", error=None, updated_at=now))
            if taken.rowcount != 1:
                raise Conflict(f"migration run {run.id} was resumed by someone else at the same time")
            uow.record("migration.resumed", actor.tenant_id, actor=actor.username, at=now,
                       data={"run_id": run.id, "process_key": key})
        run_id = run.id
        uow.commit()
    return run_id


def execute_run(ctx: EngineContext, run_id: int, username: str,
                progress: Callable[[dict], None] | None = None) -> dict:
    """Carry a started run to its end: batches of cases, each case in its own transaction."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        run = s.get(CaseMigration, run_id)
        if run is None:
            raise NotFound(f"migration run {run_id} does not exist")
        tenant_id, key, dry_run, batch_size = run.tenant_id, run.process_key, run.dry_run, run.batch_size
        mapping, case_ids = dict(run.mapping or {}), run.case_ids
        old_model = s.get(ProcessModel, run.from_model_id)
        new_model = s.get(ProcessModel, run.to_model_id)
        old = ctx.runtimes.get(s, old_model.id)
        new = ctx.runtimes.get(s, new_model.id)
        old_model = SimpleNamespace(id=old_model.id, version=old_model.version)
        new_model = SimpleNamespace(id=new_model.id, version=new_model.version)
    top, subprocesses = _spec_diffs(ctx.engine.registry_for(old.spec), old, new, mapping)
    plan = Plan(run_id, tenant_id, key, old_model, new_model, old, new, mapping, top, subprocesses, dry_run, username)
    number = 0
    try:
        while True:
            with ctx.unit_of_work() as uow:
                batch = _pending_cases(uow.session, plan, case_ids, batch_size)
            if not batch:
                break
            for case_id in batch:
                try:
                    _migrate_case(ctx, plan, case_id)
                except (Conflict, _Stale):
                    _stale(ctx, plan, case_id)
                except Exception as exc:  # one case's surprise never stops the others
                    _failed(ctx, plan, case_id, exc)
            number += 1
            _batch_done(ctx, run_id, number)
            if progress is not None:
                progress(run_report(ctx, tenant_id, run_id, items=False))
    except BaseException as exc:  # stopped (an error, or the process told to end): resumable
        try:
            with ctx.unit_of_work() as uow:
                uow.session.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                    status="interrupted", error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=ctx.clock()))
                uow.commit()
        except Exception:  # the database is what failed: the lease runs out and it is resumed then
            log.exception("migration run %s: could not note the interruption", run_id)
        raise
    with ctx.unit_of_work() as uow:
        counts = _counts(uow.session, run_id)
        finished = ctx.clock()
        uow.session.execute(RUNS.update().where(RUNS.c.id == run_id).values(status="done", updated_at=finished,
                                                                             finished_at=finished))
        uow.record("migration.finished", tenant_id, actor=username, at=finished,
                   data={"run_id": run_id, "process_key": key, "dry_run": dry_run, "counts": counts})
        uow.commit()
    return run_report(ctx, tenant_id, run_id)


def _counts(s, run_id: int) -> dict[str, int]:
    counts = dict.fromkeys(ALL_OUTCOMES, 0)
    for outcome, n in s.execute(select(ITEMS.c.outcome, func.count()).where(ITEMS.c.run_id == run_id)
                                .group_by(ITEMS.c.outcome)):
        counts[outcome] = n
    return counts


def _run_view(run: CaseMigration, counts: dict, pending: int) -> dict:
    return {
        "id": run.id, "process_key": run.process_key, "from_version": run.from_version,
        "to_version": run.to_version, "mapping": run.mapping or {}, "case_ids": run.case_ids,
        "dry_run": run.dry_run, "status": run.status, "error": run.error, "batch_size": run.batch_size,
        "batches": run.batches, "created_by": run.created_by, "created_at": run.created_at,
        "updated_at": run.updated_at, "finished_at": run.finished_at, "counts": counts,
        "processed": sum(counts.values()), "pending": pending,
    }


def run_report(ctx: EngineContext, tenant_id: int, run_id: int, items: bool = True) -> dict:
    with ctx.unit_of_work() as uow:
        s = uow.session
        run = s.get(CaseMigration, run_id)
        if run is None or run.tenant_id != tenant_id:
            raise NotFound(f"migration run {run_id} does not exist")
        counts = _counts(s, run_id)
        pending = 0
        if run.status != "done":
            pending = s.scalar(select(func.count()).select_from(CASES).where(
                CASES.c.tenant_id == tenant_id, CASES.c.model_id == run.from_model_id,
                CASES.c.status.not_in(FINAL_CASE_STATUSES),
                *( [CASES.c.id.in_(run.case_ids)] if run.case_ids is not None else []),
                ~exists().where(ITEMS.c.run_id == run_id, ITEMS.c.case_id == CASES.c.id)))
        view = _run_view(run, counts, pending)
        if items:
            rows = s.execute(select(ITEMS.c.case_id, CASES.c.number, ITEMS.c.outcome, ITEMS.c.reasons, ITEMS.c.at)
                             .join_from(ITEMS, CASES, CASES.c.id == ITEMS.c.case_id)
                             .where(ITEMS.c.run_id == run_id).order_by(ITEMS.c.case_id)).all()
            view["cases"] = [{"id": r.case_id, "case_id": r.case_id, "number": r.number, "outcome": r.outcome,
                              "migratable": r.outcome in ("migrated", "can_migrate"),
                              "reason": "; ".join(x["message"] for x in r.reasons or []) or None,
                              "reasons": r.reasons or [], "at": r.at} for r in rows]
        return view


def get_run(ctx: EngineContext, actor: Actor, key: str, run_id: int) -> dict:
    if not actor.has_role(*MIGRATE_ROLES):
        raise Forbidden("only designers and admins read migration runs")
    with ctx.unit_of_work() as uow:
        run = uow.session.get(CaseMigration, run_id)
        if run is None or run.tenant_id != actor.tenant_id or run.process_key != key:
            raise NotFound(f"migration run {run_id} does not exist")
    return run_report(ctx, actor.tenant_id, run_id)


def list_runs(ctx: EngineContext, actor: Actor, key: str, limit: int = 20) -> list[dict]:
    if not actor.has_role(*MIGRATE_ROLES):
        raise Forbidden("only designers and admins read migration runs")
    with ctx.unit_of_work() as uow:
        if uow.session.scalar(select(ProcessModel.id).where(ProcessModel.tenant_id == actor.tenant_id,
                                                            ProcessModel.key == key).limit(1)) is None:
            raise NotFound(f"process model {key!r} does not exist")
        runs = uow.session.scalars(select(CaseMigration).where(
            CaseMigration.tenant_id == actor.tenant_id, CaseMigration.process_key == key)
            .order_by(CaseMigration.id.desc()).limit(limit)).all()
        return [_run_view(r, _counts(uow.session, r.id), 0) for r in runs]


def versions_with_cases(ctx: EngineContext, actor: Actor, key: str) -> list[dict]:
    """The key's versions with their running cases (for the studio page)."""
    if not actor.has_role(*MIGRATE_ROLES):
        raise Forbidden("only designers and admins move cases to another version")
    with ctx.unit_of_work() as uow:
        s = uow.session
        models = s.scalars(select(ProcessModel).where(ProcessModel.tenant_id == actor.tenant_id,
                                                      ProcessModel.key == key).order_by(ProcessModel.version)).all()
        if not models:
            raise NotFound(f"process model {key!r} does not exist")
        running = dict(s.execute(select(CASES.c.model_id, func.count()).where(
            CASES.c.tenant_id == actor.tenant_id, CASES.c.process_key == key,
            CASES.c.status.not_in(FINAL_CASE_STATUSES)).group_by(CASES.c.model_id)).all())
        return [{"version": m.version, "name": m.name, "executable": bool(m.executable),
                 "running": running.get(m.id, 0)} for m in models]


def dumps_report(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, default=str, indent=2)


__all__ = ["migrate_cases", "get_run", "list_runs", "run_report", "assess", "versions_with_cases", "utcnow"]


def _element_choices(runtime: ModelRuntime) -> list[dict]:
    """Elements cases can stand on (tasks and catching events), as {id, name}."""
    result = []
    for bpmn_id, task_spec in sorted(_element_ids(runtime).items()):
        kind = type(task_spec).__name__
        if "StartEvent" in kind or "Gateway" in kind or "EndEvent" in kind or kind.endswith("Split"):
            continue
        result.append({"id": bpmn_id, "name": getattr(task_spec, "bpmn_name", None) or bpmn_id, "kind": kind})
    return result


def mapping_choices(ctx: EngineContext, actor: Actor, key: str, from_version: Any, to_version: Any) -> dict:
    """What a designer maps before moving cases: the old version's elements the new one lacks
    (SpiffWorkflow's alignment by id and structure) and the new version's elements to map them to."""
    if not actor.has_role(*MIGRATE_ROLES):
        raise Forbidden("only designers and admins move cases to another version")
    with ctx.unit_of_work() as uow:
        s = uow.session
        old_model = _model(s, actor.tenant_id, key, from_version, "from_version")
        new_model = _model(s, actor.tenant_id, key, to_version, "to_version")
        for model in (old_model, new_model):
            if not model.executable:
                raise Conflict(f"version {model.version} of {key!r} is not executable")
        old = ctx.runtimes.get(s, old_model.id)
        new = ctx.runtimes.get(s, new_model.id)
    top, subprocesses = _spec_diffs(ctx.engine.registry_for(old.spec), old, new, {})
    gone = []
    for diff in [top, *[d for d in subprocesses.values() if d is not None]]:
        for task_spec in diff.removed:
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and not any(g["id"] == bpmn_id for g in gone):
                gone.append({"id": bpmn_id, "name": getattr(task_spec, "bpmn_name", None) or bpmn_id})
    return {"gone": gone, "targets": _element_choices(new)}
