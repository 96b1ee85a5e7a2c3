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
  after all others under ``sort=due`` (an indexed path reads its dated and undated ranges).
* A page is one statement. Statements are built once per *shape* (scope, number of lane
  groups, filters present, sort, cursor phase) with named parameters and cached: building
  a many-branch statement costs more than running it.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)

from workflows.accounts import Actor, group_members
from workflows.cases import OPEN_TASK_STATUSES, task_form
from workflows.context import EngineContext
from workflows.errors import InvalidInput, NotFound
from workflows.personal_data import personal_data_view
from workflows.models import HAS_CANDIDATES, Case

from .access import may_see, require_worklist, visible_groups
from . import task_counts
from .repository import CANDIDATES, CASES, MAX_ID, TASKS, SqlTaskRepository, TaskRecord, task_item

SCOPES = ("mine", "group", "all", "delegated")
SORTS = ("due", "priority", "created")
STATUSES = ("ready", "claimed", "completed", "cancelled")
MAX_LIMIT = 500
MAX_CURSOR = 500
T = TASKS
C = CANDIDATES


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
    ``all`` (every open task I may see), ``delegated`` (tasks I delegated, still out),
    ``cc`` (cases copied to me, newest first; ``worklists.handling.list_copies``).
    ``overdue``: due time passed; ``warned``: warning time passed, due time not yet.
    Sorts: ``due`` (soonest first, tasks without a due time last), ``priority`` (highest
    first) and ``created`` (oldest first); ties by id.
    """
    require_worklist(actor)
    if scope == "cc":  # cases copied to me (抄送): a list of their own
        from .handling import list_copies

        return list_copies(ctx, actor, limit, cursor)
    _check_choice("scope", scope, SCOPES)
    _check_choice("sort", sort, SORTS)
    if status is not None:
        _check_choice("status", status, STATUSES)
    if scope == "group" and status not in (None, "ready"):
        raise InvalidInput("scope=group lists ready tasks only", {"status": ["only 'ready' with scope=group"]})
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", {"limit": [f"between 1 and {MAX_LIMIT}"]})
    if applicant_id is not None and not 0 < applicant_id <= MAX_ID:
        raise InvalidInput("no such applicant", {"applicant_id": [f"between 1 and {MAX_ID}"]})
    if due_before is not None and due_before.tzinfo is None:
        raise InvalidInput("due_before needs a time zone offset", {"due_before": ["give an offset, e.g. +08:00"]})
    after = decode_cursor(cursor, sort) if cursor else None
    if scope == "group":
        statuses = ("ready",)
    elif scope in ("mine", "delegated"):
        statuses = (status or "claimed",)
    else:
        statuses = (status,) if status else OPEN_TASK_STATUSES
    admin = actor.is_admin
    groups = [] if admin else sorted(visible_groups(actor))
    lanes = [] if admin or scope in ("mine", "delegated") else [g for g in groups if not group or g == group]

    with ctx.unit_of_work() as uow:
        now = ctx.clock()
        bounds = [b for b in (due_before, now if overdue else None) if b is not None]
        upper = min(bounds) if bounds else None
        shape = PageShape(
            scope=scope, admin=admin, lanes=len(lanes),
            candidate_groups=bool(groups) and not admin and scope in ("group", "all"),
            statuses=tuple(statuses), sort=sort, group=bool(group), service_code=bool(service_code),
            case_number=bool(case_number), applicant=applicant_id is not None, upper=upper is not None,
            warned=bool(warned), after=None if after is None else ("undated" if after[0] is None else "key"),
        )
        values = {"tenant": actor.tenant_id, "me": actor.username, "n": limit + 1, "now": now, "groups": groups,
                  "group": group, "service_code": service_code, "case_number": case_number,
                  "applicant_id": applicant_id, "upper": upper, **{f"lane{i}": g for i, g in enumerate(lanes)}}
        if after is not None:
            values["after_key"], values["after_id"] = after
        rows = uow.session.connection().execute(page_statement(shape), values).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [task_item(TaskRecord.of(row._mapping), row.case_number) for row in rows]
        return items, (encode_cursor(sort, rows[-1]) if more else None)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInput(f"unknown {name} {value!r}", {name: [f"choose from {', '.join(choices)}"]})


# -- the page statement -----------------------------------------------------------------------
@dataclass(frozen=True)
class PageShape:
    """Everything about a page's statement but its values: the key of the statement cache."""

    scope: str
    admin: bool
    lanes: int  # lane groups read, as parameters lane0, lane1, ...
    candidate_groups: bool  # read the tasks naming the actor's groups (parameter ``groups``)
    statuses: tuple[str, ...]
    sort: str
    group: bool  # filters present (their values are parameters of the same names)
    service_code: bool
    case_number: bool
    applicant: bool
    upper: bool  # a due-time upper bound: due_before or overdue (parameter ``upper``)
    warned: bool  # parameter ``now``
    after: str | None  # the cursor: None, "key" (after_key, after_id), "undated" (after_id)


