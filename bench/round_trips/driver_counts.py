"""Round trips counted at the database driver, as psycopg sends them: a statement outside a
transaction on a connection not in autocommit is preceded by a BEGIN; COMMIT and ROLLBACK go
out only when a transaction is open (psycopg skips them otherwise). Statements sent past
SQLAlchemy (``workflows.driver``) are counted too. Used by ``sitecustomize`` (every process
``bench/e2e_http.py`` starts) and by ``bench/step_statements.py``."""
from __future__ import annotations

from typing import Callable


def count_at_driver(bump: Callable[[str], None], sent: Callable[[object], None] | None = None) -> None:
    """From now on call ``bump(kind)`` for every ``statements``, ``begin``, ``commit`` and
    ``rollback`` psycopg sends in this process, and ``sent(query)`` for every statement."""
    import psycopg
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    def statement(method):
        def execute(self, query, *args, **kwargs):
            connection = self.connection
            if not connection.autocommit and connection.info.transaction_status == idle:
                bump("begin")
            bump("statements")
            if sent is not None:
                sent(query if isinstance(query, str) else getattr(query, "as_string", lambda c: str(query))(self))
            return method(self, query, *args, **kwargs)
        return execute

    def ending(kind, method):
        def end(self, *args, **kwargs):
            if self.info.transaction_status != idle:
                bump(kind)
            return method(self, *args, **kwargs)
        return end

    psycopg.Cursor.execute = statement(psycopg.Cursor.execute)
    psycopg.Cursor.executemany = statement(psycopg.Cursor.executemany)
    psycopg.Connection.commit = ending("commit", psycopg.Connection.commit)
    psycopg.Connection.rollback = ending("rollback", psycopg.Connection.rollback)
