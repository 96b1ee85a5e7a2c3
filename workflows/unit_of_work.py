"""One transaction per use case.

``with ctx.unit_of_work() as uow: ...; uow.commit()`` — anything not committed is rolled
back when the block ends, so a failing use case never leaves half a case behind.
Repositories and helpers take ``uow.session`` and never commit themselves; a use case
called from another joins the caller's unit of work instead of opening its own.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session


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
