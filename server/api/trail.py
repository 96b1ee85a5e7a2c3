"""The case trail (auditors): read, verify, export as JSON or as a printable page."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from flask import Response, render_template
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from workflows import trail as use_cases

from ..auth import login_required
from .common import actor, ctx
from .schemas import LocalDateTime

blp = Blueprint("trail", __name__, url_prefix="/api", description="Case trail 办事留痕 (auditors)")


class TrailEventSchema(Schema):
    seq = fields.Integer(metadata={"description": "1, 2, … within the case"})
    at = LocalDateTime()
    actor = fields.String(allow_none=True, metadata={"description": "username; null for the engine itself"})
    kind = fields.String(metadata={"description": "e.g. case.received, task.completed, gateway.decided"})
    task = fields.Integer(allow_none=True, metadata={"description": "task id, if the event concerns a task"})
    data = fields.Dict(metadata={"description": "what changed; identity numbers are masked before hashing"})
    prev_hash = fields.String(metadata={"description": "hash of the previous event (64 zeros for the first)"})
    hash = fields.String(metadata={"description": "SHA-256 over prev_hash and the canonical encoding"})


class TrailCaseSchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    process_key = fields.String()
    model_version = fields.Integer()
    service_code = fields.String(allow_none=True)
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)


class TrailSchema(Schema):
    case = fields.Nested(TrailCaseSchema)
    events = fields.List(fields.Nested(TrailEventSchema))


class ProblemSchema(Schema):
    case_id = fields.Integer(allow_none=True)
    seq = fields.Integer(allow_none=True)
    reason = fields.String()


class VerificationSchema(Schema):
    valid = fields.Boolean()
    checked = fields.Integer(metadata={"description": "events checked"})
    chains = fields.Integer(metadata={"description": "chains checked (cases, and the tenant's case-less chain)"})
    anchors_checked = fields.Integer(metadata={"description": "daily anchors checked (tenant-wide verification)"})
    first_bad_seq = fields.Integer(allow_none=True, metadata={"description": "where the first problem is"})
    case_id = fields.Integer(allow_none=True, metadata={"description": "the case of the first problem"})
    reason = fields.String(allow_none=True, metadata={"description": "why, for the first problem"})
    problems = fields.List(fields.Nested(ProblemSchema), metadata={"description": "up to 100 problems, in order"})


class EncodingSchema(Schema):
    format_version = fields.Integer()
    hash = fields.String()
    header = fields.String()
    data = fields.String()
    genesis_prev_hash = fields.String()


class TrailExportSchema(TrailSchema):
    tenant_id = fields.Integer()
    verification = fields.Nested(VerificationSchema)
    encoding = fields.Nested(EncodingSchema)
    exported_at = LocalDateTime()
    exported_by = fields.String()


def printable_trail(body: dict, timezone: str) -> str:
    """The printable page of an exported trail (also served to the auditor's browser session)."""
    zone = ZoneInfo(timezone)
    for event in body["events"]:
        event["local_time"] = event["at"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        event["label"] = use_cases.KIND_LABELS.get(event["kind"], event["kind"])
        event["data_text"] = json.dumps(event["data"], ensure_ascii=False, indent=1, sort_keys=True) if event["data"] else ""
    return render_template(
        "trail.html", trail=body, case=body["case"], verification=body["verification"],
        exported_at=body["exported_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        created_at=body["case"]["created_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
    )


@blp.route("/cases/<int:case_id>/trail")
class CaseTrail(MethodView):
    @login_required
    @blp.response(200, TrailSchema)
    def get(self, case_id):
        """Every event of the case, in order (auditors, supervisors, clerks, intake, admins)."""
        return use_cases.case_trail(ctx(), actor(), case_id)


@blp.route("/cases/<int:case_id>/trail/verify")
class CaseTrailVerify(MethodView):
    @login_required
    @blp.response(200, VerificationSchema)
    def get(self, case_id):
        """Re-hash the case's chain: valid, or the first bad sequence number and why."""
        return use_cases.verify_case(ctx(), actor(), case_id)


@blp.route("/cases/<int:case_id>/trail/export")
class CaseTrailExport(MethodView):
    @login_required
    @blp.response(200, TrailExportSchema)
    def get(self, case_id):
        """The trail as a JSON file, with its verification and the encoding needed to re-hash it offline."""
        body = use_cases.case_trail_export(ctx(), actor(), case_id)
        filename = f"trail-{body['case']['number'] or case_id}.json"
        return body, 200, {"Content-Disposition": f'attachment; filename="{filename}"'}


@blp.route("/cases/<int:case_id>/trail/print")
class CaseTrailPrint(MethodView):
    @login_required
    @blp.response(200, {"type": "string"}, content_type="text/html")
    def get(self, case_id):
        """The trail as a printable HTML page for the paper file (办事留痕)."""
        html = printable_trail(use_cases.case_trail_export(ctx(), actor(), case_id), actor().timezone)
        return Response(html, mimetype="text/html", headers={"X-Content-Type-Options": "nosniff"})


@blp.route("/trail/verify")
class TenantTrailVerify(MethodView):
    @login_required
    @blp.response(200, VerificationSchema)
    def get(self):
        """Verify every chain of your tenant, the chain heads and the daily anchors (auditors, admins)."""
        return use_cases.verify_tenant(ctx(), actor())
