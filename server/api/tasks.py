from flask.views import MethodView
from marshmallow import RAISE
from flask_smorest import Blueprint

from worklists import commands, inbox

from ..auth import login_required
from .common import actor, ctx, etag, expected_version, with_etag
from .schemas import AssignRequest, CompleteRequest, CompleteResponse, TaskDetailSchema, TaskListArgs, TaskPage, TaskSchema

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Task inboxes (clerks)")


@blp.route("")
class Tasks(MethodView):
    @login_required
    @blp.arguments(TaskListArgs, location="query", unknown=RAISE)
    @blp.response(200, TaskPage)
    def get(self, args):
        """Tasks you may see: ``scope=mine`` (claimed by you), ``group`` (ready in your groups), ``all``."""
        items, cursor = inbox.list_tasks(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/<int:task_id>")
class TaskResource(MethodView):
    @login_required
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id):
        """One task with its form (JSON Schema) and data."""
        return with_etag(inbox.get_task(ctx(), actor(), task_id), "task")


@blp.route("/<int:task_id>/claim")
class Claim(MethodView):
    @login_required
    @blp.response(200, TaskSchema)
    @blp.alt_response(409, description="claimed by someone else or no longer open")
    def post(self, task_id):
        """Claim a ready task of your group."""
        return with_etag(commands.claim(ctx(), actor(), task_id, expected_version("task", task_id)), "task")


@blp.route("/<int:task_id>/unclaim")
class Unclaim(MethodView):
    @login_required
    @blp.response(200, TaskSchema)
    def post(self, task_id):
        """Hand a claimed task back to its group."""
        return with_etag(commands.unclaim(ctx(), actor(), task_id, expected_version("task", task_id)), "task")


@blp.route("/<int:task_id>/assign")
class Assign(MethodView):
    @login_required
    @blp.arguments(AssignRequest)
    @blp.response(200, TaskSchema)
    def post(self, body, task_id):
        """Give a task to a member of its group (supervisors)."""
        task = commands.assign(ctx(), actor(), task_id, body["username"], expected_version("task", task_id))
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
