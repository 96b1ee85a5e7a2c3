"""Timer events in the SpiffWorkflow adapter, without a database: what a case waits on and when,
and firing when due (time-machine moves SpiffWorkflow's clock too)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

from workflows.calendar import WorkingCalendar, script_helpers, script_tenant
from workflows.engine import CaseEngine, ModelRuntime
from workflows.model_parsing import parse_model_files
from workflows.scripting import RestrictedScriptEngine

ROOT = Path(__file__).resolve().parents[2]
WAITING = ROOT / "tests" / "fixtures" / "bpmn" / "timers" / "wait_then_follow_up.bpmn"
SUPERVISED = ROOT / "bpmn" / "processes" / "supervised_application"
START = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def runtime(files, tenant_id=None) -> ModelRuntime:
    parsed = parse_model_files(files)
    return ModelRuntime(1, parsed.key, parsed.spec, parsed.subprocess_specs, dict(parsed.lanes),
                        dict(parsed.forms), tenant_id=tenant_id)


def supervised_files():
    return sorted(((p.name, p.read_bytes()) for p in SUPERVISED.iterdir()), key=lambda f: not f[0].endswith(".bpmn"))


@pytest.fixture
def engine():
    return CaseEngine(RestrictedScriptEngine(helpers=script_helpers(WorkingCalendar())))


def reload(engine, rt, outcome):
    return engine.load(rt, outcome.state)


def test_a_waiting_timer_is_reported_with_its_due_time_and_fires_only_when_due(engine):
    rt = runtime([("w.bpmn", WAITING.read_bytes())])
    assert rt.has_timers and rt.caught_messages == frozenset()
    with time_machine.travel(START, tick=False) as traveller:
        workflow, out = engine.start(rt, {"wait_for": "PT10M"})
        [timer] = out.timers
        assert timer.element_id == "wait" and timer.due_at == START + timedelta(minutes=10)
        json.loads(out.state)  # the due time survives the round trip
        workflow = reload(engine, rt, out)

        traveller.shift(599)
        out = engine.fire_timers(rt, workflow)
        assert out.ready == [] and [t.element_id for t in out.timers] == ["wait"]

        traveller.shift(2)
        out = engine.fire_timers(rt, reload(engine, rt, out))
        assert [t.element_id for t in out.ready] == ["follow_up"]
        [boundary] = out.timers
        assert boundary.element_id == "escalate" and boundary.due_at == START + timedelta(seconds=601 + 3600)


def test_an_event_based_gateway_waits_for_the_applicant_and_its_timer(engine):
    rt = runtime(supervised_files())
    assert rt.caught_messages == {"materials_supplied", "case_overdue"}
    assert rt.start_properties["time_limit_working_days"] == "5"
    with time_machine.travel(datetime(2026, 9, 18, 10, 0, tzinfo=timezone(timedelta(hours=8))), tick=False):
        workflow, out = engine.start(rt, {})
        [accept] = out.ready
        out = engine.complete_task(rt, workflow, accept.spiff_id, {"acceptance": "supplement", "missing_materials": ["x"]})
    assert out.status == "waiting_applicant" and out.waiting_messages == ["materials_supplied"]
    [timer] = out.timers
    # 30 working days after Fri 18 September 2026 (hand-worked in tests/integration/test_deadlines.py)
    assert timer.element_id == "wait_for_applicant"
    assert timer.due_at == datetime(2026, 11, 5, 15, 59, 59, tzinfo=timezone.utc)


def test_models_without_timers_report_none(engine):
    plain = ROOT / "bpmn" / "processes" / "service_application"
    rt = runtime(sorted(((p.name, p.read_bytes()) for p in plain.iterdir()), key=lambda f: not f[0].endswith(".bpmn")))
    assert not rt.has_timers
    _, out = engine.start(rt, {})
    assert out.timers is None


def test_script_helpers_see_the_tenant_of_the_model(engine):
    seen = []
    probe = CaseEngine(RestrictedScriptEngine(helpers={"probe": lambda: seen.append(script_tenant.get()) or "PT1M"}))
    text = WAITING.read_text().replace("<bpmn:timeDuration>wait_for</bpmn:timeDuration>",
                                       "<bpmn:timeDuration>probe()</bpmn:timeDuration>")
    rt = runtime([("w.bpmn", text.encode())], tenant_id=42)
    probe.start(rt, {})
    assert seen == [42] and script_tenant.get() is None


def test_a_timer_expression_that_fails_is_an_incident_not_a_crash(engine):
    rt = runtime([("w.bpmn", WAITING.read_bytes())])
    _, out = engine.start(rt, {"wait_for": 17})  # not an ISO 8601 duration
    assert out.incident is not None and not out.incident.retryable
    assert "lower" in out.incident.message
    assert out.timers == []  # nothing to schedule: the case waits for a fix and a retry
