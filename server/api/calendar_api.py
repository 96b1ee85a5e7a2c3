"""The working-day calendar of your tenant: a year, override days, a notice imported, deadlines recomputed."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate

from workflows import calendar as calendar_cases
from workflows import calendar_desk

from ..auth import login_required
from .common import actor, ctx
from .schemas import LocalDateTime, StrictSchema

blp = Blueprint("calendar", __name__, url_prefix="/api/calendar", description="The working-day calendar 工作日")


class DaySchema(Schema):
    day = fields.Date()
    working = fields.Boolean()
    name = fields.String()
    source = fields.String(metadata={"description": "override | library"})


class YearSchema(Schema):
    year = fields.Integer()
    source = fields.String(metadata={"description": "library | overrides | weekends only (unknown: Monday–Friday assumed)"})
    working_days = fields.Integer()
    exceptions = fields.List(fields.Nested(DaySchema), metadata={"description": "weekdays off and working weekend days"})


class OverrideDay(StrictSchema):
    day = fields.Date(required=True)
    working = fields.Boolean(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))


class SetDays(StrictSchema):
    days = fields.List(fields.Nested(OverrideDay), required=True, validate=validate.Length(min=1, max=400))


class RemoveDays(StrictSchema):
    days = fields.List(fields.Date(), required=True, validate=validate.Length(min=1, max=400))


class CountSchema(Schema):
    days = fields.Integer()


class NoticeUpload(Schema):
    class Meta:
        unknown = EXCLUDE

    file = Upload(required=True, metadata={"description": "lines YYYY-MM-DD,holiday|workday[,name] (UTF-8)"})


class ImportSchema(Schema):
    days = fields.Integer()
    years = fields.List(fields.Integer())


class ChangeSchema(Schema):
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    from_ = LocalDateTime(data_key="from")
    to = LocalDateTime()


class RecomputeSchema(Schema):
    checked = fields.Integer(metadata={"description": "running deadline clocks looked at"})
    changed = fields.List(fields.Nested(ChangeSchema))
    skipped = fields.List(fields.Integer(), metadata={"description": "cases whose clock was paused (补正): not recounted"})


@blp.route("/<int:year>")
class Year(MethodView):
    @login_required
    @blp.response(200, YearSchema)
    def get(self, year):
        """A year of your tenant's calendar: where its days come from and its exceptions."""
        return calendar_cases.year_view(ctx(), actor(), year)


@blp.route("/days")
class Days(MethodView):
    @login_required
    @blp.arguments(SetDays)
    @blp.response(200, CountSchema)
    def post(self, body):
        """Declare days of your tenant working or not (replaces those days' overrides; admins)."""
        rows = [(d["day"], d["working"], d["name"]) for d in body["days"]]
        return {"days": calendar_cases.set_overrides(ctx(), actor(), rows)}


@blp.route("/days/remove")
class RemoveDaysView(MethodView):
    @login_required
    @blp.arguments(RemoveDays)
    @blp.response(200, CountSchema)
    def post(self, body):
        """Forget your tenant's overrides of these days (admins)."""
        return {"days": calendar_cases.remove_overrides(ctx(), actor(), body["days"])}


@blp.route("/import")
class Import(MethodView):
    @login_required
    @blp.arguments(NoticeUpload, location="files")
    @blp.response(200, ImportSchema)
    def post(self, files):
        """Import a year's State Council notice (holidays and 调休 working days) for your tenant (admins)."""
        return calendar_desk.import_notice(ctx(), actor(), files["file"].read(calendar_desk.MAX_NOTICE_BYTES + 1))


@blp.route("/recompute")
class Recompute(MethodView):
    @login_required
    @blp.response(200, RecomputeSchema)
    def post(self):
        """Recount open cases' deadlines under today's calendar; each change is a trail event (admins)."""
        result = calendar_desk.recompute_deadlines(ctx(), actor())
        result["changed"] = [dict(c, from_=c.pop("from")) for c in result["changed"]]
        return result
