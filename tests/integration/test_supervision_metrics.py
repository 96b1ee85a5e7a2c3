"""Supervision metrics from what happened, across the 2026 Mid-autumn/National Day holidays.

Holidays (State Council, 2026): 25–27 September and 1–7 October off; Saturday 10 October worked
(调休). Office hours 09:00–12:00 and 13:30–17:30: 7 working hours a working day.

Five cases of the shipped one-window process, times in Beijing:

A senior_card, 5 days, civil affairs: received Mon 28 Sep 10:00 (deadline Sat 10 Oct), concluded
  Thu 8 Oct 11:00: on time, early. Handling: 28 Sep 6 h + 29 Sep 7 h + 30 Sep 7 h + 8 Oct 2 h = 22 h.
B disability_care, 3 days, disabled federation: received Tue 29 Sep 09:00 (deadline Fri 9 Oct),
  warned Fri 9 Oct, overdue from Sat 10 Oct, concluded Mon 12 Oct 10:00: late. Handling:
  29, 30 Sep, 8, 9, 10 Oct 7 h each + 12 Oct 1 h = 36 h.
C senior_card, 5 days: received Fri 9 Oct 16:00, waiting for the applicant from 16:30 to
  Wed 14 Oct 09:00 (deadline then Wed 21 Oct), accepted, still open.
D senior_card: received Mon 12 Oct 10:00, refused at the window at 10:30.
E disability_care, 1 day: received Wed 14 Oct 10:00 (deadline Thu 15 Oct), warned, overdue, open.
"""
from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests.helpers import demo_files, make_users
from tests.timekeeping import beijing, run_due
from workflows.cases import get_case, send_message, start_case
from workflows.errors import Forbidden, InvalidInput
from workflows.process_models import deploy_model
from workflows.supervision import metrics
from worklists import commands, handling

FROM, TO = date(2026, 9, 28), date(2026, 10, 18)


def work(ctx, actor, case_id: int, element_id: str, data: dict) -> None:
    [task] = [t for t in get_case(ctx, actor, case_id)["tasks"] if t["element_id"] == element_id]
    commands.claim(ctx, actor, task["id"])
    if data is not None:
        commands.complete(ctx, actor, task["id"], data)


