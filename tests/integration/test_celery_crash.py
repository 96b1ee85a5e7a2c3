"""Crashes with real processes: Celery workers (``--pool=solo``) killed with SIGKILL while they fire
timers, and a Redis restarted under a run. Every timer must still fire, and only once: checked on
the timer rows, on the trail's ``timer.fired`` events and on the tasks the timers created.

PostgreSQL only (the workers are other processes); the machine's Redis (REDWALL_TEST_REDIS_URL)
for the worker test, a private ``redis-server`` on a free port for the restart test.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from tests.conftest import _truncate, require_postgres, require_redis
from tests.helpers import make_users
from tests.processes import PrivateRedis, celery_worker, poll, scalar, scheduler, service_env
from workflows.cases import start_case
from workflows.process_models import deploy_model

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "timers" / "wait_then_work.bpmn"
CASES = 120
BUSY = 80_000  # script loop steps after the timer: about 40 ms of work per firing


@pytest.fixture
def pg(postgres_app):
    require_redis()
    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app


def waiting_cases(ctx, n: int) -> list[int]:
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("wait_then_work.bpmn", FIXTURE.read_bytes())])
    return [start_case(ctx, actors["civil1"], "wait_then_work", {"wait_for": "PT1S", "busy": BUSY})["id"]
            for _ in range(n)]


def fired(url: str, pattern: str = "%") -> int:
    return scalar(url, "SELECT count(*) FROM timers WHERE status = 'fired' AND fired_by LIKE :p", p=pattern)


def assert_each_fired_exactly_once(url: str, case_ids: list[int]) -> None:
    bad_rows = scalar(url, """
        SELECT count(*) FROM cases c WHERE c.id = ANY(:ids) AND 1 <> (
            SELECT count(*) FROM timers t WHERE t.case_id = c.id AND t.status = 'fired')""", ids=case_ids)
    assert bad_rows == 0, "a case whose timer row did not fire exactly once"
    bad_events = scalar(url, """
        SELECT count(*) FROM cases c WHERE c.id = ANY(:ids) AND 1 <> (
            SELECT count(*) FROM trail_events e WHERE e.case_id = c.id AND e.kind = 'timer.fired')""", ids=case_ids)
    assert bad_events == 0, "a case without exactly one timer.fired event"
    bad_tasks = scalar(url, """
        SELECT count(*) FROM cases c WHERE c.id = ANY(:ids) AND 1 <> (
            SELECT count(*) FROM tasks t WHERE t.case_id = c.id AND t.element_id = 'follow_up')""", ids=case_ids)
    assert bad_tasks == 0, "a case whose timer created its follow-up task twice (or never)"


def test_a_worker_killed_while_firing_loses_no_timer_and_fires_none_twice(pg, tmp_path):
    url, broker = require_postgres(), require_redis()
    redis.Redis.from_url(broker).flushdb()
    env = service_env(url, broker)
    workers = [celery_worker(f"w{i}", env, tmp_path) for i in (1, 2)]
    planner = scheduler("crash-scheduler", env, tmp_path)
    try:
        for worker in workers:
            worker.wait_for_output(" ready.", 60)
        planner.wait_for_output("claiming due timers", 60)
        case_ids = waiting_cases(pg.extensions["redwall"], CASES)
        victim = workers[0]
        poll(lambda: fired(url, f"%:{victim.pid}") >= 3, 60, message="worker 1 firing")
        victim.kill()  # SIGKILL, in the middle of its chunk of timers
        done_by_victim = fired(url, f"%:{victim.pid}")
        poll(lambda: fired(url) == CASES, 90, message="every timer fired")
        assert fired(url, f"%:{workers[1].pid}") == CASES - done_by_victim
        assert_each_fired_exactly_once(url, case_ids)
    finally:
        for process in (*workers, planner):
            process.stop()


def test_a_redis_restarted_during_a_run_loses_no_timer(pg, tmp_path):
    url = require_postgres()
    private = PrivateRedis(tmp_path)
    private.start()
    env = service_env(url, private.url)
    workers = [celery_worker(f"r{i}", env, tmp_path) for i in (1, 2)]
    planner = scheduler("restart-scheduler", env, tmp_path)
    try:
        for worker in workers:
            worker.wait_for_output(" ready.", 60)
        planner.wait_for_output("claiming due timers", 60)
        case_ids = waiting_cases(pg.extensions["redwall"], CASES)
        poll(lambda: fired(url) >= 10, 60, message="the first timers firing")
        private.kill()  # queued tasks are gone: nothing was persisted
        lost_at = fired(url)
        time.sleep(1.0)
        private.start()  # same port, empty
        poll(lambda: fired(url) == CASES, 120, message="every timer fired after the restart")
        assert lost_at < CASES, "the run ended before Redis went down; nothing was tested"
        assert_each_fired_exactly_once(url, case_ids)
    finally:
        for process in (*workers, planner):
            process.stop()
        private.kill()
