from flask.views import MethodView
from marshmallow import RAISE
from flask_smorest import Blueprint

from onewindow.progress import progress_code_of
from workflows import cases as use_cases
from worklists import handling

from ..auth import login_required
from .common import actor, ctx, expected_version, with_etag
from .schemas import CaseListArgs, CasePage, CaseSchema, MessageRequest
from .task_schemas import CopyRequest, CopyResponse, CopySchema, SuspendRequest, UrgeRequest, UrgingSchema

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Cases")
cc_blp = Blueprint("cc", __name__, url_prefix="/api/cc", description="Cases copied to you (抄送)")


@blp.route("")
class Cases(MethodView):
    @login_required
    @blp.arguments(CaseListArgs, location="query", unknown=RAISE)
    @blp.response(200, CasePage)
    def get(self, args):
        """Cases of your tenant, newest first."""
        items, cursor = use_cases.list_cases(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/<int:case_id>")
class CaseResource(MethodView):
    @login_required
    @blp.response(200, CaseSchema)
    def get(self, case_id):
        """One case with its open tasks (and, for the window and admins, the receipt's ``progress_code``)."""
        view = use_cases.get_case(ctx(), actor(), case_id)
        code = progress_code_of(ctx(), actor(), case_id)
        if code is not None:
            view["progress_code"] = code
        return with_etag(view, "case")


@blp.route("/<int:case_id>/messages")
class CaseMessages(MethodView):
    @login_required
    @blp.arguments(MessageRequest)
    @blp.response(200, CaseSchema)
    @blp.alt_response(409, description="the case does not wait for the message, or waits for it with other correlation values")
    @blp.alt_response(422, description="correlation values missing or unknown")
    def post(self, body, case_id):
        """Deliver a message the case waits for (e.g. ``materials_supplied``); a message the model
        correlates takes its ``correlation`` values (or finds them in the payload)."""
        return with_etag(use_cases.send_message(ctx(), actor(), case_id, body["name"], body["payload"],
                                                body["correlation"]), "case")


# -- handling operations on a case (worklists.handling) ------------------------------------------
@blp.route("/<int:case_id>/cc")
class CaseCopies(MethodView):
    @login_required
    @blp.arguments(CopyRequest)
    @blp.response(200, CopyResponse)
    @blp.alt_response(422, description="a user is not a colleague")
    def post(self, body, case_id):
        """抄送: copy colleagues in (the holder of a task of the case, or a supervisor); they see the case
        read-only under ``GET /api/tasks?scope=cc``."""
        return handling.copy_case(ctx(), actor(), case_id, body["usernames"], body.get("comment"))


@blp.route("/<int:case_id>/urge")
class CaseUrge(MethodView):
    @login_required
    @blp.arguments(UrgeRequest)
    @blp.response(201, UrgingSchema)
    @blp.alt_response(409, description="the case has no open task")
    def post(self, body, case_id):
        """催办: urge the holders of the case's open tasks (supervisors, or the intake clerk who received it)."""
        return handling.urge(ctx(), actor(), case_id, body.get("comment"))


@blp.route("/<int:case_id>/suspend")
class CaseSuspend(MethodView):
    @login_required
    @blp.arguments(SuspendRequest)
    @blp.response(200, CaseSchema)
    @blp.alt_response(409, description="the case is not running")
    def post(self, body, case_id):
        """挂起: no task of the case can be worked, no timer fires, the deadline clock stops (supervisors, admins)."""
        case = handling.suspend(ctx(), actor(), case_id, body["reason"], expected_version("case", case_id))
        return with_etag(case, "case")


@blp.route("/<int:case_id>/resume")
class CaseResume(MethodView):
    @login_required
    @blp.response(200, CaseSchema)
    @blp.alt_response(409, description="the case is not suspended")
    def post(self, case_id):
        """恢复: the case runs again; its clock resumes and its timers are rescheduled."""
        return with_etag(handling.resume(ctx(), actor(), case_id, expected_version("case", case_id)), "case")


@cc_blp.route("/<int:copy_id>/read")
class CopyRead(MethodView):
    @login_required
    @cc_blp.response(200, CopySchema)
    def post(self, copy_id):
        """Mark a case copied to you as read."""
        return handling.mark_copy_read(ctx(), actor(), copy_id)
