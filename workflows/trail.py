"""The case trail (办事留痕): append-only, hash-chained, verifiable.

Every event recorded by a unit of work (``uow.record``) is written here, inside the
committing transaction, by :class:`TrailWriter` (the context's ``event_sink``).

Chains
    Each case has its own chain: events numbered ``seq`` = 1, 2, … with
    ``hash = SHA-256(prev_hash "\\n" header "\\n" data)``, where ``prev_hash`` is the previous
    event's hash (64 zeros for the first), ``header`` the canonical JSON array
    ``[1, tenant_id, case_id, seq, at, kind, actor, task_id]`` (compact separators, UTF-8,
    ``at`` as UTC ISO 8601 with microseconds) and ``data`` the canonical JSON of the event's
    data (sorted keys, compact, UTF-8), stored verbatim. Events without a case (deployments,
    user changes, registry reads) form one chain per tenant, ``case_id`` null.

Heads
    The last ``seq``/``hash`` of a case chain is kept on the case row (``cases.trail_seq``,
    ``trail_hash``); appending locks that row, which writers of the case hold anyway (its
    version check), so two transactions cannot fork a chain and no tenant-wide lock exists.
    Case-less events keep their head in ``trail_heads``. A unique index on (tenant, case,
    seq) is the last guard: a fork would be a duplicate key, answered as a 409.

Cost
    The use cases that write the case row (a completion, a message, a timer) read the head
    with the case; on PostgreSQL the events recorded until then are hashed onto it and
    inserted by the case row's own UPDATE statement (:func:`write_case_row`), which matches
    only if neither the version nor the chain moved: no round trip of the trail's own. Other
    events (claims, reads of full identity numbers, events recorded after the case write)
    are appended by :class:`TrailWriter` just before the commit, under the row lock.

Daily anchors
    Once a day (per tenant, in its time zone) the heads of every chain that grew that day
    are written as an anchor, hash-chained to the previous anchor. Deleting a case's whole
    trail, even with its row, leaves an anchored head that no longer exists.

Personal data is masked in event data before hashing (:mod:`workflows.personal_data`):
the append-only table never holds a full identity number, phone or account number, and an exported trail can be re-hashed by
anyone without exposing personal data.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from .accounts import Actor
from .driver import driver_statement
from .errors import Conflict, Forbidden, NotFound
from .personal_data import MAY_HOLD, mask_personal_data
from .models import Case, Tenant, TrailAnchor, TrailEvent, TrailHead, utcnow
from .unit_of_work import Event

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
GENESIS = "0" * 64
# Who reads a case's trail (and verifies it); who verifies the whole tenant.
READ_ROLES = ("auditor", "supervisor", "admin", "intake", "clerk")
VERIFY_ALL_ROLES = ("auditor", "admin")
# An anchor is written for a day once it has been over this long (transactions in flight).
ANCHOR_GRACE = timedelta(minutes=10)
MAX_PROBLEMS = 100

# How the printed trail names event kinds (kinds without a label print as they are).
KIND_LABELS = {
    "case.received": "收件 received",
    "case.accepted": "受理 accepted",
    "case.refused": "不予受理 refused",
    "case.supplement_requested": "补正告知 materials requested",
    "case.supplemented": "补齐补正 materials supplied",
    "case.concluded": "办结 concluded",
    "case.delivered": "送达 delivered",
    "case.archived": "归档 archived",
    "case.status_changed": "状态变更 status changed",
    "case.pressed": "督办 pressed",
    "case.press_answered": "督办回复 pressing answered",
    "case.intake": "窗口收件 taken in at the window",
    "case.audit_queued": "待审计 queued for audit",
    "case.audited": "审计 audited",
    "deadline.set": "时限起算 deadline set",
    "deadline.paused": "时限暂停 deadline paused",
    "deadline.resumed": "时限恢复 deadline resumed",
    "deadline.stopped": "时限停止 deadline stopped",
    "supervision.warning": "预警 warning",
    "supervision.yellow": "黄牌 yellow card",
    "supervision.red": "红牌 red card",
    "service.retry_scheduled": "服务重试排程 service retry scheduled",
    "service.retried": "服务重试 service retried",
    "certificate.issued": "证照签发 certificate issued",
    "certificate.revoked": "证照撤销 certificate revoked",
    "proactive.reminded": "主动服务提醒 proactive reminder",
    "case.rated": "好差评 rated",
    "task.created": "任务生成 task created",
    "task.claimed": "签收 claimed",
    "task.unclaimed": "退回 handed back",
    "task.assigned": "指派 assigned",
    "task.delegated": "委托 delegated",
    "task.returned": "委托收回 delegation ended",
    "task.completed": "办理 completed",
    "task.cancelled": "任务取消 task cancelled",
    "gateway.decided": "流转 flow decided",
    "timer.fired": "定时 timer fired",
    "deadline.warned": "预警 warning",
    "deadline.overdue": "超期 overdue",
    "message.received": "收到消息 message received",
    "incident.raised": "异常 incident",
    "incident.retried": "重试 retried",
    "model.deployed": "流程部署 model deployed",
    "user.created": "新增用户 user created",
    "user.roles_changed": "角色变更 roles changed",
    "user.locked": "账户锁定 locked after failed logins",
    "user.signed_in": "登录 signed in",
    "user.sign_in_failed": "登录失败 sign-in failed",
    "pii.read": "查看身份证号 full identity number read",
}

EVENTS = TrailEvent.__table__
CASES = Case.__table__
HEADS = TrailHead.__table__
ANCHORS = TrailAnchor.__table__


# -- canonical encoding ---------------------------------------------------------------------------
def _json_default(value: Any):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_string_keys(v) for v in value]
    return value


def canonical_data(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters as they are: one text per value."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except TypeError:  # keys of mixed types cannot be sorted; JSON makes them strings anyway
        return json.dumps(
            _string_keys(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )


def canonical_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


_json_strings: dict[str | None, str] = {None: "null"}


def _json_string(value: str | None) -> str:
    """JSON for a kind or actor; the few distinct values are cached (verification is hot)."""
    encoded = _json_strings.get(value)
    if encoded is None:
        encoded = json.dumps(value, ensure_ascii=False)
        if len(_json_strings) < 100_000:
            _json_strings[value] = encoded
    return encoded


def header(tenant_id: int, case_id: int | None, seq: int, at: str, kind: str, actor: str | None, task_id: int | None) -> str:
    """``json.dumps([1, tenant_id, case_id, seq, at, kind, actor, task_id], separators=(",", ":"),
    ensure_ascii=False)``, built without the general encoder."""
    before, after = header_parts(tenant_id, at, kind, actor, task_id)
    return f'{before}{"null" if case_id is None else case_id},{seq}{after}'


def header_parts(tenant_id: int, at: str, kind: str, actor: str | None, task_id: int | None) -> tuple[str, str]:
    """The header before its case id and after its ``seq``: a statement that finds the case and
    reads its head under the lock puts ``case_id,seq`` in between itself (:data:`PG_EVENT_HASH`)."""
    return (
        f"[{FORMAT_VERSION},{tenant_id},",
        f',"{at}",{_json_string(kind)},{_json_string(actor)},{"null" if task_id is None else task_id}]',
    )


def event_hash(prev_hash: str, head: str, data_text: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{head}\n{data_text}".encode()).hexdigest()


# :func:`event_hash` in PostgreSQL's own SQL, for an event appended by the same statement that
# locks its case row and reads the head (a claim in one statement: worklists.repository). ``{prev}``,
# ``{case}`` and ``{seq}`` name the head's columns; the %(…)s parameters come from :func:`sql_event`.
PG_EVENT_HASH = (
    "encode(sha256(convert_to({prev} || E'\\n' || %(e_before)s || {case} || ',' || {seq} || %(e_after)s"
    " || E'\\n' || %(e_data)s, 'UTF8')), 'hex')"
)


def event_text(data: dict | None) -> str:
    """The canonical text of an event's data as it is hashed and stored (identity numbers masked)."""
    data_text = canonical_data(data or {})
    if _MAY_HOLD_NUMBERS.search(data_text):  # rare: walk and mask only then
        data_text = canonical_data(mask_personal_data(data)[0])
    return data_text


