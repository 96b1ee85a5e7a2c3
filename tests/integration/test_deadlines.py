"""Deadlines in working days on the real databases, with time travel (time-machine).

Every expected date below is worked out by hand from the State Council holiday schedules
(国务院办公厅关于2026年部分节假日安排的通知):
Mid-autumn and National Day 2026: 25–27 September and 1–7 October off, Sunday 20 September and
Saturday 10 October worked (调休).
Spring Festival 2026: 15–23 February off, Saturday 14 and Saturday 28 February worked.
"""
from __future__ import annotations

import pytest
import time_machine

from tests.helpers import make_users
from tests.timekeeping import beijing, clock_of, record_events, run_due, supervised_files, tasks_of, timers_of
from workflows.cases import get_case, send_message, start_case
from workflows.process_models import deploy_model
from worklists import commands

KEY = "supervised_application"


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], supervised_files())
    return actors


def work(ctx, actor, case_id: int, element_id: str, data: dict) -> dict:
    """Claim and complete the case's open task ``element_id``."""
    [task] = [t for t in get_case(ctx, actor, case_id)["tasks"] if t["element_id"] == element_id]
    commands.claim(ctx, actor, task["id"])
    case, _ = commands.complete(ctx, actor, task["id"], data)
    return case


def open_tasks(ctx, actor, case_id: int) -> dict[str, dict]:
    return {t["element_id"]: t for t in get_case(ctx, actor, case_id)["tasks"]}


def test_national_day_warning_overdue_pressing_and_red_come_on_the_right_days(ctx, actors):
    events = record_events(ctx)
    try:
        with time_machine.travel(beijing(2026, 9, 28, 10, 0), tick=False) as traveller:
            case = start_case(ctx, actors["intake1"], KEY, {"applicant_name": "王芳"})
            # 5 working days after Monday 28 September: Tue 29 (1), Wed 30 (2); 1–7 October
            # are holidays; Thu 8 (3), Fri 9 (4), Saturday 10 October, a make-up day (5).
            deadline = beijing(2026, 10, 10, 23, 59, 59)
            assert case["deadline"] == deadline
            [accept] = case["tasks"]
            # warning one working day before: at the end of Friday 9 October
            assert accept["due_at"] == deadline and accept["warn_at"] == beijing(2026, 10, 9, 23, 59, 59)
            work(ctx, actors["intake1"], case["id"], "accept_application",
                 {"acceptance": "accept", "department": "civil_affairs"})
            review = open_tasks(ctx, actors["civil1"], case["id"])["review_civil_affairs"]
            assert review["due_at"] == deadline
            levels = {t.kind: t.due_at for t in timers_of(ctx, case["id"]) if t.status == "pending"}
            # overdue from the first second after the deadline; red after the end of the 3rd
            # working day after the deadline's day: Mon 12, Tue 13, Wed 14.
            assert levels == {"warning": beijing(2026, 10, 9, 23, 59, 59), "overdue": beijing(2026, 10, 11),
                              "red": beijing(2026, 10, 15)}

            traveller.move_to(beijing(2026, 10, 9, 17, 0))  # Friday afternoon: nothing yet
            assert run_due(ctx) == {}
            assert clock_of(ctx, case["id"]).level == "none"

            traveller.move_to(beijing(2026, 10, 10, 8, 30))  # the make-up Saturday: last day
            assert run_due(ctx) == {"fired": 1}
            clock = clock_of(ctx, case["id"])
            assert clock.level == "warning" and clock.warned_at == beijing(2026, 10, 10, 8, 30)
            assert "press_case" not in open_tasks(ctx, actors["admin1"], case["id"])

            traveller.move_to(beijing(2026, 10, 10, 23, 59, 59))  # the deadline itself: not late
            assert run_due(ctx) == {}

            traveller.move_to(beijing(2026, 10, 11, 0, 0, 5))  # Sunday: overdue, pressed
            assert run_due(ctx) == {"fired": 1}
            clock = clock_of(ctx, case["id"])
            assert clock.level == "yellow" and clock.overdue_at == beijing(2026, 10, 11, 0, 0, 5)
            press = open_tasks(ctx, actors["admin1"], case["id"])["press_case"]
            assert press["group"] == "supervision" and press["priority"] == 90
            assert press["created_at"] == beijing(2026, 10, 11, 0, 0, 5)

            traveller.move_to(beijing(2026, 10, 14, 18, 0))  # Wednesday evening: not red yet
            assert run_due(ctx) == {}
            traveller.move_to(beijing(2026, 10, 15, 9, 0))
            assert run_due(ctx) == {"fired": 1}
            assert clock_of(ctx, case["id"]).level == "red"

            # The department finally decides; after the publicity minute the case ends, late.
            work(ctx, actors["civil1"], case["id"], "review_civil_affairs", {"review_result": "meets_conditions"})
            work(ctx, actors["civil1"], case["id"], "decide", {"approved": True})
            traveller.shift(61)
            assert run_due(ctx) == {"fired": 1}
            ended = get_case(ctx, actors["admin1"], case["id"])
            assert ended["status"] == "concluded" and ended["tasks"] == []  # the pressing task went with it
            clock = clock_of(ctx, case["id"])
            assert clock.state == "stopped" and clock.on_time is False
            assert [t.status for t in timers_of(ctx, case["id"])] == ["fired"] * 4
            assert {t.status for t in tasks_of(ctx, case["id"]) if t.element_id == "press_case"} == {"cancelled"}
    finally:
        events.restore()
    kinds = [e.kind for e in events if e.case_id == case["id"]]
    for kind in ("deadline.set", "supervision.warning", "supervision.yellow", "supervision.red", "deadline.stopped"):
        assert kinds.count(kind) == 1, (kind, kinds)
    assert kinds.count("timer.fired") == 4
    stopped = next(e for e in events if e.kind == "deadline.stopped")
    assert stopped.data["on_time"] is False


