"""Counts a process's database round trips for bench/e2e_http.py, in any checkout.

bench/e2e_http.py puts this folder first on PYTHONPATH of the processes it starts, with
``REDWALL_COUNT_STATEMENTS`` naming a folder: Python imports ``sitecustomize`` at start-up,
which listens on every SQLAlchemy engine of the process for statements, BEGINs, COMMITs and
ROLLBACKs, and writes the counts to ``<folder>/<pid>.json`` at most once a second and at
exit. The product itself carries no benchmark code, and old trees count the same way
(pg_stat_statements would need a server restart to load).
"""
import os

if os.environ.get("REDWALL_COUNT_STATEMENTS"):
    import atexit
    import json
    import time
    from pathlib import Path

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

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

    event.listen(Engine, "before_cursor_execute", lambda *a, **k: _bump("statements"))
    event.listen(Engine, "begin", lambda conn: _bump("begin"))
    event.listen(Engine, "commit", lambda conn: _bump("commit"))
    event.listen(Engine, "rollback", lambda conn: _bump("rollback"))
    atexit.register(_write)
