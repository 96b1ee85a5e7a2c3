"""Scale-out on the real engines: two app processes (gunicorn), two Celery workers and two
schedulers on this machine against one PostgreSQL and Redis.

Clients drive whole cases through both apps at once, racing each other for the same tasks
(one claim of a task through app A, another through app B); timer cases wait and are fired by
whichever scheduler claims them and whichever worker receives them. Afterwards: no task
completed twice, no timer fired twice, no case lost (every case started is there, concluded
or holding its follow-up task). And signing in is shared, not per process: a user disabled
through app A is refused by app B within REDWALL_REVOCATION_INTERVAL.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis

from tests.conftest import _truncate, require_postgres, require_redis
from tests.helpers import PASSWORD, make_users
from tests.integration.test_celery_crash import assert_each_fired_exactly_once
from tests.processes import PYTHON, REPO, Started, celery_worker, free_port, poll, scalar, scheduler, service_env
from workflows import accounts
from workflows.process_models import deploy_model

TIMER_FIXTURE = REPO / "tests" / "fixtures" / "bpmn" / "timers" / "wait_then_work.bpmn"
THREE_TASKS = REPO / "bench" / "three_tasks.bpmn"
STEP_DATA = [{"accepted": True}, {"review_result": "meets_conditions"}, {"approved": True}]
CLIENTS = 4
SECONDS = 12
TIMER_CASES = 60


@pytest.fixture
def pg(postgres_app):
    require_redis()
    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app


def gunicorn(name: str, env: dict, log_dir: Path) -> tuple[str, Started]:
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "server.app:create_app()"]
    return f"http://127.0.0.1:{port}", Started(name, args, env, log_dir)


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else {})
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, (json.loads(raw) if raw else {})


def sign_in(base: str, username: str) -> str:
    status, body = call(base, "POST", "/api/auth/token", body={"username": username, "password": PASSWORD})
    assert status == 200, body
    return body["token"]


def wait_ready(base: str, process: Started) -> None:
    def answers():
        if process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")
        try:
            return call(base, "GET", "/api/ops/health")[0] in (200, 503)
        except OSError:
            return False
    poll(answers, 60, message=f"{process.name} answering")


def drive(apps: list[str], tokens: list[str], me: int, stop_at: float, started: list, outcomes: dict, errors: list):
    """Whole cases; every task claimed through both apps at once by this client and its neighbour."""
    mine = tokens[me]
    try:
        while time.time() < stop_at:
            status, case = call(apps[me % 2], "POST", "/api/process-models/three_tasks/instances", mine, {"data": {}})
            assert status == 201, case
            started.append(case["id"])
            task_id = case["tasks"][0]["id"]
            for data in STEP_DATA:
                answers = {}
                racers = [threading.Thread(target=lambda who, base: answers.__setitem__(
                    who, call(base, "POST", f"/api/tasks/{task_id}/claim", tokens[who])), args=(who, apps[n % 2]))
                    for n, who in enumerate((me, (me + 1) % len(tokens)))]
                for racer in racers:
                    racer.start()
                for racer in racers:
                    racer.join()
                codes = sorted(code for code, _ in answers.values())
                assert codes == [200, 409], answers  # exactly one claim wins
                winner = next(who for who, (code, _) in answers.items() if code == 200)
                # both try to complete, through different apps: only the holder can
                done = {}
                finishers = [threading.Thread(target=lambda who, base: done.__setitem__(
                    who, call(base, "POST", f"/api/tasks/{task_id}/complete", tokens[who], {"data": data})),
                    args=(who, apps[n % 2])) for n, who in enumerate((winner, me if winner != me else (me + 1) % len(tokens)))]
                for finisher in finishers:
                    finisher.start()
                for finisher in finishers:
                    finisher.join()
                assert done[winner][0] == 200, done
                assert [code for who, (code, _) in done.items() if who != winner][0] in (403, 404, 409), done
                body = done[winner][1]
                outcomes[task_id] = outcomes.get(task_id, 0) + 1
                task_id = body["next_tasks"][0]["id"] if body["next_tasks"] else None
            assert body["case"]["status"] == "concluded", body["case"]
    except BaseException as exc:  # noqa: BLE001  (reported by the test)
        errors.append(repr(exc))


def test_two_apps_two_workers_two_schedulers_lose_nothing_and_do_nothing_twice(pg, tmp_path):
    url, broker = require_postgres(), require_redis()
    redis.Redis.from_url(broker).flushdb()
    ctx = pg.extensions["redwall"]
    actors = make_users(ctx)
    with ctx.unit_of_work() as uow:
        for i in range(CLIENTS):
            accounts.add_user(uow.session, "xichangan", f"scale{i}", PASSWORD, ["intake", "clerk"],
                              ["intake", "civil_affairs"])
        uow.commit()
    deploy_model(ctx, actors["designer1"], [("three_tasks.bpmn", THREE_TASKS.read_bytes())])
    deploy_model(ctx, actors["designer1"], [("wait_then_work.bpmn", TIMER_FIXTURE.read_bytes())])

    env = service_env(url, broker, REDWALL_REVOCATION_INTERVAL="1", REDWALL_SCRIPT_WORKERS="0")
    (base_a, app_a), (base_b, app_b) = gunicorn("app-a", env, tmp_path), gunicorn("app-b", env, tmp_path)
    workers = [celery_worker(f"scale-w{i}", env, tmp_path) for i in (1, 2)]
    planners = [scheduler(f"scale-s{i}", env, tmp_path) for i in (1, 2)]
    processes = [app_a, app_b, *workers, *planners]
    try:
        wait_ready(base_a, app_a)
        wait_ready(base_b, app_b)
        for worker in workers:
            worker.wait_for_output(" ready.", 60)
        for planner in planners:
            planner.wait_for_output("claiming due timers", 60)
        apps = [base_a, base_b]
        tokens = [sign_in(apps[i % 2], f"scale{i}") for i in range(CLIENTS)]

        # timer cases, started through both apps, due in a second: fired while the clients run
        civil = [sign_in(base_a, "civil1"), sign_in(base_b, "civil1")]
        timer_cases = []
        for n in range(TIMER_CASES):
            status, case = call(apps[n % 2], "POST", "/api/process-models/wait_then_work/instances", civil[n % 2],
                                {"data": {"wait_for": "PT1S", "busy": 0}})
            assert status == 201, case
            timer_cases.append(case["id"])

        started, outcomes, errors = [], {}, []
        stop_at = time.time() + SECONDS
        clients = [threading.Thread(target=drive, args=(apps, tokens, me, stop_at, started, outcomes, errors))
                   for me in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(SECONDS + 120)
        assert errors == []
        assert len(started) >= CLIENTS  # the run did something
        poll(lambda: scalar(url, "SELECT count(*) FROM timers WHERE status = 'fired' AND case_id = ANY(:ids)",
                            ids=timer_cases) == TIMER_CASES, 60, message="every timer fired")

        # no case lost: every case started is there and concluded
        assert scalar(url, "SELECT count(*) FROM cases WHERE id = ANY(:ids) AND status = 'concluded'",
                      ids=started) == len(started)
        # no task completed twice: one completion per task, in the rows and in the trail
        assert set(outcomes.values()) == {1} and len(outcomes) == 3 * len(started)
        assert scalar(url, """SELECT count(*) FROM tasks t WHERE t.case_id = ANY(:ids) AND (t.status <> 'completed'
                              OR 1 <> (SELECT count(*) FROM trail_events e WHERE e.task_id = t.id
                                       AND e.kind = 'task.completed')
                              OR 1 <> (SELECT count(*) FROM trail_events e WHERE e.task_id = t.id
                                       AND e.kind = 'task.claimed'))""", ids=started) == 0
        assert scalar(url, "SELECT count(*) FROM tasks WHERE case_id = ANY(:ids)", ids=started) == 3 * len(started)
        # no timer fired twice, none lost: one fired row, one event, one follow-up task per timer case
        assert_each_fired_exactly_once(url, timer_cases)
        assert scalar(url, "SELECT count(DISTINCT fired_by) FROM timers WHERE case_id = ANY(:ids)", ids=timer_cases) >= 1

        # revocation is shared: disabled through app A, refused by app B within the interval
        victim = tokens[0]
        assert call(base_b, "GET", "/api/tasks/counts", victim)[0] == 200
        admin = sign_in(base_a, "admin1")
        assert call(base_a, "POST", "/api/users/scale0/disable", admin)[0] == 200
        refused_at = time.monotonic()
        poll(lambda: all(call(base, "GET", "/api/tasks/counts", victim)[0] == 401 for base in apps for _ in range(3)),
             5, interval=0.1, message="both apps (every worker) refusing the disabled user")
        assert time.monotonic() - refused_at <= 1.0 + 1.5  # the interval, and a request's slack
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            print(f"--- {process.name}\n{process.output()[-1500:]}", file=sys.stderr)