def test_the_clock_pauses_for_the_applicant_over_spring_festival_and_resumes_with_the_days_left(ctx, actors):
    with time_machine.travel(beijing(2026, 2, 12, 9, 30), tick=False) as traveller:
        case = start_case(ctx, actors["intake1"], KEY, {"applicant_name": "李明"})
        # Thu 12 Feb + 5 working days: Fri 13 (1), Sat 14 make-up (2), 15–23 Spring Festival,
        # Tue 24 (3), Wed 25 (4), Thu 26 (5).
        assert case["deadline"] == beijing(2026, 2, 26, 23, 59, 59)

        traveller.move_to(beijing(2026, 2, 13, 11, 0))
        case = work(ctx, actors["intake1"], case["id"], "accept_application",
                    {"acceptance": "supplement", "missing_materials": ["户口簿"]})
        assert case["status"] == "waiting_applicant" and case["deadline"] is None
        clock = clock_of(ctx, case["id"])
        # left after Fri 13: Sat 14, Tue 24, Wed 25, Thu 26
        assert clock.state == "paused" and clock.remaining_working_days == 4
        assert {t.kind for t in timers_of(ctx, case["id"]) if t.status == "pending"} == {"bpmn"}  # 30-day wait

        traveller.move_to(beijing(2026, 2, 27, 10, 0))  # nothing is late while the applicant has it
        assert run_due(ctx) == {}

        traveller.move_to(beijing(2026, 3, 2, 10, 0))  # Monday: materials supplied
        case = send_message(ctx, actors["intake1"], case["id"], "materials_supplied", {"supplied": ["户口簿"]})
        # 4 working days after Mon 2 March: Tue 3, Wed 4, Thu 5, Fri 6
        assert case["status"] == "open" and case["deadline"] == beijing(2026, 3, 6, 23, 59, 59)
        [accept] = case["tasks"]
        assert accept["due_at"] == beijing(2026, 3, 6, 23, 59, 59)
        assert accept["warn_at"] == beijing(2026, 3, 5, 23, 59, 59)
        clock = clock_of(ctx, case["id"])
        assert clock.state == "running" and len(clock.pauses) == 1
        pending = {t.kind: t.due_at for t in timers_of(ctx, case["id"]) if t.status == "pending"}
        assert pending == {"warning": beijing(2026, 3, 5, 23, 59, 59), "overdue": beijing(2026, 3, 7),
                           "red": beijing(2026, 3, 12)}
        statuses = {t.kind: t.status for t in timers_of(ctx, case["id"])}
        assert statuses["bpmn"] == "cancelled"  # the 30-working-day wait ended with the materials

        traveller.move_to(beijing(2026, 3, 6, 9, 0))  # the warning, on the new last day
        assert run_due(ctx) == {"fired": 1} and clock_of(ctx, case["id"]).level == "warning"


