"""Big-data analysis: aggregates of the data centre (no personal data)."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from datacentre import parking

from ..auth import login_required
from .common import actor, ctx

blp = Blueprint("analytics", __name__, url_prefix="/api/analytics", description="Analysis of the data centre")


class ParkingCellSchema(Schema):
    grid = fields.String(metadata={"description": "grid cell code"})
    name = fields.String()
    community = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    vehicles = fields.Integer(metadata={"description": "vehicles of active residents living in the cell"})
    spaces = fields.Integer(metadata={"description": "parking spaces in the cell (summed capacity)"})
    pressure = fields.Float(
        allow_none=True, metadata={"description": "vehicles per space; null when vehicles have no space at all (worst)"}
    )


class ParkingSchema(Schema):
    cells = fields.List(fields.Nested(ParkingCellSchema))


@blp.route("/parking")
class Parking(MethodView):
    @login_required
    @blp.response(200, ParkingSchema)
    def get(self):
        """Per grid cell: resident-owned vehicles against parking spaces, the worst cells first."""
        return {"cells": parking.parking_pressure(ctx(), actor())}
