"""Intake at the one window: applications (``POST /api/cases``), ratings, the intake-day
report, the auditors' queue, grid and emergency events, the proactive job."""
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from onewindow import audits, events, intake, proactive, ratings, report

from ..auth import login_required
from ..form_labels import localise
from .common import actor, ctx
from .schemas import CaseSchema, LocalDateTime, Page, PageArgs, StrictSchema

blp = Blueprint("intake", __name__, url_prefix="/api/cases", description="Intake at the one window")
report_blp = Blueprint("intake_report", __name__, url_prefix="/api/intake", description="The intake-day report")
audits_blp = Blueprint("audits", __name__, url_prefix="/api/audits", description="The auditors' queue")
events_blp = Blueprint("events", __name__, url_prefix="/api/events", description="Grid and emergency events")
proactive_blp = Blueprint("proactive", __name__, url_prefix="/api/proactive", description="Proactive services (找上门)")


class ApplicationRequest(StrictSchema):
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    applicant_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    form = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "field values; prefilled fields left out are taken as prefilled"})
    delivery_method = fields.String(validate=validate.OneOf(["window", "door"]))


class IntakeCountsSchema(Schema):
    total_fields = fields.Integer()
    prefilled_fields = fields.Integer()
    typed_fields = fields.Integer()
    origin = fields.String(metadata={"description": "window | proactive | bulk"})
    sources = fields.Dict(keys=fields.String(), values=fields.String())


class ApplicationCaseSchema(CaseSchema):
    intake = fields.Nested(IntakeCountsSchema)


