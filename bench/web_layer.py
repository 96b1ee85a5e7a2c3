"""CPU of the web layer alone per request kind of a whole case (start, claim, complete).

Each request kind is sent once for real through Flask's test client over PostgreSQL; then
the use case behind it (``workflows.cases.start_case``, ``worklists.commands.claim`` and
``complete``) is replaced by one answering that recorded result, and the same request is sent
N times: what is left is routing, the hooks, the bearer token, argument parsing, the response
schema, JSON and headers (and the test client's own building of the request, the same in
both trees). The answers are checked to be the ones of the real requests.

    python bench/web_layer.py [--n 2000] [--tree PATH] [--profile claim]

Prints CPU microseconds per request (process time, best of 3 rounds); ``--profile KIND``
also prints cProfile's top functions for that kind. Compare trees in the same run (``--tree``
names the one to measure; the database, default redwall_bench_web, is dropped and created
again).
"""
from __future__ import annotations

import argparse
import copy
import cProfile
import logging
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP_DATA = [{"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=REPO)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--profile", choices=("start", "claim", "complete"))
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_web")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from benchdb import three_tasks_client

    # the revocation check stays a lookup in memory, as within its interval under load
    app, client, headers = three_tasks_client(args.database_url, args.tree, {"REDWALL_REVOCATION_INTERVAL": 10**9})
    logging.disable(logging.INFO)
    from workflows import cases as case_use_cases
    from worklists import commands

    answer = client.post("/api/process-models/three_tasks/instances", json={"data": {}}, headers=headers)
    task_id = answer.json["tasks"][0]["id"]
    real = {"start": answer.json, "claim": client.post(f"/api/tasks/{task_id}/claim", headers=headers).json}
    recorded = {}
    use_cases = {"start": (case_use_cases, "start_case"), "claim": (commands, "claim"),
                 "complete": (commands, "complete")}

    def recording(kind):
        module, name = use_cases[kind]
        original = getattr(module, name)

        def call(*a, **kw):
            result = original(*a, **kw)
            recorded[kind] = copy.deepcopy(result)
            return result
        return call

    setattr(commands, "complete", recording("complete"))
    real["complete"] = client.post(f"/api/tasks/{task_id}/complete", json={"data": STEP_DATA[0]}, headers=headers).json
    for kind in ("start", "claim"):
        setattr(*use_cases[kind], recording(kind))
    second = client.post("/api/process-models/three_tasks/instances", json={"data": {}}, headers=headers).json
    real["start"] = second
    real["claim"] = client.post(f"/api/tasks/{second['tasks'][0]['id']}/claim", headers=headers).json
    for kind, (module, name) in use_cases.items():
        setattr(module, name, lambda *a, _kind=kind, **kw: copy.copy(recorded[_kind]))

    requests = {
        "start": lambda: client.post("/api/process-models/three_tasks/instances", json={"data": {}}, headers=headers),
        "claim": lambda: client.post(f"/api/tasks/{task_id}/claim", headers=headers),
        "complete": lambda: client.post(f"/api/tasks/{task_id}/complete", json={"data": STEP_DATA[1]},
                                        headers=headers),
    }
    for kind, send in requests.items():
        answer = send()
        assert answer.status_code in (200, 201) and answer.json == real[kind], (kind, answer.json, real[kind])
        for _ in range(200):
            send()
    spent = {kind: [] for kind in requests}
    for _ in range(3):
        for kind, send in requests.items():
            t0 = time.process_time()
            for _ in range(args.n):
                send()
            spent[kind].append((time.process_time() - t0) / args.n * 1e6)
    for kind, values in spent.items():
        print(f"{kind:8s} web layer CPU {min(values):5.0f} us/request (rounds: {', '.join(f'{v:.0f}' for v in values)})"
              f"  tree {args.tree.resolve()}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            requests[args.profile]()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
