"""Performance supervision (绩效监察): metrics per department, service or clerk."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from supervision import desk as supervision_desk
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


# -- the supervisor's desk: trend, overdue and warned lists, pressing (督办) -------------------------
class TrendArgs(StrictSchema):
    weeks = fields.Integer(load_default=8, validate=validate.Range(min=1, max=supervision_desk.MAX_WEEKS))
    group = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "one department"})


class TrendWeekSchema(Schema):
    week_start = fields.Date()
    week_end = fields.Date()
    received = fields.Integer()
    concluded = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    early_rate = fields.Float(allow_none=True)
    overdue_open = fields.Integer()
    warned = fields.Integer()


class TrendSchema(Schema):
    group = fields.String(allow_none=True)
    weeks = fields.List(fields.Nested(TrendWeekSchema))


class WatchArgs(StrictSchema):
    kind = fields.String(load_default="overdue", validate=validate.OneOf(supervision_desk.KINDS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class PressSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    department = fields.String(allow_none=True)
    pressed_by = fields.String()
    pressed_at = LocalDateTime()
    comment = fields.String()
    answer = fields.String(allow_none=True)
    answered_by = fields.String(allow_none=True)
    answered_at = LocalDateTime(allow_none=True)
    may_answer = fields.Boolean(metadata={"description": "whether the caller may answer it now"})


class WatchItemSchema(Schema):
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    service_code = fields.String()
    department = fields.String(allow_none=True)
    status = fields.String()
    deadline = LocalDateTime()
    deadline_date = fields.Date()
    working_days_left = fields.Integer(allow_none=True, metadata={"description": "warned list: working days left"})
    working_days_over = fields.Integer(allow_none=True, metadata={"description": "overdue list: working days over"})
    level = fields.String(metadata={"description": "none / warning / yellow / red"})
    last_press = fields.Nested(PressSchema, allow_none=True)


class WatchSchema(Schema):
    kind = fields.String()
    items = fields.List(fields.Nested(WatchItemSchema))


class PressRequest(StrictSchema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=supervision_desk.MAX_COMMENT))


class AnswerRequest(StrictSchema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=supervision_desk.MAX_COMMENT))


@blp.route("/trend")
class Trend(MethodView):
    @login_required
    @blp.arguments(TrendArgs, location="query", unknown=RAISE)
    @blp.response(200, TrendSchema)
    def get(self, args):
        """On-time and early rates, concluded, overdue open and warnings for each of the last weeks."""
        return supervision_desk.weekly_trend(ctx(), actor(), args["weeks"], args.get("group"))


@blp.route("/watchlist")
class Watchlist(MethodView):
    @login_required
    @blp.arguments(WatchArgs, location="query", unknown=RAISE)
    @blp.response(200, WatchSchema)
    def get(self, args):
        """Open cases past their deadline (kind=overdue) or warned (kind=warned), with working days over or left."""
        return {"kind": args["kind"], "items": supervision_desk.watchlist(ctx(), actor(), args["kind"], args["limit"])}


@blp.route("/cases/<int:case_id>/presses")
class CasePresses(MethodView):
    @login_required
    @blp.response(200, PressSchema(many=True))
    def get(self, case_id):
        """A case's pressings (督办), newest first, with the answers."""
        return supervision_desk.presses_of_case(ctx(), actor(), case_id)

    @login_required
    @blp.arguments(PressRequest)
    @blp.response(201, PressSchema)
    def post(self, args, case_id):
        """Press (督办) an open case of a department you supervise, with a comment."""
        return supervision_desk.press_case(ctx(), actor(), case_id, args["comment"])


@blp.route("/presses/<int:press_id>/answer")
class PressAnswer(MethodView):
    @login_required
    @blp.arguments(AnswerRequest)
    @blp.response(200, PressSchema)
    def post(self, args, press_id):
        """The pressed department answers a pressing (once)."""
        return supervision_desk.answer_press(ctx(), actor(), press_id, args["answer"])