@dataclass(frozen=True)
class AccessPath:
    """Conditions that are an index prefix (``indexed``: read in index order), or a small set
    found through ``task_candidates`` that is sorted instead."""

    where: tuple
    indexed: bool = True


def _param(name: str, column) -> Any:
    return bindparam(name, type_=column.type)


TENANT = T.c.tenant_id == _param("tenant", T.c.tenant_id)
ME = bindparam("me", type_=String)


def access_paths(shape: PageShape) -> list[AccessPath]:
    """The access paths whose union is what the actor sees in ``shape.scope``."""
    in_group = (T.c.group == _param("group", T.c.group),) if shape.group else ()
    statuses = shape.statuses
    if shape.scope == "mine":
        return [AccessPath((TENANT, T.c.assignee == ME, T.c.status == s, *in_group)) for s in statuses]
    if shape.scope == "delegated":
        return [AccessPath((TENANT, T.c.delegated_by == ME, T.c.status == s, *in_group)) for s in statuses]
    if shape.admin:  # the whole tenant
        return [AccessPath((TENANT, *in_group, T.c.status == s)) for s in statuses]

    paths = [
        AccessPath((TENANT, T.c.group == _param(f"lane{i}", T.c.group), T.c.status == s))
        for i in range(shape.lanes) for s in statuses
    ]
    # Candidate tasks: few per group, found through task_candidates and sorted (no lane index).
    is_open = T.c.status.in_(statuses)
    paths.append(AccessPath((TENANT, is_open, T.c.id.in_(_named("user", C.c.name == ME)), *in_group), indexed=False))
    if shape.candidate_groups:
        names = C.c.name.in_(bindparam("groups", expanding=True, type_=String))
        paths.append(AccessPath((TENANT, is_open, T.c.id.in_(_named("group", names)), *in_group), indexed=False))
    if shape.scope == "all":
        paths += [AccessPath((TENANT, T.c.assignee == ME, T.c.status == s, *in_group)) for s in statuses if s != "ready"]
        if "claimed" in statuses:
            paths.append(AccessPath((TENANT, T.c.delegated_by == ME, T.c.status == "claimed", *in_group)))
    return paths


def _named(kind: str, names):
    """Ids of the tasks that name someone as a candidate ``kind`` (group or user)."""
    return select(C.c.task_id).where(C.c.tenant_id == _param("tenant", C.c.tenant_id), C.c.kind == kind, names)


def _filter_conditions(shape: PageShape) -> list:
    conditions = []
    if shape.service_code:
        conditions.append(T.c.service_code == _param("service_code", T.c.service_code))
    if shape.case_number:
        conditions.append(T.c.case_id.in_(select(CASES.c.id).where(
            CASES.c.tenant_id == _param("tenant", CASES.c.tenant_id),
            CASES.c.number == _param("case_number", CASES.c.number),
        )))
    if shape.applicant:
        conditions.append(T.c.case_id.in_(select(CASES.c.id).where(
            CASES.c.tenant_id == _param("tenant", CASES.c.tenant_id),
            CASES.c.applicant_id == _param("applicant_id", CASES.c.applicant_id),
        )))
    return conditions


# Per sort: the key column, the ORDER BY that an index provides (ties by id), and the order
# of the merged page (tasks without a due time last).
_SORTS = {
    "due": (T.c.due_at, lambda c: (c.due_at, c.id), lambda c: (c.due_at.asc().nulls_last(), c.id)),
    "priority": (T.c.priority, lambda c: (c.priority.desc(), c.id), lambda c: (c.priority.desc(), c.id)),
    "created": (T.c.created_at, lambda c: (c.created_at, c.id), lambda c: (c.created_at, c.id)),
}
_WITH_CASE_NUMBER = CASES.c.number.label("case_number")


