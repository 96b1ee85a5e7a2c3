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

    from driver_counts import count_at_driver  # beside this file, first on PYTHONPATH

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

    count_at_driver(_bump)
    atexit.register(_write)