def sql_event(event: Event) -> dict:
    """The parameters :data:`PG_EVENT_HASH` and the event's INSERT need (``e_…``); the statement
    supplies the case id and the place in its chain."""
    before, after = header_parts(event.tenant_id, canonical_time(event.at), event.kind, event.actor, event.task_id)
    return {"e_before": before, "e_after": after, "e_data": event_text(event.data), "e_tenant_id": event.tenant_id,
            "e_at": event.at, "e_kind": event.kind, "e_actor": event.actor, "e_task_id": event.task_id,
            "e_genesis": GENESIS}


def appended_with(session: Session, event: Event, case_id: int, seq: int, digest: str) -> None:
    """``event`` was appended to ``case_id``'s chain (at ``seq``, hashed ``digest``) by a statement of
    the caller's: the writer leaves it out at commit and chains what follows on it."""
    event.case_id = case_id
    setattr(event, _WRITTEN, True)
    remember_head(session, case_id, seq, digest)


# -- writing ----------------------------------------------------------------------------------------
# Reading a head must lock it. PostgreSQL: SELECT … FOR UPDATE. SQLite: a no-op UPDATE …
# RETURNING, because pysqlite opens its transaction (and SQLite takes the write lock) only at
# the first write: a plain SELECT could read a head another writer moves before we insert.
_CASE_HEAD = (
    CASES.update()
    .where(CASES.c.id == bindparam("b_case_id"), CASES.c.tenant_id == bindparam("b_tenant_id"))
    .values(trail_seq=CASES.c.trail_seq)
    .returning(CASES.c.trail_seq, CASES.c.trail_hash)
)
_SET_CASE_HEAD = (
    CASES.update()
    .where(CASES.c.id == bindparam("b_case_id"))
    .values(trail_seq=bindparam("b_seq"), trail_hash=bindparam("b_hash"))
)
_TENANT_HEAD = select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant_id == bindparam("tenant_id")).with_for_update()
_TENANT_HEAD_SQLITE = (
    HEADS.update().where(HEADS.c.tenant_id == bindparam("b_tenant_id")).values(seq=HEADS.c.seq)
    .returning(HEADS.c.seq, HEADS.c.hash)
)
_SET_TENANT_HEAD = (
    HEADS.update().where(HEADS.c.tenant_id == bindparam("b_tenant_id")).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
_INSERT_EVENTS = EVENTS.insert()
_EVENT_COLUMNS = ("tenant_id", "case_id", "seq", "at", "kind", "actor", "task_id", "data", "prev_hash", "hash")
_PG_CASE_HEAD = "SELECT trail_seq, trail_hash FROM cases WHERE id = %s AND tenant_id = %s FOR UPDATE"
_pg_append_sql: dict[tuple[bool, int], str] = {}


def _pg_append(for_case: bool, rows: int) -> str:
    """One statement that inserts ``rows`` events and moves the chain head (one round trip)."""
    sql = _pg_append_sql.get((for_case, rows))
    if sql is None:
        values = ", ".join(["(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"] * rows)
        head = (
            "UPDATE cases SET trail_seq = %s, trail_hash = %s WHERE id = %s" if for_case
            else "UPDATE trail_heads SET seq = %s, hash = %s WHERE tenant_id = %s"
        )
        sql = f"WITH appended AS (INSERT INTO trail_events ({', '.join(_EVENT_COLUMNS)}) VALUES {values}) {head}"
        _pg_append_sql[(for_case, rows)] = sql
    return sql


# Personal data can only be present where MAY_HOLD finds a hint in the text (workflows.personal_data).
_MAY_HOLD_NUMBERS = MAY_HOLD
# unique violation (a fork caught by the chain index), serialization failure, deadlock, lock not available
_RACES = {"23505", "40001", "40P01", "55P03"}
_HINTS = "redwall.trail_heads"


def remember_head(session: Session, case_id: int, seq: int, digest: str | None) -> None:
    """Tell the writer a case's chain head, read in this transaction under the case row's lock.

    The use cases that write the case row anyway (``UPDATE … RETURNING``) pass it on, so
    appending costs no extra query. The hint is bound to the current transaction: after a
    commit or rollback it is ignored.
    """
    session = _plain(session)
    transaction = session.get_transaction()
    store = session.info.get(_HINTS)
    if store is None or store[0] is not transaction:
        store = (transaction, {})
        session.info[_HINTS] = store
    store[1][case_id] = (seq, digest)


def _known_heads(session: Session) -> dict:
    session = _plain(session)
    store = session.info.pop(_HINTS, None)
    if store is not None and store[0] is session.get_transaction():
        return store[1]
    return {}


def _plain(session) -> Session:
    """The Session behind a scoped_session (Flask-SQLAlchemy's ``db.session``)."""
    return session() if isinstance(session, scoped_session) else session


def trail_writer_of(sink) -> "TrailWriter | None":
    """The trail writer inside a context's event sink (other sinks may wrap it, via ``.inner``)."""
    for _ in range(10):
        if sink is None or isinstance(sink, TrailWriter):
            return sink
        sink = getattr(sink, "inner", None)
    return None


_WRITTEN = "trail_written"  # set on events the case write already appended
_folded: dict[tuple[int, int], Any] = {}


def _folded_write(statement, rows: int):
    """``statement`` (the case row's versioned UPDATE) with ``rows`` events appended in the same round trip.

    ``WITH w AS (UPDATE cases … SET trail_seq, trail_hash … WHERE … AND trail_seq = :seen
    RETURNING …) INSERT INTO trail_events SELECT … FROM w UNION ALL …``: the events are
    inserted only if the case row was updated, i.e. nobody wrote the case (version) nor
    appended to its chain (trail_seq) since it was read.
    """
    key = (id(statement), rows)
    folded = _folded.get(key)
    if folded is None:
        from sqlalchemy import cast, union_all

        w = (
            statement.values(trail_seq=bindparam("t_seq", type_=CASES.c.trail_seq.type),
                             trail_hash=bindparam("t_hash", type_=CASES.c.trail_hash.type))
            .where(CASES.c.trail_seq == bindparam("t_seen", type_=CASES.c.trail_seq.type))
            .cte("written")
        )
        selects = [
            select(*[cast(bindparam(f"e{i}_{name}", type_=EVENTS.c[name].type), EVENTS.c[name].type)
                     for name in _EVENT_COLUMNS]).select_from(w)
            for i in range(rows)
        ]
        source = selects[0] if rows == 1 else union_all(*selects)
        folded = EVENTS.insert().from_select(list(_EVENT_COLUMNS), source).returning(EVENTS.c.seq)
        _folded[key] = folded
    return folded


def write_case_row(ctx, uow, conn, statement, params: dict, record):
    """Run the case row's versioned UPDATE (``statement``, RETURNING trail_seq, trail_hash).

    On PostgreSQL, with the trail on, the events recorded so far for the case are appended
    in the same statement, chained on the head read with the case (``record.trail_seq``,
    ``record.trail_hash``): a completion then costs the trail no round trip of its own. If
    the chain moved meanwhile (a claim or a read of the case appended to it), the plain
    UPDATE runs instead and the writer appends at commit. Returns the row (trail_seq,
    trail_hash after the write), or None when the case's version changed (the caller's 409).
    """
    writer = trail_writer_of(ctx.event_sink)
    pending = [e for e in uow.events if e.case_id == record.id and not getattr(e, _WRITTEN, False)]
    seen_seq = getattr(record, "trail_seq", None)
    if writer is not None and pending and seen_seq is not None and conn.dialect.name == "postgresql":
        rows, seq, digest = writer.chain_rows(record.tenant_id, record.id, pending, seen_seq,
                                              getattr(record, "trail_hash", None) or GENESIS)
        values = dict(params, t_seq=seq, t_hash=digest, t_seen=seen_seq)
        for i, row in enumerate(rows):
            values.update({f"e{i}_{name}": value for name, value in zip(_EVENT_COLUMNS, row)})
        if driver_statement(_folded_write(statement, len(rows))).rows(conn, values):
            for event in pending:
                setattr(event, _WRITTEN, True)
            record.trail_seq, record.trail_hash = seq, digest
            remember_head(uow.session, record.id, seq, digest)
            return seq, digest
    found = (driver_statement(statement).rows(conn, params) if conn.dialect.name == "postgresql"
             else conn.execute(statement, params).all())
    head = found[0] if found else None
    if head is not None:
        remember_head(uow.session, record.id, head[0], head[1])
        if seen_seq is not None:
            record.trail_seq, record.trail_hash = head[0], head[1]
    return head


class TrailWriter:
    """The event sink: appends a unit of work's events to their chains before it commits.

    Holds no state that correctness depends on; the only memory is when it last made sure
    that closed days are anchored (see :func:`anchor_days`), a cheap idempotent check that
    runs after a commit at most once an hour per tenant and process.
    """

    def __init__(self, session_factory: Callable[[], Session] | None = None, clock: Callable[[], datetime] = utcnow,
                 anchor_every: timedelta | None = timedelta(hours=1)):
        self.session_factory = session_factory
        self.clock = clock
        self.anchor_every = anchor_every
        self._next_anchor_check: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def __call__(self, session: Session, events: list[Event]):
        conn = session.connection()
        postgres = conn.dialect.name == "postgresql"
        known = _known_heads(session)
        chains: dict[tuple[int, int | None], list[Event]] = {}
        for event in events:
            if not getattr(event, _WRITTEN, False):  # appended with its case row already
                chains.setdefault((event.tenant_id, event.case_id), []).append(event)
        if not chains:  # all appended with their case rows already
            return self._anchor_later({event.tenant_id for event in events})
        for (tenant_id, case_id), chain in chains.items():
            if case_id is None:
                seq, prev = self._tenant_head(conn, tenant_id)
            else:
                head = known.get(case_id)
                if head is None:
                    if postgres:
                        head = conn.exec_driver_sql(_PG_CASE_HEAD, (case_id, tenant_id)).one_or_none()
                    else:
                        head = conn.execute(_CASE_HEAD, {"b_case_id": case_id, "b_tenant_id": tenant_id}).one_or_none()
                    if head is None:
                        raise ValueError(f"an event names case {case_id}, which tenant {tenant_id} does not have")
                seq, prev = head[0], head[1] or GENESIS
            rows, seq, prev = self.chain_rows(tenant_id, case_id, chain, seq, prev)
            head_key = tenant_id if case_id is None else case_id
            if postgres:
                params = [value for row in rows for value in row]
                params += (seq, prev, head_key)
                # Straight to the driver: this statement is on every state change's path.
                with conn.connection.dbapi_connection.cursor() as cursor:
                    try:
                        cursor.execute(_pg_append(case_id is not None, len(rows)), params)
                    except Exception as exc:  # the driver's own errors: map the races as SQLAlchemy's would be
                        if getattr(exc, "sqlstate", None) in _RACES:
                            raise Conflict("another change to the same case happened at the same time; try again") from exc
                        raise
            else:
                try:
                    conn.execute(_INSERT_EVENTS, [dict(zip(_EVENT_COLUMNS, row)) for row in rows])
                except IntegrityError:  # the unique (chain, seq) index: the last guard against a fork
                    raise Conflict("another change to the same case happened at the same time; try again") from None
                if case_id is None:
                    conn.execute(_SET_TENANT_HEAD, {"b_tenant_id": tenant_id, "b_seq": seq, "b_hash": prev})
                else:
                    conn.execute(_SET_CASE_HEAD, {"b_case_id": case_id, "b_seq": seq, "b_hash": prev})
        return self._anchor_later({tenant_id for tenant_id, _ in chains})

    def chain_rows(self, tenant_id: int, case_id: int | None, chain: list[Event], seq: int, prev: str):
        """The rows of ``chain`` appended after (``seq``, ``prev``): hashed, identity numbers masked."""
        rows = []
        now = None
        for event in chain:
            seq += 1
            at = event.at
            if at is None:
                at = now = now or self.clock()
            data_text = event_text(event.data)
            digest = event_hash(
                prev, header(tenant_id, case_id, seq, canonical_time(at), event.kind, event.actor, event.task_id), data_text
            )
            rows.append((tenant_id, case_id, seq, at, event.kind, event.actor, event.task_id, data_text, prev, digest))
            prev = digest
        return rows, seq, prev

    @staticmethod
    def _tenant_head(conn, tenant_id: int) -> tuple[int, str]:
        def read():
            if conn.dialect.name == "postgresql":
                return conn.execute(_TENANT_HEAD, {"tenant_id": tenant_id}).one_or_none()
            return conn.execute(_TENANT_HEAD_SQLITE, {"b_tenant_id": tenant_id}).one_or_none()

        head = read()
        if head is None:
            _upsert_ignore(conn, HEADS, {"tenant_id": tenant_id, "seq": 0, "hash": GENESIS}, ["tenant_id"])
            head = read()
        return head[0], head[1]

    def after_appending(self, tenant_ids: set[int]) -> Callable[[], None] | None:
        """What to run after a commit that appended events of ``tenant_ids`` by a statement of its
        own, without this writer (a claim alone): the hourly anchoring of closed days, if due."""
        return self._anchor_later(tenant_ids)

    def _anchor_later(self, tenant_ids: set[int]) -> Callable[[], None] | None:
        """A callback for after the commit that anchors closed days, if an hour has passed."""
        if self.anchor_every is None or self.session_factory is None:
            return None
        now = self.clock()
        if len(self._next_anchor_check) >= len(tenant_ids) and all(
            self._next_anchor_check.get(t, now) > now for t in tenant_ids
        ):
            return None  # the common case, without the lock
        with self._lock:
            due = [t for t in tenant_ids if self._next_anchor_check.get(t, now) <= now]
            for tenant_id in due:
                self._next_anchor_check[tenant_id] = now + self.anchor_every
        if not due:
            return None

        def anchor():
            try:
                session = self.session_factory()
                try:
                    for tenant_id in due:
                        anchor_days(session, tenant_id, now)
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
            except Exception:  # the user's change is committed; anchoring is retried next hour
                log.exception("anchoring the trail failed")

        return anchor


def _upsert_ignore(conn, table, values: dict, keys: list[str]):
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return conn.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))


