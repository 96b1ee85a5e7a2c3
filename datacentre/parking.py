"""The parking analysis: resident-owned vehicles against parking spaces, per grid cell.

A vehicle counts in the grid cell of the house its owner lives in (residents who moved
out or died no longer count); spaces are the summed capacity of the cell's parking rows.
The pressure is vehicles per space; the worst cells come first.
"""
from __future__ import annotations

from sqlalchemy import func, select

from workflows.accounts import Actor
from workflows.context import EngineContext

from .models import Building, GridCell, House, ParkingSpace, Person, Vehicle


def pressure(vehicles: int, spaces: int) -> float | None:
    """Vehicles per space, two decimals; ``None`` when vehicles have no space at all."""
    if spaces <= 0:
        return None if vehicles else 0.0
    return round(vehicles / spaces, 2)


def _worst_first(cell: dict) -> tuple:
    # No space at all for the cell's vehicles is worse than any ratio.
    no_space = cell["pressure"] is None
    return (not no_space, -(cell["pressure"] or 0.0), -cell["vehicles"], cell["grid"])


def parking_pressure(ctx: EngineContext, actor: Actor) -> list[dict]:
    """Every grid cell of the tenant with vehicles, spaces and pressure, worst first."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        tenant = actor.tenant_id
        vehicles = {
            cell: count
            for cell, count in s.execute(
                select(Building.grid_cell_id, func.count(Vehicle.id))
                .join(Person, Person.id == Vehicle.owner_id)
                .join(House, House.id == Person.house_id)
                .join(Building, Building.id == House.building_id)
                .where(Vehicle.tenant_id == tenant, Person.status == "active")
                .group_by(Building.grid_cell_id)
            )
        }
        spaces = {
            cell: total
            for cell, total in s.execute(
                select(ParkingSpace.grid_cell_id, func.coalesce(func.sum(ParkingSpace.capacity), 0))
                .where(ParkingSpace.tenant_id == tenant)
                .group_by(ParkingSpace.grid_cell_id)
            )
        }
        cells = []
        for grid in s.scalars(select(GridCell).where(GridCell.tenant_id == tenant)):
            v, p = int(vehicles.get(grid.id, 0)), int(spaces.get(grid.id, 0))
            cells.append({
                "grid": grid.code, "name": grid.name, "community": grid.community, "lat": grid.lat, "lon": grid.lon,
                "vehicles": v, "spaces": p, "pressure": pressure(v, p),
            })
    cells.sort(key=_worst_first)
    return cells
