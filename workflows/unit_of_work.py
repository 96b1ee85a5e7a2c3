"""One transaction per use case.

``with ctx.unit_of_work() as uow: ...; uow.commit()`` — anything not committed is rolled
back when the block ends, so a failing use case never leaves half a case behind.
Repositories and helpers take ``uow.session`` and never commit themselves; a use case
called from another joins the caller's unit of work instead of opening its own.
"""
from __future__ import annotations

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


class UnitOfWork:
    def __init__(self, session_factory: Callable[[], Session]):
        self._session_factory = session_factory
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

    def commit(self) -> None:
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        self._after_rollback = []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
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