# -- daily anchors ------------------------------------------------------------------------------------
def anchor_header(tenant_id: int, day: date, events: int) -> str:
    return f'[{FORMAT_VERSION},{tenant_id},"{day.isoformat()}",{events}]'


def _tenant_zone(session, tenant_id: int) -> ZoneInfo:
    name = session.execute(select(Tenant.timezone).where(Tenant.id == tenant_id)).scalar_one_or_none()
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except Exception:
        return ZoneInfo("Asia/Shanghai")


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def anchor_days(session: Session, tenant_id: int, now: datetime | None = None) -> list[dict]:
    """Write the anchors of every closed day of the tenant not anchored yet; returns them.

    Idempotent and safe to run from several processes at once (a day's anchor is inserted
    with ON CONFLICT DO NOTHING, and its content is a function of the committed events).
    The caller commits.
    """
    now = now or utcnow()
    conn = session.connection()
    zone = _tenant_zone(session, tenant_id)
    last = conn.execute(
        select(ANCHORS.c.day, ANCHORS.c.hash).where(ANCHORS.c.tenant_id == tenant_id).order_by(ANCHORS.c.day.desc()).limit(1)
    ).one_or_none()
    prev_hash = last.hash if last else GENESIS
    start = _day_bounds(last.day, zone)[1] if last else None
    closed_before = (now - ANCHOR_GRACE).astimezone(zone).date()  # days before this one are closed
    written = []
    while True:
        query = select(func.min(EVENTS.c.at)).where(EVENTS.c.tenant_id == tenant_id)
        if start is not None:
            query = query.where(EVENTS.c.at >= start)
        first = conn.execute(query).scalar()
        if first is None:
            break
        day = first.astimezone(zone).date()
        if day >= closed_before:
            break
        day_start, day_end = _day_bounds(day, zone)
        rows = conn.execute(
            select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.hash)
            .where(EVENTS.c.tenant_id == tenant_id, EVENTS.c.at >= day_start, EVENTS.c.at < day_end)
        ).all()
        heads: dict[int | None, tuple[int, str]] = {}
        for case_id, seq, digest in rows:
            if case_id not in heads or heads[case_id][0] < seq:
                heads[case_id] = (seq, digest)
        heads_text = canonical_data(
            [[case_id, seq, digest] for case_id, (seq, digest) in sorted(heads.items(), key=lambda kv: kv[0] or 0)]
        )
        digest = event_hash(prev_hash, anchor_header(tenant_id, day, len(rows)), heads_text)
        values = {"tenant_id": tenant_id, "day": day, "events": len(rows), "heads": heads_text,
                  "prev_hash": prev_hash, "hash": digest, "created_at": now}
        if _upsert_ignore(conn, ANCHORS, values, ["tenant_id", "day"]).rowcount == 0:
            break  # another process anchored it first; it goes on from there
        written.append({"day": day, "events": len(rows), "chains": len(heads), "hash": digest})
        prev_hash, start = digest, day_end
    return written


