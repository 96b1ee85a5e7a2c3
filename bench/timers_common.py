"""Shared parts of the timer benchmarks: a database of waiting cases, the worker fleet, the figures.

Cases are made by running one case through the engine and copying its row (PostgreSQL COPY)
with each copy's due time written into its state: the same rows the engine itself writes, at
a rate that makes 100,000 of them a matter of seconds.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, inspect, text  # noqa: E402
from benchdb import recreate_database  # noqa: E402

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="bench">
  <bpmn:process id="bench_timer" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="civil_affairs">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef><bpmn:flowNodeRef>done</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition id="t"><bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="follow_up"/>
    <bpmn:userTask id="follow_up" name="Follow up"/>
    <bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def prepare_database(url: str, admin_url: str) -> None:
    """Drop and create the benchmark's own database, then the schema (Alembic migrations)."""
    recreate_database(url, admin_url)
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret-key-0123456789abcdef0123456789abcdef",
               PYTHONPATH=str(REPO))
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], cwd=REPO, env=env, check=True,
                   capture_output=True)


def seed_waiting_cases(url: str, due_times: list[datetime]) -> int:
    """One waiting case per due time; returns the model's tenant id. Uses the engine once, COPY for the rest."""
    import psycopg
    from psycopg.types.json import Json

    from workflows import accounts
    from workflows.cases import start_case
    from workflows.context import build_context
    from workflows.database import make_session_factory
    from workflows.process_models import deploy_model

    engine, session_factory = make_session_factory(url)
    ctx = build_context(session_factory)
    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "bench", "bench-clerk", "bench-password", ["designer", "clerk"], ["civil_affairs"])
        uow.commit()
    with ctx.unit_of_work() as uow:
        actor = accounts.authenticate(uow.session, "bench-clerk", "bench-password")
    deploy_model(ctx, actor, [("bench_timer.bpmn", BPMN)])
    template_due = "2099-01-01T00:00:00+00:00"  # far ahead: it waits
    template = start_case(ctx, actor, "bench_timer", {"due": template_due})
    columns = [c["name"] for c in inspect(engine).get_columns("cases")]
    timer_columns = [c["name"] for c in inspect(engine).get_columns("timers") if c["name"] != "id"]
    with engine.connect() as conn:
        case_row = dict(conn.execute(text("SELECT * FROM cases WHERE id = :id"), {"id": template["id"]}).mappings().one())
        timer_row = dict(conn.execute(text("SELECT * FROM timers WHERE case_id = :id"), {"id": template["id"]}).mappings().one())
        conn.execute(text("DELETE FROM timers WHERE case_id = :id"), {"id": template["id"]})
        conn.commit()
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    first_id = template["id"] + 1
    with psycopg.connect(raw) as pg:
        with pg.cursor() as cur:
            with cur.copy(f"COPY cases ({', '.join(columns)}) FROM STDIN") as copy:
                for i, due in enumerate(due_times):
                    iso = due.isoformat()
                    row = dict(case_row)
                    row.update(id=first_id + i, number=f"BENCH-{first_id + i:08d}",
                               state=case_row["state"].replace(template_due, iso),
                               data={**case_row["data"], "due": iso})
                    if "trail_seq" in row:  # each copy starts its own (empty) trail chain
                        row.update(trail_seq=0, trail_hash=None)
                    copy.write_row([Json(row[c]) if isinstance(row[c], (dict, list)) else row[c] for c in columns])
            with cur.copy(f"COPY timers ({', '.join(timer_columns)}) FROM STDIN") as copy:
                for i, due in enumerate(due_times):
                    row = dict(timer_row, case_id=first_id + i, due_at=due)
                    copy.write_row([row[c] for c in timer_columns])
            cur.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
        pg.commit()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE cases; ANALYZE timers"))
        conn.commit()
    engine.dispose()
    return case_row["tenant_id"]


