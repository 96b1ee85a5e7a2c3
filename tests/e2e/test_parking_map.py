"""The parking pressure map on the supervisor's desk: every grid cell drawn from its coordinates
(no map tiles), coloured by vehicles per space, the table worst first, a cell opening its numbers."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import distinct, func, select

from datacentre import synthetic
from datacentre.models import Building, GridCell, House, Person, Vehicle
from tests.e2e.pages import Browser
from tests.helpers import Api, make_users


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    synthetic.generate_demo_data(ctx, actors["admin1"], 300, seed=7, as_of=date(2026, 11, 25))
    return actors


def test_the_map_the_table_and_a_cell(app, ctx, actors):
    cells = Api(app.test_client()).get("/api/analytics/parking", "super1").get_json()["cells"]
    browser = Browser(app)
    browser.sign_in("super1")
    html = browser.text(browser.get("/supervision/parking"))
    assert html.count('<rect ') == len([c for c in cells if c["lat"] is not None])
    assert "tile" not in html.lower() and "http://" not in html.split("<svg")[1].split("</svg>")[0]
    table = html.split('id="parking-table"')[1]
    assert re.findall(r"grid=([\w-]+)\">", table) == [c["grid"] for c in cells]  # worst first, as the API
    worst = cells[0]
    page = browser.text(browser.get(f"/supervision/parking?grid={worst['grid']}"))
    facts = page.split('id="cell-facts"')[1].split("</dl>")[0]
    with ctx.unit_of_work() as uow:
        households = uow.session.scalar(
            select(func.count(distinct(House.id))).join(Building, Building.id == House.building_id)
            .join(GridCell, GridCell.id == Building.grid_cell_id).join(Person, Person.house_id == House.id)
            .join(Vehicle, Vehicle.owner_id == Person.id)
            .where(GridCell.code == worst["grid"], Person.status == "active"))
    numbers = re.findall(r"<dd>(?:<strong>)?([^<]+)", facts)
    assert numbers[1:5] == [str(worst["vehicles"]), str(worst["spaces"]),
                            str(worst["pressure"]) if worst["pressure"] is not None else "没有车位", str(households)]
    assert numbers[5] == str(max(households - worst["spaces"], 0))
    assert 'id="cell-facts"' not in browser.text(browser.get("/supervision/parking?grid=nowhere"))
    clerk = Browser(app)
    clerk.sign_in("civil1")
    assert clerk.get("/supervision/parking").status_code == 403