@lru_cache(maxsize=1024)
def page_statement(shape: PageShape):
    """One statement for one page: the first ``n`` rows of the union of the access paths.

    Every path contributes at most ``n`` (id, key) pairs read in index order after the
    cursor; the pairs are merged, de-duplicated and cut to ``n``, and only those rows are
    read in full, with their case numbers. Under ``sort=due`` an indexed path is read in
    two ranges, dated then undated.
    """
    key, index_order, page_order = _SORTS[shape.sort]
    n = bindparam("n", type_=Integer)
    conditions = _filter_conditions(shape)
    branches = []
    for path in access_paths(shape):
        for where in _ranges(path, shape):
            order = index_order(T.c) if path.indexed else page_order(T.c)
            branches.append(select(T.c.id, key).where(*path.where, *conditions, *where).order_by(*order).limit(n))
    if len(branches) == 1:
        keys = branches[0].subquery("keys")
    else:  # each member wrapped: SQLite allows no ORDER BY/LIMIT inside a bare compound member
        keys = union_all(*(select(*b.subquery().c) for b in branches)).subquery("keys")
    page = select(keys.c.id, keys.c[key.name]).distinct().order_by(*page_order(keys.c)).limit(n).subquery("page")
    return (
        select(T, _WITH_CASE_NUMBER)
        .join_from(page, T, T.c.id == page.c.id)
        .join(CASES, CASES.c.id == T.c.case_id)
        .order_by(*page_order(page.c))
    )


