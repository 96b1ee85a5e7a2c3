"""Counts a process's database round trips for bench/e2e_http.py, in any checkout.

bench/e2e_http.py puts this folder first on PYTHONPATH of the processes it starts, with
``REDWALL_COUNT_STATEMENTS`` naming a folder: Python imports ``sitecustomize`` at start-up,
which counts the process's statements, BEGINs, COMMITs and ROLLBACKs, and writes the counts
to ``<folder>/<pid>.json`` at most once a second and at exit. They are counted at psycopg, as it sends them (a BEGIN before the first statement of a
transaction, none in autocommit; COMMIT and ROLLBACK only for an open transaction). The
product itself carries no benchmark code, and old trees count the same way
(pg_stat_statements would need a server restart to load).
"""
import os

if os.environ.get("REDWALL_COUNT_STATEMENTS"):
    import atexit
    import json
    import time
    from pathlib import Path

    import psycopg
    from psycopg.pq import TransactionStatus

    _counts = {"statements": 0, "begin": 0, "commit": 0, "rollback": 0}
    _folder = Path(os.environ["REDWALL_COUNT_STATEMENTS"])
    _folder.mkdir(parents=True, exist_ok=True)
    _written = [0.0]

    def _write() -> None:
        target = _folder / f"{os.getpid()}.json"
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(_counts))
        temp.replace(target)

    def _bump(kind: str) -> None:
        _counts[kind] += 1
        now = time.monotonic()
        if now - _written[0] >= 1.0:
            _written[0] = now
            _write()

    # Counted at the driver, as psycopg sends them: a statement outside a transaction on a
    # connection that is not in autocommit is preceded by a BEGIN; COMMIT and ROLLBACK go out
    # only when a transaction is open (psycopg skips them otherwise).
    def _statement(method):
        def execute(self, *args, **kwargs):
            connection = self.connection
            if not connection.autocommit and connection.info.transaction_status == TransactionStatus.IDLE:
                _bump("begin")
            _bump("statements")
            return method(self, *args, **kwargs)
        return execute

    def _ending(kind, method):
        def end(self, *args, **kwargs):
            if self.info.transaction_status != TransactionStatus.IDLE:
                _bump(kind)
            return method(self, *args, **kwargs)
        return end

    psycopg.Cursor.execute = _statement(psycopg.Cursor.execute)
    psycopg.Cursor.executemany = _statement(psycopg.Cursor.executemany)
    psycopg.Connection.commit = _ending("commit", psycopg.Connection.commit)
    psycopg.Connection.rollback = _ending("rollback", psycopg.Connection.rollback)
    atexit.register(_write)
