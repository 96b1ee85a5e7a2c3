"""A pyinstrument profile of one request kind of a whole case (start, claim or complete),
run in-process through Flask's test client over PostgreSQL, so the profile shows the request
itself (routing, the actor, the use case, SQLAlchemy, the round trips), not the HTTP server.

    pip install pyinstrument
    python bench/profile_request.py [--kind claim] [--cases 300] [--tree PATH]

Prints the mean wall time of the request kind and pyinstrument's call tree (functions under
2 % hidden). The database (default redwall_bench_profile) is dropped and created again.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP_DATA = [{"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}, {"approved": True}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=("start", "claim", "complete"), default="claim")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--tree", type=Path, default=REPO)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_profile")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from benchdb import three_tasks_client

    app, client, headers = three_tasks_client(args.database_url, args.tree)
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    spent = []

    def timed(kind, call):
        if kind != args.kind:
            return call()
        profiler.start()
        t0 = time.perf_counter()
        result = call()
        spent.append(time.perf_counter() - t0)
        profiler.stop()
        return result

    def one_case(profile: bool):
        answer = timed("start" if profile else "-", lambda: client.post(
            "/api/process-models/three_tasks/instances", json={"data": {}}, headers=headers))
        assert answer.status_code == 201, answer.json
        task_id = answer.json["tasks"][0]["id"]
        for data in STEP_DATA:
            answer = timed("claim" if profile else "-", lambda: client.post(f"/api/tasks/{task_id}/claim", headers=headers))
            assert answer.status_code == 200, answer.json
            answer = timed("complete" if profile else "-", lambda: client.post(
                f"/api/tasks/{task_id}/complete", json={"data": data}, headers=headers))
            assert answer.status_code == 200, answer.json
            task_id = answer.json["next_tasks"][0]["id"] if answer.json["next_tasks"] else None

    for _ in range(30):
        one_case(profile=False)  # warm caches and connections
    for _ in range(args.cases):
        one_case(profile=True)
    print(f"{args.kind}: {len(spent)} requests, mean {sum(spent) / len(spent) * 1000:.2f} ms in-process "
          f"(tree {args.tree.resolve()})")
    print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total",
                               flat=False, processor_options={"filter_threshold": 0.02}))


if __name__ == "__main__":
    main()
