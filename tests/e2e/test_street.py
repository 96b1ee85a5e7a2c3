"""Grid workers' reports and the emergency board over HTTP: the phone page reports with a photo,
the reporter follows the report; an emergency shows its notified departments, their
acknowledgements, the countdowns and the escalation to the duty leader."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from datacentre.models import GridCell
from tests.e2e.pages import Browser
from tests.helpers import Api
from tests.onewindow_helpers import one_window, work
from tests.timekeeping import beijing, run_due

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


def test_a_grid_worker_reports_from_the_phone_page_and_follows_it(app, ctx, actors, grid):
    with time_machine.travel(NOW, tick=False):
        worker = Browser(app)
        worker.sign_in("grid1")
        page = worker.text(worker.get("/grid"))
        assert grid in page and "火情" in page and page.count("<rect ") >= 4  # the map to tap (100 residents: 4 cells)
        tapped = worker.text(worker.get(f"/grid?grid={grid}"))
        assert f'<option value="{grid}" selected>' in tapped and 'class="cell p3 chosen"' in tapped
        bad = worker.post("/grid/report", {"category": "alien", "grid": "nowhere", "description": ""},
                          content_type="multipart/form-data")
        assert bad.status_code == 422 and 'aria-invalid="true"' in worker.text(bad)
        notpng = worker.post("/grid/report", {"category": "litter", "grid": grid, "description": "垃圾",
                                              "photo": (io.BytesIO(b"GIF89a..."), "x.gif")},
                             content_type="multipart/form-data")
        assert notpng.status_code == 422
        r = worker.post("/grid/report", {"category": "broken_streetlight", "grid": grid, "description": "路灯不亮",
                                         "photo": (io.BytesIO(PNG), "lamp.png")}, content_type="multipart/form-data")
        assert r.status_code == 302
        assert "flash ok" in worker.text(worker.followed) and "路灯损坏" in worker.text(worker.followed)
        api = Api(app.test_client())
        mine = api.get("/api/events/mine", "grid1").get_json()
        assert len(mine) == 1 and mine[0]["category"] == "broken_streetlight" and mine[0]["department"] == "city_management"
        assert api.get(f"/api/events/{mine[0]['case_id']}/photo", "grid1").data == PNG
        assert api.get("/api/events/mine", "civil1").get_json() == []


def test_the_board_shows_acknowledgements_countdowns_and_escalations(app, ctx, actors, grid):
    from onewindow.events import report_event

    api = Api(app.test_client())
    with time_machine.travel(NOW, tick=False) as traveller:
        ordinary = report_event(ctx, actors["grid1"], "litter", grid, "垃圾")
        fire = report_event(ctx, actors["grid1"], "fire", grid, "冒烟")
        [item] = api.get("/api/emergency/board", "leader1").get_json()["items"]
        assert item["case_id"] == fire["id"] and item["case_id"] != ordinary["id"]
        assert {a["department"] for a in item["notified"]} == {"emergency_management", "city_management", "community"}
        assert not any(a["acknowledged"] for a in item["notified"]) and item["acknowledge_seconds_left"] == 300
        task = next(t for t in fire["tasks"] if t["candidate_groups"] == ["emergency_management"])
        from worklists import commands

        commands.claim(ctx, actors["emerg1"], task["id"])
        commands.complete(ctx, actors["emerg1"], task["id"], {"acknowledgement": "on the way, 5 min"})
        traveller.shift(6 * 60)
        run_due(ctx)
        api.tokens.clear()
        [item] = api.get("/api/emergency/board", "leader1").get_json()["items"]
        acks = {a["department"]: a for a in item["notified"]}
        assert acks["emergency_management"]["acknowledged"] and acks["emergency_management"]["by"] == "emerg1"
        assert not acks["community"]["acknowledged"]
        assert [x["element_id"] for x in item["escalations"]] == ["escalate_unacknowledged"]
        board = Browser(app)
        board.sign_in("leader1")
        html = board.text(board.get("/emergency"))
        assert f'id="emergency-{fire["id"]}"' in html and "已升级至值班领导" in html and 'hx-trigger="every 15s"' in html
        fragment = board.get("/emergency", headers={"HX-Request": "true"})
        assert board.text(fragment).startswith('<div id="board"')
        assert api.get("/api/emergency/board", "designer1").status_code == 403