class RatingRequest(StrictSchema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class RatingSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    score = fields.Integer()
    level = fields.String()
    comment = fields.String()
    rated_by = fields.String(allow_none=True)
    rated_at = LocalDateTime()
    bad = fields.Boolean()
    follow_up_case_id = fields.Integer(allow_none=True)
    follow_up_case_number = fields.String(allow_none=True)


@blp.route("")
class Applications(MethodView):
    @login_required
    @blp.arguments(ApplicationRequest)
    @blp.response(201, ApplicationCaseSchema)
    def post(self, body):
        """Receive an application for a catalogue service (intake); 422 names each bad form field."""
        return intake.submit_application(ctx(), actor(), body["service_code"], body["applicant_id"], body["form"],
                                         delivery_method=body.get("delivery_method"))


class BulkEntry(StrictSchema):
    applicant_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    form = fields.Dict(keys=fields.String(), load_default=dict)


class BulkRequest(StrictSchema):
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    entries = fields.List(fields.Nested(BulkEntry), required=True, validate=validate.Length(min=1, max=intake.MAX_BULK))


class BulkCreatedSchema(Schema):
    index = fields.Integer()
    case_id = fields.Integer()
    number = fields.String()
    applicant_id = fields.Integer()
    typed_fields = fields.Integer()
    prefilled_fields = fields.Integer()
    total_fields = fields.Integer()


class BulkRejectedSchema(Schema):
    index = fields.Integer()
    message = fields.String()
    errors = fields.Dict()


class BulkResultSchema(Schema):
    service_code = fields.String()
    created = fields.List(fields.Nested(BulkCreatedSchema))
    rejected = fields.List(fields.Nested(BulkRejectedSchema))
    typed_fields = fields.Integer()
    prefilled_fields = fields.Integer()
    full_form_fields = fields.Integer()
    typed_per_form = fields.Float(allow_none=True)


@blp.route("/bulk")
class BulkApplications(MethodView):
    @login_required
    @blp.arguments(BulkRequest)
    @blp.response(200, BulkResultSchema)
    def post(self, body):
        """Bulk entry (e.g. 《残疾人家庭情况表》): one case per entry; bad entries are reported, not fatal."""
        return localise(intake.submit_bulk(ctx(), actor(), body["service_code"], body["entries"]))


@blp.route("/<int:case_id>/rating")
class CaseRating(MethodView):
    @login_required
    @blp.arguments(RatingRequest)
    @blp.response(201, RatingSchema)
    def post(self, body, case_id):
        """Rate a finished case (好差评), once; 1–2 start a follow-up case for the supervisor."""
        return ratings.rate_case(ctx(), actor(), case_id, body["score"], body["comment"])


# -- the intake-day report ------------------------------------------------------------------------
class ReportArgs(Schema):
    class Meta:
        unknown = RAISE

    applications = fields.Integer(load_default=report.MAX_API_APPLICATIONS,
                                  validate=validate.Range(min=1, max=report.MAX_API_APPLICATIONS))
    seed = fields.Integer(load_default=1, validate=validate.Range(min=0, max=2**31 - 1))


class ReportServiceSchema(Schema):
    code = fields.String()
    name = fields.String()
    applications = fields.Integer()
    form_fields = fields.Integer()
    full_form_fields = fields.Integer()
    typed_fields = fields.Integer()
    prefilled_fields = fields.Integer()
    median_typed = fields.Float(allow_none=True)
    mean_typed = fields.Float(allow_none=True)
    reduction = fields.Float(allow_none=True)


class ReportOverallSchema(Schema):
    applications = fields.Integer()
    full_form_fields = fields.Integer()
    typed_fields = fields.Integer()
    prefilled_fields = fields.Integer()
    reduction = fields.Float()
    mean_typed = fields.Float()


class ReportCheckSchema(Schema):
    check = fields.String()
    value = fields.Float(allow_none=True)
    passed = fields.Boolean()


class ReportSchema(Schema):
    applications = fields.Integer()
    seed = fields.Integer()
    day = fields.String()
    services = fields.List(fields.Nested(ReportServiceSchema))
    overall = fields.Nested(ReportOverallSchema)
    checks = fields.List(fields.Nested(ReportCheckSchema))
    passed = fields.Boolean()


@report_blp.route("/report")
class IntakeReport(MethodView):
    @login_required
    @report_blp.arguments(ReportArgs, location="query")
    @report_blp.response(200, ReportSchema)
    def get(self, args):
        """Simulate a day of intake on the data centre: typed against prefilled fields (read-only)."""
        return report.intake_day_report(ctx(), actor(), args["applications"], args["seed"],
                                        limit=report.MAX_API_APPLICATIONS)


# -- the auditors' queue ---------------------------------------------------------------------------
class AuditListArgs(PageArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(list(audits.STATUSES)))


class AuditSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    service_code = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending | done"})
    queued_at = LocalDateTime()
    trail_valid = fields.Boolean(allow_none=True)
    trail_checked = fields.Integer(allow_none=True)
    result = fields.String(allow_none=True, metadata={"description": "compliant | irregular"})
    finding = fields.String(allow_none=True)
    audited_by = fields.String(allow_none=True)
    audited_at = LocalDateTime(allow_none=True)


class AuditPage(Page):
    items = fields.List(fields.Nested(AuditSchema))


class FindingRequest(StrictSchema):
    result = fields.String(required=True, validate=validate.OneOf(list(audits.RESULTS)))
    finding = fields.String(required=True, validate=validate.Length(min=1, max=4000))


@audits_blp.route("")
class AuditQueue(MethodView):
    @login_required
    @audits_blp.arguments(AuditListArgs, location="query", unknown=RAISE)
    @audits_blp.response(200, AuditPage)
    def get(self, args):
        """Concluded cases waiting for an auditor (or done ones), oldest first."""
        items, cursor = audits.audit_queue(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@audits_blp.route("/<int:audit_id>/finding")
class AuditFinding(MethodView):
    @login_required
    @audits_blp.arguments(FindingRequest)
    @audits_blp.response(200, AuditSchema)
    def post(self, body, audit_id):
        """Verify the case's trail and record the finding (once)."""
        return audits.record_finding(ctx(), actor(), audit_id, body["result"], body["finding"])


# -- grid and emergency events ---------------------------------------------------------------------
class EventRequest(StrictSchema):
    category = fields.String(required=True, validate=validate.OneOf(list(events.CATEGORIES)))
    grid = fields.String(required=True, validate=validate.Length(min=1, max=40))
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    location = fields.String(validate=validate.Length(max=300))
    photo = fields.String(metadata={"description": "base64 JPEG or PNG, at most 2 MB"}, validate=validate.Length(max=3_000_000))
    photo_type = fields.String(validate=validate.OneOf(list(events.PHOTO_TYPES)))


@events_blp.route("")
class Events(MethodView):
    @login_required
    @events_blp.arguments(EventRequest)
    @events_blp.response(201, CaseSchema)
    def post(self, body):
        """Report a grid event (grid worker); a DMN table routes it by category."""
        return events.report_event(ctx(), actor(), body["category"], body["grid"], body["description"],
                                   photo=body.get("photo"), photo_type=body.get("photo_type"), location=body.get("location"))


@events_blp.route("/<int:case_id>/photo")
class EventPhoto(MethodView):
    @login_required
    @events_blp.response(200, content_type="image/jpeg")
    def get(self, case_id):
        """The photo of a reported event."""
        content, kind = events.event_photo(ctx(), actor(), case_id)
        return Response(content, mimetype=kind)


# -- proactive services ----------------------------------------------------------------------------
class StartedSchema(Schema):
    case_id = fields.Integer()
    number = fields.String()
    resident_id = fields.Integer()
    birthday = fields.String()


class RuleRunSchema(Schema):
    rule = fields.String()
    service = fields.String()
    candidates = fields.Integer()
    started = fields.List(fields.Nested(StartedSchema))
    skipped = fields.Integer()
    failed = fields.List(fields.Dict())


class ProactiveRunSchema(Schema):
    day = fields.String()
    rules = fields.List(fields.Nested(RuleRunSchema))


@proactive_blp.route("/run")
class ProactiveRun(MethodView):
    @login_required
    @proactive_blp.response(200, ProactiveRunSchema)
    def post(self):
        """Run the proactive rules now (idempotent; the scheduler also runs them daily)."""
        return proactive.run_proactive(ctx(), actor())


BLUEPRINTS = (blp, report_blp, audits_blp, events_blp, proactive_blp)
