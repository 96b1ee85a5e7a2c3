"""What the trail costs: task completions per second with and without it, same run.

Both sides complete the tasks of the same three-user-task process through the engine
layer (``workflows.cases.open_task_for_update`` + ``complete_user_task``), one PostgreSQL
transaction per completion, sequentially in one process. The "with" side has the trail
writer as the context's event sink (the default), so every completion also appends its
events (task completed, gateway decisions, status changes, next task created) to the case
chain in the same transaction: on PostgreSQL the events recorded before the case row
is written are hashed onto the head read with the case and inserted by the case row's own
UPDATE statement (one statement, no extra round trip); later ones at commit. The sides alternate in
rounds so that drift of the machine hits both alike; only the completion transactions
are timed (the start of each case is not).

    python bench/trail_throughput.py [--cases 1500] [--rounds 10] [--database-url URL]

The database (default: a fresh ``redwall_bench_trail`` on the local PostgreSQL) is wiped.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from benchdb import recreate_database  # noqa: E402

BPMN = REPO / "bench" / "three_tasks.bpmn"
STEP_DATA = [{"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}, {"approved": True}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1500, help="cases per side (3 completions each)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("REDWALL_BENCH_TRAIL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_trail"),
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)

    from workflows import accounts, trail
    from workflows.cases import complete_user_task, open_task_for_update, start_case
    from workflows.context import build_context
    from workflows.database import make_session_factory
    from workflows.models import Base, TrailEvent
    from workflows.process_models import deploy_model

    engine, session_factory = make_session_factory(args.database_url)
    Base.metadata.create_all(engine)
    with_trail = build_context(session_factory, trail=True)
    without_trail = build_context(session_factory, trail=False)
    with with_trail.unit_of_work() as uow:
        accounts.add_user(uow.session, "bench", "bench-clerk", "bench-password", ["designer", "intake", "auditor"], ["intake"])
        uow.commit()
    with with_trail.unit_of_work() as uow:
        actor = accounts.authenticate(uow.session, "bench-clerk", "bench-password")
    deploy_model(with_trail, actor, [(BPMN.name, BPMN.read_bytes())])

    def run_cases(ctx, cases: int) -> float:
        """Seconds spent in the completion transactions of ``cases`` cases."""
        spent = 0.0
        for _ in range(cases):
            task_id = start_case(ctx, actor, "three_tasks")["tasks"][0]["id"]
            for data in STEP_DATA:
                began = time.perf_counter()
                with ctx.unit_of_work() as uow:
                    step = open_task_for_update(ctx, uow, actor.tenant_id, task_id)
                    view, next_tasks = complete_user_task(ctx, uow, actor, step, data)
                    uow.commit()
                spent += time.perf_counter() - began
                task_id = next_tasks[0]["id"] if next_tasks else None
            assert view["status"] == "concluded"
        return spent

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    for ctx in (with_trail, without_trail):  # warm up connections, caches, statement caches
        run_cases(ctx, 50)
    per_round = max(args.cases // args.rounds, 1)
    spent = {"with": [], "without": []}
    for i in range(args.rounds):
        sides = [("with", with_trail), ("without", without_trail)]
        if i % 2:
            sides.reverse()
        for name, ctx in sides:
            spent[name].append(run_cases(ctx, per_round))
    completions = per_round * 3
    rate = {name: completions * len(times) / sum(times) for name, times in spent.items()}
    # Each round runs both sides back to back: the median of the rounds' ratios resists
    # other load on the machine better than the totals do.
    ratios = [w / wo for w, wo in zip(spent["without"], spent["with"])]
    cost_total = 1 - rate["with"] / rate["without"]
    cost_median = 1 - statistics.median(ratios)
    with with_trail.unit_of_work() as uow:
        events = uow.session.scalar(select(func.count()).select_from(TrailEvent))
    verification = trail.verify_tenant(with_trail, actor)
    assert verification["valid"], verification
    total = completions * args.rounds
    print(f"completions per side: {total} in {args.rounds} alternating rounds of {completions}")
    print(f"without the trail:  {rate['without']:8.1f} completions/s")
    print(f"with the trail:     {rate['with']:8.1f} completions/s")
    print(f"trail cost:         {cost_total * 100:8.1f} % over all rounds, {cost_median * 100:.1f} % median of the rounds"
          "   (target <= 15 %)")
    print(f"trail events written: {events} ({events / (total + args.rounds * per_round):.2f} per transaction)")
    print(f"tenant verification: valid={verification['valid']}, {verification['checked']} events checked")
    engine.dispose()


if __name__ == "__main__":
    main()
