from flask.views import MethodView
from marshmallow import RAISE
from flask_smorest import Blueprint

from onewindow.progress import progress_code_of
from workflows import cases as use_cases

from ..auth import login_required
from .common import actor, ctx, with_etag
from .schemas import CaseListArgs, CasePage, CaseSchema, MessageRequest

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Cases")


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
    def post(self, body, case_id):
        """Deliver a message the case waits for (e.g. ``materials_supplied``)."""
        return with_etag(use_cases.send_message(ctx(), actor(), case_id, body["name"], body["payload"]), "case")
