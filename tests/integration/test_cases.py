"""Cases on the real databases: hostile scripts become incidents, connectors are called by name."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import make_users
from workflows.cases import get_case, start_case
from workflows.errors import InvalidInput, NotFound
from workflows.models import Incident, ProcessModel
from workflows.process_models import deploy_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "cases"


def deploy_script(ctx, actor, script: str, key_suffix: str = ""):
    text = (FIXTURES / "scripted.bpmn").read_text().replace("SCRIPT", script)
    return deploy_model(ctx, actor, [("scripted.bpmn", text.encode())])


@pytest.fixture
def actors(ctx):
    return make_users(ctx)


@pytest.mark.parametrize(
    "script, words",
    [
        ("x = __import__('os').getcwd()", "__import__"),
        ("import os", "import"),
        ("x = ().__class__.__bases__[0].__subclasses__()", "not allowed"),
        ("x = open('/etc/passwd').read()", "open"),
    ],
)
def test_a_script_the_sandbox_refuses_is_refused_at_deploy(ctx, actors, script, words):
    """Before issue 12 these deployed and failed mid-case; the same rules now refuse them at deploy,
    with the element and line (the run-time checks stay: tests/unit/test_scripting.py)."""
    deploy_script(ctx, actors["designer1"], "x = 1")
    with pytest.raises(InvalidInput) as refused:
        deploy_script(ctx, actors["designer1"], script)
    [problem] = refused.value.errors["bpmn"]
    assert problem["element_id"] == "run_script" and problem["line"]
    assert "sandbox" in problem["message"] and words.lower() in problem["message"].lower()
    with ctx.unit_of_work() as uow:  # nothing stored: version 1 is still the latest
        assert uow.session.scalars(select(ProcessModel.version).where(ProcessModel.key == "scripted")).all() == [1]


@pytest.mark.parametrize(
    "script, words",
    [
        ("while True:\n    pass", "time"),
        ("x = 1 / 0", "ZeroDivisionError"),
    ],
)
def test_hostile_or_failing_script_puts_only_that_case_into_an_incident(ctx, actors, script, words):
    intake = actors["intake1"]
    deploy_script(ctx, actors["designer1"], "x = 1")
    healthy = start_case(ctx, intake, "scripted")
    deploy_script(ctx, actors["designer1"], script.replace("<", "&lt;"))
    started = time.perf_counter()
    broken = start_case(ctx, intake, "scripted")
    assert time.perf_counter() - started < 10  # the endless loop was stopped by the time limit
    assert broken["has_incident"] is True and broken["status"] == "open" and broken["tasks"] == []
    # read back, the stored case says so too (not only the answer to the start)
    stored = get_case(ctx, intake, broken["id"])
    assert stored["has_incident"] is True and stored["status"] == "open" and stored["tasks"] == []
    with ctx.unit_of_work() as uow:
        [incident] = uow.session.scalars(select(Incident).where(Incident.case_id == broken["id"])).all()
        assert incident.element_id == "run_script" and incident.kind == "script"
        assert words.lower() in incident.message.lower(), incident.message
        assert "root:" not in incident.message
    # the other case and new cases of a good version go on
    assert get_case(ctx, intake, healthy["id"])["tasks"][0]["element_id"] == "after_script"
    deploy_script(ctx, actors["designer1"], "x = 2")
    assert start_case(ctx, intake, "scripted")["tasks"][0]["element_id"] == "after_script"


def test_service_task_calls_a_registered_connector(ctx, actors):
    calls = []

    @ctx.connectors.register("household_lookup")
    def household_lookup(resident_id, purpose):
        calls.append((resident_id, purpose))
        return {"resident_id": resident_id, "members": 3, "purpose": purpose}

    text = (FIXTURES / "service_call.bpmn").read_text().replace("CONNECTOR", "household_lookup")
    deploy_model(ctx, actors["designer1"], [("service_call.bpmn", text.encode())])
    case = start_case(ctx, actors["intake1"], "service_call", {"resident_id": 42})
    assert calls == [(42, "senior card")]
    assert case["data"]["household"] == {"resident_id": 42, "members": 3, "purpose": "senior card"}
    assert case["tasks"][0]["element_id"] == "check_result" and not case["has_incident"]


def test_unknown_connector_is_an_incident(ctx, actors):
    text = (FIXTURES / "service_call.bpmn").read_text().replace("CONNECTOR", "no_such_connector")
    deploy_model(ctx, actors["designer1"], [("service_call.bpmn", text.encode())])
    case = start_case(ctx, actors["intake1"], "service_call", {"resident_id": 1})
    assert case["has_incident"]
    with ctx.unit_of_work() as uow:
        incident = uow.session.scalar(select(Incident).where(Incident.case_id == case["id"]))
        assert incident.kind == "service" and "no_such_connector" in incident.message


def test_cases_of_another_tenant_are_not_found(ctx, actors):
    deploy_script(ctx, actors["designer1"], "x = 1")
    case = start_case(ctx, actors["intake1"], "scripted")
    with pytest.raises(NotFound):
        get_case(ctx, actors["intake9"], case["id"])
    with pytest.raises(NotFound):
        start_case(ctx, actors["intake9"], "scripted")


def test_case_number_uses_the_tenants_local_day(app, actors):
    from datetime import datetime, timezone

    from workflows.context import build_context

    # 2026-11-25 23:30 UTC is already 26 November in Beijing
    late = build_context(app.extensions["redwall"].session_factory, clock=lambda: datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc))
    deploy_script(late, actors["designer1"], "x = 1")
    case = start_case(late, actors["intake1"], "scripted")
    assert case["number"] == f"XICHANGAN-20261126-{case['id']:06d}"
