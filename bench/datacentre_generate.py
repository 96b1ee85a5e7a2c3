"""Time to generate and load the synthetic sub-district into PostgreSQL (target: 100,000 residents < 60 s).

    python bench/datacentre_generate.py [--residents 100000] [--seed 1] [--database-url URL]

Prints the time to generate the rows in Python, to bulk-load them through the import
upsert (one transaction, committed), and the total; then what reading the loaded data
costs: re-upserting every resident unchanged (an idempotent re-import), the parking
analysis over all grid cells, and resident searches by name and identity number.
The database (default: a fresh ``redwall_d_bench`` on the local PostgreSQL) is wiped.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from benchdb import recreate_database  # noqa: E402


def timed(fn, repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("REDWALL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_d_bench"),
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)

    import datacentre.models  # noqa: F401  (registers the dc_* tables)
    from datacentre import parking, registry, synthetic
    from datacentre.csv_import import KINDS, ImportReport, upsert_rows
    from datacentre.models import Person
    from workflows import accounts
    from workflows.context import build_context
    from workflows.database import make_session_factory
    from workflows.models import Base

    engine, session_factory = make_session_factory(args.database_url)
    Base.metadata.create_all(engine)
    ctx = build_context(session_factory)
    with ctx.unit_of_work() as uow:
        tenant = accounts.ensure_tenant(uow.session, "bench")
        uow.commit()
        actor = accounts.Actor(user_id=0, username="bench", tenant_id=tenant.id, tenant_code=tenant.code,
                               roles=frozenset({"admin", "intake"}), groups=frozenset())

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    as_of = date(2026, 11, 25)
    started = time.perf_counter()
    district = synthetic.generate_district(args.residents, args.seed, as_of)
    generated = time.perf_counter() - started
    with ctx.unit_of_work() as uow:
        counts = synthetic.load_district(uow, actor.tenant_id, district, ctx.clock())
        uow.commit()
    total = time.perf_counter() - started
    rows = sum(counts.values())
    print(f"residents: {counts['people']:,}; rows of all kinds: {rows:,} "
          f"({', '.join(f'{n:,} {k}' for k, n in counts.items())})")
    print(f"generate (Python):                 {generated:6.1f} s")
    print(f"bulk load (upsert, one commit):    {total - generated:6.1f} s")
    print(f"generate + load:                   {total:6.1f} s   target < 60 s for 100,000 residents")

    people = district.rows["people"]
    header = sorted({name for row in people for name in row})
    started = time.perf_counter()
    with ctx.unit_of_work() as uow:
        report = ImportReport(kind="people")
        upsert_rows(uow, actor.tenant_id, KINDS["people"], header, ((i + 2, r) for i, r in enumerate(people)), report, ctx.clock())
        uow.commit()
    print(f"re-upsert all residents unchanged: {time.perf_counter() - started:6.1f} s   ({report.unchanged:,} unchanged)")

    with ctx.unit_of_work() as uow:
        sample = uow.session.execute(select(Person.name, Person.id_number).where(Person.tenant_id == actor.tenant_id)
                                     .order_by(func.random()).limit(50)).all()
    cells = parking.parking_pressure(ctx, actor)
    print(f"parking analysis ({len(cells)} cells): {timed(lambda: parking.parking_pressure(ctx, actor), 20):6.1f} ms median"
          f"   worst: {cells[0]['grid']} {cells[0]['vehicles']} vehicles / {cells[0]['spaces']} spaces")
    names = iter(sample * 2)
    numbers = iter(sample * 2)
    print(f"search by name:                    {timed(lambda: registry.search_residents(ctx, actor, next(names)[0]), 50):6.1f} ms median")
    print(f"search by identity number:         {timed(lambda: registry.search_residents(ctx, actor, next(numbers)[1]), 50):6.1f} ms median")
    engine.dispose()


if __name__ == "__main__":
    main()
