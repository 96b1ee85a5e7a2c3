"""The trail's canonical encoding, hash chain and chain checks, and gateway decisions as events.

No database: chains are built in memory with the same functions the writer uses, and
the checks are the verifier's own (``_check_chain``, ``_check_head``).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workflows import trail
from workflows.engine import CaseEngine, ModelRuntime

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "engine"
T0 = datetime(2026, 11, 25, 9, 30, 0, 4, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize("actor", ["intake1", None, 'quote"back\\slash', "王芳", "tab\there", "\u2028line"])
@pytest.mark.parametrize("case_id, task_id", [(7, 12), (None, None), (123456789012, None)])
def test_header_is_exactly_the_documented_json(actor, case_id, task_id):
    at = trail.canonical_time(T0)
    documented = json.dumps([1, 3, case_id, 5, at, "task.completed", actor, task_id], separators=(",", ":"), ensure_ascii=False)
    assert trail.header(3, case_id, 5, at, "task.completed", actor, task_id) == documented


def test_canonical_time_is_utc_with_microseconds():
    assert trail.canonical_time(T0) == "2026-11-25T01:30:00.000004+00:00"
    assert trail.canonical_time(T0.replace(microsecond=0)) == "2026-11-25T01:30:00.000000+00:00"


def test_canonical_data_is_one_text_per_value():
    a = {"b": [1, {"y": 2, "x": "受理"}], "a": None}
    b = {"a": None, "b": [1, {"x": "受理", "y": 2}]}
    assert trail.canonical_data(a) == trail.canonical_data(b) == '{"a":null,"b":[1,{"x":"受理","y":2}]}'
    # values JSON does not know, and keys of mixed types, still encode deterministically
    assert trail.canonical_data({"when": T0, 1: "x", "1b": {3}}) == trail.canonical_data({"1b": {3}, 1: "x", "when": T0})


def test_event_hash_is_sha256_of_the_documented_message():
    head = trail.header(1, 2, 1, trail.canonical_time(T0), "case.received", "intake1", None)
    expected = hashlib.sha256(f"{trail.GENESIS}\n{head}\n{{}}".encode()).hexdigest()
    assert trail.event_hash(trail.GENESIS, head, "{}") == expected


# -- chains in memory ------------------------------------------------------------------------------
def build_chain(n: int, tenant_id: int = 1, case_id: int | None = 9) -> list[list]:
    """Stored events: case_id, seq, canonical at, kind, actor, task_id, data, prev_hash, hash."""
    rows, prev = [], trail.GENESIS
    for seq in range(1, n + 1):
        at = trail.canonical_time(T0 + timedelta(seconds=seq))
        data = trail.canonical_data({"step": seq, "note": "办理"})
        digest = trail.event_hash(prev, trail.header(tenant_id, case_id, seq, at, "task.completed", "civil1", 40 + seq), data)
        rows.append([case_id, seq, at, "task.completed", "civil1", 40 + seq, data, prev, digest])
        prev = digest
    return rows


def as_read(rows, tenant_id: int = 1):
    """What the verifier reads back: (case_id, seq, prev_hash, hash, message) with the message rebuilt from the columns."""
    return [
        (c, seq, prev, digest, f"{prev}\n{trail.header(tenant_id, c, seq, at, kind, actor, task)}\n{data}")
        for c, seq, at, kind, actor, task, data, prev, digest in rows
    ]


def check(rows, head_seq=None, head_hash=None, case_id=9):
    report = trail.Verification()
    last_seq, last_hash, intact = trail._check_chain(case_id, as_read(rows), report)
    if head_seq is not None:
        trail._check_head(case_id, head_seq, head_hash, last_seq, last_hash, intact, report, "the case row")
    return report.result()


def test_an_intact_chain_verifies():
    rows = build_chain(6)
    result = check(rows, 6, rows[-1][8])
    assert result["valid"] and result["checked"] == 6 and result["first_bad_seq"] is None


def test_changed_data_is_found_at_its_event():
    rows = build_chain(6)
    rows[3][6] = rows[3][6].replace("办理", "不予办理")
    result = check(rows, 6, rows[-1][8])
    assert not result["valid"] and result["first_bad_seq"] == 4 and "altered" in result["reason"]


@pytest.mark.parametrize("column, value", [(3, "task.cancelled"), (4, "someone-else"), (5, 99),
                                           (2, "2026-11-25T01:30:00.000005+00:00")])
def test_any_changed_field_breaks_the_hash(column, value):
    rows = build_chain(4)
    rows[1][column] = value
    assert check(rows)["first_bad_seq"] == 2


def test_a_deleted_event_is_named():
    rows = build_chain(6)
    del rows[2]
    result = check(rows, 6, rows[-1][8])
    assert result["first_bad_seq"] == 3 and "event 3 is missing" in result["reason"]


def test_deleted_last_events_show_against_the_head():
    rows = build_chain(6)
    head = rows[-1][8]
    result = check(rows[:4], 6, head)
    assert result["first_bad_seq"] == 5 and "later events were deleted" in result["reason"]


def test_a_whole_deleted_chain_shows_against_the_head():
    result = check([], 6, "ab" * 32)
    assert result["first_bad_seq"] == 1 and "all 6 events" in result["reason"]


def test_swapped_events_are_found_where_the_order_breaks():
    rows = build_chain(6)
    rows[2][1], rows[3][1] = 4, 3  # re-numbered in place
    rows[2], rows[3] = rows[3], rows[2]  # the verifier reads in seq order
    result = check(rows, 6, rows[-1][8])
    assert result["first_bad_seq"] == 3 and "prev_hash" in result["reason"]


def test_swapped_contents_are_found_too():
    rows = build_chain(6)
    for column in (5, 6):  # task and data swapped between events 2 and 3
        rows[1][column], rows[2][column] = rows[2][column], rows[1][column]
    assert check(rows)["first_bad_seq"] == 2


def test_a_duplicated_event_is_found():
    rows = build_chain(3)
    rows.insert(2, list(rows[1]))
    assert check(rows)["first_bad_seq"] == 2


def test_a_chain_longer_than_its_head():
    rows = build_chain(5)
    result = check(rows, 4, rows[3][8])
    assert result["first_bad_seq"] == 5


def test_rehashing_a_forged_chain_still_disagrees_with_the_head():
    """Rewriting data *and* every later hash makes a self-consistent chain: the head kept on the case row catches it."""
    rows = build_chain(4)
    original_head = rows[-1][8]
    forged = build_chain(4)
    forged[1][6] = trail.canonical_data({"step": 2, "note": "forged"})
    prev = forged[0][8]
    for row in forged[1:]:
        row[7] = prev
        row[8] = trail.event_hash(prev, trail.header(1, 9, row[1], row[2], row[3], row[4], row[5]), row[6])
        prev = row[8]
    assert check(forged)["valid"]
    result = check(forged, 4, original_head)
    assert not result["valid"] and result["first_bad_seq"] == 4


def test_problems_are_capped_and_the_first_is_reported():
    report = trail.Verification()
    for i in range(trail.MAX_PROBLEMS + 20):
        report.problem(i, 1, "x")
    assert len(report.result()["problems"]) == trail.MAX_PROBLEMS and report.result()["case_id"] == 0


# -- gateway decisions -------------------------------------------------------------------------------
def _runtime(name: str, key: str) -> ModelRuntime:
    from workflows.model_parsing import parse_model_files

    parsed = parse_model_files([(name, (FIXTURES / name).read_bytes())], key=key)
    return ModelRuntime(model_id=1, key=parsed.key, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs,
                        lanes=dict(parsed.lanes), forms=dict(parsed.forms))


def _engine() -> CaseEngine:
    from workflows.scripting import RestrictedScriptEngine

    return CaseEngine(RestrictedScriptEngine())


def test_an_exclusive_gateway_reports_the_flow_it_took():
    engine, runtime = _engine(), _runtime("exclusive_gateway.bpmn", "exclusive_gateway")
    _, outcome = engine.start(runtime, {"amount": 500})
    assert [(e.kind, e.data["gateway"]) for e in outcome.events] == [("gateway.decided", "route_amount")]
    assert outcome.events[0].data["taken"] == [
        {"target": "senior_review", "target_name": "Senior review", "condition": "amount > 100", "default": False}
    ]
    _, outcome = engine.start(runtime, {"amount": 10})
    assert outcome.events[0].data["taken"][0]["target"] == "clerk_review"
    assert outcome.events[0].data["taken"][0]["default"] is True


def test_an_inclusive_gateway_reports_every_flow_taken_and_joins_report_nothing():
    engine, runtime = _engine(), _runtime("inclusive_gateway.bpmn", "inclusive_gateway")
    workflow, outcome = engine.start(runtime, {"floor_area": 350, "serves_food": True, "emits_noise": False})
    [decision] = outcome.events
    assert decision.data["gateway"] == "which_checks"
    assert sorted(flow["target"] for flow in decision.data["taken"]) == ["fire_check", "health_check"]
    for ready in outcome.ready:
        outcome = engine.complete_task(runtime, workflow, ready.spiff_id, {})
    assert outcome.events == []  # the converging gateway decided nothing
    assert [t.element_id for t in outcome.ready] == ["issue_permit"]


def test_engine_events_belong_to_one_run_only():
    engine, runtime = _engine(), _runtime("exclusive_gateway.bpmn", "exclusive_gateway")
    workflow, outcome = engine.start(runtime, {"amount": 500})
    assert len(outcome.events) == 1
    again = engine.outcome(runtime, workflow, None)
    assert again.events == []


def test_a_parallel_split_is_not_a_decision():
    engine, runtime = _engine(), _runtime("parallel_gateway.bpmn", "parallel_gateway")
    _, outcome = engine.start(runtime, {"applicant": "Li Wei"})
    assert len(outcome.ready) == 2 and outcome.events == []
