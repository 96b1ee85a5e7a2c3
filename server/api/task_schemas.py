"""Request and response schemas of the task inboxes (the Tasks part of ../shared/API.md)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from worklists.commands import MAX_COMMENT
from worklists.inbox import SCOPES, SORTS, STATUSES

from .schemas import Page, PageArgs, StrictSchema, TaskSchema


class InboxTaskSchema(TaskSchema):
    delegated_by = fields.String(
        allow_none=True, metadata={"description": "who delegated the task to its assignee; it returns to them"}
    )
    service_code = fields.String(allow_none=True)


class InboxTaskDetailSchema(InboxTaskSchema):
    form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the task's form"})
    data = fields.Dict()


class InboxPage(Page):
    items = fields.List(fields.Nested(InboxTaskSchema))


class InboxArgs(PageArgs):
    scope = fields.String(
        load_default="all", validate=validate.OneOf(SCOPES),
        metadata={"description": "mine: claimed by me; group: ready in my groups; all: what I may see; "
                                 "delegated: tasks I delegated"},
    )
    group = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "lane group"})
    service_code = fields.String(validate=validate.Length(min=1, max=64))
    case_number = fields.String(validate=validate.Length(min=1, max=40))
    applicant_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    status = fields.String(validate=validate.OneOf(STATUSES))
    due_before = fields.AwareDateTime(default_timezone=None)
    overdue = fields.Boolean(metadata={"description": "only tasks whose due time has passed"})
    warned = fields.Boolean(metadata={"description": "only tasks past their warning time, not yet due"})
    sort = fields.String(
        load_default="due", validate=validate.OneOf(SORTS),
        metadata={"description": "due (soonest first, undated last), priority (highest first), created (oldest first)"},
    )


class DelegateRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    comment = fields.String(validate=validate.Length(max=MAX_COMMENT))


class ResolveRequest(StrictSchema):
    BODY_OPTIONAL = True  # "resolve" with no comment: no body at all is fine (server.api.parser)

    comment = fields.String(validate=validate.Length(max=MAX_COMMENT))


class ViewCountSchema(Schema):
    total = fields.Integer()
    overdue = fields.Integer()
    warned = fields.Integer()


class ViewCountsSchema(Schema):
    mine = fields.Nested(ViewCountSchema)
    group = fields.Nested(ViewCountSchema)
    delegated = fields.Nested(ViewCountSchema)


class GroupCountSchema(Schema):
    group = fields.String()
    ready = fields.Integer()
    claimed = fields.Integer()
    overdue = fields.Integer()
    warned = fields.Integer()


class TaskCountsSchema(Schema):
    views = fields.Nested(ViewCountsSchema)
    groups = fields.List(fields.Nested(GroupCountSchema))