def anchor_trail(ctx, now: datetime | None = None, tenant_id: int | None = None) -> list[dict]:
    """Anchor every closed day of every tenant (or one); for the CLI and schedulers."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        tenants = [tenant_id] if tenant_id is not None else list(s.scalars(select(Tenant.id).order_by(Tenant.id)))
        written = []
        for tid in tenants:
            written += [{"tenant_id": tid, **a} for a in anchor_days(s, tid, now or ctx.clock())]
        uow.commit()
    return written


# -- reading --------------------------------------------------------------------------------------------
def event_view(row) -> dict:
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "kind": row.kind,
        "task": row.task_id,
        "case_id": row.case_id,
        "data": json.loads(row.data),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _require(actor: Actor, roles: tuple[str, ...]) -> None:
    if not actor.has_role(*roles):
        raise Forbidden("your roles do not allow reading the trail")


def _case_row(s, actor: Actor, case_id: int):
    row = s.execute(
        select(CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.process_key, CASES.c.model_version,
               CASES.c.service_code, CASES.c.created_at, CASES.c.ended_at, CASES.c.trail_seq, CASES.c.trail_hash)
        .where(CASES.c.id == case_id, CASES.c.tenant_id == actor.tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    return row


def case_trail(ctx, actor: Actor, case_id: int) -> dict:
    """Every event of a case in order, with its chain fields; 404 for other tenants' cases."""
    _require(actor, READ_ROLES)
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = _case_row(s, actor, case_id)
        rows = s.execute(
            select(EVENTS).where(EVENTS.c.tenant_id == actor.tenant_id, EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)
        ).all()
        return {
            "case": {"id": case.id, "number": case.number, "status": case.status, "process_key": case.process_key,
                     "model_version": case.model_version, "service_code": case.service_code,
                     "created_at": case.created_at, "ended_at": case.ended_at},
            "events": [event_view(r) for r in rows],
        }


