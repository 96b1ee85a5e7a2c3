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


class NestedUnitFailed(RuntimeError):
    """A unit of work nested in this one ended with an error: this one must not commit."""


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session], event_sink: EventSink | None = None):
        self._session_factory = session_factory
        self._event_sink = event_sink
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
            self.session.close()
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
