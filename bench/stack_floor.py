"""The least CPU a whole case can take on the chosen stack, measured on this machine, and the
highest ratio to the raw baseline of ``bench/e2e_http.py`` it allows.

At 8 clients on 2 cores both the HTTP server and the raw baseline are CPU-bound (every core
busy), so their ratio of cases/s is the inverse ratio of their CPU per whole case. A whole case
over HTTP cannot take less CPU than, together:

1. **HTTP**: 7 requests through gunicorn (this repository's ``gunicorn.conf.py``) and Flask
   with nothing behind them: a bare Flask app answering a small JSON body, one worker, the
   same keep-alive client as ``bench/e2e_http.py``; the worker's CPU per request x 7;
2. **the engine**: SpiffWorkflow running the case's 4 steps of ``bench/three_tasks.bpmn``
   (start, 3 completions) and serialising the state after each, in one process, the workflow
   kept in memory between steps (the best case of the app's workflow cache: no state loaded);
3. **the rows**: the raw baseline's own CPU per case, database and client (what a whole case
   must write, straight through psycopg), measured here at the same client count.

The ceiling printed is ``raw CPU per case / (1 + 2 + 3)``: what the ratio would be if the app
spent nothing on routing, authentication, validation, JSON answers, SQL building or its
rules. ``bench/e2e_http.py`` prints the ratio reached.

    python bench/stack_floor.py [--clients 8] [--seconds 10] [--requests 5000] [--cases 300]

Needs PostgreSQL on 127.0.0.1 (a fresh database ``redwall_bench_floor``, dropped at the end).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import e2e_http  # noqa: E402
from benchdb import recreate_database  # noqa: E402

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_floor"
ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BARE_APP = textwrap.dedent('''
    from flask import Flask, request

    app = Flask(__name__)


    @app.post("/api/tasks/<int:task_id>/complete")
    def complete(task_id):
        body = request.get_json()
        return {"id": task_id, "status": "completed", "data": body["data"], "next_tasks": []}
''')


def http_floor(requests: int) -> float:
    """Worker CPU ms per request of a bare Flask app under this repository's gunicorn settings."""
    with tempfile.TemporaryDirectory(prefix="redwall-floor-") as folder:
        Path(folder, "bare.py").write_text(BARE_APP)
        port = e2e_http.free_port()
        env = {**os.environ, "PYTHONPATH": folder, "WEB_CONCURRENCY": "1"}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}", "bare:app"],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api = e2e_http.Api(port)
            for _ in range(100):  # the worker is up when it answers
                try:
                    api.post("/api/tasks/1/complete", {"data": {}})
                    break
                except OSError:
                    api.close()
                    time.sleep(0.1)
            body = {"data": e2e_http.STEP_DATA[1]}
            for _ in range(500):
                api.post("/api/tasks/1/complete", body)
            before = e2e_http.tree_cpu(server.pid)
            for _ in range(requests):
                status, answer = api.post("/api/tasks/1/complete", body)
                assert status == 200 and answer["status"] == "completed", (status, answer)
            spent = e2e_http.tree_cpu(server.pid) - before
            api.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return spent * 1000 / requests


def engine_floor(cases: int) -> float:
    """CPU ms of SpiffWorkflow's part of a whole case: 4 steps, the state serialised after each."""
    from workflows.engine import CaseEngine, ModelRuntime
    from workflows.model_parsing import parse_model_files
    from workflows.scripting import RestrictedScriptEngine

    parsed = parse_model_files([(e2e_http.BPMN.name, e2e_http.BPMN.read_bytes())], key="three_tasks")
    runtime = ModelRuntime(model_id=1, key=parsed.key, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs,
                           lanes=dict(parsed.lanes), forms=dict(parsed.forms))
    engine = CaseEngine(RestrictedScriptEngine())

    def one_case() -> None:
        workflow, outcome = engine.start(runtime, {})
        for data in e2e_http.STEP_DATA:
            outcome = engine.complete_task(runtime, workflow, outcome.ready[0].spiff_id, data)
        assert outcome.status == "concluded", outcome.status

    for _ in range(50):
        one_case()
    started = time.process_time()
    for _ in range(cases):
        one_case()
    return (time.process_time() - started) * 1000 / cases


def raw_cost(url: str, admin: str, clients: int, seconds: float) -> tuple[float, float, float]:
    """The raw baseline at ``clients``: cases/s, and database and client CPU ms per case."""
    import psycopg

    recreate_database(url, admin)
    with psycopg.connect(e2e_http.psycopg_url(url), autocommit=True) as conn:
        conn.execute(e2e_http.RAW_SCHEMA)
        conn.execute("CREATE TABLE cases (state text)")  # average_state_bytes reads it: the app's state size
        conn.execute("INSERT INTO cases VALUES (repeat('x', 3500))")
    e2e_http.measure_raw(url, clients, min(2.0, seconds))  # warm-up
    raw = e2e_http.measure_raw(url, clients, seconds)
    return raw["rate"], raw["db_ms"], raw["clients_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--database-url", default=URL, help="created afresh for the raw baseline, dropped at the end")
    parser.add_argument("--admin-url", default=ADMIN)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f} at start")
    per_request = http_floor(args.requests)
    engine = engine_floor(args.cases)
    rate, raw_db, raw_clients = raw_cost(args.database_url, args.admin_url, args.clients, args.seconds)
    raw = raw_db + raw_clients
    floor = 7 * per_request + engine + raw
    print(f"1. HTTP: bare Flask under gunicorn (gunicorn.conf.py, 1 worker): {per_request:.3f} ms CPU per request, "
          f"x 7 = {7 * per_request:.2f} ms per case")
    print(f"2. engine: SpiffWorkflow, 4 steps with the state serialised after each: {engine:.2f} ms CPU per case")
    print(f"3. rows: the raw baseline at {args.clients} clients, {rate:.0f} cases/s: "
          f"database {raw_db:.2f} + clients {raw_clients:.2f} = {raw:.2f} ms CPU per case")
    print(f"floor of a whole case over HTTP: {floor:.2f} ms CPU; at most {os.cpu_count() * 1000 / floor:.0f} "
          f"cases/s on {os.cpu_count()} cores")
    print(f"highest ratio to the raw baseline where both are CPU-bound: {raw:.2f} / {floor:.2f} = {raw / floor:.2f}")
    recreate_database(args.database_url, args.admin_url, drop_only=True)


if __name__ == "__main__":
    main()
