"""The web workplace's pages at 100,000 open tasks: server time per page, bytes of the inbox's first load.

Builds its own PostgreSQL database (created and dropped by the script): the schema by the
migrations, ``redwall demo`` (demo users, every shipped model, 2,000 residents), a few real
senior-card cases taken at the window and accepted through the engine (so their task and
case pages are real), then 100,000 open department tasks loaded by COPY as clones of one
real case and task (bench/worklist_inbox.py's loader), spread over the demo groups:

    civil_affairs 30 %, disabled_federation 20 %, the other eleven groups the rest;
    20 % claimed (civil_affairs: 2 % by civil1, so "mine" has ~600), 5 % without a due time,
    due times from 10 days ago to 30 days ahead, the warning a day before.

Then every page is requested ``--requests`` times through Flask's test client with a session
signed in through the real sign-in form (the time is the app's: routing, use case, queries,
templates, no network), after 5 warm-up requests, and printed as p50/p95/p99/max. Last, the
inbox's first load: its HTML plus every /static file it references (and the files those
style sheets reference), as served and gzip-compressed.

    python bench/web_pages.py [--tasks 100000] [--requests 200] [--keep]

Targets (issue 9): each page's p95 <= 50 ms; the inbox's first load <= 300 KB without the diagram.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sqlalchemy import select, text  # noqa: E402

from benchdb import ADMIN_URL, recreate_database  # noqa: E402
from worklist_inbox import copy_rows  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_web"
PASSWORD = "redwall-demo"
TARGET_P95_MS = 50.0
TARGET_FIRST_LOAD = 300 * 1024
# group -> share of the open tasks, and who of the demo users may hold its claimed ones
GROUP_SHARES = {"civil_affairs": 0.30, "disabled_federation": 0.20}
OTHER_GROUPS = ["social_security", "health", "housing", "veterans", "community", "justice", "city_management",
                "grid_center", "street_lane_chief", "emergency_management", "supervision"]
HOLDERS = {"civil_affairs": "civil1", "disabled_federation": "disabled1", "social_security": "social1",
           "health": "social1", "housing": "social1", "veterans": "social1", "community": "social1",
           "justice": "social1", "city_management": "grid1", "grid_center": "grid1", "street_lane_chief": "lane1",
           "emergency_management": "leader1", "supervision": "super2"}
DAY = 86400


# -- the database ------------------------------------------------------------------------------
def make_app(url: str):
    from server.app import create_app

    return create_app({
        "SKIP_ENV": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-web-pages-secret-key-0123456789abcdef",
        "REDIS_URL": None,
        "REDWALL_BACKGROUND": "off",  # no timer thread competing with the measured requests
        "REDWALL_TIMEZONE": "Asia/Shanghai",
        "REDWALL_TOKEN_TTL": 28800,
        "REDWALL_SCRIPT_TIME_LIMIT": 2.0,
    })


def real_cases(app, count: int = 3) -> dict:
    """Senior-card applications received at the window and accepted: their review tasks are civil1's."""
    from datacentre.models import Person
    from onewindow.intake import submit_application
    from workflows.accounts import authenticate
    from workflows.errors import RedwallError
    from workflows.models import Task
    from worklists import commands

    ctx = app.extensions["redwall"]
    with app.app_context():
        with ctx.unit_of_work() as uow:
            intake = authenticate(uow.session, "intake1", PASSWORD)
            civil = authenticate(uow.session, "civil1", PASSWORD)
            residents = list(uow.session.scalars(select(Person.id).order_by(Person.birth_date, Person.id)))
        cases, tried, spare = [], 0, None
        for pid in residents:
            tried += 1
            try:
                if len(cases) < count:
                    cases.append(submit_application(ctx, intake, "senior_card", pid, {})["id"])
                else:  # one more eligible resident, left without a case: its form page is timed
                    with ctx.unit_of_work() as uow:
                        submit_application(ctx, intake, "senior_card", pid, {}, uow=uow)
                        uow.rollback()
                    spare = pid
                    break
            except RedwallError:
                continue
        if spare is None:
            raise SystemExit(f"only {len(cases)} of {tried} residents could apply for a senior card")
        tasks = []
        for case_id in cases:
            with ctx.unit_of_work() as uow:
                accept = uow.session.scalar(select(Task.id).where(Task.case_id == case_id, Task.status == "ready"))
            commands.claim(ctx, intake, accept)
            commands.complete(ctx, intake, accept, {"acceptance": "accept", "delivery_method": "window"})
            with ctx.unit_of_work() as uow:
                review = uow.session.scalar(select(Task).where(Task.case_id == case_id, Task.status == "ready"))
                tasks.append((review.id, review.group))
        commands.claim(ctx, civil, tasks[0][0])
    return {"cases": cases, "tasks": tasks, "resident": residents[0], "form_resident": spare}


def copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def load_open_tasks(app, template_case: int, template_task: int, count: int, rng: random.Random) -> float:
    """``count`` open tasks (and a case each) cloned from a real case and task, by COPY."""
    from server.extensions import db
    from workflows.models import Case, Task

    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            case_row = dict(conn.execute(select(Case.__table__).where(Case.id == template_case)).mappings().one())
            task_row = dict(conn.execute(select(Task.__table__).where(Task.id == template_task)).mappings().one())
            first_case = conn.scalar(text("SELECT max(id) FROM cases")) + 1
            first_task = conn.scalar(text("SELECT max(id) FROM tasks")) + 1
            residents = list(conn.scalars(text("SELECT id FROM dc_people ORDER BY id")))
        case_columns = list(case_row)
        task_columns = list(task_row)
        groups = list(GROUP_SHARES) + OTHER_GROUPS
        rest = (1 - sum(GROUP_SHARES.values())) / len(OTHER_GROUPS)
        weights = [GROUP_SHARES.get(g, rest) for g in groups]
        now = datetime.now(timezone.utc)

        def case_lines():
            for n in range(count):
                created = now - timedelta(seconds=rng.randint(0, 20 * DAY))
                row = {**case_row, "id": first_case + n, "number": f"BENCH-{created:%Y%m%d}-{n:07d}",
                       "applicant_id": rng.choice(residents), "created_at": created, "updated_at": created}
                yield "\t".join(copy_value(row[c]) for c in case_columns) + "\n"

        def task_lines():
            for n in range(count):
                group = rng.choices(groups, weights)[0]
                status, assignee = "ready", None
                if group == "civil_affairs":
                    if rng.random() < 0.02:
                        status, assignee = "claimed", "civil1"
                elif rng.random() < 0.2:
                    status, assignee = "claimed", HOLDERS[group]
                due = warn = None
                if rng.random() >= 0.05:
                    due = now + timedelta(seconds=rng.randint(-10 * DAY, 30 * DAY))
                    warn = due - timedelta(days=1)
                created = now - timedelta(seconds=rng.randint(0, 20 * DAY))
                row = {**task_row, "id": first_task + n, "case_id": first_case + n, "group": group,
                       "status": status, "assignee": assignee, "delegated_by": None, "due_at": due, "warn_at": warn,
                       "created_at": created, "priority": rng.choice([30, 50, 50, 50, 70]), "version": 1}
                yield "\t".join(copy_value(row[c]) for c in task_columns) + "\n"

        raw = engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            copy_rows(dbapi, "cases", case_columns, case_lines())
            copy_rows(dbapi, "tasks", task_columns, task_lines())
            for table in ("cases", "tasks"):
                dbapi.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            dbapi.commit()
            dbapi.autocommit = True
            dbapi.execute("VACUUM ANALYZE cases")
            dbapi.execute("VACUUM ANALYZE tasks")
        finally:
            raw.close()
    return time.perf_counter() - started


# -- the pages ---------------------------------------------------------------------------------
def signed_in(app, username: str):
    """A test client with a session made by the real sign-in form (CSRF token included)."""
    client = app.test_client()
    page = client.get("/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    form = {"username": username, "password": PASSWORD}
    if token:
        form["csrf_token"] = token.group(1)
    answer = client.post("/signin", data=form)
    if answer.status_code not in (302, 303):
        raise SystemExit(f"signing in as {username} answered {answer.status_code}: the sign-in form changed?")
    return client


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def time_page(client, url: str, requests: int) -> dict:
    statuses, times, size = {}, [], 0
    for n in range(requests + 5):
        started = time.perf_counter()
        answer = client.get(url)
        body = answer.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        if n >= 5:
            times.append(elapsed)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            size = len(body)
    return {"times": times, "statuses": statuses, "bytes": size}


STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"?#]+)[^"]*"')
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


