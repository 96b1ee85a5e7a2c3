"""Performance supervision (绩效监察): metrics per department, service or clerk."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from workflows import supervision

from ..auth import login_required
from .common import actor, ctx
from .schemas import LocalDateTime, StrictSchema

blp = Blueprint("supervision", __name__, url_prefix="/api/supervision", description="Performance supervision 绩效监察")


class Day(fields.String):
    """A day (``2026-10-01``) or a time with offset (its day in the caller's time zone)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("expected a date (YYYY-MM-DD) or an ISO 8601 time with offset")
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("expected a date (YYYY-MM-DD) or an ISO 8601 time with offset") from None
        if moment.tzinfo is None:
            raise ValidationError("a time needs an offset, e.g. +08:00")
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


class MetricsArgs(StrictSchema):
    date_from = Day(data_key="from", metadata={"description": "first day (inclusive); default 29 days before 'to'"})
    date_to = Day(data_key="to", metadata={"description": "last day (inclusive); default today"})
    group_by = fields.String(load_default="department", validate=validate.OneOf(supervision.GROUP_BY))


class MetricRowSchema(Schema):
    key = fields.String(metadata={"description": "department (group), service code or clerk username"})
    received = fields.Integer()
    concluded = fields.Integer()
    concluded_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "按时办结率; null when nothing concluded"})
    concluded_early = fields.Integer(metadata={"description": "concluded on a day before the deadline's day"})
    early_rate = fields.Float(allow_none=True, metadata={"description": "提前办结率"})
    overdue_open = fields.Integer()
    warned = fields.Integer(metadata={"description": "warnings (预警) raised in the range"})
    urged = fields.Integer(metadata={"description": "urgings (催办) in the range; for clerks: of tasks they held"})
    avg_working_hours = fields.Float(allow_none=True, metadata={"description": "office hours, without 补正 waits"})


class MetricsSchema(Schema):
    group_by = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    generated_at = LocalDateTime()
    rows = fields.List(fields.Nested(MetricRowSchema))


def _day(value, zone: str):
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).date()
    return value


@blp.route("/metrics")
class Metrics(MethodView):
    @login_required
    @blp.arguments(MetricsArgs, location="query", unknown=RAISE)
    @blp.response(200, MetricsSchema)
    def get(self, args):
        """Received, concluded, on time, overdue, warned and handling time, per department, service or clerk."""
        who = actor()
        result = supervision.metrics(
            ctx(), who, _day(args.get("date_from"), who.timezone), _day(args.get("date_to"), who.timezone),
            args["group_by"],
        )
        result["from_"] = result.pop("from")
        return result