def test_the_applicant_gets_30_working_days_then_the_case_is_withdrawn(ctx, actors):
    with time_machine.travel(beijing(2026, 9, 18, 10, 0), tick=False) as traveller:
        case = start_case(ctx, actors["intake1"], KEY, {})
        work(ctx, actors["intake1"], case["id"], "accept_application",
             {"acceptance": "supplement", "missing_materials": ["残疾证"]})
        [wait] = [t for t in timers_of(ctx, case["id"]) if t.kind == "bpmn"]
        # 30 working days after Fri 18 Sep 2026, by hand: Sun 20 Sep (make-up) 1, 21–24 → 5,
        # Fri 25 is Mid-autumn, 28–30 → 8, 1–7 Oct off, Thu 8 9, Fri 9 10, Sat 10 (make-up) 11,
        # 12–16 → 16, 19–23 → 21, 26–30 → 26, 2–5 Nov → 30: Thursday 5 November.
        assert wait.due_at == beijing(2026, 11, 5, 23, 59, 59) and wait.element_id == "wait_for_applicant"
        traveller.move_to(beijing(2026, 11, 5, 23, 0))
        assert run_due(ctx) == {}
        traveller.move_to(beijing(2026, 11, 6, 0, 0, 1))
        assert run_due(ctx) == {"fired": 1}
        ended = get_case(ctx, actors["intake1"], case["id"])
        assert ended["status"] == "terminated" and ended["data"]["withdrawn"] is True


def test_a_time_limit_in_the_start_data_wins_and_an_unknown_year_falls_back_to_weekends(ctx, actors):
    from workflows.calendar import set_overrides
    from server.demo import system_actor

    with time_machine.travel(beijing(2026, 12, 30, 10, 0), tick=False):
        case = start_case(ctx, actors["intake1"], KEY, {"time_limit_working_days": 4})
        # chinesecalendar 1.11 knows 2026, not 2027: Thu 31 Dec (1), Fri 1 Jan 2027 counted as
        # a working day for want of data (2), Mon 4 (3), Tue 5 (4).
        assert case["deadline"] == beijing(2027, 1, 5, 23, 59, 59)
        # Once the installation declares New Year's Day 2027 a holiday, new deadlines skip it.
        set_overrides(ctx, system_actor(ctx, "xichangan"), [(beijing(2027, 1, 1).date(), False, "元旦")],
                      installation=True)
        later = start_case(ctx, actors["intake1"], KEY, {"time_limit_working_days": 4})
        assert later["deadline"] == beijing(2027, 1, 6, 23, 59, 59)
        # another tenant with its own working day on Saturday 2 January 2027
        jinrong = actors["intake9"]
        set_overrides(ctx, system_actor(ctx, "jinrong"), [(beijing(2027, 1, 2).date(), True, "local")])
        deploy_model(ctx, actors["designer9"], supervised_files())
        theirs = start_case(ctx, jinrong, KEY, {"time_limit_working_days": 4})
        assert theirs["deadline"] == beijing(2027, 1, 5, 23, 59, 59)  # 31, 2, 4, 5
