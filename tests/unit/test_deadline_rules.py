"""Deadline rules without a database: warnings, red level, task due dates, retry back-off."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.calendar import OfficeHours, TenantCalendar
from workflows.deadlines import LEVEL_DELAY, StepDeadlines, TimingPolicy, _whole_days, red_time, warning_time
from workflows.engine import ReadyTask

SH = ZoneInfo("Asia/Shanghai")
CAL = TenantCalendar({}, SH, OfficeHours())


def bj(*parts) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.mark.parametrize("deadline, warn_days, warning", [
    # deadline Thu 8 Oct 2026 (first day after National Day): one working day before is Wed 30 Sep
    (bj(2026, 10, 8, 23, 59, 59), 1, bj(2026, 9, 30, 23, 59, 59)),
    # deadline Sat 10 Oct 2026, a make-up working day: Fri 9 Oct
    (bj(2026, 10, 10, 23, 59, 59), 1, bj(2026, 10, 9, 23, 59, 59)),
    # deadline Tue 24 Feb 2026: Sat 14 Feb (make-up) is the working day before it; two before: Fri 13
    (bj(2026, 2, 24, 23, 59, 59), 1, bj(2026, 2, 14, 23, 59, 59)),
    (bj(2026, 2, 24, 23, 59, 59), 2, bj(2026, 2, 13, 23, 59, 59)),
])
def test_the_warning_comes_working_days_before_the_deadline(deadline, warn_days, warning):
    assert warning_time(CAL, deadline, warn_days, now=bj(2026, 1, 5)) == warning


def test_the_warning_is_never_before_now_nor_after_the_deadline():
    deadline = bj(2026, 10, 10, 23, 59, 59)
    assert warning_time(CAL, deadline, 1, now=bj(2026, 10, 10, 9)) == bj(2026, 10, 10, 9)
    assert warning_time(CAL, deadline, 1, now=bj(2026, 10, 20, 9)) == deadline
    assert warning_time(CAL, deadline, 0, now=bj(2026, 10, 1)) == deadline


def test_red_comes_working_days_after_the_deadline():
    # deadline Wed 30 Sep 2026 + 3 working days: Thu 8, Fri 9, Sat 10 October (make-up)
    assert red_time(CAL, bj(2026, 9, 30, 23, 59, 59), 3) == bj(2026, 10, 10, 23, 59, 59)
    assert LEVEL_DELAY["overdue"] == timedelta(seconds=1)  # late from 00:00:00 of the next day


def test_tasks_take_their_own_time_limit_or_the_cases():
    now = bj(2026, 9, 29, 10)
    plan = StepDeadlines(CAL, now, case_deadline=bj(2026, 10, 10, 23, 59, 59),
                         case_warn_at=bj(2026, 10, 9, 23, 59, 59), warn_days=1)
    plain = ReadyTask("a", "review", "Review", "civil_affairs", None)
    quick = ReadyTask("b", "check", "Check", "civil_affairs", None, properties={"time_limit_working_days": "2"})
    assert plan.due_at(plain) == bj(2026, 10, 10, 23, 59, 59) and plan.warn_at(plain) == bj(2026, 10, 9, 23, 59, 59)
    # two working days after Tue 29 Sep: Wed 30 Sep, Thu 8 Oct; warning at the end of 30 Sep
    assert plan.due_at(quick) == bj(2026, 10, 8, 23, 59, 59) and plan.warn_at(quick) == bj(2026, 9, 30, 23, 59, 59)


@pytest.mark.parametrize("value, days", [
    (5, 5), ("5", 5), (" 12 ", 12), (0, 0), (None, None), (True, None), ("five", None), (-1, None), (10**6, None),
    (2.0, None),
])
def test_time_limits_are_whole_days(value, days):
    assert _whole_days(value) == days


def test_retry_back_off_grows_then_stays():
    policy = TimingPolicy(retry_backoff=(30, 120))
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 120, 120, 120]
    assert TimingPolicy(retry_backoff=()).backoff(1) == timedelta(0)


def test_a_deadline_is_a_whole_day_in_the_tenants_zone():
    urumqi = TenantCalendar({}, ZoneInfo("Asia/Urumqi"), OfficeHours())
    assert urumqi.deadline(datetime(2026, 10, 8, 1, 0, tzinfo=ZoneInfo("UTC")), 1).astimezone(
        ZoneInfo("Asia/Urumqi")).date() == date(2026, 10, 9)
