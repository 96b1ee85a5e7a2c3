"""Failed-login counters under concurrency: every failure counts, however many arrive at once."""
from __future__ import annotations

import threading

from tests.helpers import make_users
from people import logins
from workflows.errors import Conflict, TooManyAttempts


def test_simultaneous_failures_are_all_counted(app, ctx):
    make_users(ctx)
    n = 8
    barrier = threading.Barrier(n)
    outcomes = []

    def attempt(i):
        with app.app_context():
            barrier.wait()
            for _ in range(10):  # SQLite answers a busy database with Conflict: the client tries again
                try:
                    outcomes.append(logins.log_in(ctx, f"spray{i}", "wrong-password", "198.51.100.7"))
                    return
                except Conflict:
                    continue
                except TooManyAttempts:  # pragma: no cover - would mean the count ran ahead
                    outcomes.append("locked")
                    return

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes == [None] * n
    assert logins.failure_counts(ctx, address="198.51.100.7") == {"address": n}
    assert logins.failure_counts(ctx, username="spray0") == {"user": 1, "spread": 1}


def test_the_lock_holds_for_the_right_password_and_expires(ctx):
    actors = make_users(ctx)
    from datetime import timedelta

    now = ctx.clock()
    ctx.clock = lambda: now
    try:
        for _ in range(logins.PAIR_FREE + 1):
            assert logins.log_in(ctx, "civil1", "wrong-password", None) is None
        try:
            logins.log_in(ctx, "civil1", "correct-horse-battery", None)
            raise AssertionError("not locked")
        except TooManyAttempts as exc:
            assert exc.retry_after == int(logins.FIRST_DELAY.total_seconds())
        ctx.clock = lambda: now + logins.FIRST_DELAY
        assert logins.log_in(ctx, "civil1", "correct-horse-battery", None) == actors["civil1"]
    finally:
        from workflows.models import utcnow

        ctx.clock = utcnow