def _ranges(path: AccessPath, shape: PageShape) -> list[list]:
    """The conditions of the key ranges to read on ``path``: one, or for ``due`` on an index two."""
    now = _param("now", T.c.due_at)
    upper = _param("upper", T.c.due_at)
    after_id = _param("after_id", T.c.id)
    if shape.sort == "due" and path.indexed:
        ranges = []
        if shape.after != "undated":
            dated = [T.c.due_at.is_not(None)]
            if shape.upper:
                dated.append(T.c.due_at < upper)
            if shape.warned:
                dated += [T.c.due_at >= now, T.c.warn_at <= now]
            if shape.after == "key":
                dated.append(tuple_(T.c.due_at, T.c.id) > tuple_(_param("after_key", T.c.due_at), after_id))
            ranges.append(dated)
        if not shape.upper:  # undated tasks come after all dated ones
            undated = [T.c.due_at.is_(None)]
            if shape.warned:
                undated.append(T.c.warn_at <= now)
            if shape.after == "undated":
                undated.append(T.c.id > after_id)
            ranges.append(undated)
        return ranges

    where = []
    if shape.upper:
        where.append(T.c.due_at < upper)
    if shape.warned:
        where += [T.c.warn_at <= now, or_(T.c.due_at.is_(None), T.c.due_at >= now)]
    if shape.after is None:
        return [where]
    if shape.sort == "priority":
        after_key = _param("after_key", T.c.priority)
        # the first condition bounds the index range; the second cuts within equal priority
        where += [T.c.priority <= after_key, or_(T.c.priority < after_key, T.c.id > after_id)]
    elif shape.sort == "created":
        where.append(tuple_(T.c.created_at, T.c.id) > tuple_(_param("after_key", T.c.created_at), after_id))
    elif shape.after == "undated":  # due, on a sorted path, after an undated task
        where += [T.c.due_at.is_(None), T.c.id > after_id]
    else:  # due, on a sorted path, after a dated task: later ones, then every undated one
        after_key = _param("after_key", T.c.due_at)
        where.append(or_(T.c.due_at > after_key, and_(T.c.due_at == after_key, T.c.id > after_id), T.c.due_at.is_(None)))
    return [where]


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
    those naming it as a candidate group. One statement sums the counters the database
    keeps (``worklists.task_counts``: a few rows per key, whatever the number of tasks,
    plus the tasks due or warned today counted exactly): the lane, "mine" and "delegated"
    figures, and the candidate groups' and users' figures. A task that the group view
    reaches through several of the actor's names (two of their groups, a group and their
    own name) counts once: the candidate counters carry each task's whole candidate set
    (``sig``), and one set's figures are taken once per lane and status.
    """
    require_worklist(actor)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        figures, unfolded = badge_figures(uow.session.connection(), actor, now)
    if unfolded > task_counts.FOLD_AFTER:
        with ctx.unit_of_work() as uow:
            task_counts.fold(uow.session.connection(), actor.tenant_id)
            uow.session.commit()
    return figures


def badge_figures(conn, actor: Actor, now: datetime) -> tuple[dict, int]:
    """What :func:`count_tasks` answers at ``now``, and how many of the counter rows it read a
    fold would remove (rows beyond one per key)."""
    groups = sorted(visible_groups(actor))
    admin = actor.is_admin
    values = {"tenant": actor.tenant_id, "me": actor.username, "now": now, "groups": groups}
    lanes, named, unfolded = _figures(conn, admin, groups, values)

    def bump(figures_: dict, n: int, n_overdue: int, n_warned: int, key: str = "total") -> None:
        figures_[key] += n
        figures_["overdue"] += n_overdue
        figures_["warned"] += n_warned

    views = {v: {"total": 0, "overdue": 0, "warned": 0} for v in ("mine", "group", "delegated")}
    per_group = {g: {"group": g, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0} for g in groups}

    def group_entry(name: str) -> dict:
        return per_group.setdefault(name, {"group": name, "ready": 0, "claimed": 0, "overdue": 0, "warned": 0})

    for part, group, status, n, n_overdue, n_warned in lanes:
        n, n_overdue, n_warned = int(n), int(n_overdue), int(n_warned)
        if part in ("mine", "delegated"):
            bump(views[part], n, n_overdue, n_warned)
            continue
        if status == "ready":
            bump(views["group"], n, n_overdue, n_warned)
        if group is not None:
            bump(group_entry(group), n, n_overdue, n_warned, key=status)
    # ready tasks in my group view only by being named: each (lane, candidate set) once
    extra: dict[tuple[str, str], list[int]] = {}
    for kind, name, lane, sig, status, n, n_overdue, n_warned in named:
        if kind == "group" and lane != name:
            bump(group_entry(name), n, n_overdue, n_warned, key=status)
        if not admin and status == "ready" and (lane or None) not in groups:
            extra.setdefault((lane, sig), [n, n_overdue, n_warned])
    for n, n_overdue, n_warned in extra.values():
        bump(views["group"], n, n_overdue, n_warned)
    return {"views": views, "groups": [per_group[g] for g in sorted(per_group)]}, unfolded


def _figures(conn, admin: bool, groups: list[str], values: dict) -> tuple[list[tuple], list[tuple], int]:
    """From the counters, in one statement: (part, group, status, n, overdue, warned) per lane
    and status, for "mine" and for "delegated"; (kind, name, lane, sig, status, n, overdue,
    warned) per candidate group or user the actor's view reads (an admin: every candidate
    group), lane, candidate set and status; and how many of the counter rows read a fold would
    remove. The figures of one (lane, sig, status) are the same under each name the set holds."""
    today, start, end = task_counts.today_of(values["now"])
    figures: dict[tuple, list[int]] = {}
    unfolded = 0
    for kind, name, lane, sig, status, n, overdue, warned, surplus in conn.execute(
            badge_statement(conn.dialect.name, admin, bool(groups)),
            {**values, "today": today, "day_start": start, "day_end": end}):
        entry = figures.setdefault((kind, name, lane, sig, status), [0, 0, 0])
        entry[0] += int(n or 0)
        entry[1] += int(overdue or 0)
        entry[2] += int(warned or 0)
        unfolded += int(surplus or 0)
    parts = {"lane": "lane", "assignee": "mine", "delegated": "delegated"}
    lanes, named = [], []
    for (kind, name, lane, sig, status), entry in sorted(figures.items()):
        if entry == [0, 0, 0]:
            continue
        if kind in parts:
            lanes.append((parts[kind], (name or None) if kind == "lane" else None, status, *entry))
        else:
            named.append((kind, name, lane, sig, status, *entry))
    return lanes, named, unfolded


@lru_cache(maxsize=16)
def badge_statement(dialect: str, admin: bool, has_groups: bool):
    """The badge counts' one statement: the lane, assignee and delegator counters and the
    candidate counters summed per key (days before or after today decided from the counters'
    day columns), and today's due or warned tasks counted from ``tasks``, under the keys
    their counters have. Rows: kind, name, lane, sig, status, n, overdue, warned, and the
    counter rows beyond one per key (what a fold would remove)."""
    statement = text(f"{_lane_figures_sql(admin, has_groups)} UNION ALL {_named_figures_sql(dialect, admin, has_groups)}")
    moment = T.c.due_at.type
    binds = [bindparam("now", type_=moment), bindparam("day_start", type_=moment), bindparam("day_end", type_=moment)]
    if has_groups and not admin:
        binds.append(bindparam("groups", expanding=True, type_=String))
    return statement.bindparams(*binds)


_BOUNDARY = "(due_day = :today OR warn_day = :today)"
# today's tasks: due today, or warned today and not due today (two index ranges, not an OR)
_DUE_TODAY = "due_at >= :day_start AND due_at < :day_end"
_WARNED_TODAY = ("warn_at >= :day_start AND warn_at < :day_end "
                 "AND (due_at IS NULL OR due_at < :day_start OR due_at >= :day_end)")
# over the counters summed per key (``keys``): the figures, and the rows a fold would remove
_COUNTED = f"""sum(n),
               sum(CASE WHEN {_BOUNDARY} THEN 0 WHEN due_day < :today THEN n ELSE 0 END),
               sum(CASE WHEN {_BOUNDARY} THEN 0
                        WHEN warn_day < :today AND (due_day IS NULL OR due_day > :today) THEN n ELSE 0 END),
               sum(rows) - count(*)"""
_TODAY = """0,
               sum(CASE WHEN due_at < :now THEN 1 ELSE 0 END),
               sum(CASE WHEN warn_at <= :now AND (due_at IS NULL OR due_at >= :now) THEN 1 ELSE 0 END), 0"""


def _lane_figures_sql(admin: bool, has_groups: bool) -> str:
    """The lane, assignee and delegator counters (``task_counts``) and today's tasks."""
    if admin:
        lane_counter, lane_task = "kind = 'lane'", "1 = 1"
    elif has_groups:
        lane_counter, lane_task = "kind = 'lane' AND name IN :groups", '"group" IN :groups'
    else:
        lane_counter, lane_task = "1 = 0", "1 = 0"
    today_rows = []
    for kind, name, where in (("lane", "coalesce(\"group\", '')", f"status IN ('ready', 'claimed') AND {lane_task}"),
                              ("assignee", "assignee", "assignee = :me AND status = 'claimed'"),
                              ("delegated", "delegated_by", "delegated_by = :me AND status = 'claimed'")):
        for when in (_DUE_TODAY, _WARNED_TODAY):
            today_rows.append(f"SELECT '{kind}' AS kind, {name} AS name, status, due_at, warn_at FROM tasks "
                              f"WHERE tenant_id = :tenant AND {where} AND {when}")
    return f"""
        SELECT kind, name, '' AS lane, '' AS sig, status, {_COUNTED}
        FROM (SELECT kind, name, status, due_day, warn_day, sum(n) AS n, count(*) AS rows FROM task_counts
              WHERE tenant_id = :tenant AND (({lane_counter}) OR (kind IN ('assignee', 'delegated') AND name = :me))
              GROUP BY kind, name, status, due_day, warn_day) AS keys
        GROUP BY kind, name, status
        UNION ALL
        SELECT kind, name, '', '', status, {_TODAY}
        FROM ({" UNION ALL ".join(today_rows)}) AS today_tasks
        GROUP BY kind, name, status"""