def case_trail_export(ctx, actor: Actor, case_id: int) -> dict:
    """The trail with its verification and the encoding, so anyone can re-hash it offline."""
    trail = case_trail(ctx, actor, case_id)
    trail["verification"] = verify_case(ctx, actor, case_id)
    trail["encoding"] = {
        "format_version": FORMAT_VERSION,
        "hash": "sha256(prev_hash + '\\n' + header + '\\n' + data) as lower-case hex",
        "header": "JSON array [1, tenant_id, case_id, seq, at, kind, actor, task], no spaces, UTF-8, "
                  "at as UTC ISO 8601 with microseconds (e.g. 2026-11-25T01:02:03.000004+00:00)",
        "data": "JSON of data with sorted keys, no spaces, UTF-8 characters unescaped",
        "genesis_prev_hash": GENESIS,
    }
    trail["tenant_id"] = actor.tenant_id
    trail["exported_at"] = ctx.clock()
    trail["exported_by"] = actor.username
    return trail


# -- verification ------------------------------------------------------------------------------------
@dataclass
class Verification:
    """What verifying found: ``first_bad_seq`` names where the first problem is, ``reason`` why."""

    checked: int = 0
    chains: int = 0
    anchors_checked: int = 0
    problems: list[dict] = field(default_factory=list)

    def problem(self, case_id: int | None, seq: int | None, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"case_id": case_id, "seq": seq, "reason": reason})

    def result(self) -> dict:
        first = self.problems[0] if self.problems else None
        return {
            "valid": not self.problems,
            "checked": self.checked,
            "chains": self.chains,
            "anchors_checked": self.anchors_checked,
            "first_bad_seq": first["seq"] if first else None,
            "case_id": first["case_id"] if first else None,
            "reason": first["reason"] if first else None,
            "problems": self.problems,
        }


