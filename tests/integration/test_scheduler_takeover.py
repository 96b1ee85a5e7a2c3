"""Two ``redwall scheduler`` processes (firing inline, no broker) share the due timers; one is
killed with SIGKILL holding claimed timers, and the other takes them over once their lease has
passed (REDWALL_TIMER_LEASE=3 s here). PostgreSQL: the schedulers are other processes."""
from __future__ import annotations

import time

import pytest

from tests.conftest import _truncate, require_postgres
from tests.integration.test_celery_crash import assert_each_fired_exactly_once, fired, waiting_cases
from tests.processes import poll, scalar, scheduler, service_env

CASES = 120


@pytest.fixture
def pg(postgres_app):
    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app


def test_a_killed_scheduler_is_taken_over(pg, tmp_path):
    url = require_postgres()
    env = service_env(url, None)  # no REDIS_URL: each scheduler fires what it claims
    first = scheduler("sched-a", env, tmp_path, "--batch", "25")
    second = scheduler("sched-b", env, tmp_path, "--batch", "25")
    try:
        for process in (first, second):
            process.wait_for_output("claiming due timers", 60)
        case_ids = waiting_cases(pg.extensions["redwall"], CASES)
        held_by_a = ("SELECT count(*) FROM timers WHERE status = 'claimed' AND claimed_by = 'sched-a'")
        poll(lambda: fired(url, "sched-a") >= 3 and scalar(url, held_by_a) >= 3, 60, message="sched-a busy")
        first.kill()
        time.sleep(0.5)  # PostgreSQL rolls back the dead scheduler's open transaction
        abandoned = scalar(url, held_by_a)
        assert abandoned >= 2
        poll(lambda: fired(url) == CASES, 60, message="every timer fired")
        taken_over = scalar(url, "SELECT count(*) FROM timers WHERE claims >= 2 AND fired_by = 'sched-b'")
        assert taken_over >= abandoned
        assert_each_fired_exactly_once(url, case_ids)
        heartbeats = scalar(url, "SELECT string_agg(name, ',' ORDER BY name) FROM scheduler_heartbeats")
        assert heartbeats == "sched-a,sched-b"  # the dead one's row stays until housekeeping
    finally:
        first.stop()
        second.stop()
