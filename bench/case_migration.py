"""How fast running cases move to a new version: 1,000 cases, dry run and real, on PostgreSQL.

Builds its own database: the migration fixture's version 1 (accept → a two-hour wait → review →
decide), ``--cases`` running cases (half waiting at *accept*, half on the timer after it, so
task rows and timer rows both follow), then version 2 (decide gone, the review with a form).
It times, through the use case the API and ``redwall migrate`` call:

* the dry run: every case assessed (SpiffWorkflow's diff, the move in memory), one item row each;
* the real run: every case moved in its own transaction (version check, task rows re-pointed,
  timer rows kept, a ``case.migrated`` trail event), in batches of 100.

    python bench/case_migration.py [--cases 1000] [--database-url URL] [--keep]

The database (default: a fresh ``redwall_bench_migration`` on the local PostgreSQL) is dropped
at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from benchdb import recreate_database  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "bpmn" / "migration"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get(
        "REDWALL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_migration"))
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)
    try:
        run(args.database_url, args.cases)
    finally:
        if not args.keep:
            recreate_database(args.database_url, args.admin_url, drop_only=True)


def run(url: str, cases: int) -> None:
    from sqlalchemy import func, select

    from workflows import accounts
    from workflows.case_migration import migrate_cases
    from workflows.cases import complete_user_task, open_task_for_update, start_case
    from workflows.context import build_context
    from workflows.database import make_session_factory
    from workflows.models import Base, Case, Tenant, TrailEvent
    from workflows.process_models import deploy_model

    engine, session_factory = make_session_factory(url)
    Base.metadata.create_all(engine)
    ctx = build_context(session_factory, script_workers=0)
    with ctx.unit_of_work() as uow:
        uow.session.add(Tenant(code="bench", name="bench", timezone="Asia/Shanghai"))
        uow.commit()
    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "bench", "bench-designer", "bench-password",
                          ["designer", "intake", "admin"], ["intake"])
        uow.commit()
    with ctx.unit_of_work() as uow:
        actor = accounts.authenticate(uow.session, "bench-designer", "bench-password")
    deploy_model(ctx, actor, [("moving.bpmn", (FIXTURES / "moving_v1.bpmn").read_bytes())])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    started = time.perf_counter()
    for i in range(cases):
        case = start_case(ctx, actor, "moving", {"applicant_name": "王芳", "note": f"case {i}"})
        if i % 2:  # on to the two-hour timer: a timer row that must stay valid
            with ctx.unit_of_work() as uow:
                step = open_task_for_update(ctx, uow, actor.tenant_id, case["tasks"][0]["id"])
                complete_user_task(ctx, uow, actor, step, {})
                uow.commit()
    print(f"set-up: {cases} running cases in {time.perf_counter() - started:.1f} s")
    deploy_model(ctx, actor, [("moving.bpmn", (FIXTURES / "moving_v2.bpmn").read_bytes()),
                              ("review.json", (FIXTURES / "review.json").read_bytes())])
    ctx.workflows.clear()  # as after a restart: every case is read from its row

    started = time.perf_counter()
    dry = migrate_cases(ctx, actor, "moving", 1, 2, dry_run=True)
    dry_seconds = time.perf_counter() - started
    assert dry["counts"]["can_migrate"] == cases, dry["counts"]

    started = time.perf_counter()
    real = migrate_cases(ctx, actor, "moving", 1, 2, dry_run=False)
    real_seconds = time.perf_counter() - started
    assert real["counts"]["migrated"] == cases, real["counts"]
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case).where(Case.model_version == 2)) == cases
        moved = uow.session.scalar(select(func.count()).select_from(TrailEvent).where(TrailEvent.kind == "case.migrated"))
        assert moved == cases
    engine.dispose()
    print(f"dry run:  {cases} cases in {dry_seconds:6.2f} s   {cases / dry_seconds:8.1f} cases/s")
    print(f"real run: {cases} cases in {real_seconds:6.2f} s   {cases / real_seconds:8.1f} cases/s")


if __name__ == "__main__":
    main()