def _named_figures_sql(dialect: str, admin: bool, has_groups: bool) -> str:
    """The candidate counters (``task_candidate_counts``) and today's candidate tasks (found
    through the partial indexes ``ix_tasks_candidates_*``), named as the triggers name them."""
    if admin:
        named = "kind = 'group'"
    elif has_groups:
        named = "(kind = 'group' AND name IN :groups) OR (kind = 'user' AND name = :me)"
    else:
        named = "kind = 'user' AND name = :me"
    today_tasks = " UNION ALL ".join(
        f'SELECT id, "group", candidate_groups, candidate_users, status, due_at, warn_at FROM tasks '
        f"WHERE tenant_id = :tenant AND {HAS_CANDIDATES[dialect]} AND {when}" for when in (_DUE_TODAY, _WARNED_TODAY))
    return f"""
        SELECT kind, name, lane, sig, status, {_COUNTED}
        FROM (SELECT kind, name, lane, sig, status, due_day, warn_day, sum(n) AS n, count(*) AS rows
              FROM task_candidate_counts WHERE tenant_id = :tenant AND ({named})
              GROUP BY kind, name, lane, sig, status, due_day, warn_day) AS keys
        GROUP BY kind, name, lane, sig, status
        UNION ALL
        SELECT kind, name, lane, sig, status, {_TODAY}
        FROM (SELECT kind, name, coalesce("group", '') AS lane, sig, status, due_at, warn_at
              FROM ({task_counts.names_of(today_tasks, dialect)}) AS named_today) AS today_tasks
        WHERE {named}
        GROUP BY kind, name, lane, sig, status"""


