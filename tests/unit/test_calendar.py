"""The working-day calendar, without a database. Expected dates worked out by hand from the
State Council schedules (国务院办公厅关于部分节假日安排的通知):

2025 National Day + Mid-autumn: 1–8 October off; Sunday 28 September and Saturday 11 October worked.
2026 Spring Festival: 15–23 February off; Saturday 14 and Saturday 28 February worked.
2026 Mid-autumn + National Day: 25–27 September, 1–7 October off; Sunday 20 September and
Saturday 10 October worked.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from workflows.calendar import (
    LIBRARY_LAST_YEAR,
    OfficeHours,
    TenantCalendar,
    WorkingCalendar,
    parse_override_rows,
    script_helpers,
    tenant_scope,
)

SH = ZoneInfo("Asia/Shanghai")


def cal(overrides=None) -> TenantCalendar:
    return TenantCalendar(overrides or {}, SH, OfficeHours())


def bj(*parts) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.mark.parametrize("day, working", [
    (date(2025, 9, 28), True),    # Sunday, make-up working day
    (date(2025, 10, 1), False),
    (date(2025, 10, 8), False),   # Wednesday, still holiday
    (date(2025, 10, 9), True),
    (date(2025, 10, 11), True),   # Saturday, make-up
    (date(2025, 10, 12), False),
    (date(2026, 2, 14), True),    # Saturday, make-up
    (date(2026, 2, 16), False),   # Monday, Spring Festival
    (date(2026, 2, 23), False),
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),
    (date(2026, 9, 25), False),   # Friday, Mid-autumn
    (date(2026, 10, 10), True),
])
def test_holidays_and_make_up_days(day, working):
    assert cal().is_working_day(day) is working


@pytest.mark.parametrize("start, days, deadline", [
    # Thu 25 Sep 2025 + 5: Fri 26 (1), Sun 28 make-up (2), Mon 29 (3), Tue 30 (4), 1–8 Oct off, Thu 9 (5)
    (bj(2025, 9, 25, 15, 0), 5, bj(2025, 10, 9, 23, 59, 59)),
    # Mon 29 Sep 2025 + 3: Tue 30 (1), Thu 9 Oct (2), Fri 10 (3)
    (bj(2025, 9, 29, 9, 0), 3, bj(2025, 10, 10, 23, 59, 59)),
    # Fri 10 Oct 2025 + 1: Saturday 11 October is a make-up working day
    (bj(2025, 10, 10, 17, 0), 1, bj(2025, 10, 11, 23, 59, 59)),
    # Thu 12 Feb 2026 + 3: Fri 13 (1), Sat 14 make-up (2), 15–23 off, Tue 24 (3)
    (bj(2026, 2, 12, 10, 0), 3, bj(2026, 2, 24, 23, 59, 59)),
    # Fri 13 Feb 2026 + 20: Sat 14 (1), 24–27 (5), Sat 28 make-up (6), 2–6 Mar (11), 9–13 (16), 16–19 Mar (20)
    (bj(2026, 2, 13, 10, 0), 20, bj(2026, 3, 19, 23, 59, 59)),
    # a start on a holiday counts from the next working day: Sat 3 Oct 2026 + 2: Thu 8 (1), Fri 9 (2)
    (bj(2026, 10, 3, 11, 0), 2, bj(2026, 10, 9, 23, 59, 59)),
    # late on 30 September Beijing time is still 30 September (not 1 October UTC+0 wise)
    (datetime(2026, 9, 30, 15, 30, tzinfo=timezone.utc), 1, bj(2026, 10, 8, 23, 59, 59)),
])
def test_deadlines_around_national_day_and_spring_festival(start, days, deadline):
    assert cal().deadline(start, days) == deadline


def test_counting_back_and_forth_is_consistent():
    c = cal()
    assert c.count(date(2026, 9, 30), date(2026, 10, 10)) == 3       # 8, 9, 10 Oct
    assert c.count(date(2026, 10, 10), date(2026, 9, 30)) == -3
    # 2026: 261 weekdays, 19 of them holidays (1–2 Jan, 16–20 and 23 Feb, 6 Apr, 1, 4, 5 May, 19 Jun,
    # 25 Sep, 1, 2, 5, 6, 7 Oct), 6 weekend days worked (4 Jan, 14 and 28 Feb, 9 May, 20 Sep, 10 Oct)
    assert c.count(date(2025, 12, 31), date(2026, 12, 31)) == 261 - 19 + 6
    assert c.shift(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert c.shift(date(2026, 10, 8), 0) == date(2026, 10, 8)
    assert c.working_days_left(bj(2026, 9, 30, 10), bj(2026, 10, 10, 23, 59, 59)) == 3
    assert c.working_days_left(bj(2026, 10, 12, 10), bj(2026, 10, 10, 23, 59, 59)) == -1
    with pytest.raises(ValueError):
        c.shift(date(2026, 1, 1), 10**6)
    with pytest.raises(TypeError):
        c.shift(date(2026, 1, 1), 1.5)


def test_working_hours_leave_out_nights_weekends_and_holidays():
    c = cal()
    # Mon 28 Sep 2026 10:00 → Thu 8 Oct 10:00: 6 h + 7 h + 7 h + 1 h (1–7 October off)
    assert c.working_seconds(bj(2026, 9, 28, 10), bj(2026, 10, 8, 10)) == 21 * 3600
    # lunch does not count: 11:00 → 14:00 is 1 h + 0.5 h
    assert c.working_seconds(bj(2026, 10, 8, 11), bj(2026, 10, 8, 14)) == 5400
    # a whole holiday week: nothing
    assert c.working_seconds(bj(2026, 10, 1, 0), bj(2026, 10, 7, 23)) == 0
    assert c.working_seconds(bj(2026, 10, 8, 12), bj(2026, 10, 8, 11)) == 0
    hours = OfficeHours.parse("08:30-12:00, 14:00-18:00")
    assert hours.seconds_per_day == 7.5 * 3600
    with pytest.raises(ValueError):
        OfficeHours.parse("12:00-09:00")


def test_a_year_the_library_does_not_know_falls_back_to_weekends_and_never_raises():
    year = LIBRARY_LAST_YEAR + 1
    c = cal()
    assert c.knows(year) == "weekends only"
    first_monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    assert c.is_working_day(first_monday) and not c.is_working_day(first_monday.replace(day=first_monday.day + 5))
    assert c.deadline(bj(year, 6, 1, 10), 10) > bj(year, 6, 1)
    # Overrides make it known: here a made-up New Year holiday and a working Saturday.
    saturday = first_monday.replace(day=first_monday.day + 5)
    known = cal({first_monday: False, saturday: True})
    assert known.knows(year) == "overrides"
    assert not known.is_working_day(first_monday) and known.is_working_day(saturday)


def test_tenant_rows_win_over_installation_rows():
    calendar = WorkingCalendar()
    from workflows.calendar import _Snapshot
    import time as _time

    snapshot = _Snapshot(loaded_at=_time.monotonic(), installation={date(2027, 1, 4): False},
                         tenants={7: {date(2027, 1, 4): True}}, zones={7: "Asia/Urumqi"})
    calendar._snapshot = snapshot
    assert calendar.for_tenant(None).is_working_day(date(2027, 1, 4)) is False
    assert calendar.for_tenant(3).is_working_day(date(2027, 1, 4)) is False
    assert calendar.for_tenant(7).is_working_day(date(2027, 1, 4)) is True
    assert str(calendar.for_tenant(7).zone) == "Asia/Urumqi"
    coverage = calendar.coverage(today=date(2026, 11, 25))
    assert coverage["library_years"] == [2004, LIBRARY_LAST_YEAR]
    assert coverage["override_years"] == [2027]
    assert coverage["weekends_only_years"] == []  # 2025 and 2026 from the library, 2027 from overrides
    assert calendar.coverage(today=date(2027, 6, 1))["weekends_only_years"] == [2028]


def test_script_helpers_count_from_now_or_from_a_given_start_in_the_scope_tenant():
    import time_machine

    helpers = script_helpers(WorkingCalendar())
    working_days, is_working_day = helpers["working_days"], helpers["is_working_day"]
    assert working_days(3, "2026-02-12T10:00:00+08:00") == "2026-02-24T23:59:59+08:00"
    assert working_days(1, date(2026, 9, 30)) == "2026-10-08T23:59:59+08:00"
    assert working_days(1, "2026-09-30") == "2026-10-08T23:59:59+08:00"
    with time_machine.travel(bj(2026, 9, 30, 16, 0), tick=False):
        assert working_days(2) == "2026-10-09T23:59:59+08:00"
        assert is_working_day() is True
    assert is_working_day("2026-10-10") is True and is_working_day(date(2026, 10, 11)) is False
    with pytest.raises(TypeError):
        working_days("3")
    with pytest.raises(ValueError):
        working_days(3, "next tuesday")
    with tenant_scope(42):  # no rows for tenant 42: the same answers
        assert working_days(3, "2026-02-12T10:00:00+08:00") == "2026-02-24T23:59:59+08:00"


def test_override_files_are_read_strictly():
    rows = parse_override_rows([
        "# 2027 schedule", "", "2027-01-01,holiday,元旦", "2027-02-06, workday , 春节调休", "2027-02-07,holiday",
    ])
    assert rows == [(date(2027, 1, 1), False, "元旦"), (date(2027, 2, 6), True, "春节调休"), (date(2027, 2, 7), False, "")]
    with pytest.raises(ValueError, match="line 1"):
        parse_override_rows(["2027-13-01,holiday"])
    with pytest.raises(ValueError, match="line 2"):
        parse_override_rows(["2027-01-01,holiday", "2027-01-02,vacation"])


def test_end_of_day_is_local():
    assert cal().end_of_day(date(2026, 10, 10)).timetz() == time(15, 59, 59, tzinfo=timezone.utc)
