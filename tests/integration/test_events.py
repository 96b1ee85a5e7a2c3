"""Every state change of a case is recorded as an event, in order, in the committing transaction."""
from __future__ import annotations

import pytest

from tests.helpers import demo_files, make_users
from workflows.cases import send_message, start_case
from workflows.errors import Conflict
from workflows.process_models import deploy_model
from worklists import commands


@pytest.fixture
def recorded(ctx):
    events = []
    trail = ctx.event_sink
    ctx.event_sink = lambda session, batch: events.extend(batch)
    yield events
    ctx.event_sink = trail


def test_a_case_walk_records_its_story(ctx, recorded):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    case = start_case(ctx, actors["intake1"], "service_application", {"applicant_name": "李明"})
    accept = case["tasks"][0]["id"]
    commands.claim(ctx, actors["intake1"], accept)
    commands.complete(ctx, actors["intake1"], accept, {"acceptance": "supplement", "missing_materials": ["户口簿"]})
    send_message(ctx, actors["intake1"], case["id"], "materials_supplied", {"supplied": ["户口簿"]})
    kinds = [e.kind for e in recorded]
    assert kinds == [
        "model.deployed",
        "case.received", "task.created",
        "task.claimed",
        "task.completed", "gateway.decided", "case.status_changed",
        "message.received", "case.status_changed", "task.created",
    ]
    completed = recorded[4]
    assert completed.actor == "intake1" and completed.task_id == accept and completed.case_id == case["id"]
    assert completed.data["submitted"]["acceptance"] == "supplement"
    assert completed.data["case_data_changes"]["set"]["missing_materials"] == ["户口簿"]
    assert recorded[5].data["gateway"] == "acceptance_decision"
    assert [flow["target"] for flow in recorded[5].data["taken"]] == ["wait_for_materials"]
    assert recorded[6].data == {"from": "open", "to": "waiting_applicant"}


def test_a_failed_command_records_nothing(ctx, recorded):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    task = start_case(ctx, actors["intake1"], "service_application")["tasks"][0]["id"]
    recorded.clear()
    with pytest.raises(Conflict):
        commands.complete(ctx, actors["intake1"], task, {"acceptance": "accept"})  # not claimed
    assert recorded == []
