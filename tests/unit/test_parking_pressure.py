"""Parking pressure and the order of cells, without a database."""
from __future__ import annotations

from datacentre.parking import _worst_first, pressure


def test_pressure_is_vehicles_per_space():
    assert pressure(30, 10) == 3.0
    assert pressure(2, 3) == 0.67
    assert pressure(0, 10) == 0.0
    assert pressure(0, 0) == 0.0
    assert pressure(5, 0) is None  # cars with nowhere to park: no finite ratio


def test_worst_cells_first():
    cells = [
        {"grid": "A", "vehicles": 10, "spaces": 10, "pressure": 1.0},
        {"grid": "B", "vehicles": 50, "spaces": 10, "pressure": 5.0},
        {"grid": "C", "vehicles": 3, "spaces": 0, "pressure": None},
        {"grid": "D", "vehicles": 0, "spaces": 0, "pressure": 0.0},
        {"grid": "E", "vehicles": 20, "spaces": 20, "pressure": 1.0},
    ]
    assert [c["grid"] for c in sorted(cells, key=_worst_first)] == ["C", "B", "E", "A", "D"]
