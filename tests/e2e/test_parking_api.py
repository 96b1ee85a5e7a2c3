"""GET /api/analytics/parking: vehicles against spaces per grid cell, the worst first."""
from __future__ import annotations

from datetime import date

from datacentre import synthetic
from tests.helpers import Api, make_users


def test_parking_pressure_worst_first(app, ctx):
    actors = make_users(ctx)
    result = synthetic.generate_demo_data(ctx, actors["admin1"], 3000, seed=1, as_of=date(2026, 11, 25))
    api = Api(app.test_client())
    r = api.get("/api/analytics/parking", "super1")
    assert r.status_code == 200
    cells = r.get_json()["cells"]
    assert len(cells) == result["counts"]["grid_cells"]
    assert {"grid", "vehicles", "spaces", "pressure"} <= set(cells[0])
    hot = set(result["hot_spots"])
    assert {c["grid"] for c in cells[: len(hot)]} == hot
    assert cells[0]["grid"] == "XC01-01" and cells[0]["community"] == "西单北社区"  # the article's worst spot
    assert cells[0]["pressure"] == round(cells[0]["vehicles"] / cells[0]["spaces"], 2) >= 2.5
    assert [c["pressure"] for c in cells] == sorted((c["pressure"] for c in cells), reverse=True)
    assert api.get("/api/analytics/parking", "civil9").get_json() == {"cells": []}
    assert api.client.get("/api/analytics/parking").status_code == 401
