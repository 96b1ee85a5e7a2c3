"""100,000 timers due in the same minute, fired by two Celery worker processes.

Each timer belongs to its own waiting case; firing it is a full case step (load the state, let
SpiffWorkflow fire the timer event, write the state, create the follow-up task, record the trail
events) in its own PostgreSQL transaction. One ``redwall scheduler`` claims the due rows and
sends their ids to the workers through Redis. Printed: the time from the first due time to the
last firing, the rate, the lag (fired minus due) at p50/p99/max, and the exactly-once checks
(rows, the trail's ``timer.fired`` events, follow-up tasks).

    python bench/timers_burst.py [--timers 100000] [--workers 2] [--database-url URL] [--redis-url URL]

The database (default: a fresh ``redwall_bench_timers`` on the local PostgreSQL) is dropped
and created; the Redis database (default db 10) is flushed.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from pathlib import Path

from timers_common import (
    Fleet, figures, machine, prepare_database, print_checks, seed_waiting_cases, utc_now, wait_until_fired,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_timers")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--boot-seconds", type=float, default=20.0, help="time for the fleet to start before the minute")
    args = parser.parse_args()

    print(f"timers_burst: {args.timers:,} timers due within one minute, {args.workers} worker processes; {machine()}")
    prepare_database(args.database_url, args.admin_url)
    started = time.perf_counter()
    minute = utc_now() + timedelta(seconds=args.boot_seconds + args.timers / 20_000)
    rng = random.Random(1)
    due = sorted(minute + timedelta(seconds=rng.random() * 60) for _ in range(args.timers))
    seed_waiting_cases(args.database_url, due)
    print(f"  seeded {args.timers:,} waiting cases in {time.perf_counter() - started:.1f} s; "
          f"the minute starts in {(minute - utc_now()).total_seconds():.1f} s")
    fleet = Fleet(args.database_url, args.redis_url, args.workers, Path("instance") / "bench_logs" / "burst")
    try:
        wait_until_fired(args.database_url, args.timers, timeout=3600)
    finally:
        fleet.stop()
    result = figures(args.database_url, args.timers)
    span = result["span"]
    print(f"  first due {result['first_due']:%H:%M:%S.%f}, last due {result['last_due']:%H:%M:%S.%f}, "
          f"last fired {result['last_fired']:%H:%M:%S.%f}")
    print(f"  time to fire all (first due → last fired): {span:.1f} s, {args.timers / span:,.0f} timers/s")
    print(f"  lag fired − due: p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s, max {result['max']:.2f} s")
    ok = print_checks(result)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
