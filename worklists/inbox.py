"""Inbox queries: the tasks a clerk may see, one page at a time, and the counts for badges.

How a page is read (the same on SQLite and PostgreSQL):

* What an actor may see is a union of *access paths*, each an equality prefix of an index
  on ``tasks``: one lane group and status (``ix_tasks_inbox*``), one assignee and status
  (``ix_tasks_assignee``), the tenant and status for admins (``ix_tasks_tenant``), the
  delegator (``ix_tasks_delegated``), and candidate tasks found through ``task_candidates``.
* Each path reads at most ``limit + 1`` rows after the cursor in sort order, an index range
  read that never sorts a whole group; the paths' rows are merged, de-duplicated and cut.
  The union of every path's first ``limit + 1`` rows holds the first ``limit + 1`` rows of
  the whole view, so the page is exact.
* Pagination is keyset: the cursor holds the last row's sort key and id, so tasks added or
  completed meanwhile never shift or repeat what follows. Tasks without a due time come
  after all others under ``sort=due``, read in a second phase ordered by id.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, literal_column, null, or_, select, tuple_, union_all

from workflows.accounts import Actor
from workflows.cases import OPEN_TASK_STATUSES, task_form
from workflows.context import EngineContext
from workflows.errors import InvalidInput, NotFound
from workflows.identity_numbers import personal_data_view
from workflows.models import Case

from .access import may_see, require_worklist, visible_groups
from .repository import CANDIDATES, CASES, MAX_ID, TASKS, SqlTaskRepository, TaskRecord, task_item

SCOPES = ("mine", "group", "all", "delegated")
SORTS = ("due", "priority", "created")
STATUSES = ("ready", "claimed", "completed", "cancelled")
MAX_LIMIT = 500
MAX_CURSOR = 500
T = TASKS
C = CANDIDATES


@dataclass(frozen=True)
class Filters:
    group: str | None = None
    service_code: str | None = None
    case_number: str | None = None
    applicant_id: int | None = None
    due_before: datetime | None = None
    overdue: bool = False
    warned: bool = False


def list_tasks(
    ctx: EngineContext,
    actor: Actor,
    scope: str = "all",
    group: str | None = None,
    service_code: str | None = None,
    case_number: str | None = None,
    applicant_id: int | None = None,
    status: str | None = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    warned: bool | None = None,
    sort: str = "due",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """A page of the tasks in ``scope`` that pass the filters, and the cursor of the next page.

    Scopes: ``mine`` (claimed by me), ``group`` (ready and unclaimed in my groups, as
    member or supervisor, and the ready tasks naming me or my groups as candidates),
    ``all`` (every open task I may see), ``delegated`` (tasks I delegated, still out).
    ``overdue``: due time passed; ``warned``: warning time passed, due time not yet.
    Sorts: ``due`` (soonest first, tasks without a due time last), ``priority`` (highest
    first) and ``created`` (oldest first); ties by id.
    """
    require_worklist(actor)
    _check_choice("scope", scope, SCOPES)
    _check_choice("sort", sort, SORTS)
    if status is not None:
        _check_choice("status", status, STATUSES)
    if scope == "group" and status not in (None, "ready"):
        raise InvalidInput("scope=group lists ready tasks only", {"status": ["only 'ready' with scope=group"]})
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", {"limit": [f"between 1 and {MAX_LIMIT}"]})
    if due_before is not None and due_before.tzinfo is None:
        raise InvalidInput("due_before needs a time zone offset", {"due_before": ["give an offset, e.g. +08:00"]})
    after = decode_cursor(cursor, sort) if cursor else None
    filters = Filters(group, service_code, case_number, applicant_id, due_before, bool(overdue), bool(warned))
    if scope == "group":
        statuses = ["ready"]
    elif scope in ("mine", "delegated"):
        statuses = [status or "claimed"]
    else:
        statuses = [status] if status else list(OPEN_TASK_STATUSES)

    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        now = ctx.clock()
        paths = access_paths(actor, scope, statuses, group)
        if not paths:
            return [], None
        rows = _page(conn, paths, _filter_conditions(actor, filters), sort, after, limit + 1, now, filters)
        more = len(rows) > limit
        rows = rows[:limit]
        numbers = dict(conn.execute(select(CASES.c.id, CASES.c.number).where(CASES.c.id.in_({r.case_id for r in rows}))).all()) if rows else {}
        items = [task_item(TaskRecord.of(r._mapping), numbers.get(r.case_id)) for r in rows]
        return items, (encode_cursor(sort, rows[-1]) if more else None)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInput(f"unknown {name} {value!r}", {name: [f"choose from {', '.join(choices)}"]})


# -- access paths ----------------------------------------------------------------------------
def access_paths(actor: Actor, scope: str, statuses: list[str], group: str | None) -> list[list]:
    """The index-prefix conditions whose union is what ``actor`` sees in ``scope``."""
    tenant = T.c.tenant_id == actor.tenant_id
    in_group = [T.c.group == group] if group else []
    me = actor.username

    if scope == "mine":
        return [[tenant, T.c.assignee == me, T.c.status == s, *in_group] for s in statuses]
    if scope == "delegated":
        return [[tenant, T.c.delegated_by == me, T.c.status == s, *in_group] for s in statuses]
    if actor.is_admin:  # the whole tenant
        if group:
            return [[tenant, T.c.group == group, T.c.status == s] for s in statuses]
        return [[tenant, T.c.status == s] for s in statuses]

    groups = sorted(visible_groups(actor))
    lanes = [g for g in groups if g == group] if group else groups
    paths = [[tenant, T.c.group == g, T.c.status == s] for g in lanes for s in statuses]
    paths.append([tenant, T.c.status.in_(statuses), T.c.id.in_(_candidate_task_ids(actor, groups)), *in_group])
    if scope == "all":
        paths += [[tenant, T.c.assignee == me, T.c.status == s, *in_group] for s in statuses if s != "ready"]
        if "claimed" in statuses:
            paths.append([tenant, T.c.delegated_by == me, T.c.status == "claimed", *in_group])
    return paths


def _candidate_task_ids(actor: Actor, groups: list[str]):
    named = [and_(C.c.kind == "user", C.c.name == actor.username)]
    if groups:
        named.append(and_(C.c.kind == "group", C.c.name.in_(groups)))
    return select(C.c.task_id).where(C.c.tenant_id == actor.tenant_id, or_(*named))


def _filter_conditions(actor: Actor, f: Filters) -> list:
    conditions = []
    if f.service_code:
        conditions.append(T.c.service_code == f.service_code)
    if f.case_number:
        conditions.append(T.c.case_id.in_(
            select(CASES.c.id).where(CASES.c.tenant_id == actor.tenant_id, CASES.c.number == f.case_number)
        ))
    if f.applicant_id is not None:
        conditions.append(T.c.case_id.in_(
            select(CASES.c.id).where(CASES.c.tenant_id == actor.tenant_id, CASES.c.applicant_id == f.applicant_id)
        ))
    return conditions


def _due_bound(f: Filters, now: datetime) -> datetime | None:
    bounds = [b for b in (f.due_before, now if f.overdue else None) if b is not None]
    return min(bounds) if bounds else None


def _lit(value, column):
    return literal(value, column.type)


# -- one page --------------------------------------------------------------------------------
def _page(conn, paths, conditions, sort, after, n, now, f: Filters) -> list:
    """The first ``n`` rows of the union of ``paths`` after ``after``, in ``sort`` order."""
    upper = _due_bound(f, now)
    if sort == "due":
        rows: list = []
        in_undated = after is not None and after[0] is None
        if not in_undated:
            dated = [T.c.due_at.is_not(None)]
            if upper is not None:
                dated.append(T.c.due_at < upper)
            if f.warned:
                dated += [T.c.due_at >= now, T.c.warn_at <= now]
            if after is not None:
                dated.append(tuple_(T.c.due_at, T.c.id) > tuple_(_lit(after[0], T.c.due_at), _lit(after[1], T.c.id)))
            rows = _merge(conn, paths, conditions + dated, (T.c.due_at, T.c.id), n, _due_key)
        if len(rows) < n and upper is None:  # undated tasks come last
            undated = [T.c.due_at.is_(None)]
            if f.warned:
                undated.append(T.c.warn_at <= now)
            if in_undated:
                undated.append(T.c.id > after[1])
            rows += _merge(conn, paths, conditions + undated, (T.c.due_at, T.c.id), n - len(rows), _due_key)
        return rows

    more = []
    if upper is not None:
        more.append(T.c.due_at < upper)
    if f.warned:
        more += [T.c.warn_at <= now, or_(T.c.due_at.is_(None), T.c.due_at >= now)]
    if sort == "priority":
        if after is not None:
            priority, last_id = after
            # the first condition bounds the index range; the second cuts within equal priority
            more += [T.c.priority <= priority, or_(T.c.priority < priority, T.c.id > last_id)]
        return _merge(conn, paths, conditions + more, (T.c.priority.desc(), T.c.id), n, lambda r: (-r.priority, r.id))
    if after is not None:
        more.append(tuple_(T.c.created_at, T.c.id) > tuple_(_lit(after[0], T.c.created_at), _lit(after[1], T.c.id)))
    return _merge(conn, paths, conditions + more, (T.c.created_at, T.c.id), n, lambda r: (r.created_at, r.id))


_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def _due_key(row):
    return (row.due_at is None, row.due_at or _EARLIEST, row.id)


def _merge(conn, paths, conditions, order, n, key) -> list:
    queries = [select(T).where(*path, *conditions).order_by(*order).limit(n) for path in paths]
    if len(queries) == 1:
        statement = queries[0]
    else:
        statement = union_all(*(select(*q.subquery().c) for q in queries))
    unique = {row.id: row for row in conn.execute(statement)}
    return sorted(unique.values(), key=key)[:n]


# -- cursors ---------------------------------------------------------------------------------
def encode_cursor(sort: str, row) -> str:
    if sort == "priority":
        values = [sort, row.priority, row.id]
    else:
        moment = row.due_at if sort == "due" else row.created_at
        values = [sort, moment.isoformat() if moment is not None else None, row.id]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple:
    """The (sort key, id) a cursor carries; 422 for anything this API did not issue for ``sort``."""
    malformed = InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued for this sort"]})
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR:
        raise malformed
    try:
        values = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, UnicodeError, RecursionError):
        raise malformed from None
    if not isinstance(values, list) or len(values) != 3 or values[0] != sort:
        raise malformed
    _, key, last_id = values
    if not _is_int(last_id) or not 0 < last_id <= MAX_ID:
        raise malformed
    if sort == "priority":
        if not _is_int(key) or not -(2**31) <= key < 2**31:
            raise malformed
        return key, last_id
    if key is None and sort == "due":
        return None, last_id
    try:
        moment = datetime.fromisoformat(key)
    except (TypeError, ValueError):
        raise malformed from None
    if moment.tzinfo is None:
        raise malformed
    return moment, last_id


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- counts for badges -----------------------------------------------------------------------
def count_tasks(ctx: EngineContext, actor: Actor) -> dict:
    """Badge counts: per view (mine, group, delegated) and per group, with overdue and warned.

    A group's figures count the open tasks its members may work: those of its lane and
    those naming it as a candidate group. One round trip; on PostgreSQL the lane part is an
    index-only scan (``warn_at`` is carried in the index).
    """
    require_worklist(actor)
    tenant_id, me = actor.tenant_id, actor.username
    groups = sorted(visible_groups(actor))
    admin = actor.is_admin
    with ctx.unit_of_work() as uow:
        now = ctx.clock()
        overdue = T.c.due_at < now
        warned = and_(T.c.warn_at <= now, or_(T.c.due_at.is_(None), T.c.due_at >= now))

        def part(name: str, group_column, where: list, join=None):
            measures = [
                func.count().label("n"),
                func.coalesce(func.sum(case((overdue, 1), else_=0)), 0).label("overdue"),
                func.coalesce(func.sum(case((warned, 1), else_=0)), 0).label("warned"),
            ]
            key = group_column if group_column is not None else cast(null(), String)
            query = select(literal_column(f"'{name}'").label("part"), key.label("grp"), T.c.status, *measures)
            if join is not None:
                query = query.select_from(join)
            grouping = [group_column, T.c.status] if group_column is not None else [T.c.status]
            return query.where(*where).group_by(*grouping)

        tenant = T.c.tenant_id == tenant_id
        is_open = T.c.status.in_(OPEN_TASK_STATUSES)
        parts = [
            part("mine", None, [tenant, T.c.assignee == me, T.c.status == "claimed"]),
            part("delegated", None, [tenant, T.c.delegated_by == me, T.c.status == "claimed"]),
        ]
        if admin or groups:
            lane = [tenant, is_open] + ([] if admin else [T.c.group.in_(groups)])
            parts.append(part("lane", T.c.group, lane))
            candidate = [C.c.tenant_id == tenant_id, C.c.kind == "group", is_open,
                         or_(T.c.group.is_(None), T.c.group != C.c.name)]
            if not admin:
                candidate.append(C.c.name.in_(groups))
            parts.append(part("candidate", C.c.name, candidate, join=C.join(T, T.c.id == C.c.task_id)))
        if not admin:  # ready tasks in the group view only because they name me or my groups
            extra = [tenant, T.c.status == "ready", T.c.id.in_(_candidate_task_ids(actor, groups))]
            if groups:
                extra.append(or_(T.c.group.is_(None), T.c.group.not_in(groups)))
            parts.append(part("extra", None, extra))
        rows = uow.session.connection().execute(union_all(*parts)).all()

    empty = {"total": 0, "overdue": 0, "warned": 0}
    views = {"mine": dict(empty), "group": dict(empty), "delegated": dict(empty)}
    per_group = {g: {"group": g, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0} for g in groups}
    for part_name, grp, status, n, n_overdue, n_warned in rows:
        n, n_overdue, n_warned = int(n), int(n_overdue), int(n_warned)
        if part_name in ("mine", "delegated") or (part_name in ("lane", "extra") and status == "ready"):
            view = views["group" if part_name in ("lane", "extra") else part_name]
            view["total"] += n
            view["overdue"] += n_overdue
            view["warned"] += n_warned
        if part_name in ("lane", "candidate") and grp is not None:
            entry = per_group.setdefault(grp, {"group": grp, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0})
            entry[status] += n
            entry["overdue"] += n_overdue
            entry["warned"] += n_warned
    return {"views": views, "groups": [per_group[g] for g in sorted(per_group)]}


# -- one task --------------------------------------------------------------------------------
def get_task(ctx: EngineContext, actor: Actor, task_id: int) -> dict:
    """One task with its form (JSON Schema) and the data it currently holds."""
    require_worklist(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        task = SqlTaskRepository(s).get(actor.tenant_id, task_id)
        if task is None or not may_see(actor, task):
            raise NotFound(f"task {task_id} does not exist")
        case_row = s.get(Case, task.case_id)
        view = task_item(task, case_row.number)
        runtime = ctx.runtimes.get(s, case_row.model_id)
        view["form"] = task_form(runtime, task.form_key)
        data = dict(case_row.data or {})
        if task.status in OPEN_TASK_STATUSES:
            workflow = ctx.engine.load(runtime, case_row.state)
            spiff_task = ctx.engine.find_ready_task(workflow, task.spiff_id)
            if spiff_task is not None:
                data = {k: v for k, v in spiff_task.data.items() if not k.startswith("_")}
        # Identity numbers: full for those working the task (recorded as pii.read), masked otherwise.
        view["data"] = personal_data_view(
            uow, actor, data, tenant_id=task.tenant_id, case_id=task.case_id,
            open_tasks=[task] if task.status in OPEN_TASK_STATUSES else [], via=f"task {task.id}", at=ctx.clock(),
        )
        if uow.events:
            uow.commit()
        return view
