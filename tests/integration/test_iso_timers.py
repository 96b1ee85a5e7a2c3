"""Timers as modelling tools write them: plain ISO 8601 text (``PT1M``, ``R2/PT10M``,
``2026-11-25T10:05:00+08:00``) fires like the quoted Python expressions, on the real databases.

Before issue 12 an unquoted ``PT1M`` deployed and was evaluated as a Python name: the timer
never fired (the case sat waiting with no timer row, or got an incident).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.helpers import make_users
from tests.timekeeping import beijing, run_due, timers_of
from workflows.cases import get_case, start_case
from workflows.process_models import deploy_model

START = beijing(2026, 11, 25, 10, 0)

LANE = """
    <bpmn:laneSet id="lanes"><bpmn:lane id="civil_affairs">{refs}</bpmn:lane></bpmn:laneSet>"""


def model(key: str, body: str, nodes: list[str]) -> bytes:
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">{LANE.format(refs=refs)}
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


WAIT_THEN_FOLLOW_UP = model(
    "plain_wait",
    """    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="follow_up"/>
    <bpmn:userTask id="follow_up" name="Follow up"/>
    <bpmn:boundaryEvent id="escalate" attachedToRef="follow_up">
      <bpmn:timerEventDefinition><bpmn:timeDuration> PT1H </bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="done"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="escalated"/>
    <bpmn:endEvent id="done"/>
    <bpmn:endEvent id="escalated"/>""",
    ["start", "wait", "follow_up", "escalate", "escalated", "done"],
)

WAIT_UNTIL = model(
    "plain_date",
    """    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDate>2026-11-25T10:05:00+08:00</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="follow_up"/>
    <bpmn:userTask id="follow_up" name="Follow up"/>
    <bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="done"/>
    <bpmn:endEvent id="done"/>""",
    ["start", "wait", "follow_up", "done"],
)

REMINDERS = model(
    "plain_cycle",
    """    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="Work"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="reminder"/>
    <bpmn:userTask id="reminder" name="Reminder"/>
    <bpmn:sequenceFlow id="f3" sourceRef="reminder" targetRef="reminded"/>
    <bpmn:endEvent id="reminded"/>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="done"/>
    <bpmn:endEvent id="done"/>""",
    ["start", "work", "remind", "reminder", "reminded", "done"],
)

TIMER_START = model(
    "plain_start",
    """    <bpmn:startEvent id="start">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="follow_up"/>
    <bpmn:userTask id="follow_up" name="Follow up"/>
    <bpmn:sequenceFlow id="f2" sourceRef="follow_up" targetRef="done"/>
    <bpmn:endEvent id="done"/>""",
    ["start", "follow_up", "done"],
)


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    for name, content in (
        ("plain_wait.bpmn", WAIT_THEN_FOLLOW_UP),
        ("plain_date.bpmn20.xml", WAIT_UNTIL),  # the Flowable/Activiti file name, too
        ("plain_cycle.bpmn", REMINDERS),
        ("plain_start.bpmn", TIMER_START),
    ):
        view, created = deploy_model(ctx, actors["designer1"], [(name, content)])
        assert created and view["executable"]
    return actors


def task_ids(ctx, actors, case_id) -> list[str]:
    return [t["element_id"] for t in get_case(ctx, actors["civil1"], case_id)["tasks"]]


def test_plain_durations_in_intermediate_and_boundary_events_fire(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        case = start_case(ctx, actors["civil1"], "plain_wait", {})
        [row] = timers_of(ctx, case["id"])
        assert (row.element_id, row.due_at) == ("wait", START + timedelta(minutes=1))
        traveller.shift(61)
        assert run_due(ctx) == {"fired": 1}
        assert task_ids(ctx, actors, case["id"]) == ["follow_up"]
        rows = {t.element_id: t for t in timers_of(ctx, case["id"])}
        assert rows["escalate"].due_at == START + timedelta(seconds=61 + 3600)
        traveller.shift(3601)
        assert run_due(ctx) == {"fired": 1}
        assert get_case(ctx, actors["civil1"], case["id"])["status"] == "concluded"


def test_a_plain_date_fires_at_that_time(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        case = start_case(ctx, actors["civil1"], "plain_date", {})
        [row] = timers_of(ctx, case["id"])
        assert row.due_at == beijing(2026, 11, 25, 10, 5)
        traveller.shift(301)
        assert run_due(ctx) == {"fired": 1}
        assert task_ids(ctx, actors, case["id"]) == ["follow_up"]


def test_a_plain_cycle_fires_repeatedly(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        case = start_case(ctx, actors["civil1"], "plain_cycle", {})
        [row] = timers_of(ctx, case["id"])
        assert (row.element_id, row.due_at) == ("remind", START + timedelta(minutes=10))
        traveller.shift(601)
        assert run_due(ctx) == {"fired": 1}
        assert sorted(task_ids(ctx, actors, case["id"])) == ["reminder", "work"]


def test_a_plain_duration_on_a_start_event_fires(ctx, actors):
    with time_machine.travel(START, tick=False) as traveller:
        case = start_case(ctx, actors["civil1"], "plain_start", {})
        assert case["tasks"] == []
        [row] = timers_of(ctx, case["id"])
        assert (row.element_id, row.due_at) == ("start", START + timedelta(minutes=5))
        traveller.shift(301)
        assert run_due(ctx) == {"fired": 1}
        assert task_ids(ctx, actors, case["id"]) == ["follow_up"]
