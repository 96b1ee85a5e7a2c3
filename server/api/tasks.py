"""Task inboxes: list, count, read, and the commands on one task. Each view parses, calls one
use case of ``worklists``, and answers."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from worklists import commands, handling, inbox

from ..auth import login_required
from .common import actor, ctx, etag, expected_version, with_etag
from .schemas import AssignRequest, CompleteRequest, CompleteResponse
from .task_schemas import (
    AddSignersRequest,
    DelegateRequest,
    SendBackRequest,
    SignersResponse,
    TransferRequest,
    InboxArgs,
    InboxPage,
    InboxTaskDetailSchema,
    InboxTaskSchema,
    ResolveRequest,
    TaskCountsSchema,
)

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Task inboxes (clerks and supervisors)")


@blp.route("")
class Tasks(MethodView):
    @login_required
    @blp.arguments(InboxArgs, location="query", unknown=RAISE)
    @blp.response(200, InboxPage)
    def get(self, args):
        """Tasks you may see, a page at a time (keyset: pass ``next_cursor`` back as ``cursor``)."""
        items, cursor = inbox.list_tasks(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/counts")
class TaskCounts(MethodView):
    @login_required
    @blp.response(200, TaskCountsSchema)
    def get(self):
        """Counts for badges: per view (mine, group, delegated) and per group, with overdue and warned."""
        return inbox.count_tasks(ctx(), actor())


@blp.route("/<int:task_id>")
class TaskResource(MethodView):
    @login_required
    @blp.response(200, InboxTaskDetailSchema)
    def get(self, task_id):
        """One task with its form (JSON Schema) and data."""
        return with_etag(inbox.get_task(ctx(), actor(), task_id), "task")


@blp.route("/<int:task_id>/claim")
class Claim(MethodView):
    @login_required
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(409, description="claimed by someone else or no longer open")
    def post(self, task_id):
        """Claim a ready task of your group."""
        return with_etag(commands.claim(ctx(), actor(), task_id, expected_version("task", task_id)), "task")


@blp.route("/<int:task_id>/unclaim")
class Unclaim(MethodView):
    @login_required
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(409, description="not claimed, or delegated (resolve it instead)")
    def post(self, task_id):
        """Hand a claimed task back to its group (the clerk holding it, or a supervisor)."""
        return with_etag(commands.unclaim(ctx(), actor(), task_id, expected_version("task", task_id)), "task")


@blp.route("/<int:task_id>/assign")
class Assign(MethodView):
    @login_required
    @blp.arguments(AssignRequest)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(422, description="the user is not a member of the task's groups")
    def post(self, body, task_id):
        """Give a task to a member of its group (supervisors)."""
        task = commands.assign(ctx(), actor(), task_id, body["username"], expected_version("task", task_id))
        return with_etag(task, "task")


@blp.route("/<int:task_id>/delegate")
class Delegate(MethodView):
    @login_required
    @blp.arguments(DelegateRequest)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(422, description="the user is not a colleague with a worklist")
    def post(self, body, task_id):
        """Ask a colleague to work a task you hold; it comes back to you when they resolve it."""
        task = commands.delegate(
            ctx(), actor(), task_id, body["username"], body.get("comment"), expected_version("task", task_id)
        )
        return with_etag(task, "task")


@blp.route("/<int:task_id>/resolve")
class Resolve(MethodView):
    @login_required
    @blp.arguments(ResolveRequest)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(409, description="the task is not delegated")
    def post(self, body, task_id):
        """End a delegation: the task returns to the clerk who delegated it."""
        task = commands.resolve(ctx(), actor(), task_id, body.get("comment"), expected_version("task", task_id))
        return with_etag(task, "task")


@blp.route("/<int:task_id>/complete")
class Complete(MethodView):
    @login_required
    @blp.arguments(CompleteRequest)
    @blp.response(200, CompleteResponse)
    @blp.alt_response(409, description="not claimed by you, or no longer open")
    def post(self, body, task_id):
        """Complete a task you hold; the case runs on to its next tasks."""
        case, next_tasks = commands.complete(ctx(), actor(), task_id, body["data"], expected_version("task", task_id))
        return {"case": case, "next_tasks": next_tasks}, 200, {"ETag": etag("case", case["id"], case["version"])}


# -- handling operations (worklists.handling) ---------------------------------------------------
@blp.route("/<int:task_id>/send-back")
class SendBack(MethodView):
    @login_required
    @blp.arguments(SendBackRequest)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(409, description="not a step this case passed, or the task is no longer open")
    def post(self, body, task_id):
        """退回: send the case back to an earlier step (the previous one by default), with a reason;
        returns the re-opened task, assigned to the clerk who last completed it."""
        task = handling.send_back(ctx(), actor(), task_id, body["reason"], body["to"], expected_version("task", task_id))
        return with_etag(task, "task")


@blp.route("/<int:task_id>/transfer")
class Transfer(MethodView):
    @login_required
    @blp.arguments(TransferRequest)
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(422, description="the user may not work the task")
    def post(self, body, task_id):
        """转办: give a task you hold to a colleague who may work it, for good."""
        task = handling.transfer(ctx(), actor(), task_id, body["username"], body.get("comment"),
                                 expected_version("task", task_id))
        return with_etag(task, "task")


@blp.route("/<int:task_id>/add-signers")
class AddSigners(MethodView):
    @login_required
    @blp.arguments(AddSignersRequest)
    @blp.response(200, SignersResponse)
    @blp.alt_response(422, description="a signer is not a colleague with a worklist")
    def post(self, body, task_id):
        """加签: colleagues must also sign the task you hold: before you, after you, or alongside (会签).
        Signers complete their task with ``{"data": {"opinion", "agree"}}``."""
        answer = handling.add_signers(ctx(), actor(), task_id, body["usernames"], body["mode"], body.get("comment"),
                                      expected_version("task", task_id))
        return answer, 200, {"ETag": etag("task", answer["task"]["id"], answer["task"]["version"])}


@blp.route("/<int:task_id>/withdraw")
class Withdraw(MethodView):
    @login_required
    @blp.response(200, InboxTaskSchema)
    @blp.alt_response(409, description="the next task was claimed already")
    def post(self, task_id):
        """撤回: take back a task you completed while the next task is unclaimed; it is open again for you."""
        return with_etag(handling.withdraw(ctx(), actor(), task_id, expected_version("task", task_id)), "task")