def first_load(client, url: str) -> list[tuple[str, int, int]]:
    """(path, bytes as served, gzip bytes) of the page and every /static file it needs."""
    page = client.get(url)
    html = page.get_data()
    loaded = [(url, len(html), len(gzip.compress(html, 6)))]
    todo = list(dict.fromkeys(STATIC_REF.findall(html.decode("utf-8", "replace"))))
    seen = set()
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        body = answer.get_data()
        if answer.status_code != 200:
            loaded.append((f"{path} (HTTP {answer.status_code})", 0, 0))
            continue
        loaded.append((path, len(body), len(gzip.compress(body, 6))))
        if path.endswith(".css"):
            for ref in CSS_URL.findall(body.decode("utf-8", "replace")):
                if ref.startswith("data:"):
                    continue
                target = urlsplit(urljoin(path, ref)).path
                if target.startswith("/static/") and not target.endswith((".eot", ".svg", ".ttf", ".woff")):
                    todo.append(target)  # a browser takes woff2 and nothing older
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("REDWALL_BENCH_WEB_URL", DEFAULT_URL))
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    rng = random.Random(9)

    import logging

    logging.disable(logging.INFO)
    recreate_database(args.database_url, args.admin_url)
    try:
        from flask_migrate import upgrade

        from server.demo import load_demo

        app = make_app(args.database_url)
        started = time.perf_counter()
        with app.app_context():
            upgrade()
            load_demo(app.extensions["redwall"])
        setup = time.perf_counter() - started
        real = real_cases(app)
        loaded = load_open_tasks(app, real["cases"][0], real["tasks"][0][0], args.tasks, rng)
        with app.app_context():
            from server.extensions import db

            with db.engine.connect() as conn:
                open_tasks = conn.scalar(text("SELECT count(*) FROM tasks WHERE status IN ('ready', 'claimed')"))
                per_group = dict(conn.execute(text(
                    "SELECT \"group\", count(*) FROM tasks WHERE status IN ('ready','claimed') GROUP BY 1")).all())
                mine = conn.scalar(text("SELECT count(*) FROM tasks WHERE assignee = 'civil1' AND status = 'claimed'"))
                server_version = conn.scalar(text("SHOW server_version"))

        intake, civil, supervisor = (signed_in(app, u) for u in ("intake1", "civil1", "super1"))
        with app.app_context():
            from datacentre.models import Person

            with app.extensions["redwall"].unit_of_work() as uow:
                name = uow.session.scalar(select(Person.name).where(Person.id == real["resident"]))
        task_id, case_id = real["tasks"][0][0], real["cases"][0]
        pages = [
            ("window: home", intake, "/window"),
            ("window: find a resident by name", intake, f"/window?q={name}"),
            ("window: the resident", intake, f"/window/residents/{real['resident']}"),
            ("window: prefilled form (老年证)", intake, f"/window/residents/{real['form_resident']}/apply/senior_card"),
            ("inbox: group queue (civil1)", civil, "/inbox"),
            ("inbox: mine (civil1)", civil, "/inbox?scope=mine"),
            ("inbox: overdue only (civil1)", civil, "/inbox?overdue=1"),
            ("inbox: badge refresh (civil1)", civil, "/inbox/counts"),
            ("inbox: supervisor, 2 groups (super1)", supervisor, "/inbox"),
            ("task page (claimed by civil1)", civil, f"/tasks/{task_id}"),
            ("case page (civil1)", civil, f"/cases/{case_id}"),
            ("case diagram data (civil1)", civil, f"/cases/{case_id}/diagram"),
        ]
        results = []
        for label, client, url in pages:
            results.append((label, url, time_page(client, url, args.requests)))
        bytes_loaded = first_load(civil, "/inbox")
    finally:
        if not args.keep:
            recreate_database(args.database_url, args.admin_url, drop_only=True)

    load = os.getloadavg()
    print(f"\nbench/web_pages.py — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {server_version}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"setup (migrate + demo) {setup:.1f} s; {args.tasks:,} open tasks cloned by COPY in {loaded:.1f} s; "
          f"open tasks now {open_tasks:,} (civil_affairs {per_group.get('civil_affairs', 0):,}, "
          f"disabled_federation {per_group.get('disabled_federation', 0):,}; civil1 holds {mine:,})")
    print(f"{args.requests} requests per page through Flask's test client, signed in by the sign-in form\n")
    width = max(len(label) for label, _, _ in results)
    print(f"{'page':<{width}}  {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'bytes':>8}  status  target p95")
    for label, url, r in results:
        times = r["times"]
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
        p95 = percentile(times, 95)
        verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
        if set(r["statuses"]) != {200}:
            verdict = "not a 200"
        print(f"{label:<{width}}  {statistics.median(times):7.2f} {p95:7.2f} {percentile(times, 99):7.2f} "
              f"{max(times):7.2f} {r['bytes']:8,}  {statuses:<6}  ≤ {TARGET_P95_MS:.0f}: {verdict}")
        print(f"{'':<{width}}  {url}")

    print("\nthe inbox's first load (civil1, /inbox): the page and every /static file it references")
    total = total_gz = 0
    for path, size, gz in bytes_loaded:
        total += size
        total_gz += gz
        print(f"  {path:<70} {size:>10,} {gz:>10,}")
    print(f"  {'total (as served / gzip -6)':<70} {total:>10,} {total_gz:>10,}   target ≤ {TARGET_FIRST_LOAD:,} "
          f"(300 KB): {'met' if total <= TARGET_FIRST_LOAD else 'MISSED'} as served")


if __name__ == "__main__":
    main()
