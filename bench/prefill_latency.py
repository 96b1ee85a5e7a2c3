"""Prefill latency with 100,000 residents in PostgreSQL (target: p95 <= 30 ms).

    python bench/prefill_latency.py [--residents 100000] [--requests 2000] [--cases 1000] [--database-url URL]

Builds a fresh database (default ``redwall_e_bench`` on the local PostgreSQL, wiped) through
the Alembic migrations, loads the synthetic sub-district, receives ``--cases`` applications
through the intake use case (so that forms can draw on earlier cases), then asks for
prefilled forms of random services for random residents who fit them:

* through the use case (``onewindow.prefill.prefill``: registry, household, vehicles,
  certificate library, earlier cases, and the ``pii.read`` trail event committed), and
* through HTTP (``GET /api/services/{code}/prefill``, Flask's test client: token check,
  actor load, the use case, JSON),

and prints p50 / p95 / p99 / max in milliseconds for both.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from benchdb import recreate_database  # noqa: E402


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (f"p50 {statistics.median(ordered):6.2f} ms   p95 {pick(0.95):6.2f} ms   "
            f"p99 {pick(0.99):6.2f} ms   max {ordered[-1]:6.2f} ms   (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get(
        "REDWALL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_e_bench"))
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)

    import logging

    from flask_migrate import upgrade

    from datacentre import synthetic
    from datacentre.models import Person
    from onewindow.catalogue import load_catalogue
    from onewindow.intake import submit_application
    from onewindow.prefill import prefill
    from onewindow.report import _pool_query
    from server.app import create_app
    from server.demo import model_files, model_folders
    from workflows import accounts
    from workflows.process_models import deploy_model

    app = create_app({"SKIP_ENV": True, "TESTING": True, "SQLALCHEMY_DATABASE_URI": args.database_url,
                      "SECRET_KEY": "bench-secret-key-0123456789-0123456789", "REDIS_URL": None,
                      "REDWALL_TIMEZONE": "Asia/Shanghai", "REDWALL_TOKEN_TTL": 3600, "REDWALL_SCRIPT_TIME_LIMIT": 2.0})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with app.app_context():
        upgrade()
        ctx = app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            accounts.add_user(uow.session, "bench", "window1", "bench-password-1", ["intake"], ["intake"], [])
            accounts.add_user(uow.session, "bench", "designer1", "bench-password-1", ["designer"], [], [])
            accounts.add_user(uow.session, "bench", "admin1", "bench-password-1", ["admin"], [], [])
            uow.commit()
        with ctx.unit_of_work() as uow:
            window = accounts.authenticate(uow.session, "window1", "bench-password-1")
            designer = accounts.authenticate(uow.session, "designer1", "bench-password-1")
            admin = accounts.authenticate(uow.session, "admin1", "bench-password-1")
        for folder in model_folders():
            deploy_model(ctx, designer, model_files(folder))
        started = time.perf_counter()
        result = synthetic.generate_demo_data(ctx, admin, args.residents, seed=args.seed, as_of=date.today())
        print(f"data centre: {result['counts']['people']:,} residents, {result['counts']['certificates']:,} certificates "
              f"loaded in {time.perf_counter() - started:.1f} s")

        services = list(load_catalogue().services.values())
        rng = random.Random(args.seed)
        with ctx.unit_of_work() as uow:
            today = date.today()
            pools = {s.code: list(uow.session.scalars(_pool_query(s, window.tenant_id, today).order_by(Person.id)))
                     for s in services}
        services = [s for s in services if pools[s.code]]

        started = time.perf_counter()
        received = 0
        for _ in range(args.cases):  # earlier cases, so that `case:` sources have something to find
            service = rng.choice(services)
            resident = rng.choice(pools[service.code])
            filled = prefill(ctx, window, service.code, resident)
            form = {name: "6222020200112233445" if "bank" in name else "x" for name in filled["missing"]
                    if service.form["properties"][name].get("type") == "string" and "enum" not in service.form["properties"][name]
                    and "format" not in service.form["properties"][name]}
            try:
                submit_application(ctx, window, service.code, resident, form)
                received += 1
            except Exception:  # forms the simple filler cannot complete (enums, dates, numbers)
                pass
        print(f"earlier cases: {received} applications received in {time.perf_counter() - started:.1f} s")
        with ctx.unit_of_work() as uow:
            uow.session.execute(text("ANALYZE"))
            uow.commit()

        pairs = []
        for _ in range(args.requests):
            service = rng.choice(services)
            pairs.append((service.code, rng.choice(pools[service.code])))
        for code, resident in pairs[:50]:  # warm up: parsed models, connection pool, statement cache
            prefill(ctx, window, code, resident)
        samples = []
        for code, resident in pairs:
            t0 = time.perf_counter()
            prefill(ctx, window, code, resident)
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"prefill use case:     {percentiles(samples)}")

        client = app.test_client()
        token = client.post("/api/auth/token", json={"username": "window1", "password": "bench-password-1"}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        samples = []
        for code, resident in pairs:
            t0 = time.perf_counter()
            r = client.get(f"/api/services/{code}/prefill?applicant_id={resident}", headers=headers)
            samples.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.get_json()
        print(f"GET .../prefill HTTP: {percentiles(samples)}")
        print("target: p95 <= 30 ms with 100,000 residents")


if __name__ == "__main__":
    main()