_VERIFY_COLUMNS = (
    EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.kind, EVENTS.c.actor, EVENTS.c.task_id,
    EVENTS.c.data, EVENTS.c.prev_hash, EVENTS.c.hash,
)
# On PostgreSQL the server assembles each event's hashed message (prev_hash, header, data)
# from the stored columns: to_char is exact to the microsecond, and to_json escapes strings
# exactly as Python's json.dumps(ensure_ascii=False) does. Python then only hashes and compares.
_PG_EVENTS = (
    "SELECT case_id, seq, prev_hash, hash, prev_hash || E'\\n[" + str(FORMAT_VERSION) + ",' || tenant_id || ',' || "
    "coalesce(case_id::text, 'null') || ',' || seq || ',\"' || "
    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') || '\",' || to_json(kind)::text || ',' || "
    "coalesce(to_json(actor)::text, 'null') || ',' || coalesce(task_id::text, 'null') || E']\\n' || data "
    "FROM trail_events WHERE tenant_id = %s AND {where} ORDER BY {order}"
)
_cursor_numbers = iter(range(1, 1 << 62))


def _pg_stream(conn, sql: str, params: tuple, batch: int = 20_000) -> Iterator[tuple]:
    """Rows of ``sql`` through a server-side cursor of the connection's own transaction.

    Straight to the driver: SQLAlchemy's per-row processing would cost more than the hashing.
    """
    cursor = conn.connection.dbapi_connection.cursor(name=f"trail_verify_{next(_cursor_numbers)}")
    try:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield from rows
    finally:
        cursor.close()


