"""Operations: health (database, broker, scheduler lag, pending timers, calendar) and incidents."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import text

from workflows import incidents, timers

from ..auth import login_required
from .common import actor, ctx
from .schemas import CaseSchema, HealthSchema, LocalDateTime, Page, PageArgs

blp = Blueprint("ops", __name__, url_prefix="/api/ops", description="Operations")

#: a scheduler whose last heartbeat is older than this is not counted as running
ALIVE_SECONDS = 30.0
#: due timers older than this make the service degraded
MAX_LAG_SECONDS = 300.0


class SchedulerBeatSchema(Schema):
    name = fields.String()
    beat_age_seconds = fields.Float()
    claimed = fields.Integer(metadata={"description": "timers claimed since it started"})
    lag_seconds = fields.Float(metadata={"description": "lateness of the oldest timer of its last pass"})


class SchedulerHealthSchema(Schema):
    lag_seconds = fields.Float(metadata={"description": "how late the oldest due, unfired timer is (0: none due)"})
    running = fields.Integer(metadata={"description": f"schedulers with a heartbeat in the last {ALIVE_SECONDS:g} s"})
    schedulers = fields.List(fields.Nested(SchedulerBeatSchema))


class TimerCountsSchema(Schema):
    pending = fields.Integer(metadata={"description": "timers waiting or claimed, not yet fired"})
    due = fields.Integer(metadata={"description": "of which due now"})


class CalendarHealthSchema(Schema):
    library = fields.String()
    library_years = fields.List(fields.Integer(), metadata={"description": "[first, last] year the library knows"})
    override_years = fields.List(fields.Integer(), metadata={"description": "years with override rows"})
    weekends_only_years = fields.List(
        fields.Integer(), metadata={"description": "last, this or next year known neither by the library nor by "
                                                   "installation-wide overrides: Monday–Friday is assumed"})


class OpsHealthSchema(HealthSchema):
    scheduler = fields.Nested(SchedulerHealthSchema)
    timers = fields.Nested(TimerCountsSchema)
    calendar = fields.Nested(CalendarHealthSchema)
    warnings = fields.List(fields.String())


def health_report() -> tuple[dict, int]:
    """Database, broker, scheduler lag, pending timers and the calendar's known years, with the
    HTTP status they call for (also shown on the operations page)."""
    result = {"status": "ok", "database": "ok", "broker": "none", "mode": "embedded", "warnings": []}
    engine_ctx = ctx()
    try:
        with engine_ctx.unit_of_work() as uow:
            uow.session.execute(text("SELECT 1"))
        status = timers.timer_status(engine_ctx)
    except Exception:
        result.update(status="degraded", database="unreachable")
        return result, 503
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        result["mode"] = "distributed"
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=1).ping()
            result["broker"] = "ok"
        except Exception:
            result.update(status="degraded", broker="unreachable")
    running = sum(1 for s in status["schedulers"] if s["beat_age_seconds"] <= ALIVE_SECONDS)
    result["scheduler"] = {"lag_seconds": status["lag_seconds"], "running": running,
                           "schedulers": status["schedulers"]}
    result["timers"] = {"pending": status["pending"], "due": status["due"]}
    if status["due"] and not running:
        result["status"] = "degraded"
        result["warnings"].append("timers are due but no scheduler is running (redwall scheduler)")
    if status["lag_seconds"] > MAX_LAG_SECONDS:
        result["status"] = "degraded"
        result["warnings"].append(f"the oldest due timer is {status['lag_seconds']:.0f} s late")
    coverage = engine_ctx.calendar.coverage()
    result["calendar"] = coverage
    for year in coverage["weekends_only_years"]:
        result["warnings"].append(
            f"the working-day calendar does not know {year}: Monday to Friday is assumed; "
            f"add its holidays with `redwall calendar import`")
    return result, 200 if result["status"] == "ok" else 503


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, OpsHealthSchema)
    @blp.alt_response(503, schema=OpsHealthSchema, description="a dependency is down or timers are late")
    def get(self):
        """Database, broker, scheduler lag, pending timers and the calendar's known years."""
        return health_report()


# -- incidents ------------------------------------------------------------------------------------
class IncidentSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_number = fields.String(allow_none=True)
    process_key = fields.String()
    element_id = fields.String(allow_none=True, metadata={"description": "the BPMN element that failed"})
    kind = fields.String(metadata={"description": "script | service | engine"})
    message = fields.String()
    status = fields.String(metadata={"description": "open | resolved"})
    created_at = LocalDateTime()
    resolved_at = LocalDateTime(allow_none=True)


class IncidentPage(Page):
    items = fields.List(fields.Nested(IncidentSchema))


class IncidentListArgs(PageArgs):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved", "all"]))
    case_id = fields.Integer(validate=validate.Range(min=1))


class IncidentRetrySchema(Schema):
    incident = fields.Nested(IncidentSchema)
    case = fields.Nested(CaseSchema)
    succeeded = fields.Boolean(metadata={"description": "false: the task failed again (see the case's new incident)"})


@blp.route("/incidents")
class Incidents(MethodView):
    @login_required
    @blp.arguments(IncidentListArgs, location="query", unknown=RAISE)
    @blp.response(200, IncidentPage)
    def get(self, args):
        """Incidents of your tenant, newest first (admins, supervisors, designers, auditors)."""
        items, cursor = incidents.list_incidents(ctx(), actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/incidents/<int:incident_id>/retry")
class IncidentRetry(MethodView):
    @login_required
    @blp.response(200, IncidentRetrySchema)
    @blp.alt_response(409, description="resolved already, or the case has ended")
    def post(self, incident_id):
        """Run the case's stopped tasks again (admins, supervisors, designers)."""
        return incidents.retry_incident(ctx(), actor(), incident_id)
