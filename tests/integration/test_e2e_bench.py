"""``bench/e2e_http.py --quick``: the whole-case HTTP benchmark runs against real gunicorn,
PostgreSQL, Redis and a Celery worker, and prints sane figures (no timed assertion: the
figures depend on the machine; the test checks they exist and hang together)."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import require_postgres, require_redis
from tests.processes import REPO


def test_quick_run_prints_sane_figures():
    url, redis_url = require_postgres(), require_redis()
    base = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_e2e"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "e2e_http.py"), "--quick", "--tables-baseline", "--database-url", base,
         "--redis-url", redis_url], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)/(\d+)/(\d+)\s+(\d+)/(\d+)/(\d+)\s+"
                      r"(\d+)/(\d+)/(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out, re.M)
    assert [int(r[0]) for r in rows] == [1, 2], out
    for row in rows:
        rate, raw, ratio = float(row[1]), float(row[2]), float(row[3])
        assert rate > 0 and raw > 0 and abs(ratio - rate / raw) < 0.01
        for p50, p95, p99 in (row[4:7], row[7:10], row[10:13]):
            assert 0 <= int(p50) <= int(p95) <= int(p99)
        app_ms, db_ms, _, xact, trips, statements = map(float, row[13:19])
        assert app_ms > 0 and db_ms > 0
        assert xact > 3  # 7 requests with a transaction each (pg_stat_database reports with a lag)
        assert trips > statements >= 7
    # the raw baselines' own CPU, and the same rows written into Redwall's tables (raw*)
    baselines = re.findall(r"^\s+(\d+) clients: raw ([\d.]+) cases/s, ([\d.]+) / ([\d.]+) ms; "
                           r"raw\* ([\d.]+) cases/s, ([\d.]+) / ([\d.]+) ms, ratio to raw\* ([\d.]+)$", out, re.M)
    assert [int(b[0]) for b in baselines] == [1, 2], out
    for (clients, raw, raw_db, raw_clients, star, star_db, star_clients, star_ratio), row in zip(baselines, rows):
        assert float(raw) == float(row[2]) and float(star) > 0
        assert float(raw_db) > 0 and float(raw_clients) > 0 and float(star_db) > 0 and float(star_clients) > 0
        assert abs(float(star_ratio) - float(row[1]) / float(star)) < 0.01
    stored = re.search(r"stored per concluded case \((\d+) cases.*: ([\d.]+) KB as left, ([\d.]+) KB after VACUUM FULL",
                       out)
    assert stored, out
    assert int(stored[1]) > 0 and 0 < float(stored[3]) <= float(stored[2]) * 1.2
    assert "cores busy" in out


def test_instruction_count_prints_a_figure_per_tree():
    """``bench/case_instructions.py``: whole cases under valgrind give instructions per case
    (valgrind is on every machine of this project's kind; CI needs it, so it is not skipped)."""
    url = require_postgres()
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "case_instructions.py"), "--cases", "2", "--warm-up", "6",
         "--database-url", url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_instructions"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figure = re.search(r"@\w+: ([\d.]+) M instructions per case", done.stdout)
    assert figure and 5 < float(figure[1]) < 500, done.stdout


def test_stack_floor_prints_its_parts_and_the_ceiling():
    """``bench/stack_floor.py``: a bare Flask app under this repository's gunicorn settings, the
    engine's part of a whole case, the raw baseline's CPU; the ceiling is their stated quotient."""
    url = require_postgres()
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "stack_floor.py"), "--clients", "2", "--seconds", "1",
         "--requests", "200", "--cases", "10",
         "--database-url", url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_floor"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    http = re.search(r"([\d.]+) ms CPU per request, x 7 = ([\d.]+) ms per case", out)
    engine = re.search(r"2\. engine: .*: ([\d.]+) ms CPU per case", out)
    raw = re.search(r"database ([\d.]+) \+ clients ([\d.]+) = ([\d.]+) ms CPU per case", out)
    floor = re.search(r"floor of a whole case over HTTP: ([\d.]+) ms CPU", out)
    ceiling = re.search(r"CPU-bound: ([\d.]+) / ([\d.]+) = ([\d.]+)$", out, re.M)
    assert http and engine and raw and floor and ceiling, out
    assert 0 < float(http[1]) < 50 and float(engine[1]) > 0 and float(raw[1]) > 0 and float(raw[2]) > 0
    assert abs(float(floor[1]) - (float(http[2]) + float(engine[1]) + float(raw[3]))) < 0.02
    assert abs(float(ceiling[3]) - float(raw[3]) / float(floor[1])) < 0.01 and 0 < float(ceiling[3]) < 1
