"""Whole cases through the real server: gunicorn, PostgreSQL, Redis and a Celery worker.

N clients (separate processes) each run whole cases for a fixed time: start a case of
``bench/three_tasks.bpmn`` (POST /api/process-models/three_tasks/instances), then claim and
complete each of its three user tasks: 7 requests per case. Printed per client count:

- completed cases/s, and p50/p95/p99 per request kind (start, claim, complete);
- app and database CPU ms per case (utime+stime from /proc of the gunicorn processes and of
  the PostgreSQL backends serving the benchmark database);
- database round trips per case (statements + BEGIN + COMMIT + ROLLBACK, counted in every
  app process by ``bench/round_trips/sitecustomize.py``, so any checkout counts the same way;
  pg_stat_statements would need a server restart), and transactions (pg_stat_database);
- in the same run, the minimal raw baseline: the rows a whole case must write at minimum
  (case state + version, task rows, trail events; one transaction per request, 7 per case)
  written straight with psycopg by the same number of clients; and the ratio HTTP / raw;
- under the table, the raw baseline's own CPU per case (database / its clients) and, with
  ``--tables-baseline``, **raw\***: the same statements writing the same rows into Redwall's own
  tables (a database of their own made by the tree's migrations): its indexes for the inboxes'
  orders, its constraints and foreign keys, the badge counters' triggers that the step's
  transaction maintains. The difference between raw and raw* is what the schema costs the
  database, before any application code runs; the ratio HTTP / raw* is printed too.

At the end: bytes stored per concluded case (all tables with their indexes and TOAST, as
left and after VACUUM FULL), and which resource was busy.

    python bench/e2e_http.py [--clients 1,4,8,16] [--seconds 20] [--apps 1|2] [--tree PATH ...] [--rounds 3]
                             [--tables-baseline]
    python bench/e2e_http.py --quick          # a few seconds: the suite's smoke test

``--tree PATH`` (repeatable) benchmarks another checkout with this same script (e.g. old
main, then this tree), each on its own fresh database and Redis database; all trees run at
once and take turns at each client count, so both sides meet the machine in the same
minutes. ``--rounds N`` measures everything N times over and prints, per row, the round of
median cases/s (and every round's cases/s and ratio). Databases: ``<database-url>_<n>`` per
tree, dropped at the end unless ``--keep``.

The clients are a minimal keep-alive HTTP/1.1 client (``Api``): the load generator shares the
cores with the server it measures, and ``http.client`` took twice its CPU.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import http.client
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from benchdb import recreate_database  # noqa: E402

BPMN = REPO / "bench" / "three_tasks.bpmn"
STEP_DATA = [{"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}, {"approved": True}]
PASSWORD = "bench-password-1"
KINDS = ("start", "claim", "complete")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """CPU seconds of ``pid``; with ``reaped``, also of its children that ended and were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    seconds = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    if reaped:
        seconds += int(fields[13]) + int(fields[14])  # cutime, cstime (16, 17)
    return seconds / CLK_TCK


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children_of(pid: int) -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and parent_of(int(entry.name)) == pid]


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children, living or ended (gunicorn master + workers: a
    worker that ``max_requests`` retired during the run is in the master's reaped time)."""
    return cpu_seconds(pid, reaped=True) + sum(tree_cpu(child) for child in children_of(pid))


class Service:
    def __init__(self, name: str, args: list[str], cwd: Path, env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_http(port: int, service: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise SystemExit(f"{service.name} exited:\n{service.tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{service.name} did not answer on port {port}:\n{service.tail()}")


# -- one checkout under test ------------------------------------------------------------------
SETUP = r"""
import sys
from server.app import create_app
from workflows import accounts
from workflows.process_models import deploy_model
clients, bpmn = int(sys.argv[1]), sys.argv[2]
app = create_app()
app.app_context().push()
ctx = app.extensions["redwall"]
with ctx.unit_of_work() as uow:
    accounts.add_user(uow.session, "bench", "bench-designer", "%(password)s", ["designer"], [])
    for i in range(clients):
        accounts.add_user(uow.session, "bench", f"bench{i}", "%(password)s", ["intake", "clerk"],
                          ["intake", "civil_affairs"])
    uow.commit()
with ctx.unit_of_work() as uow:
    designer = accounts.authenticate(uow.session, "bench-designer", "%(password)s")
deploy_model(ctx, designer, [("three_tasks.bpmn", open(bpmn, "rb").read())])
print("ready")
""" % {"password": PASSWORD}


def _redis_db(url: str, index: int) -> str:
    """The Redis database of the ``index``-th tree: trees running at once must not share a queue."""
    base, _, number = url.rpartition("/")
    return f"{base}/{int(number or 0) + index}" if number.isdigit() else url


class Tree:
    """One checkout: its database, its gunicorn(s) and Celery worker."""

    def __init__(self, path: Path, index: int, args, log_dir: Path):
        self.path = path.resolve()
        self.label = f"{self.path.name}@{git_head(self.path)}" if (self.path / ".git").exists() else self.path.name
        self.url = f"{args.database_url}_{index}"
        self.args = args
        self.log_dir = log_dir / f"tree{index}"
        self.log_dir.mkdir(parents=True)
        self.counts_dir = self.log_dir / "round_trips"
        self.services: list[Service] = []
        self.apps: list[tuple[int, Service]] = []
        self.tables_url = f"{self.url}_tables"
        self.tables: dict | None = None  # the tenant's and model's ids there, with --tables-baseline
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": self.url, "REDIS_URL": _redis_db(args.redis_url, index),
            "PYTHONPATH": f"{REPO / 'bench' / 'round_trips'}:{self.path}",  # sitecustomize counts round trips
            "SECRET_KEY": "e2e-bench-secret-key-0123456789abcdef0123456789abcdef",
            "REDWALL_COUNT_STATEMENTS": str(self.counts_dir), "REDWALL_LOG_LEVEL": "warning",
        })
        if args.workers:
            self.env["WEB_CONCURRENCY"] = str(args.workers)

    def start(self, clients: int) -> None:
        recreate_database(self.url, self.args.admin_url)
        def run(*cmd, env=None):
            done = subprocess.run(cmd, cwd=self.path, env=env or self.env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{cmd[1:3]} failed in {self.path}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        if self.args.tables_baseline:  # the same migrations and set-up, in a database of its own
            import psycopg

            recreate_database(self.tables_url, self.args.admin_url)
            env = {**self.env, "DATABASE_URL": self.tables_url}
            run(sys.executable, "-m", "server.cli", "db", "upgrade", env=env)
            run(sys.executable, "-c", SETUP, "1", str(BPMN), env=env)
            with psycopg.connect(psycopg_url(self.tables_url)) as conn:
                tenant, model = conn.execute("SELECT tenant_id, id FROM process_models ORDER BY id LIMIT 1").fetchone()
            self.tables = {"tenant": tenant, "model": model}
        run(sys.executable, "-m", "server.cli", "db", "upgrade")
        run(sys.executable, "-c", SETUP, str(clients), str(BPMN))
        self.setup_bytes = stored_bytes(self.url, vacuum=True)[0]  # users, the model: not the cases'
        # round trips are counted in the app processes only (the requests'), not in the background
        background = {k: v for k, v in self.env.items() if k != "REDWALL_COUNT_STATEMENTS"}
        worker = Service("celery", [sys.executable, "-m", "celery", "-A", "server.celery_app", "worker", "-Q", "redwall",
                                    "--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
                         self.path, background, self.log_dir)
        self.services.append(worker)
        # and a scheduler, as in production (timers; it also folds the badge counters where there are)
        self.services.append(Service("scheduler", [sys.executable, "-m", "server.cli", "scheduler", "--name", "bench"],
                                     self.path, background, self.log_dir))
        has_conf = (self.path / "gunicorn.conf.py").exists()
        for n in range(self.args.apps):
            port = free_port()
            cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
            if not has_conf:  # an old tree: what production ran before (2 sync workers)
                cmd += ["--workers", str(self.args.workers or 2), "--worker-class", "sync"]
            app = Service(f"gunicorn{n}", cmd + ["server.app:create_app()"], self.path, self.env, self.log_dir)
            self.services.append(app)
            self.apps.append((port, app))
        for port, app in self.apps:
            wait_http(port, app)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def app_cpu(self) -> float:
        return sum(tree_cpu(app.proc.pid) for _, app in self.apps)

    def round_trips(self) -> dict:
        total = {"statements": 0, "begin": 0, "commit": 0, "rollback": 0}
        if not self.counts_dir.exists():
            return {}
        for file in self.counts_dir.glob("*.json"):
            try:
                for key, value in json.loads(file.read_text()).items():
                    total[key] = total.get(key, 0) + value
            except (OSError, ValueError):
                continue
        return total


def git_head(path: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


# -- database side ----------------------------------------------------------------------------
def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def db_figures(url: str) -> dict:
    """CPU of the backends connected to the database now, and its transaction counters."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        xact = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                            "WHERE datname = current_database()").fetchone()[0]
        postmaster = parent_of(conn.info.backend_pid)
        ended = cpu_seconds(postmaster, reaped=True) - cpu_seconds(postmaster) if postmaster else 0.0
    return {"cpu": {pid: cpu_seconds(pid) for pid in pids}, "xact": int(xact), "ended": ended}


def db_cpu_between(before: dict, after: dict) -> float:
    """Backends alive at the end (one that started during the run counts from zero), and those that
    ended during it (a retired app worker's pool): the postmaster's reaped time, which also holds
    any other backend that ended meanwhile (autovacuum workers, this script's own connections)."""
    alive = sum(after["cpu"][pid] - before["cpu"].get(pid, 0.0) for pid in after["cpu"])
    gone_before = sum(cpu for pid, cpu in before["cpu"].items() if pid not in after["cpu"])  # their time before the run
    return alive + (after["ended"] - before["ended"]) - gone_before


def stored_bytes(url: str, vacuum: bool) -> tuple[int, int]:
    """Bytes of every table of the public schema (with indexes and TOAST), and concluded cases."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if vacuum:
            for table in tables:
                conn.execute(f'VACUUM FULL "{table}"')
        size = conn.execute("SELECT sum(pg_total_relation_size(format('public.%I', tablename))) FROM pg_tables "
                            "WHERE schemaname = 'public'").fetchone()[0]
        concluded = conn.execute("SELECT count(*) FROM cases WHERE status = 'concluded'").fetchone()[0]
    return int(size), int(concluded)


def counter_bytes(url: str) -> int:
    """Bytes of the badge counters' rows (worklists.task_counts: per lane and person, and per
    candidate) if the tree has them: rows the schedulers have not folded yet (a fold leaves
    none for a concluded case)."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        size = conn.execute(
            "SELECT coalesce(pg_total_relation_size(to_regclass('public.task_counts')), 0) "
            "+ coalesce(pg_total_relation_size(to_regclass('public.task_candidate_counts')), 0)").fetchone()[0]
    return int(size or 0)


# -- the HTTP clients ---------------------------------------------------------------------------
class Api:
    """A minimal HTTP/1.1 client on one socket, for the load generator: each request written as
    bytes, each answer read by its Content-Length, the connection kept open while the server
    keeps it (as a browser keeps its own) and opened again where the server closed it (the sync
    worker of older trees closes it after every answer). It validates what it reads (status,
    JSON) as ``http.client`` did, at a fraction of its CPU (which parses every header with the
    email package): the clients share the two cores with the server they measure."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.pending = b""
        self.authorization = b""

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _receive(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        return chunk

    def _answer(self) -> tuple[int, bool, bytes]:
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._receive()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"an answer without Content-Length: {lines}")
        length = int(headers["content-length"])
        while len(rest) < length:
            rest += self._receive()
        body, self.pending = rest[:length], rest[length:]
        return status, headers.get("connection", "").lower() == "close", body

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body if body is not None else {}).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n").encode() + self.authorization + b"\r\n" + payload
        fresh = self.sock is None
        if fresh:
            self._connect()
        try:
            self.sock.sendall(request)
            status, closes, data = self._answer()
        except (EOFError, ConnectionResetError, BrokenPipeError):
            # a kept connection the server closed while idle: nothing was read of this request
            if fresh or self.pending:
                raise
            self._connect()
            self.sock.sendall(request)
            status, closes, data = self._answer()
        if closes:
            self.close()
        return status, (json.loads(data) if data else {})

    def sign_in(self, token: str) -> None:
        self.authorization = f"Authorization: Bearer {token}\r\n".encode()


def http_client(port: int, username: str, start_at: float, stop_at: float, queue) -> None:
    api = Api(port)
    status, body = api.post("/api/auth/token", {"username": username, "password": PASSWORD})
    if status != 200:
        queue.put({"error": f"sign-in {status}: {body}"})
        return
    api.sign_in(body["token"])
    timings = {kind: [] for kind in KINDS}
    cases = 0
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        while time.time() < stop_at:
            t0 = time.perf_counter()
            status, case = api.post("/api/process-models/three_tasks/instances", {"data": {"bench": True}})
            timings["start"].append(time.perf_counter() - t0)
            if status != 201:
                raise RuntimeError(f"start: {status} {case}")
            task_id = case["tasks"][0]["id"]
            for data in STEP_DATA:
                t0 = time.perf_counter()
                status, body = api.post(f"/api/tasks/{task_id}/claim")
                timings["claim"].append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"claim: {status} {body}")
                t0 = time.perf_counter()
                status, body = api.post(f"/api/tasks/{task_id}/complete", {"data": data})
                timings["complete"].append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"complete: {status} {body}")
                task_id = body["next_tasks"][0]["id"] if body["next_tasks"] else None
            if body["case"]["status"] != "concluded":
                raise RuntimeError(f"case {case['id']} is {body['case']['status']}, not concluded")
            if time.time() <= stop_at:
                cases += 1
    except Exception as exc:  # noqa: BLE001  (reported by the parent)
        queue.put({"error": repr(exc)})
        return
    queue.put({"cases": cases, "timings": timings})


# -- the raw baseline ---------------------------------------------------------------------------
RAW_SCHEMA = """
DROP SCHEMA IF EXISTS raw_floor CASCADE;
CREATE SCHEMA raw_floor;
CREATE TABLE raw_floor.cases (id bigserial PRIMARY KEY, tenant_id bigint, status text, state text, data jsonb,
                              version int, trail_seq int, created_at timestamptz, updated_at timestamptz);
CREATE TABLE raw_floor.tasks (id bigserial PRIMARY KEY, tenant_id bigint, case_id bigint, spiff_id text,
                              "group" text, status text, assignee text, version int, created_at timestamptz,
                              completed_at timestamptz);
CREATE INDEX ON raw_floor.tasks (tenant_id, "group", status, id);
CREATE INDEX ON raw_floor.tasks (case_id);
CREATE TABLE raw_floor.trail (id bigserial PRIMARY KEY, tenant_id bigint, case_id bigint, seq int, kind text,
                              actor text, at timestamptz, data text, hash text);
CREATE UNIQUE INDEX ON raw_floor.trail (tenant_id, case_id, seq);
"""


# The same rows written into Redwall's own tables (``--tables-baseline``): its indexes (the
# inboxes' orders), constraints and foreign keys, the badge counters' triggers and the trail's
# guards; a database of its own made by the tree's migrations, so these rows never mix with the
# measured ones. Same statements, same values where the tables allow: only the tables differ.
# Its rows stay from one round to the next, as the measured server's do (the raw baseline's
# tables start empty every time), and no scheduler folds its badge counters' rows.
TABLES_STATEMENTS = {
    "case": "INSERT INTO cases (tenant_id, model_id, process_key, model_version, status, data, state, version, "
            "has_incident, started_by, created_at, updated_at, trail_seq) "
            "VALUES (%(tenant)s, %(model)s, 'three_tasks', 1, 'open', '{}', %(state)s, 1, false, %(me)s, now(), now(), 1) "
            "RETURNING id",
    "task": "INSERT INTO tasks (tenant_id, case_id, spiff_id, element_id, name, \"group\", candidate_groups, "
            "candidate_users, status, priority, created_at, version, kind) "
            "VALUES (%(tenant)s, %(case)s, %(spiff)s, %(spiff)s, %(spiff)s, %(group)s, '[]', '[]', 'ready', 50, now(), 1, "
            "'user') RETURNING id",
    "event": "INSERT INTO trail_events (tenant_id, case_id, seq, at, kind, actor, task_id, data, prev_hash, hash) "
             "VALUES (%(tenant)s, %(case)s, %(seq)s, now(), %(kind)s, %(me)s, %(task)s, %(data)s, %(hash)s, %(hash)s)",
    "claim": "UPDATE tasks SET status = 'claimed', assignee = %(me)s, version = version + 1 "
             "WHERE id = %(task)s AND status = 'ready'",
    "state": "UPDATE cases SET state = %(state)s, data = %(data)s, version = version + 1, status = %(status)s, "
             "trail_seq = %(seq)s, updated_at = now() WHERE id = %(case)s AND version = %(version)s",
    "done": "UPDATE tasks SET status = 'completed', completed_at = now(), completed_by = %(me)s, "
            "version = version + 1 WHERE id = %(task)s",
}
FLOOR_STATEMENTS = {
    "case": "INSERT INTO raw_floor.cases (tenant_id, status, state, data, version, trail_seq, created_at, updated_at) "
            "VALUES (1, 'open', %(state)s, '{}', 1, 1, now(), now()) RETURNING id",
    "task": "INSERT INTO raw_floor.tasks (tenant_id, case_id, spiff_id, \"group\", status, version, created_at) "
            "VALUES (1, %(case)s, 'spiff', %(group)s, 'ready', 1, now()) RETURNING id",
    "event": "INSERT INTO raw_floor.trail (tenant_id, case_id, seq, kind, actor, at, data, hash) "
             "VALUES (1, %(case)s, %(seq)s, %(kind)s, %(me)s, now(), %(data)s, %(hash)s)",
    "claim": "UPDATE raw_floor.tasks SET status = 'claimed', assignee = %(me)s, version = version + 1 "
             "WHERE id = %(task)s AND status = 'ready'",
    "state": "UPDATE raw_floor.cases SET state = %(state)s, data = %(data)s, version = version + 1, "
             "status = %(status)s, trail_seq = %(seq)s, updated_at = now() WHERE id = %(case)s AND version = %(version)s",
    "done": "UPDATE raw_floor.tasks SET status = 'completed', completed_at = now(), version = version + 1 "
            "WHERE id = %(task)s",
}


def raw_client(url: str, username: str, state_bytes: int, tables: dict | None, start_at: float, stop_at: float,
               queue) -> None:
    """The least a whole case writes: 7 transactions (start, then claim + complete x3), each one
    round trip per row change, the case row under its version, a trail event per change.
    ``tables``: None for the minimal tables of ``RAW_SCHEMA``, else Redwall's own tables with the
    tenant's and the model's ids (``TABLES_STATEMENTS``)."""
    import hashlib

    import psycopg

    sql = FLOOR_STATEMENTS if tables is None else TABLES_STATEMENTS
    p = {"state": "x" * state_bytes, "me": username, "hash": hashlib.sha256(b"0").hexdigest(), **(tables or {})}
    cases = 0
    with psycopg.connect(psycopg_url(url)) as conn:
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            p.update(spiff="task0", group="intake", seq=1, kind="case.started", task=None, data="{}")
            p["case"] = conn.execute(sql["case"], p).fetchone()[0]
            p["task"] = conn.execute(sql["task"], p).fetchone()[0]
            conn.execute(sql["event"], p)
            conn.commit()
            version = 1
            for step, data in enumerate(STEP_DATA):
                # claim: the task row and one event
                conn.execute(sql["claim"], p)
                p.update(seq=p["seq"] + 1, kind="task.claimed", data="{}")
                conn.execute(sql["event"], p)
                conn.commit()
                # complete: the case under its version, the task row, the next task, one event
                last = step == len(STEP_DATA) - 1
                p.update(data=json.dumps(data), status="concluded" if last else "open", seq=p["seq"] + 1,
                         version=version)
                conn.execute(sql["state"], p)
                version += 1
                conn.execute(sql["done"], p)
                done = p["task"]
                if not last:
                    p.update(spiff=f"task{step + 1}", group="civil_affairs")
                    p["task"] = conn.execute(sql["task"], p).fetchone()[0]
                p.update(kind="task.completed", task=done)
                conn.execute(sql["event"], p)
                conn.commit()
            if time.time() <= stop_at:
                cases += 1
    queue.put({"cases": cases})


# -- running ----------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_clients(target, argument_sets, seconds: float) -> tuple[list[dict], float]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.5  # every client signed in / connected before the clock starts
    stop_at = start_at + seconds
    procs = [ctx.Process(target=target, args=(*a, start_at, stop_at, queue)) for a in argument_sets]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise SystemExit(f"clients failed: {errors[:3]}")
    return results, stop_at - start_at


def own_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def measure_http(tree: Tree, clients: int, seconds: float) -> dict:
    users = [f"bench{i}" for i in range(clients)]
    ports = [port for port, _ in tree.apps]
    # a short warm-up: every worker has loaded the model and opened its connections
    run_clients(http_client, [(ports[i % len(ports)], users[i]) for i in range(clients)], min(2.0, seconds))
    time.sleep(1.2)  # the round-trip files are rewritten once a second: the warm-up's are in
    db_before, app_before, trips_before = db_figures(tree.url), tree.app_cpu(), tree.round_trips()
    load_before = own_cpu()
    results, wall = run_clients(http_client, [(ports[i % len(ports)], users[i]) for i in range(clients)], seconds)
    time.sleep(1.2)  # the round-trip files are rewritten once a second
    db_after, app_after, trips_after = db_figures(tree.url), tree.app_cpu(), tree.round_trips()
    cases = sum(r["cases"] for r in results)
    timings = {kind: [t for r in results for t in r["timings"][kind]] for kind in KINDS}
    per_case = lambda value: value / cases if cases else float("nan")  # noqa: E731
    trips = {k: trips_after.get(k, 0) - trips_before.get(k, 0) for k in trips_after}
    return {
        "cases": cases, "rate": cases / wall,
        "latency": {kind: [percentile(v, p) * 1000 for p in (50, 95, 99)] for kind, v in timings.items()},
        "app_ms": per_case((app_after - app_before) * 1000),
        "db_ms": per_case(db_cpu_between(db_before, db_after) * 1000),
        "load_ms": per_case((own_cpu() - load_before) * 1000),
        "xact": per_case(db_after["xact"] - db_before["xact"]),
        "trips": per_case(sum(trips.values())) if trips else None,
        "statements": per_case(trips["statements"]) if trips else None,
        "wall": wall,
    }


def average_state_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as conn:
        value = conn.execute("SELECT avg(octet_length(state)) FROM cases").fetchone()[0]
    return int(value or 3500)


def measure_raw(url: str, clients: int, seconds: float, tables: dict | None = None,
                state: int | None = None) -> dict:
    """The raw baseline: cases/s, and the database's and its clients' CPU ms per case. ``tables``:
    see :func:`raw_client` (the database then holds Redwall's tables); ``state``: bytes of case
    state to write (default: the average of ``url``'s cases). The database CPU is that of every
    backend of ``url``'s database: for the raw baseline, also the few statements of the tree's
    scheduler and Celery worker meanwhile (the measured server's count in its figures too)."""
    import psycopg

    if tables is None:
        with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
            conn.execute(RAW_SCHEMA)
    state = state or average_state_bytes(url)
    # the clients connect after db_figures: their backends count from zero (db_cpu_between)
    db_before, load_before = db_figures(url), own_cpu()
    results, wall = run_clients(raw_client, [(url, f"bench{i}", state, tables) for i in range(clients)], seconds)
    time.sleep(0.5)  # the clients' backends have ended: their time is the postmaster's reaped time
    db_after, load_after = db_figures(url), own_cpu()
    cases = sum(r["cases"] for r in results)
    per_case = lambda value: value * 1000 / cases if cases else float("nan")  # noqa: E731
    return {"rate": cases / wall, "db_ms": per_case(db_cpu_between(db_before, db_after)),
            "clients_ms": per_case(load_after - load_before)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,8,16", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per client count")
    parser.add_argument("--apps", type=int, choices=(1, 2), default=1, help="gunicorn processes (each with its workers)")
    parser.add_argument("--workers", type=int, default=0,
                        help="workers per gunicorn (default: the tree's gunicorn.conf.py, or 2 without one)")
    parser.add_argument("--tree", action="append", type=Path, help="a checkout to benchmark (repeatable); default: this one")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 and 2 clients, 3 seconds each")
    parser.add_argument("--database-url", default=os.environ.get(
        "REDWALL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_e2e"))
    parser.add_argument("--admin-url", default=os.environ.get(
        "REDWALL_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("REDWALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every client count this many times, the trees taking turns; "
                             "each row shows the round of median cases/s")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--tables-baseline", action="store_true",
                        help="also write the raw baseline's rows into Redwall's own tables (raw*), in the same rounds")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = "1,2", 3.0
    counts = [int(c) for c in args.clients.split(",") if c.strip()]
    trees = args.tree or [REPO]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}; load average {os.getloadavg()[0]:.2f} at start")
    print(f"{args.apps} gunicorn process(es); {args.seconds:g} s per client count; clients are processes on this machine")
    log_dir = Path(tempfile.mkdtemp(prefix="redwall-e2e-"))
    summary = []
    running: list[Tree] = []
    try:
        # Every tree runs at once and they take turns at each client count, round after round, so
        # that both sides of a comparison meet the machine in the same minutes (on a shared
        # machine its speed moves by a fifth from one minute to the next).
        for index, path in enumerate(trees):
            tree = Tree(path, index, args, log_dir)
            running.append(tree)
            tree.start(max(counts))
        runs: dict[tuple[int, int], list[dict]] = {}
        for _ in range(args.rounds):
            for clients in counts:
                for index, tree in enumerate(running):
                    figures = measure_http(tree, clients, args.seconds)
                    state = average_state_bytes(tree.url)
                    raw = measure_raw(tree.url, clients, args.seconds, state=state)
                    figures["raw"], figures["raw_cpu"] = raw["rate"], raw
                    figures["ratio"] = figures["rate"] / raw["rate"] if raw["rate"] else float("nan")
                    if tree.tables is not None:
                        figures["tables"] = measure_raw(tree.tables_url, clients, args.seconds, tree.tables, state)
                    runs.setdefault((index, clients), []).append(figures)
        for index, tree in enumerate(running):
            workers = len(children_of(tree.apps[0][1].proc.pid))
            print(f"\n== {tree.label}: {workers} gunicorn worker(s) per process, database {tree.url.rsplit('/', 1)[1]}"
                  + (f"; the round of median cases/s of {args.rounds}" if args.rounds > 1 else ""))
            print(f"{'clients':>7} {'cases/s':>8} {'raw/s':>7} {'ratio':>6} "
                  f"{'start p50/95/99 ms':>20} {'claim p50/95/99':>18} {'complete p50/95/99':>20} "
                  f"{'app ms':>7} {'db ms':>6} {'clients ms':>10} {'xact':>5} {'trips':>6} {'stmts':>6}  (per case)")
            for clients in counts:
                rounds = sorted(runs[(index, clients)], key=lambda f: f["rate"])
                figures = rounds[(len(rounds) - 1) // 2]  # one real round's figures, not a mix
                lat = figures["latency"]
                fmt = lambda v: "/".join(f"{x:.0f}" for x in v)  # noqa: E731
                trips = "n/a" if figures["trips"] is None else f"{figures['trips']:.1f}"
                stmts = "n/a" if figures["statements"] is None else f"{figures['statements']:.1f}"
                every = ("  rounds: " + ", ".join(f"{f['rate']:.1f} ({f['ratio']:.2f})" for f in runs[(index, clients)])
                         if args.rounds > 1 else "")
                print(f"{clients:>7} {figures['rate']:8.1f} {figures['raw']:7.1f} {figures['ratio']:6.2f} "
                      f"{fmt(lat['start']):>20} {fmt(lat['claim']):>18} {fmt(lat['complete']):>20} "
                      f"{figures['app_ms']:7.1f} {figures['db_ms']:6.1f} {figures['load_ms']:10.1f} "
                      f"{figures['xact']:5.1f} {trips:>6} {stmts:>6}{every}", flush=True)
                busy = (figures["app_ms"] + figures["db_ms"] + figures["load_ms"]) * figures["rate"] / 1000
                figures.update(clients=clients, tree=tree.label, busy=busy)
                summary.append(figures)
            print("the raw baselines of the same rounds, CPU ms per case (database / its clients)"
                  + ("; raw*: the same rows in Redwall's own tables (indexes, constraints, badge-counter triggers)"
                     if tree.tables is not None else ""))
            for figures in summary[-len(counts):]:
                raw = figures["raw_cpu"]
                line = (f"{figures['clients']:>7} clients: raw {raw['rate']:.1f} cases/s, "
                        f"{raw['db_ms']:.2f} / {raw['clients_ms']:.2f} ms")
                if "tables" in figures:
                    star = figures["tables"]
                    ratio = figures["rate"] / star["rate"] if star["rate"] else float("nan")
                    line += (f"; raw* {star['rate']:.1f} cases/s, {star['db_ms']:.2f} / {star['clients_ms']:.2f} ms, "
                             f"ratio to raw* {ratio:.2f}")
                print(line)
        for tree in running:
            tree.stop()
        for tree in running:
            left, concluded = stored_bytes(tree.url, vacuum=False)
            unfolded = counter_bytes(tree.url)
            compact, _ = stored_bytes(tree.url, vacuum=True)
            unfolded_compact = counter_bytes(tree.url)
            left, compact = left - tree.setup_bytes, compact - tree.setup_bytes
            # the raw baseline's tables are in their own schema and not counted
            if concluded:
                print(f"{tree.label}: stored per concluded case ({concluded} cases, every table with indexes and TOAST): "
                      f"{left / concluded / 1024:.1f} KB as left, {compact / concluded / 1024:.1f} KB after VACUUM FULL"
                      + (f"; of which badge counter rows not yet folded (every 30 s): {unfolded / concluded / 1024:.1f} / "
                         f"{unfolded_compact / concluded / 1024:.1f} KB, so {(compact - unfolded_compact) / concluded / 1024:.1f} KB "
                         "once folded (a fold leaves one row per counter key, none per case)" if unfolded else ""))
            if not args.keep:
                recreate_database(tree.url, args.admin_url, drop_only=True)
                if tree.tables is not None:
                    recreate_database(tree.tables_url, args.admin_url, drop_only=True)
        print("\ncores busy (app + database + clients CPU per case x cases/s; the machine has "
              f"{os.cpu_count()}):")
        for f in summary:
            share = {"app": f["app_ms"], "database": f["db_ms"], "clients": f["load_ms"]}
            top = max(share, key=share.get)
            print(f"  {f['tree']:>24} {f['clients']:>3} clients: {f['busy']:.2f} cores busy, most by {top} "
                  f"({share[top] * f['rate'] / 1000:.2f})")
        print("targets (issue 11): >= 100 cases/s at 8 clients, p99 <= 100 ms, <= 25 round trips per case, "
              "ratio >= 0.25, <= 8 KB per concluded case")
    finally:
        for tree in running:
            tree.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
