"""How fast the trail verifies: events per second over a tenant of 1,000,000 events.

Builds its own database: one tenant, 100,000 concluded cases of 10 events each (the shape of
a real case: received, task created/claimed/completed with submitted data, a gateway
decision, status changes), spread over 30 days. Every event is hashed with the writer's own
functions (canonical encoding, SHA-256 chain) and the chains, the heads on the case rows
and the daily anchors are bulk-loaded with COPY. Then it times what an auditor runs:

* ``GET /api/trail/verify`` — the whole tenant: every chain re-hashed, every head compared
  with its case row, every anchor re-hashed and its heads looked up;
* ``GET /api/cases/{id}/trail/verify`` — one case (latency).

    python bench/trail_verify.py [--events 1000000] [--per-case 10] [--database-url URL]

The database (default: a fresh ``redwall_bench_verify`` on the local PostgreSQL) is wiped.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchdb import recreate_database  # noqa: E402

EPOCH = datetime(2026, 10, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=30)


def story(case_id: int, number: str) -> list[tuple[str, str | None, int | None, dict]]:
    """(kind, actor, task_id, data) of one concluded case, as the engine records it."""
    t1, t2 = case_id * 2, case_id * 2 + 1
    return [
        ("case.received", "intake1", None, {"number": number, "process_key": "service_application", "model_version": 1,
                                            "service_code": "disability_care_subsidy", "applicant_id": case_id,
                                            "data": {"applicant_name": "王芳", "applicant_id_number": "110105********002X",
                                                     "disability_grade": 1, "household_size": 3}}),
        ("task.created", None, t1, {"name": "Accept application 受理", "element_id": "accept_application", "group": "intake"}),
        ("task.claimed", "intake1", t1, {}),
        ("task.completed", "intake1", t1, {"name": "Accept application 受理", "element_id": "accept_application",
                                           "submitted": {"acceptance": "accept", "department": "civil_affairs"},
                                           "case_data_changes": {"set": {"acceptance": "accept", "department": "civil_affairs"},
                                                                 "removed": []}}),
        ("gateway.decided", None, None, {"gateway": "acceptance_decision", "name": "Accept?",
                                         "taken": [{"target": "route_to_department", "target_name": "Which department?",
                                                    "condition": None, "default": True}]}),
        ("task.created", None, t2, {"name": "Decide 决定", "element_id": "decide", "group": "civil_affairs"}),
        ("task.claimed", "civil1", t2, {}),
        ("task.completed", "civil1", t2, {"name": "Decide 决定", "element_id": "decide",
                                          "submitted": {"approved": True, "decision_notes": "符合条件"},
                                          "case_data_changes": {"set": {"approved": True, "decision_notes": "符合条件"},
                                                                "removed": []}}),
        ("case.status_changed", None, None, {"from": "open", "to": "concluded"}),
        ("case.archived", "civil1", None, {"location": "民政科档案室"}),
    ]


def load(url: str, cases: int, per_case: int) -> tuple[int, float]:
    """Schema, one tenant and its model, then cases and events through COPY. Returns (tenant id, seconds)."""
    import psycopg

    from workflows import trail
    from workflows.database import make_session_factory
    from workflows.models import Base, ProcessModel, Tenant

    engine, session_factory = make_session_factory(url)
    Base.metadata.create_all(engine)
    with session_factory() as s:
        tenant = Tenant(code="bench", name="bench", timezone="Asia/Shanghai")
        s.add(tenant)
        s.flush()
        model = ProcessModel(tenant_id=tenant.id, key="service_application", version=1, name="bench", checksum="0" * 64)
        s.add(model)
        s.commit()
        tenant_id, model_id = tenant.id, model.id
    engine.dispose()

    started = time.perf_counter()
    gap = SPAN / cases
    heads = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur:
            # One COPY at a time per connection: events first, the case rows (with their heads) after.
            with cur.copy("COPY trail_events (tenant_id, case_id, seq, at, kind, actor, task_id, data, prev_hash, hash) "
                          "FROM STDIN") as event_copy:
                for case_id in range(1, cases + 1):
                    number = f"BENCH-{case_id:08d}"
                    at = EPOCH + gap * case_id
                    prev = trail.GENESIS
                    events = story(case_id, number)
                    for seq in range(1, per_case + 1):
                        kind, actor, task_id, data = events[(seq - 1) % len(events)]
                        data_text = trail.canonical_data(data)
                        at_event = at + timedelta(minutes=seq)
                        digest = trail.event_hash(prev, trail.header(tenant_id, case_id, seq, trail.canonical_time(at_event),
                                                                     kind, actor, task_id), data_text)
                        event_copy.write_row((tenant_id, case_id, seq, at_event, kind, actor, task_id, data_text, prev, digest))
                        prev = digest
                    heads.append((case_id, number, at, prev))
            with cur.copy("COPY cases (id, tenant_id, number, model_id, process_key, model_version, status, data, state, "
                          "version, has_incident, created_at, updated_at, trail_seq, trail_hash) FROM STDIN") as case_copy:
                for case_id, number, at, prev in heads:
                    case_copy.write_row((case_id, tenant_id, number, model_id, "service_application", 1, "concluded", "{}",
                                         "{}", 3, False, at, at, per_case, prev))
        conn.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), %s)", (cases,))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE cases")
        conn.execute("VACUUM ANALYZE trail_events")
    return tenant_id, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-case", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="timed verifications of the whole tenant")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("REDWALL_BENCH_VERIFY_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_verify"),
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    recreate_database(args.database_url, args.admin_url)
    cases = max(args.events // args.per_case, 1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    tenant_id, seconds = load(args.database_url, cases, args.per_case)
    events = cases * args.per_case
    print(f"loaded {events:,} events of {cases:,} cases (hashed and COPYed) in {seconds:.1f} s")

    from workflows import trail
    from workflows.context import build_context
    from workflows.database import make_session_factory

    engine, session_factory = make_session_factory(args.database_url)
    ctx = build_context(session_factory)
    now = EPOCH + SPAN + timedelta(days=2)
    began = time.perf_counter()
    with session_factory() as s:
        anchors = trail.anchor_days(s, tenant_id, now)
        s.commit()
    print(f"anchored {len(anchors)} days ({sum(a['chains'] for a in anchors):,} chain heads) in {time.perf_counter() - began:.1f} s")

    rates = []
    for _ in range(args.runs):
        began = time.perf_counter()
        result = trail.verify_tenant_chains(ctx, tenant_id)
        elapsed = time.perf_counter() - began
        assert result["valid"] and result["checked"] == events, result
        rates.append(events / elapsed)
        print(f"  whole tenant: {events:,} events, {result['chains']:,} chains, {result['anchors_checked']} anchors "
              f"in {elapsed:.2f} s = {events / elapsed:,.0f} events/s")
    latencies = []
    for case_id in range(1, cases + 1, max(cases // 200, 1)):
        began = time.perf_counter()
        assert trail.verify_case_chain(ctx, tenant_id, case_id)["valid"]
        latencies.append(time.perf_counter() - began)
    print(f"verify the tenant ({events:,} events): {statistics.median(rates):,.0f} events/s median of {args.runs} runs, "
          f"best {max(rates):,.0f}   (target >= 100,000 events/s)")
    print(f"verify one case ({args.per_case} events): median {statistics.median(latencies) * 1000:.2f} ms "
          f"over {len(latencies)} cases")
    engine.dispose()


if __name__ == "__main__":
    main()
