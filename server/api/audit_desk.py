"""The auditor's desk: case search, events outside cases, pulling a case into the audit queue."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from onewindow import audit_desk

from ..auth import login_required
from .common import actor, ctx
from .intake import AuditSchema
from .schemas import LocalDateTime, StrictSchema

blp = Blueprint("audit_desk", __name__, url_prefix="/api", description="The auditor's desk 审计")


class CaseSearchArgs(StrictSchema):
    number = fields.String(validate=validate.Length(max=40), metadata={"description": "the case number or a part of it"})
    service_code = fields.String(validate=validate.Length(max=64))
    applicant = fields.String(validate=validate.Length(max=100),
                              metadata={"description": "the applicant's name (or a part), or the registry id"})
    date_from = fields.Date(data_key="from", metadata={"description": "received on or after this day"})
    date_to = fields.Date(data_key="to", metadata={"description": "received on or before this day"})
    status = fields.String(validate=validate.OneOf(audit_desk.CASE_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=audit_desk.MAX_LIMIT))


class FoundCaseSchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    service_code = fields.String()
    applicant_id = fields.Integer(allow_none=True)
    applicant_name = fields.String(allow_none=True)
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    deadline = LocalDateTime(allow_none=True)
    in_audit_queue = fields.Boolean()


class CaseSearchSchema(Schema):
    items = fields.List(fields.Nested(FoundCaseSchema))


class EventArgs(StrictSchema):
    kind = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "an event kind (pii.read), or a prefix ending in a dot (user.)"})
    actor = fields.String(validate=validate.Length(min=1, max=150))
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=audit_desk.MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(max=200))


class TenantEventSchema(Schema):
    seq = fields.Integer(metadata={"description": "position in the tenant's case-less chain"})
    at = LocalDateTime()
    kind = fields.String()
    actor = fields.String(allow_none=True)
    data = fields.Dict(metadata={"description": "identity numbers masked"})


class TenantEventPage(Schema):
    items = fields.List(fields.Nested(TenantEventSchema))
    next_cursor = fields.String(allow_none=True)


class PullRequest(StrictSchema):
    case_id = fields.Integer(required=True, validate=validate.Range(min=1))


@blp.route("/audit/cases")
class CaseSearch(MethodView):
    @login_required
    @blp.arguments(CaseSearchArgs, location="query", unknown=RAISE)
    @blp.response(200, CaseSearchSchema)
    def get(self, args):
        """Find cases by number, service, applicant, period of receipt and status (auditors, admins)."""
        return {"items": audit_desk.search_cases(ctx(), actor(), **args)}


@blp.route("/trail/events")
class TenantEvents(MethodView):
    @login_required
    @blp.arguments(EventArgs, location="query", unknown=RAISE)
    @blp.response(200, TenantEventPage)
    def get(self, args):
        """Events that belong to no case (pii.read, sign-ins, lockouts, user changes, deployments), newest first."""
        who = args.pop("actor", None)
        items, cursor = audit_desk.tenant_events(ctx(), actor(), who=who, **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/audits/queue")
class PullIntoAudit(MethodView):
    @login_required
    @blp.arguments(PullRequest)
    @blp.response(201, AuditSchema)
    @blp.alt_response(409, description="the case is in the audit queue already")
    def post(self, body):
        """Pull any case of your tenant into the audit queue (besides the sample drawn at conclusion)."""
        return audit_desk.pull_into_audit(ctx(), actor(), body["case_id"])
