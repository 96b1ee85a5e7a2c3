"""Statements and round trips per request kind, counted at the database driver.

Runs whole cases of ``bench/three_tasks.bpmn`` (start, then claim + complete for each of its
three user tasks) through the real Flask app (its test client: routing, sign-in by token,
use cases, the trail) over PostgreSQL, and counts what each request sends to the database:
statements, BEGINs, COMMITs and ROLLBACKs at psycopg, as it sends them (so also what the trail
writer sends straight to the driver, and no BEGIN or COMMIT for a statement in autocommit). Round trips = statements +
BEGIN + COMMIT + ROLLBACK (psycopg sends each one). Medians per request kind and per case.

    python bench/step_statements.py [--tree PATH] [--cases 20] [--url URL] [--show-statements]

``--tree`` runs the code of another checkout (e.g. ``/work/main``, for the "before" figures)
with this script; the database (``--url``, default ``redwall_h4_steps``) is dropped and
created, migrated by that tree's migrations, and dropped again at the end.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_h4_steps"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(HERE.parent), help="the checkout whose code runs (default: this one)")
    parser.add_argument("--cases", type=int, default=20, help="whole cases counted (after 3 warm-up cases)")
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--show-statements", action="store_true", help="print the statements of one whole case")
    args = parser.parse_args()
    tree = Path(args.tree).resolve()
    sys.path.insert(0, str(tree))
    for name in [m for m in sys.modules if m.split(".")[0] in ("server", "workflows", "worklists", "onewindow",
                                                                 "datacentre")]:
        del sys.modules[name]
    sys.path.insert(1, str(HERE))
    from benchdb import recreate_database

    recreate_database(args.url, ADMIN_URL)
    try:
        env = dict(os.environ, DATABASE_URL=args.url, PYTHONPATH=str(tree),
                   SECRET_KEY="bench-secret-key-0123456789abcdef0123456789abcdef")
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], cwd=tree, env=env, check=True,
                       capture_output=True)
        run(tree, args)
    finally:
        recreate_database(args.url, ADMIN_URL, drop_only=True)


def run(tree: Path, args) -> None:
    import logging

    import server
    from server.app import create_app

    logging.getLogger("spiff").setLevel(logging.WARNING)
    if Path(server.__file__).resolve().parent.parent != tree:
        raise SystemExit(f"the code imported is {server.__file__}, not the tree {tree}")

    app = create_app({
        "SKIP_ENV": True, "SQLALCHEMY_DATABASE_URI": args.url, "REDIS_URL": None, "REDWALL_BACKGROUND": "off",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789abcdef", "REDWALL_TIMEZONE": "Asia/Shanghai",
        "REDWALL_TOKEN_TTL": 3600, "REDWALL_SCRIPT_TIME_LIMIT": 2.0,
    })
    client = app.test_client()
    with app.app_context():
        from workflows import accounts

        with app.extensions["redwall"].unit_of_work() as uow:
            accounts.add_user(uow.session, "bench", "bench-clerk", PASSWORD, ["designer", "clerk", "intake"],
                              ["intake", "civil_affairs"])
            uow.commit()
    token = client.post("/api/auth/token", json={"username": "bench-clerk", "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    bpmn = (HERE / "three_tasks.bpmn").read_bytes()
    from io import BytesIO

    deployed = client.post("/api/process-models", headers=auth,
                           data={"files": (BytesIO(bpmn), "three_tasks.bpmn")}, content_type="multipart/form-data")
    assert deployed.status_code in (200, 201), deployed.get_data(as_text=True)

    counts = Counter()
    statements: list[str] = []

    # Counted at the driver, as psycopg sends them (so also the statements the trail writer sends
    # straight to it): a BEGIN before a transaction's first statement (none in autocommit),
    # COMMIT and ROLLBACK only for an open transaction (psycopg skips them otherwise).
    sys.path.insert(0, str(HERE / "round_trips"))
    from driver_counts import count_at_driver

    def bump(kind: str) -> None:
        counts[kind] += 1

    count_at_driver(bump, statements.append)

    per_kind: dict[str, list[Counter]] = {"start": [], "claim": [], "complete": []}
    whole: list[Counter] = []
    shown: list[str] = []

    def request(kind, method, url, **kw):
        counts.clear()
        statements.clear()
        response = getattr(client, method)(url, headers=auth, **kw)
        assert response.status_code in (200, 201), (url, response.status_code, response.get_data(as_text=True))
        if kind is not None:
            per_kind[kind].append(Counter(counts))
        return response.get_json(), Counter(counts), list(statements)

    for i in range(args.cases + 3):
        total = Counter()
        texts: list[str] = []
        case, c, s = request("start" if i >= 3 else None, "post", "/api/process-models/three_tasks/instances",
                               json={"data": {"n": i}})
        total += c
        texts += [f"-- start\n{x}" for x in s]
        task_id = case["tasks"][0]["id"]
        for step in range(3):
            _, c, s = request("claim" if i >= 3 else None, "post", f"/api/tasks/{task_id}/claim")
            total += c
            texts += [f"-- claim {step + 1}\n{x}" for x in s]
            done, c, s = request("complete" if i >= 3 else None, "post", f"/api/tasks/{task_id}/complete",
                                 json={"data": {f"step{step}": True}})
            total += c
            texts += [f"-- complete {step + 1}\n{x}" for x in s]
            next_tasks = done["next_tasks"]
            task_id = next_tasks[0]["id"] if next_tasks else None
        assert done["case"]["status"] == "concluded", done["case"]["status"]
        if i >= 3:
            whole.append(total)
            shown = texts

    print(f"tree: {tree}  cases counted: {args.cases}  database: PostgreSQL (psycopg)")
    print(f"{'request':<12}{'statements':>12}{'BEGIN':>8}{'COMMIT':>8}{'ROLLBACK':>10}{'round trips':>13}")
    for kind, rows in [*per_kind.items(), ("whole case", whole)]:
        med = {k: statistics.median([r[k] for r in rows]) for k in ("statements", "begin", "commit", "rollback")}
        trips = med["statements"] + med["begin"] + med["commit"] + med["rollback"]
        print(f"{kind:<12}{med['statements']:>12g}{med['begin']:>8g}{med['commit']:>8g}{med['rollback']:>10g}"
              f"{trips:>13g}")
    if args.show_statements:
        print("\n-- the statements of the last whole case --")
        for text in shown:
            print(" ".join(text.split())[:400])


if __name__ == "__main__":
    main()