def _event_rows(conn, tenant_id: int, case_id: int | None = None, case_chains: bool = True) -> Iterator[tuple]:
    """Events in chain order as (case_id, seq, prev_hash, hash, the hashed message).

    ``case_id`` given: that case's chain; else every case chain (``case_chains``) or the
    tenant's chain of case-less events.
    """
    if conn.dialect.name == "postgresql":
        if case_id is not None:  # one chain is short: a plain query, one round trip
            yield from conn.exec_driver_sql(_PG_EVENTS.format(where="case_id = %s", order="seq"), (tenant_id, case_id))
        elif case_chains:
            yield from _pg_stream(conn, _PG_EVENTS.format(where="case_id IS NOT NULL", order="case_id, seq"), (tenant_id,))
        else:
            yield from _pg_stream(conn, _PG_EVENTS.format(where="case_id IS NULL", order="seq"), (tenant_id,))
        return
    query = select(*_VERIFY_COLUMNS).where(EVENTS.c.tenant_id == tenant_id)
    if case_id is not None:
        query = query.where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)
    elif case_chains:
        query = query.where(EVENTS.c.case_id.is_not(None)).order_by(EVENTS.c.case_id, EVENTS.c.seq)
    else:
        query = query.where(EVENTS.c.case_id.is_(None)).order_by(EVENTS.c.seq)
    for chain, seq, at, kind, actor, task_id, data, prev_hash, digest in conn.execute(query):
        message = f"{prev_hash}\n{header(tenant_id, chain, seq, canonical_time(at), kind, actor, task_id)}\n{data}"
        yield chain, seq, prev_hash, digest, message


def _case_heads(conn, tenant_id: int) -> Iterator[tuple]:
    """(case id, trail_seq, trail_hash) of the tenant's cases, by id."""
    if conn.dialect.name == "postgresql":
        yield from _pg_stream(conn, "SELECT id, trail_seq, trail_hash FROM cases WHERE tenant_id = %s ORDER BY id",
                              (tenant_id,), 50_000)
        return
    yield from conn.execute(
        select(CASES.c.id, CASES.c.trail_seq, CASES.c.trail_hash).where(CASES.c.tenant_id == tenant_id).order_by(CASES.c.id)
    )


def _check_chain(case_id: int | None, rows: Iterable, report: Verification) -> tuple[int, str, bool]:
    """Walk one chain in seq order; returns (last good seq, its hash, intact)."""
    sha256 = hashlib.sha256
    expected, prev = 1, GENESIS
    intact = True
    checked = 0
    for _, seq, prev_hash, digest, message in rows:
        checked += 1
        if not intact:
            continue
        if seq != expected:
            if seq > expected:
                missing = f"event {expected} is missing" if seq == expected + 1 else f"events {expected}–{seq - 1} are missing"
                report.problem(case_id, expected, missing + " (deleted or re-numbered)")
            else:
                report.problem(case_id, seq, f"event {seq} appears twice or out of order")
            intact = False
        elif prev_hash != prev:
            report.problem(case_id, seq, (
                f"prev_hash does not match the hash of event {seq - 1} (events removed, re-ordered or altered)"
                if seq > 1 else "prev_hash of the first event is not the genesis value"))
            intact = False
        elif sha256(message.encode()).hexdigest() != digest:
            report.problem(case_id, seq, f"the content of event {seq} does not match its hash (altered)")
            intact = False
        else:
            prev = digest
            expected += 1
    report.checked += checked
    return expected - 1, prev, intact


def _check_head(case_id: int | None, head_seq: int, head_hash: str | None, last_seq: int, last_hash: str,
                intact: bool, report: Verification, holder: str) -> None:
    if not intact:
        return
    if head_seq > last_seq:
        if last_seq == 0:
            report.problem(case_id, 1, f"all {head_seq} events of the chain are missing ({holder} says {head_seq})")
        else:
            report.problem(case_id, last_seq + 1, f"the chain ends at event {last_seq} but {holder} says {head_seq}: "
                                                  "later events were deleted")
    elif head_seq < last_seq:
        report.problem(case_id, head_seq + 1, f"events after {head_seq} are not accounted for by {holder}")
    elif head_seq and head_hash != last_hash:
        report.problem(case_id, head_seq, f"the last event's hash differs from the head kept by {holder}")


def _group_by_case(rows: Iterable) -> Iterator[tuple[int | None, Iterator]]:
    """Like itertools.groupby on case_id, for rows ordered by (case_id, seq)."""
    from itertools import groupby

    return groupby(rows, key=lambda r: r[0])


def verify_case(ctx, actor: Actor, case_id: int) -> dict:
    """Check one case's chain: numbering, links, hashes and the head kept on the case row."""
    _require(actor, READ_ROLES)
    return verify_case_chain(ctx, actor.tenant_id, case_id)


