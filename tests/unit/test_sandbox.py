"""The script worker pool (workflows.sandbox) on its own: round trips, helpers, limits, replacement."""
from __future__ import annotations

import os
import time

import pytest

from workflows.sandbox import ScriptPool
from workflows.scripting import RestrictedEnvironment, ScriptFailed, ScriptRejected, ScriptTimeout


@pytest.fixture(scope="module")
def pool():
    pool = ScriptPool(1, 256)
    yield pool
    pool.close()


def env(pool, **helpers):
    return RestrictedEnvironment(helpers=helpers, time_limit=1.0, pool=pool)


def test_scripts_and_expressions_run_in_the_worker_with_helpers_called_back(pool):
    calls = []
    e = env(pool, double=lambda x: calls.append(x) or 2 * x)
    data = {"a": 20}
    e.execute("b = double(a) + 2", data)
    assert data == {"a": 20, "b": 42} and calls == [20]  # the helper ran here, in this process
    assert e.evaluate("sum([a, b]) > 60", data) is True


def test_errors_come_back_readable_with_their_line(pool):
    with pytest.raises(ScriptFailed, match="KeyError") as caught:
        env(pool).execute("x = 1\ny = {}['missing']", {})
    assert caught.value.line == 2
    with pytest.raises(ScriptRejected, match="not allowed|import"):
        env(pool).execute("import os", {})


def test_c_level_work_is_killed_at_the_deadline_and_the_worker_replaced(pool):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        env(pool).execute("s = 'x' * 10**7\nx = max(map(min, [s for _ in range(400)]))", {})
    assert time.monotonic() - started < 3
    assert env(pool).evaluate("1 + 1", {}) == 2


def test_memory_is_bounded(pool):
    with pytest.raises(ScriptRejected, match="256 MB"):
        env(pool).execute("x = [[i] * 10**7 for i in range(100)]", {})
    assert env(pool).evaluate("2 * 3", {}) == 6


def test_values_that_are_not_plain_data_do_not_come_back(pool):
    with pytest.raises(ScriptRejected):
        env(pool).execute("g = (i for i in range(3))", {})


def test_the_worker_holds_no_secrets(pool, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak-0123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://owner:pw@db/redwall")
    fresh = ScriptPool(1, 256)
    try:
        fresh.warm()
        worker = fresh._free[0]
        environ = open(f"/proc/{worker.proc.pid}/environ", "rb").read()
        assert b"do-not-leak" not in environ and b"DATABASE_URL" not in environ
    finally:
        fresh.close()
    assert os.environ["SECRET_KEY"] == "do-not-leak-0123"
