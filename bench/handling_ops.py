"""What a handling operation costs: latency of each of worklists.handling's use cases, beside a
plain completion, on PostgreSQL, one transaction each, sequentially in one process.

Per case of a three-user-task process (accept in lane intake; review and decide in civil affairs):
withdraw (撤回) the acceptance and redo it; send back (退回) the decision to the review and redo
it; urge (催办); suspend and resume (挂起/恢复); add a parallel signer (加签/会签) to the
decision, complete it (held) and sign it (the held engine step runs). Only the operations are
timed, through the same use cases the REST API calls (no HTTP).

    python bench/handling_ops.py [--cases 300] [--database-url URL]

The database (default: a fresh ``redwall_bench_handling_ops`` on the local PostgreSQL) is wiped.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchdb import recreate_database  # noqa: E402

BPMN = REPO / "bench" / "three_tasks.bpmn"
ACCEPT, REVIEW, DECIDE = {"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}, \
    {"approved": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("REDWALL_BENCH_HANDLING_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_handling_ops"),
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)

    from workflows import accounts
    from workflows.cases import start_case
    from workflows.context import build_context
    from workflows.database import make_session_factory
    from workflows.models import Base
    from workflows.process_models import deploy_model
    from worklists import commands, handling

    engine, session_factory = make_session_factory(args.database_url)
    Base.metadata.create_all(engine)
    ctx = build_context(session_factory, trail=True)
    with ctx.unit_of_work() as uow:
        for name, roles, groups, supervises in (
            ("bench-window", ["intake", "designer"], ["intake"], []),
            ("bench-clerk1", ["clerk"], ["civil_affairs"], []),
            ("bench-clerk2", ["clerk"], ["civil_affairs"], []),
            ("bench-super", ["supervisor"], [], ["civil_affairs"]),
        ):
            accounts.add_user(uow.session, "bench", name, "bench-password", roles, groups, supervises)
        uow.commit()
    with ctx.unit_of_work() as uow:
        who = {n: accounts.authenticate(uow.session, f"bench-{n}", "bench-password")
               for n in ("window", "clerk1", "clerk2", "super")}
    deploy_model(ctx, who["window"], [(BPMN.name, BPMN.read_bytes())])
    window, clerk1, clerk2, boss = who["window"], who["clerk1"], who["clerk2"], who["super"]
    spent: dict[str, list[float]] = defaultdict(list)

    def timed(name, call, *a, **kw):
        began = time.perf_counter()
        result = call(ctx, *a, **kw)
        spent[name].append((time.perf_counter() - began) * 1000)
        return result

    def work(actor, task_id, data, name=None):
        commands.claim(ctx, actor, task_id)
        if name:
            return timed(name, commands.complete, actor, task_id, data)
        return commands.complete(ctx, actor, task_id, data)

    for _ in range(args.cases):
        case = start_case(ctx, window, "three_tasks", {"time_limit_working_days": 10})
        accept = case["tasks"][0]["id"]
        work(window, accept, ACCEPT)
        timed("withdraw 撤回", handling.withdraw, window, accept)
        _, [review] = timed("complete (plain)", commands.complete, window, accept, ACCEPT)
        _, [decide] = work(clerk1, review["id"], REVIEW)
        commands.claim(ctx, clerk2, decide["id"])
        timed("send back 退回", handling.send_back, clerk2, decide["id"], "补充材料")
        _, [decide] = commands.complete(ctx, clerk1, review["id"], REVIEW)
        commands.claim(ctx, clerk2, decide["id"])
        timed("urge 催办", handling.urge, boss, case["id"], "请加快")
        timed("suspend 挂起", handling.suspend, boss, case["id"], "等待批示")
        timed("resume 恢复", handling.resume, boss, case["id"])
        added = timed("add signer 加签 (parallel)", handling.add_signers, clerk2, decide["id"], ["bench-clerk1"],
                      "parallel")
        timed("complete, held for the signer", commands.complete, clerk2, decide["id"], DECIDE)
        done, _ = timed("sign + held engine step", commands.complete, clerk1, added["signers"][0]["id"],
                        {"opinion": "同意"})
        assert done["status"] == "concluded", done["status"]

    print(f"handling operations, {args.cases} cases, PostgreSQL, {platform.machine()} "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'operation':34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in spent.items():
        values.sort()
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        print(f"{name:34} {statistics.median(values):8.2f} {pick(0.95):8.2f} {pick(0.99):8.2f}")
    engine.dispose()
    recreate_database(args.database_url, args.admin_url, drop_only=True)


if __name__ == "__main__":
    main()
