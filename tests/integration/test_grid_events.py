"""Grid and emergency events on the real databases: the DMN table routes by category, closing
records the result; urgent events notify several departments in parallel and call the duty
leader when nobody acknowledges within the minutes the table gives."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from datacentre.models import GridCell
from onewindow.events import CATEGORIES, event_photo, report_event
from tests.onewindow_helpers import one_window, work
from tests.timekeeping import beijing, run_due
from workflows.cases import get_case, list_cases
from workflows.errors import Forbidden, InvalidInput, NotFound

NOW = beijing(2026, 11, 25, 10, 0)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def actors(ctx):
    with time_machine.travel(NOW, tick=False):
        return one_window(ctx, residents=100)


@pytest.fixture
def grid(ctx):
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(select(GridCell.code).order_by(GridCell.code).limit(1))


def test_an_ordinary_event_is_routed_by_category_and_closed_with_its_result(ctx, actors, grid):
    with time_machine.travel(NOW, tick=False):
        case = report_event(ctx, actors["grid1"], "broken_streetlight", grid, "路灯不亮 lamp out",
                            photo=base64.b64encode(PNG).decode())
    assert case["process_key"] == "grid_event" and case["data"]["department"] == "city_management"
    assert case["data"]["time_limit_working_days"] == 3
    assert case["deadline"] == beijing(2026, 11, 30, 23, 59, 59)  # three working days
    [task] = case["tasks"]
    assert task["element_id"] == "handle_event" and task["candidate_groups"] == ["city_management"]
    assert event_photo(ctx, actors["grid1"], case["id"]) == (PNG, "image/png")
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        done, _ = work(ctx, actors["grid1"], case["id"], "handle_event", {"result": "lamp replaced", "resolved": True})
    assert done["status"] == "concluded" and done["data"]["result"] == "lamp replaced"
    other = report_event(ctx, actors["grid1"], "water_leak", grid, "漏水")
    assert other["data"]["department"] == "housing"


def test_an_emergency_notifies_in_parallel_and_calls_the_duty_leader_when_nobody_acknowledges(ctx, actors, grid):
    with time_machine.travel(NOW, tick=False) as traveller:
        case = report_event(ctx, actors["grid1"], "fire", grid, "冒烟 smoke from a courtyard")
        acks = case["tasks"]
        assert {t["candidate_groups"][0] for t in acks} == {"emergency_management", "city_management", "community"}
        assert {t["element_id"] for t in acks} == {"acknowledge"} and all(t["priority"] == 100 for t in acks)
        traveller.shift(4 * 60)
        assert run_due(ctx).get("fired", 0) <= 1  # only the supervision warning may fire: not yet 5 minutes
        assert "escalate_unacknowledged" not in [t["element_id"] for t in get_case(ctx, actors["admin1"], case["id"])["tasks"]]
        traveller.shift(2 * 60)
        run_due(ctx)
        tasks = get_case(ctx, actors["admin1"], case["id"])["tasks"]
        [leader] = [t for t in tasks if t["element_id"] == "escalate_unacknowledged"]
        assert leader["group"] == "duty_leader"
        work(ctx, actors["leader1"], case["id"], "escalate_unacknowledged", {"instruction": "fire brigade called"})


def test_acknowledged_in_time_nobody_is_escalated(ctx, actors, grid):
    with time_machine.travel(NOW, tick=False) as traveller:
        case = report_event(ctx, actors["grid1"], "flooding", grid, "积水")
        for user, group in (("emerg1", "emergency_management"), ("grid1", "city_management")):
            task = next(t for t in get_case(ctx, actors["admin1"], case["id"])["tasks"] if t["candidate_groups"] == [group])
            from worklists import commands
            commands.claim(ctx, actors[user], task["id"])
            commands.complete(ctx, actors[user], task["id"], {"acknowledgement": f"{group} on the way"})
        traveller.shift(20 * 60)
        run_due(ctx)
        tasks = get_case(ctx, actors["admin1"], case["id"])["tasks"]
        assert [t["element_id"] for t in tasks] == ["resolve_emergency"]
        done, _ = work(ctx, actors["grid1"], case["id"], "resolve_emergency", {"result": "pumped out", "resolved": True})
        assert done["data"]["result"] == "pumped out"
    # closed through its normal path, an emergency concludes (it was "terminated", counted neither
    # as finished nor as late), on time: within the table's 240 minutes
    assert done["status"] == "concluded"
    from workflows.supervision import metrics

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        [row] = [r for r in metrics(ctx, actors["admin1"], NOW.date(), NOW.date(), "service")["rows"]
                 if r["key"] == "grid_event"]
    assert (row["concluded"], row["concluded_on_time"]) == (1, 1)


def test_each_notified_department_acknowledges_for_itself(ctx, actors, grid):
    """The grid worker who reported the fire (grid_center, city_management) acknowledges for city
    management only; the emergency office and the community acknowledge for themselves."""
    from workflows.errors import Forbidden as NotAllowed
    from worklists import commands

    with time_machine.travel(NOW, tick=False):
        case = report_event(ctx, actors["grid1"], "fire", grid, "冒烟")
        acks = {t["candidate_groups"][0]: t for t in case["tasks"]}
        assert {g: t["group"] for g, t in acks.items()} == {
            "emergency_management": "emergency_management", "city_management": "city_management",
            "community": "community"}
        for group in ("emergency_management", "community"):
            with pytest.raises((NotAllowed, NotFound)):
                commands.claim(ctx, actors["grid1"], acks[group]["id"])
        commands.claim(ctx, actors["grid1"], acks["city_management"]["id"])
        commands.claim(ctx, actors["emerg1"], acks["emergency_management"]["id"])
        commands.claim(ctx, actors["community1"], acks["community"]["id"])


def test_an_emergency_limit_runs_in_calendar_minutes_not_working_days(ctx, actors, grid):
    """A fire reported on a Sunday at 23:54 is due 60 minutes later (the table's limit), not at
    midnight six minutes later, and not on the next working day either."""
    sunday = beijing(2026, 11, 29, 23, 54)
    with time_machine.travel(sunday, tick=False) as traveller:
        case = report_event(ctx, actors["grid1"], "fire", grid, "冒烟")
        assert case["data"]["time_limit_minutes"] == 60 and case["data"]["time_limit_working_days"] is None
        assert case["deadline"] == sunday + timedelta(minutes=60)
        traveller.shift(7 * 60)  # Monday 00:01
        run_due(ctx)
        overdue, _ = list_cases(ctx, actors["admin1"], process_key="grid_event", overdue=True)
        assert overdue == []
        traveller.shift(54 * 60)  # 00:55: an hour and a minute after the report
        run_due(ctx)
        overdue, _ = list_cases(ctx, actors["admin1"], process_key="grid_event", overdue=True)
        assert [c["id"] for c in overdue] == [case["id"]]


def test_bad_reports_are_refused(ctx, actors, grid):
    with pytest.raises(InvalidInput):
        report_event(ctx, actors["grid1"], "alien_landing", grid, "x")
    with pytest.raises(InvalidInput):
        report_event(ctx, actors["grid1"], "litter", "NO-SUCH-CELL", "x")
    with pytest.raises(InvalidInput):
        report_event(ctx, actors["grid1"], "litter", grid, "x", photo="not base64!")
    with pytest.raises(InvalidInput):
        report_event(ctx, actors["grid1"], "litter", grid, "x", photo=base64.b64encode(b"GIF89a....").decode())
    with pytest.raises(InvalidInput):  # another tenant's grid cell is not a cell of yours
        report_event(ctx, actors["civil9"], "litter", grid, "x")
    with pytest.raises(Forbidden):
        report_event(ctx, actors["designer1"], "litter", grid, "x")
    case = report_event(ctx, actors["grid1"], "litter", grid, "垃圾")
    with pytest.raises(NotFound):
        event_photo(ctx, actors["grid1"], case["id"])
    assert len(CATEGORIES) == 10
