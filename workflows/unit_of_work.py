"""One transaction per use case.

``with ctx.unit_of_work() as uow: ...; uow.commit()`` — anything not committed is rolled
back when the block ends, so a failing use case never leaves half a case behind.
Repositories and helpers take ``uow.session`` and never commit themselves; a use case
called from another joins the caller's unit of work instead of opening its own.

Nesting: when the session factory hands out the session an open unit of work is using (the
web app's scoped session), the inner unit **joins** the outer one: its events, after-commit
and after-rollback work become the outer unit's, its ``commit()`` leaves the commit to the
outer unit, and leaving it neither rolls back nor closes the session. If the inner block
ends with an exception the outer unit is marked failed and its ``commit()`` raises
:class:`NestedUnitFailed` (the outer work is rolled back, never committed half-done and
never silently dropped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from .errors import Conflict

# SQLSTATEs of PostgreSQL for transactions that lost to a concurrent one.
_RACE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def lost_a_race(exc: BaseException) -> bool:
    """True for database errors that mean "a concurrent writer won", on SQLite or PostgreSQL."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    if getattr(original, "sqlstate", None) in _RACE_SQLSTATES:
        return True
    message = str(original).lower()
    return "database is locked" in message or "database table is locked" in message


@dataclass
class Event:
    """A state change for the trail (办事留痕), written in the same transaction as the change."""

    kind: str
    tenant_id: int
    case_id: int | None = None
    task_id: int | None = None
    actor: str | None = None
    data: dict = field(default_factory=dict)
    at: datetime | None = None


EventSink = Callable[[Session, list[Event]], "Callable[[], None] | None"]


_ACTIVE = "redwall.unit_of_work"


def unit_open(session_factory: Callable[[], Session]) -> bool:
    """Whether the session ``session_factory`` hands out is in use by an open unit of work (a use
    case called from another's). Asks without creating a session where the factory is a scoped
    session (the web app's ``db.session``) that has none yet."""
    session = session_factory()
    if isinstance(session, scoped_session):
        if not session.registry.has():
            return False
        session = session()
    return session.info.get(_ACTIVE) is not None


def _idle(session) -> bool:
    """A Session no unit uses, in no transaction, holding no objects: one a unit may stand in for."""
    return (isinstance(session, Session) and session.info.get(_ACTIVE) is None and not session.in_transaction()
            and not session.identity_map and not session.new)


class LeanSession:
    """What a unit of work of the hot path uses of a Session, on a pooled Core connection: the
    connection (begun at first use), ``info``, the transaction's identity, commit, rollback and
    close. An ORM Session is made only when something asks for more (a query, an object to add),
    bound to the same connection and transaction, and everything else is handed to it.

    A case step on the hot path (a start, a completion) writes through statements of its own
    (``workflows.driver``) and needs none of the ORM's bookkeeping; a Session made, begun,
    committed and closed around them took about 300,000 instructions a request more than this
    (``bench/case_instructions.py``: 1.25 M per whole case for its start and three completions).
    """

    def __init__(self, engine):
        self._engine = engine
        self._conn = None
        self._orm: Session | None = None
        self._transaction: object | None = None
        self.info: dict = {}

    def get_bind(self, *args, **kwargs):
        return self._engine

    def connection(self, *args, **kwargs):
        if self._conn is None:
            self._conn = self._engine.connect()
        if not self._conn.in_transaction():
            self._conn.begin()
            self._transaction = object()
        elif self._transaction is None:  # begun by the ORM session after a commit: a new transaction
            self._transaction = object()
        return self._conn

    def get_transaction(self):
        return self._transaction

    def orm(self) -> Session:
        """The ORM Session on this connection and its transaction (made at the first need)."""
        if self._orm is None:
            self._orm = Session(bind=self.connection(), join_transaction_mode="rollback_only")
            self._orm.info.update(self.info)
            self.info = self._orm.info  # one dict, whichever of the two is asked
        return self._orm

    def __getattr__(self, name):
        return getattr(self.orm(), name)

    def commit(self) -> None:
        if self._orm is not None:
            self._orm.commit()  # flushes; the connection's transaction is committed here
        if self._conn is not None and self._conn.in_transaction():
            self._conn.commit()
        self._transaction = None

    def rollback(self) -> None:
        if self._orm is not None:
            self._orm.rollback()
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()
        self._transaction = None

    def close(self) -> None:
        orm, conn, self._orm, self._conn, self._transaction = self._orm, self._conn, None, None, None
        try:
            if orm is not None:
                orm.close()
        finally:
            if conn is not None:
                conn.close()


