"""Instructions per whole case in the app's process, counted by valgrind (callgrind): a figure
that does not move with what else the machine is doing.

CPU time on this shared 2-core machine varies by ±15 % from one minute to the next (other
guests, cache pressure), so a change of a few per cent to the app's CPU cannot be seen in
``bench/e2e_http.py`` alone. Instructions can: the same code on the same data gives the same
count to within 0.1 %. Each tree runs whole cases of ``bench/three_tasks.bpmn`` (start, then
claim + complete for each of its three user tasks) through the real Flask app and its test
client over PostgreSQL, in-process; after a warm-up, callgrind counts the user-space
instructions of ``--cases`` cases (the app's Python, SQLAlchemy, psycopg, SpiffWorkflow, and
the test client building each request). Kernel time (system calls, round trips) and
PostgreSQL's own work are not in the count; ``bench/e2e_http.py`` shows those.

    python bench/case_instructions.py [--tree PATH ...] [--cases 20] [--database-url URL]

Needs valgrind (``apt-get install valgrind``). About half a minute per tree. The database
(default ``redwall_bench_instructions``) is dropped and created again for each tree.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_instructions"
STEP_DATA = [{"accepted": True, "note": "materials complete"}, {"review_result": "meets_conditions"}, {"approved": True}]


def run_cases(tree: str, cases: int, warm_up: int, url: str) -> None:
    """The child, under valgrind with instrumentation off until the counted cases."""
    sys.path.insert(0, str(HERE))
    from benchdb import three_tasks_client

    _, client, headers = three_tasks_client(url, tree)

    def one_case() -> None:
        answer = client.post("/api/process-models/three_tasks/instances", json={"data": {}}, headers=headers)
        assert answer.status_code == 201, answer.json
        task_id = answer.json["tasks"][0]["id"]
        for data in STEP_DATA:
            answer = client.post(f"/api/tasks/{task_id}/claim", headers=headers)
            assert answer.status_code == 200, answer.json
            answer = client.post(f"/api/tasks/{task_id}/complete", json={"data": data}, headers=headers)
            assert answer.status_code == 200, answer.json
            task_id = answer.json["next_tasks"][0]["id"] if answer.json["next_tasks"] else None
        assert answer.json["case"]["status"] == "concluded", answer.json

    for _ in range(warm_up):  # caches filled, statements prepared (psycopg prepares after 5 runs)
        one_case()
    subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(cases):
        one_case()
    subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True)


def count(tree: Path, cases: int, warm_up: int, url: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={folder}/out",
             sys.executable, __file__, "--child", str(tree), "--cases", str(cases), "--warm-up", str(warm_up),
             "--database-url", url],
            capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"{tree}: the run failed\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="a checkout to count (repeatable); default: this one")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--database-url", default=URL, help="dropped and created again for each tree")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_cases(args.child, args.cases, args.warm_up, args.database_url)
        return
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("needs valgrind: apt-get install valgrind")
    trees = args.tree or [HERE.parent]
    print(f"{args.cases} whole cases of bench/three_tasks.bpmn per tree, after {args.warm_up} to warm up")
    counted = []
    for tree in trees:
        total = count(tree.resolve(), args.cases, args.warm_up, args.database_url)
        counted.append(total)
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        print(f"{tree.name}@{head.stdout.strip() or '?'}: {total / args.cases / 1e6:.2f} M instructions per case")
    if len(counted) > 1:
        print(f"last / first: {counted[-1] / counted[0]:.3f}")
    sys.path.insert(0, str(HERE))
    from benchdb import recreate_database

    recreate_database(args.database_url, drop_only=True)


if __name__ == "__main__":
    main()
