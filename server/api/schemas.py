"""Request and response schemas of the public REST contract (../shared/API.md)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, RAISE, fields, validate

from .dumping import Schema


class LocalDateTime(fields.DateTime):
    """ISO 8601 with the offset of the configured time zone (default Asia/Shanghai)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(ZoneInfo(current_app.config["REDWALL_TIMEZONE"])).isoformat()


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# -- auth -------------------------------------------------------------------------------------
class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class UserInfo(Schema):
    username = fields.String()
    roles = fields.List(fields.String())
    groups = fields.List(fields.String())
    supervises = fields.List(fields.String())
    tenant = fields.String()


class TokenResponse(Schema):
    token = fields.String()
    expires_at = LocalDateTime()
    user = fields.Nested(UserInfo)


# -- process models ---------------------------------------------------------------------------
class DeployRequest(Schema):
    class Meta:
        unknown = EXCLUDE

    files = fields.List(Upload(), required=True, metadata={"description": ".bpmn, .dmn and .json form files"})


class DeployForm(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(validate=validate.Length(min=1, max=255), metadata={"description": "entry process id, if several"})


class ProcessModelSchema(Schema):
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    checksum = fields.String()
    deployed_at = LocalDateTime()
    deployed_by = fields.String(allow_none=True)
    executable = fields.Boolean(metadata={"description": "false: stored to be viewed and edited; starting a case is refused (409)"})
    warnings = fields.List(
        fields.Dict(),
        metadata={"description": "deploy answer only: what does not block deployment (file, line, element_id, message)"},
    )


class ProcessModelList(Schema):
    items = fields.List(fields.Nested(ProcessModelSchema))


class StartInstanceRequest(StrictSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict)
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "a given version; default latest"})


# -- tasks and cases --------------------------------------------------------------------------
class TaskSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    name = fields.String()
    element_id = fields.String()
    group = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "ready | claimed | completed | cancelled"})
    priority = fields.Integer()
    created_at = LocalDateTime()
    due_at = LocalDateTime(allow_none=True)
    warn_at = LocalDateTime(allow_none=True)
    completed_at = LocalDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    version = fields.Integer()


class CaseSchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String(
        metadata={"description": "open | waiting_applicant | suspended | concluded | refused | terminated"})
    process_key = fields.String()
    model_version = fields.Integer()
    service_code = fields.String(allow_none=True)
    applicant_id = fields.Integer(allow_none=True)
    data = fields.Dict()
    deadline = LocalDateTime(allow_none=True)
    has_incident = fields.Boolean()
    started_by = fields.String(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    version = fields.Integer()
    tasks = fields.List(fields.Nested(TaskSchema))
    progress_code = fields.String(metadata={"description": "the verification code printed on the receipt "
                                                           "(intake and admins only; catalogue cases)"})


class Page(Schema):
    next_cursor = fields.String(allow_none=True)


class CasePage(Page):
    items = fields.List(fields.Nested(CaseSchema))


class PageArgs(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=500))


class CaseListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["open", "waiting_applicant", "concluded", "refused", "terminated"]))
    service_code = fields.String()
    applicant_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    process_key = fields.String()
    overdue = fields.Boolean()


class CompleteRequest(StrictSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class AssignRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))


class CompleteResponse(Schema):
    case = fields.Nested(CaseSchema)
    next_tasks = fields.List(fields.Nested(TaskSchema))


class MessageRequest(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    payload = fields.Dict(keys=fields.String(), load_default=dict)
    correlation = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=255)), load_default=None,
        validate=validate.Length(max=50),
        metadata={"description": (
            "Values of the message's correlation properties by property id, e.g. "
            "{\"application_no\": \"A-7\"}, for a message the model correlates (BPMN correlation keys): "
            "the case takes it only with the values it holds. Left out, they are read from the payload "
            "with the message's retrieval expressions. Missing or unknown values: 422; values of "
            "another conversation: 409."
        )},
    )


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    broker = fields.String()
    mode = fields.String()


# -- moving running cases to another version (issue 12) ---------------------------------------
class MigrationRequest(StrictSchema):
    from_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    to_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    case_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**62)),
                           validate=validate.Length(max=10_000),
                           metadata={"description": "only these cases; default every running case of from_version"})
    mapping = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)),
                          values=fields.String(validate=validate.Length(min=1, max=255)),
                          validate=validate.Length(max=500),
                          metadata={"description": "old element id → new element id, for elements the new version lacks"})
    dry_run = fields.Boolean(load_default=True, metadata={"description": "report only (default); false moves the cases"})
    resume = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**62),
                            metadata={"description": "an unfinished run to continue (its own parameters apply)"})


class MigrationReason(Schema):
    code = fields.String()
    element_id = fields.String(allow_none=True)
    message = fields.String()


class MigrationCase(Schema):
    id = fields.Integer(metadata={"description": "the case id"})
    migratable = fields.Boolean(metadata={"description": "moved, or can be moved (dry run)"})
    reason = fields.String(allow_none=True, metadata={"description": "why not, in one line"})
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "migrated | can_migrate | blocked | stale | failed"})
    reasons = fields.List(fields.Nested(MigrationReason))
    at = LocalDateTime()


class MigrationRunSummary(Schema):
    id = fields.Integer()
    process_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    case_ids = fields.List(fields.Integer(), allow_none=True)
    dry_run = fields.Boolean()
    status = fields.String(metadata={"description": "running | done | interrupted"})
    error = fields.String(allow_none=True)
    batch_size = fields.Integer()
    batches = fields.Integer()
    created_by = fields.String()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    processed = fields.Integer()
    pending = fields.Integer()


class MigrationRunSchema(MigrationRunSummary):
    cases = fields.List(fields.Nested(MigrationCase))


class MigrationRunList(Schema):
    items = fields.List(fields.Nested(MigrationRunSummary))
