from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from .common import ctx
from .schemas import HealthSchema

blp = Blueprint("ops", __name__, url_prefix="/api/ops", description="Operations")


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="a dependency is down")
    def get(self):
        """Is the database (and the broker, if configured) reachable?"""
        result = {"status": "ok", "database": "ok", "broker": "none", "mode": "embedded"}
        try:
            with ctx().unit_of_work() as uow:
                uow.session.execute(text("SELECT 1"))
        except Exception:
            result.update(status="degraded", database="unreachable")
        redis_url = current_app.config.get("REDIS_URL")
        if redis_url:
            result["mode"] = "distributed"
            try:
                import redis

                redis.Redis.from_url(redis_url, socket_timeout=1).ping()
                result["broker"] = "ok"
            except Exception:
                result.update(status="degraded", broker="unreachable")
        return result, 200 if result["status"] == "ok" else 503