def verify_case_chain(ctx, tenant_id: int | None, case_id: int) -> dict:
    """The case verification itself; ``tenant_id`` None means the case's own (the CLI)."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        query = select(CASES.c.tenant_id, CASES.c.trail_seq, CASES.c.trail_hash).where(CASES.c.id == case_id)
        if tenant_id is not None:
            query = query.where(CASES.c.tenant_id == tenant_id)
        case = s.execute(query).one_or_none()
        if case is None:
            raise NotFound(f"case {case_id} does not exist")
        report = Verification(chains=1)
        rows = _event_rows(s.connection(), case.tenant_id, case_id)
        last_seq, last_hash, intact = _check_chain(case_id, rows, report)
        _check_head(case_id, case.trail_seq or 0, case.trail_hash, last_seq, last_hash, intact, report, "the case row")
        return report.result()


def verify_tenant(ctx, actor: Actor) -> dict:
    """Check every chain of the caller's tenant, the heads on the case rows and the daily anchors."""
    _require(actor, VERIFY_ALL_ROLES)
    return verify_tenant_chains(ctx, actor.tenant_id)


def verify_tenant_chains(ctx, tenant_id: int) -> dict:
    """The tenant-wide verification itself (the CLI calls it without an actor)."""
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        report = Verification()
        # Case chains, merged with the case rows (both ordered by case id) in one pass.
        cases = _case_heads(conn, tenant_id)
        pending = next(cases, None)
        for case_id, chain in _group_by_case(_event_rows(conn, tenant_id)):
            while pending is not None and pending[0] < case_id:
                _check_head(pending[0], pending[1] or 0, pending[2], 0, GENESIS, True, report, "the case row")
                pending = next(cases, None)
            report.chains += 1
            last_seq, last_hash, intact = _check_chain(case_id, chain, report)
            if pending is not None and pending[0] == case_id:
                _check_head(case_id, pending[1] or 0, pending[2], last_seq, last_hash, intact, report, "the case row")
                pending = next(cases, None)
            elif intact:
                report.problem(case_id, None, f"case {case_id} has {last_seq} events but no case row (the case was deleted)")
        while pending is not None:
            _check_head(pending[0], pending[1] or 0, pending[2], 0, GENESIS, True, report, "the case row")
            pending = next(cases, None)
        # The tenant's chain of case-less events.
        head = conn.execute(select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant_id == tenant_id)).one_or_none()
        tenant_rows = list(_event_rows(conn, tenant_id, case_chains=False))
        if tenant_rows or head is not None:
            report.chains += 1
            last_seq, last_hash, intact = _check_chain(None, tenant_rows, report)
            _check_head(None, head.seq if head else 0, head.hash if head else None, last_seq, last_hash, intact, report,
                        "the tenant's head")
        _check_anchors(conn, tenant_id, report)
        return report.result()


_PG_ANCHORED = (
    "SELECT h.case_id, h.seq, e.hash FROM unnest(%s::bigint[], %s::int[]) AS h(case_id, seq) "
    "LEFT JOIN trail_events e ON e.tenant_id = %s AND e.case_id = h.case_id AND e.seq = h.seq"
)


def _stored_hashes(conn, tenant_id: int, keys: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The stored hash of each (case id, seq) that still exists."""
    found: dict[tuple[int, int], str] = {}
    if not keys:
        return found
    if conn.dialect.name == "postgresql":  # one index lookup per head, one round trip per anchor
        rows = conn.exec_driver_sql(_PG_ANCHORED, ([c for c, _ in keys], [q for _, q in keys], tenant_id))
        return {(c, q): h for c, q, h in rows if h is not None}
    for i in range(0, len(keys), 400):
        found.update(((c, q), h) for c, q, h in conn.execute(
            select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.hash)
            .where(EVENTS.c.tenant_id == tenant_id, tuple_(EVENTS.c.case_id, EVENTS.c.seq).in_(keys[i:i + 400]))
        ))
    return found


def _check_anchors(conn, tenant_id: int, report: Verification) -> None:
    """The anchors chain to each other, and every head they name still exists unchanged."""
    prev = GENESIS
    anchors = conn.execute(
        select(ANCHORS.c.day, ANCHORS.c.events, ANCHORS.c.heads, ANCHORS.c.prev_hash, ANCHORS.c.hash)
        .where(ANCHORS.c.tenant_id == tenant_id).order_by(ANCHORS.c.day)
    ).all()
    for day, events, heads_text, prev_hash, digest in anchors:
        report.anchors_checked += 1
        if prev_hash != prev or event_hash(prev_hash, anchor_header(tenant_id, day, events), heads_text) != digest:
            report.problem(None, None, f"the anchor of {day} was altered, or an anchor before it removed")
            return
        prev = digest
        heads = json.loads(heads_text)
        found = _stored_hashes(conn, tenant_id, [(c, seq) for c, seq, _ in heads if c is not None])
        for c, seq, h in heads:
            if c is None:
                actual = conn.execute(
                    select(EVENTS.c.hash).where(and_(EVENTS.c.tenant_id == tenant_id, EVENTS.c.case_id.is_(None),
                                                     EVENTS.c.seq == seq))
                ).scalar_one_or_none()
            else:
                actual = found.get((c, seq))
            if actual is None:
                report.problem(c, seq, f"event {seq} of this chain, anchored on {day}, no longer exists")
            elif actual != h:
                report.problem(c, seq, f"event {seq} of this chain differs from the one anchored on {day}")
