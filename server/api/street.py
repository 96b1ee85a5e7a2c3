"""Grid workers' own reports and the emergency board, for the pages and outside clients alike."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from onewindow import emergency_board

from ..auth import login_required
from .common import actor, ctx
from .schemas import LocalDateTime

blp = Blueprint("street", __name__, url_prefix="/api", description="Grid reports and the emergency board")


class MyReportSchema(Schema):
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    reported_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    deadline = LocalDateTime(allow_none=True)
    category = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    urgent = fields.Boolean()
    result = fields.String(allow_none=True)


class AckSchema(Schema):
    department = fields.String(allow_none=True)
    status = fields.String()
    acknowledged = fields.Boolean()
    by = fields.String(allow_none=True)
    at = LocalDateTime(allow_none=True)
    task_id = fields.Integer()


class EscalationSchema(Schema):
    element_id = fields.String()
    name = fields.String()
    status = fields.String()
    at = LocalDateTime()
    by = fields.String(allow_none=True)


class BoardItemSchema(Schema):
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    reported_by = fields.String(allow_none=True)
    reported_at = LocalDateTime()
    has_photo = fields.Boolean()
    notified = fields.List(fields.Nested(AckSchema))
    all_acknowledged = fields.Boolean()
    acknowledge_due = LocalDateTime(allow_none=True)
    acknowledge_seconds_left = fields.Integer(allow_none=True, metadata={"description": "negative: overdue"})
    resolve_due = LocalDateTime(allow_none=True)
    resolve_seconds_left = fields.Integer(allow_none=True)
    escalations = fields.List(fields.Nested(EscalationSchema))


class BoardSchema(Schema):
    items = fields.List(fields.Nested(BoardItemSchema))


@blp.route("/events/mine")
class MyReports(MethodView):
    @login_required
    @blp.response(200, MyReportSchema(many=True))
    def get(self):
        """The grid events you reported, newest first, with their status."""
        return emergency_board.my_reports(ctx(), actor())


@blp.route("/emergency/board")
class Board(MethodView):
    @login_required
    @blp.response(200, BoardSchema)
    def get(self):
        """Open emergencies: countdowns, notified departments and their acknowledgements, escalations."""
        return {"items": emergency_board.emergency_board(ctx(), actor())}