class NestedUnitFailed(RuntimeError):
    """A unit of work nested in this one ended with an error: this one must not commit."""


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session], event_sink: EventSink | None = None,
                 lean_engine=None):
        self._session_factory = session_factory
        self._event_sink = event_sink
        # given (the engine of the factory's scoped session), a unit of its own runs on a LeanSession
        self._lean_engine = lean_engine
        self._lean_in: scoped_session | None = None
        self._lean_previous: Session | None = None
        self._events: list[Event] = []
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []
        #: the unit this one joined (the session was in use by it), or None
        self.outer: UnitOfWork | None = None
        self._failed: BaseException | None = None

    @property
    def events(self) -> list[Event]:
        return self.outer.events if self.outer is not None else self._events

    @events.setter
    def events(self, value: list[Event]) -> None:
        if self.outer is not None:
            self.outer.events = value
        else:
            self._events = value

    def __enter__(self) -> "UnitOfWork":
        session = self._session_factory()
        if self._lean_engine is not None and isinstance(session, scoped_session):
            previous = session.registry() if session.registry.has() else None
            if previous is None or _idle(previous):
                # No unit is open in this scope and its session (if any) holds nothing: this
                # unit's LeanSession stands in as the scope's session while the unit lasts, so
                # whatever asks the scope (a nested unit, a helper on ``db.session``) works in this
                # unit's transaction; the scope's own session comes back afterwards, untouched.
                lean = LeanSession(self._lean_engine)
                session.registry.set(lean)
                self._lean_in, self._lean_previous = session, previous
                lean.info[_ACTIVE] = self
                self.session = lean
                return self
        if isinstance(session, scoped_session):
            # Flask-SQLAlchemy's db.session: the Session behind it, looked up once here rather than
            # through the proxy's registry (keyed on the app context) at every call of the step.
            session = session()
        outer = session.info.get(_ACTIVE)
        if outer is not None and outer.session is session:
            self.outer = outer
            self.session = session
            return self
        session.info[_ACTIVE] = self
        self.session = session
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.outer is not None:  # joined: the outer unit commits or rolls back
            if exc is not None:
                self.outer._failed = self.outer._failed or exc
            return
        try:
            self.rollback()
        finally:
            if self.session.info.get(_ACTIVE) is self:
                del self.session.info[_ACTIVE]
            try:
                self.session.close()
            finally:
                scope, previous, self._lean_in, self._lean_previous = self._lean_in, self._lean_previous, None, None
                if scope is not None and scope.registry.has() and scope.registry() is self.session:
                    if previous is not None:
                        scope.registry.set(previous)
                    else:
                        scope.registry.clear()
        if exc is not None and lost_a_race(exc):
            raise Conflict("another change to the same data happened at the same time; try again") from exc

    def record(self, kind: str, tenant_id: int, **details) -> Event:
        """Note a state change; the event sink writes it just before the commit."""
        event = Event(kind=kind, tenant_id=tenant_id, **details)
        self.events.append(event)
        return event

    def commit(self) -> None:
        if self.outer is not None:
            return  # joined: the outer unit commits the whole
        if self._failed is not None:
            raise NestedUnitFailed("a unit of work nested in this one failed; nothing is committed") from self._failed
        if self.events and self._event_sink is not None:
            # A sink may hand back follow-up work for after the commit (the trail's daily anchors).
            followup = self._event_sink(self.session, self.events)
            if callable(followup):
                self._after_commit.append(followup)
        self.events = []
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        self._after_rollback = []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        if self.outer is not None:
            raise NestedUnitFailed("a unit of work joined to another cannot roll back on its own")
        self.events = []
        self.session.rollback()
        callbacks, self._after_rollback = self._after_rollback, []
        self._after_commit = []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (e.g. enqueue work, fill caches)."""
        (self.outer or self)._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the transaction is rolled back (e.g. drop now-invalid cached state)."""
        (self.outer or self)._after_rollback.append(callback)