@lru_cache(maxsize=64)
def count_statements(admin: bool, lanes: int):
    """The two statements of ``count_tasks`` for an admin, or for an actor with ``lanes`` groups."""
    now = _param("now", T.c.due_at)
    overdue = T.c.due_at < now
    warned = and_(T.c.warn_at <= now, or_(T.c.due_at.is_(None), T.c.due_at >= now))
    measures = [func.count().label("n"), func.count().filter(overdue).label("overdue"),
                func.count().filter(warned).label("warned")]

    def figures(part: str, group, status: str, *where):
        return select(literal_column(f"'{part}'"), group, literal_column(f"'{status}'"), *measures).where(TENANT, *where)

    no_group = cast(null(), String)
    parts = [
        figures("mine", no_group, "claimed", T.c.assignee == ME, T.c.status == "claimed"),
        figures("delegated", no_group, "claimed", T.c.delegated_by == ME, T.c.status == "claimed"),
    ]
    if admin:  # every lane of the tenant, whatever groups exist
        parts.append(
            select(literal_column("'lane'"), T.c.group, T.c.status, *measures)
            .where(TENANT, T.c.status.in_(OPEN_TASK_STATUSES)).group_by(T.c.group, T.c.status)
        )
    for i in range(lanes):
        lane = _param(f"lane{i}", T.c.group)
        parts += [figures("lane", lane, s, T.c.group == lane, T.c.status == s) for s in OPEN_TASK_STATUSES]

    if admin:
        named = C.c.kind == "group"
    else:
        named = and_(C.c.kind == "user", C.c.name == ME)
        if lanes:
            named = or_(named, and_(C.c.kind == "group", C.c.name.in_(bindparam("groups", expanding=True, type_=String))))
    candidates = (
        select(C.c.kind, C.c.name, T.c.id, T.c.group, T.c.status, case((overdue, 1), else_=0), case((warned, 1), else_=0))
        .join_from(C, T, T.c.id == C.c.task_id)
        .where(C.c.tenant_id == _param("tenant", C.c.tenant_id), named, T.c.status.in_(OPEN_TASK_STATUSES))
    )
    return union_all(*parts), candidates


def colleagues(ctx: EngineContext, actor: Actor, group: str) -> list[str]:
    """The other members of a group the actor belongs to (whom to delegate, transfer or co-sign to)."""
    require_worklist(actor)
    if group not in actor.groups | actor.supervised_groups and not actor.is_admin:
        return []
    with ctx.unit_of_work() as uow:
        return sorted(u for u in group_members(uow.session, actor.tenant_id, group) if u != actor.username)


# The forms of the tasks the handling operations make (a co-signer's signature, a notice's
# acknowledgement): what worklists.handling.sign / acknowledge_notice accept.
KIND_FORMS = {
    "sign": {
        "title": "会签意见", "x-en": {"title": "Co-signature"},
        "type": "object", "required": ["opinion", "agree"], "additionalProperties": False,
        "properties": {
            "agree": {"type": "boolean", "title": "是否同意", "x-boolean-labels": {"true": "同意", "false": "不同意"},
                      "x-en": {"title": "Agree", "boolean-labels": {"true": "Agree", "false": "Disagree"}}},
            "opinion": {"type": "string", "title": "意见", "minLength": 1, "maxLength": 2000,
                        "x-en": {"title": "Opinion"}},
        },
    },
    "notice": {
        "title": "知悉", "x-en": {"title": "Acknowledge"},
        "type": "object", "additionalProperties": False,
        "properties": {"comment": {"type": "string", "title": "备注", "maxLength": 2000, "x-en": {"title": "Comment"}}},
    },
}


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
        view["form"] = KIND_FORMS.get(task.kind) or task_form(runtime, task.form_key)
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
