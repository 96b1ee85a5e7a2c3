"""One transaction per use case.

``with ctx.unit_of_work() as uow: ...; uow.commit()`` — anything not committed is rolled
back when the block ends, so a failing use case never leaves half a case behind.
Repositories and helpers take ``uow.session`` and never commit themselves; a use case
called from another joins the caller's unit of work instead of opening its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

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


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session], event_sink: EventSink | None = None):
        self._session_factory = session_factory
        self._event_sink = event_sink
        self.events: list[Event] = []
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
        if exc is not None and lost_a_race(exc):
            raise Conflict("another change to the same data happened at the same time; try again") from exc

    def record(self, kind: str, tenant_id: int, **details) -> Event:
        """Note a state change; the event sink writes it just before the commit."""
        event = Event(kind=kind, tenant_id=tenant_id, **details)
        self.events.append(event)
        return event

    def commit(self) -> None:
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
        self.events = []
        self.session.rollback()
        callbacks, self._after_rollback = self._after_rollback, []
        self._after_commit = []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (e.g. enqueue work, fill caches)."""
        self._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if the transaction is rolled back (e.g. drop now-invalid cached state)."""
        self._after_rollback.append(callback)
