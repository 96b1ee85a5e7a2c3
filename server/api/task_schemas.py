"""Request and response schemas of the task inboxes (the Tasks part of ../shared/API.md)."""
from __future__ import annotations

from marshmallow import fields, validate

from worklists.commands import MAX_COMMENT
from worklists.handling import MAX_COPIES, MAX_SIGNERS, MAX_TEXT, SIGN_MODES
from worklists.inbox import SCOPES, SORTS, STATUSES

from .dumping import Schema
from .schemas import LocalDateTime, Page, PageArgs, StrictSchema, TaskSchema


class SigningSchema(Schema):
    mode = fields.String(metadata={"description": "before | after | parallel (会签)"})
    after = fields.List(fields.String(), metadata={"description": "signers who sign when the holder completes"})
    opinion = fields.String(metadata={"description": "a signer's opinion"})
    agree = fields.Boolean()
    signs_for = fields.String(attribute="for", data_key="for", metadata={"description": "the holder signed for"})


class InboxTaskSchema(TaskSchema):
    delegated_by = fields.String(
        allow_none=True, metadata={"description": "who delegated the task to its assignee; it returns to them"}
    )
    service_code = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "user: a step of the process; sign: a co-signer's task (加签); "
                                                  "cc: a case copied to you (scope=cc)"})
    parent_id = fields.Integer(allow_none=True, metadata={"description": "the task a co-signer signs for"})
    note = fields.String(allow_none=True, metadata={"description": "why the task was sent back (退回), or the "
                                                                   "brief of a co-signer"})
    urged_count = fields.Integer(metadata={"description": "how often the task was urged (催办)"})
    urged_at = LocalDateTime(allow_none=True)
    signing = fields.Nested(SigningSchema, allow_none=True)
    # scope=cc items (抄送)
    username = fields.String(metadata={"description": "scope=cc: the user the case was copied to"})
    copied_by = fields.String(metadata={"description": "scope=cc: who copied the case"})
    comment = fields.String(allow_none=True, metadata={"description": "scope=cc: the note of the copy"})
    read_at = LocalDateTime(allow_none=True, metadata={"description": "scope=cc: when it was marked read"})


class InboxTaskDetailSchema(InboxTaskSchema):
    form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the task's form"})
    data = fields.Dict()


class InboxPage(Page):
    items = fields.List(fields.Nested(InboxTaskSchema))


class InboxArgs(PageArgs):
    scope = fields.String(
        load_default="all", validate=validate.OneOf(SCOPES + ("cc",)),
        metadata={"description": "mine: claimed by me; group: ready in my groups; all: what I may see; "
                                 "delegated: tasks I delegated; cc: cases copied to me (抄送)"},
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


# -- handling operations (worklists.handling) ---------------------------------------------------
class SendBackRequest(StrictSchema):
    to = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255),
                       metadata={"description": "element id of an earlier user task on the path taken; "
                                                "null: the previous one"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class TransferRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    comment = fields.String(validate=validate.Length(max=MAX_TEXT))


class AddSignersRequest(StrictSchema):
    usernames = fields.List(fields.String(validate=validate.Length(min=1, max=150)), required=True,
                            validate=validate.Length(min=1, max=MAX_SIGNERS))
    mode = fields.String(required=True, validate=validate.OneOf(SIGN_MODES),
                         metadata={"description": "before: they sign first; after: when you completed; "
                                                  "parallel (会签): alongside you"})
    comment = fields.String(validate=validate.Length(max=MAX_TEXT))


class SignersResponse(Schema):
    task = fields.Nested(InboxTaskSchema)
    signers = fields.List(fields.Nested(InboxTaskSchema))


class CopyRequest(StrictSchema):
    usernames = fields.List(fields.String(validate=validate.Length(min=1, max=150)), required=True,
                            validate=validate.Length(min=1, max=MAX_COPIES))
    comment = fields.String(validate=validate.Length(max=MAX_TEXT))


class CopySchema(Schema):
    kind = fields.String()
    id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    username = fields.String()
    copied_by = fields.String()
    comment = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "unread | read"})
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


class CopyResponse(Schema):
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    copies = fields.List(fields.Nested(CopySchema), metadata={"description": "the new copies (none for "
                                                                              "users copied before)"})


class UrgeRequest(StrictSchema):
    comment = fields.String(validate=validate.Length(max=MAX_TEXT))


class UrgingSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    urged_by = fields.String()
    comment = fields.String(allow_none=True)
    created_at = LocalDateTime()
    tasks = fields.List(fields.Nested(InboxTaskSchema), metadata={"description": "the open tasks urged"})


class SuspendRequest(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class EmptyRequest(StrictSchema):
    pass