@pytest.fixture
def history(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    intake, civil, disabled = actors["intake1"], actors["civil1"], actors["disabled1"]

    def receive(service, days):
        return start_case(ctx, intake, "service_application", {"time_limit_working_days": days},
                          service_code=service)["id"]

    accept_civil = {"acceptance": "accept", "department": "civil_affairs"}
    accept_disabled = {"acceptance": "accept", "department": "disabled_federation"}
    with time_machine.travel(beijing(2026, 9, 28, 10, 0), tick=False) as t:
        a = receive("senior_card", 5)
        work(ctx, intake, a, "accept_application", accept_civil)
        t.move_to(beijing(2026, 9, 29, 9, 0))
        b = receive("disability_care", 3)
        work(ctx, intake, b, "accept_application", accept_disabled)
        t.move_to(beijing(2026, 10, 8, 10, 0))
        work(ctx, civil, a, "review_civil_affairs", {"review_result": "meets_conditions"})
        t.move_to(beijing(2026, 10, 8, 11, 0))
        work(ctx, civil, a, "decide", {"approved": True})
        t.move_to(beijing(2026, 10, 9, 12, 0))
        assert run_due(ctx) == {"fired": 1}  # B's warning
        t.move_to(beijing(2026, 10, 9, 16, 0))
        c = receive("senior_card", 5)
        t.move_to(beijing(2026, 10, 9, 16, 30))
        work(ctx, intake, c, "accept_application", {"acceptance": "supplement", "missing_materials": ["户口簿"]})
        t.move_to(beijing(2026, 10, 12, 9, 0))
        assert run_due(ctx) == {"fired": 1}  # B is overdue
        work(ctx, disabled, b, "review_disabled_federation", {"review_result": "meets_conditions"})
        t.move_to(beijing(2026, 10, 12, 10, 0))
        work(ctx, civil, b, "decide", {"approved": False})  # deciding is civil affairs' (its lane)
        d = receive("senior_card", 5)
        t.move_to(beijing(2026, 10, 12, 10, 30))
        work(ctx, intake, d, "accept_application", {"acceptance": "refuse", "refusal_reason": "not a resident"})
        t.move_to(beijing(2026, 10, 14, 9, 0))
        send_message(ctx, intake, c, "materials_supplied", {"supplied": ["户口簿"]})
        assert get_case(ctx, intake, c)["deadline"] == beijing(2026, 10, 21, 23, 59, 59)
        t.move_to(beijing(2026, 10, 14, 9, 30))
        work(ctx, intake, c, "accept_application", accept_civil)
        work(ctx, civil, c, "review_civil_affairs", None)
        t.move_to(beijing(2026, 10, 14, 10, 0))
        e = receive("disability_care", 1)
        work(ctx, intake, e, "accept_application", accept_disabled)
        work(ctx, disabled, e, "review_disabled_federation", None)
        t.move_to(beijing(2026, 10, 15, 9, 0))
        assert run_due(ctx) == {"fired": 1}  # E's warning
        handling.urge(ctx, actors["super1"], e, "今天办结")  # 催办: counted for the department, service, clerk
        t.move_to(beijing(2026, 10, 16, 9, 0))
        assert run_due(ctx) == {"fired": 1}  # E is overdue
        t.move_to(beijing(2026, 10, 25, 12, 0))
        yield actors


def rows(result) -> dict:
    return {row.pop("key"): row for row in result["rows"]}


def test_metrics_by_department(ctx, history):
    with time_machine.travel(beijing(2026, 10, 25, 12, 0), tick=False):
        result = metrics(ctx, history["admin1"], FROM, TO, "department")
    assert result["from"] == FROM and result["to"] == TO
    assert rows(result) == {
        "civil_affairs": {"received": 2, "concluded": 1, "concluded_on_time": 1, "on_time_rate": 1.0,
                          "concluded_early": 1, "early_rate": 1.0, "overdue_open": 0, "warned": 0, "urged": 0,
                          "avg_working_hours": 22.0},
        "disabled_federation": {"received": 2, "concluded": 1, "concluded_on_time": 0, "on_time_rate": 0.0,
                                "concluded_early": 0, "early_rate": 0.0, "overdue_open": 1, "warned": 2,
                                "urged": 1, "avg_working_hours": 36.0},
        "intake": {"received": 1, "concluded": 0, "concluded_on_time": 0, "on_time_rate": None,
                   "concluded_early": 0, "early_rate": None, "overdue_open": 0, "warned": 0, "urged": 0,
                   "avg_working_hours": None},
    }


def test_metrics_by_service_and_for_a_supervisor(ctx, history):
    with time_machine.travel(beijing(2026, 10, 25, 12, 0), tick=False):
        by_service = rows(metrics(ctx, history["auditor1"], FROM, TO, "service"))
        supervised = rows(metrics(ctx, history["super1"], FROM, TO, "service"))
        departments = rows(metrics(ctx, history["super1"], FROM, TO, "department"))
    assert by_service["senior_card"]["received"] == 3 and by_service["senior_card"]["concluded"] == 1
    assert by_service["disability_care"] == {
        "received": 2, "concluded": 1, "concluded_on_time": 0, "on_time_rate": 0.0, "concluded_early": 0,
        "early_rate": 0.0, "overdue_open": 1, "warned": 2, "urged": 1, "avg_working_hours": 36.0}
    # the supervisor of civil affairs and the federation does not see the refusal at the window
    assert supervised["senior_card"]["received"] == 2
    assert sorted(departments) == ["civil_affairs", "disabled_federation"]


def test_metrics_by_clerk(ctx, history):
    with time_machine.travel(beijing(2026, 10, 25, 12, 0), tick=False):
        by_clerk = rows(metrics(ctx, history["admin1"], FROM, TO, "clerk"))
    # civil1: A's review (28 Sep 10:00 → 8 Oct 10:00: 6+7+7+1 = 21 h) and decision (1 h), both early;
    # B's decision (12 Oct 09:00 → 10:00, 1 h) after B's deadline; C's review open, due 21 Oct.
    # B's decision was created after B's warning time: it was never "warned", it was born late.
    assert by_clerk["civil1"] == {
        "received": 4, "concluded": 3, "concluded_on_time": 2, "on_time_rate": 0.6667, "concluded_early": 2,
        "early_rate": 0.6667, "overdue_open": 0, "warned": 0, "urged": 0, "avg_working_hours": 7.67}
    # disabled1: B's review (29 Sep 09:00 → 12 Oct 09:00: 5 × 7 = 35 h), E's review open and late
    assert by_clerk["disabled1"] == {
        "received": 2, "concluded": 1, "concluded_on_time": 0, "on_time_rate": 0.0, "concluded_early": 0,
        "early_rate": 0.0, "overdue_open": 1, "warned": 2, "urged": 1, "avg_working_hours": 35.0}


def test_a_narrow_range_and_bad_requests(ctx, history):
    with time_machine.travel(beijing(2026, 10, 25, 12, 0), tick=False):
        first_week = rows(metrics(ctx, history["admin1"], date(2026, 9, 28), date(2026, 10, 4), "department"))
        assert {k: (v["received"], v["concluded"]) for k, v in first_week.items()} == {
            "civil_affairs": (1, 0), "disabled_federation": (1, 0)}
        # at the end of 4 October nothing was late yet (B's deadline is 9 October)
        assert first_week["disabled_federation"]["overdue_open"] == 0
        with pytest.raises(Forbidden):
            metrics(ctx, history["intake1"], FROM, TO)
        with pytest.raises(InvalidInput):
            metrics(ctx, history["admin1"], TO, FROM)
        with pytest.raises(InvalidInput):
            metrics(ctx, history["admin1"], FROM, TO, "planet")
