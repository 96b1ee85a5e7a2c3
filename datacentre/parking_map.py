"""The parking pressure map: each grid cell as a square drawn from its centre's coordinates
(the cells form a regular grid; no map tiles), coloured by vehicles per space, with the numbers
a cell opens — vehicles, spaces, car-owning households and those a space is missing for.

``households_without_space`` estimates where a car park should be built: the households of the
cell owning at least one vehicle, less the cell's spaces (never below zero).
"""
from __future__ import annotations

from sqlalchemy import distinct, func, select

from workflows.accounts import Actor
from workflows.context import EngineContext

from .models import Building, GridCell, House, Person, Vehicle
from .parking import parking_pressure

WIDTH = 800  # the SVG's width in user units; the height follows the grid's aspect
# pressure bands (vehicles per space) → colour class, worst last
BANDS = ((0.8, "p0"), (1.0, "p1"), (1.5, "p2"), (2.0, "p3"))


def band(pressure: float | None, vehicles: int) -> str:
    if pressure is None:
        return "p5" if vehicles else "p0"
    for limit, name in BANDS:
        if pressure <= limit:
            return name
    return "p4"


def parking_map(ctx: EngineContext, actor: Actor) -> dict:
    cells = parking_pressure(ctx, actor)
    with ctx.unit_of_work() as uow:
        households = dict(uow.session.execute(
            select(GridCell.code, func.count(distinct(House.id)))
            .join(Building, Building.grid_cell_id == GridCell.id)
            .join(House, House.building_id == Building.id)
            .join(Person, Person.house_id == House.id)
            .join(Vehicle, Vehicle.owner_id == Person.id)
            .where(GridCell.tenant_id == actor.tenant_id, Person.status == "active")
            .group_by(GridCell.code)
        ).all())
    for cell in cells:
        cell["car_households"] = int(households.get(cell["grid"], 0))
        cell["households_without_space"] = max(cell["car_households"] - cell["spaces"], 0)
        cell["band"] = band(cell["pressure"], cell["vehicles"])
    return {"cells": cells, "width": WIDTH, "height": layout(cells)}


def layout(cells: list[dict], width: int = WIDTH) -> float:
    """Give each cell with coordinates its square (``x``, ``y``, ``w``, ``h``) in an SVG ``width``
    wide, north up; returns the height. The cells' centres form a regular grid."""
    placed = [c for c in cells if c.get("lat") is not None and c.get("lon") is not None]
    if not placed:
        return 0
    lats = sorted({c["lat"] for c in placed})
    lons = sorted({c["lon"] for c in placed})
    dlat = min((b - a for a, b in zip(lats, lats[1:])), default=0.01)
    dlon = min((b - a for a, b in zip(lons, lons[1:])), default=0.01)
    span_lon = (lons[-1] - lons[0]) + dlon
    span_lat = (lats[-1] - lats[0]) + dlat
    scale = width / span_lon
    for c in placed:
        c["x"] = round((c["lon"] - lons[0]) * scale, 1)
        c["y"] = round((lats[-1] - c["lat"]) * scale, 1)  # north up
        c["w"] = round(dlon * scale, 1)
        c["h"] = round(dlat * scale, 1)
    return round(span_lat * scale, 1)