class Fleet:
    """Celery workers (one process each, ``--pool=solo``) and one ``redwall scheduler``."""

    def __init__(self, url: str, redis_url: str, workers: int, log_dir: Path, lease: int = 120):
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, PYTHONPATH=str(REPO),
                   SECRET_KEY="bench-secret-key-0123456789abcdef0123456789abcdef",
                   REDWALL_TIMER_LEASE=str(lease), REDWALL_SCHEDULER_INTERVAL="0.2")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.logs = []
        self.processes = []
        for i in range(workers):
            self._start(f"worker{i + 1}", [sys.executable, "-m", "celery", "-A", "server.celery_app", "worker",
                                           "--pool=solo", "-Q", "redwall", "-n", f"bench{i + 1}@%h",
                                           "--without-gossip", "--without-mingle", "--without-heartbeat",
                                           "--loglevel=WARNING"], env, log_dir)
        self._start("scheduler", [sys.executable, "-m", "server.cli", "scheduler", "--name", "bench-scheduler"],
                    env, log_dir)

    def _start(self, name, args, env, log_dir):
        log = (log_dir / f"{name}.log").open("wb")
        self.logs.append(log)
        self.processes.append(subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


def fired_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM timers WHERE kind = 'bpmn' AND status = 'fired'")).scalar()
    engine.dispose()
    return n


def wait_until_fired(url: str, n: int, timeout: float, report_every: float = 15.0) -> None:
    started = last = time.monotonic()
    while True:
        done = fired_count(url)
        if done >= n:
            return
        now = time.monotonic()
        if now - started > timeout:
            raise SystemExit(f"only {done} of {n} timers fired in {timeout:.0f} s")
        if now - last >= report_every:
            print(f"  … {done:,} of {n:,} fired", flush=True)
            last = now
        time.sleep(1.0)


def figures(url: str, n: int) -> dict:
    """Lag percentiles and the exactly-once checks, from the rows and the trail's events."""
    engine = create_engine(url)
    with engine.connect() as conn:
        lag = conn.execute(text("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at)),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at)),
                   max(extract(epoch FROM fired_at - due_at)),
                   extract(epoch FROM max(fired_at) - min(due_at)),
                   min(due_at), max(due_at), max(fired_at)
            FROM timers WHERE kind = 'bpmn' AND status = 'fired'""")).one()
        moved_on = conn.execute(text("""
            SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.updated_at - t.due_at))
            FROM timers t JOIN cases c ON c.id = t.case_id WHERE t.kind = 'bpmn' AND t.status = 'fired'""")).scalar()
        checks = {
            "fired rows": conn.execute(text("SELECT count(*) FROM timers WHERE kind='bpmn' AND status='fired'")).scalar(),
            "timer.fired events": conn.execute(text("SELECT count(*) FROM trail_events WHERE kind='timer.fired'")).scalar(),
            "cases with other than one timer.fired event": conn.execute(text("""
                SELECT count(*) FROM (
                  SELECT t.case_id, count(e.id) AS n FROM timers t
                  LEFT JOIN trail_events e ON e.case_id = t.case_id AND e.kind = 'timer.fired'
                  WHERE t.kind = 'bpmn' GROUP BY t.case_id) per_case WHERE n <> 1""")).scalar(),
            "follow-up tasks": conn.execute(text("SELECT count(*) FROM tasks WHERE element_id='follow_up'")).scalar(),
            "duplicate dispatches (rows claimed more than once)": conn.execute(
                text("SELECT count(*) FROM timers WHERE claims > 1")).scalar(),
        }
    engine.dispose()
    return {"p50": lag[0], "p99": lag[1], "max": lag[2], "span": lag[3], "first_due": lag[4], "last_due": lag[5],
            "last_fired": lag[6], "p99_case_moved_on": moved_on, "checks": checks, "n": n}


def print_checks(result: dict) -> bool:
    ok = True
    for name, value in result["checks"].items():
        expected = {"fired rows": result["n"], "timer.fired events": result["n"], "follow-up tasks": result["n"],
                    "cases with other than one timer.fired event": 0}.get(name)
        mark = "" if expected is None else ("  ok" if value == expected else f"  EXPECTED {expected}")
        ok = ok and (expected is None or value == expected)
        print(f"  {name}: {value:,}{mark}")
    return ok


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["Fleet", "figures", "machine", "prepare_database", "print_checks", "seed_waiting_cases", "timedelta",
           "utc_now", "wait_until_fired"]
