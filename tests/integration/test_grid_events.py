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
from workflows.cases import get_case
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
        assert done["status"] == "terminated" or done["status"] == "concluded"
        assert done["data"]["result"] == "pumped out"


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
