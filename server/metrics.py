"""``GET /metrics`` in the Prometheus text format (aggregate counts only: no personal data).

Not open to everyone (issue 10, item 14): the scraper sends ``Authorization: Bearer <token>`` with
the installation's ``REDWALL_METRICS_TOKEN`` (every tenant), or an admin's own access token (that
admin's tenant only). No token: 401; another role: 403. Unset ``REDWALL_METRICS_TOKEN`` leaves
admins' tokens only.
"""
from __future__ import annotations

import hmac

from flask import Response, current_app, request

from .auth import _actor_from_request
from .errors import error_response

from supervision.gauges import operational_gauges


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(gauges: dict) -> str:
    lines = []

    def gauge(name: str, help_text: str, samples: list[tuple[dict, float]]):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")

    gauge("redwall_cases", "Cases by tenant and status.",
          [({"tenant": t, "status": s}, n) for t, s, n in gauges["cases"]])
    gauge("redwall_open_tasks", "Ready and claimed user tasks by tenant and status.",
          [({"tenant": t, "status": s}, n) for t, s, n in gauges["open_tasks"]])
    gauge("redwall_open_incidents", "Unresolved incidents by tenant.",
          [({"tenant": t}, n) for t, n in gauges["open_incidents"]])
    gauge("redwall_timers_pending", "Timers not yet fired.", [({}, gauges["timers_pending"])])
    gauge("redwall_timers_due", "Timers due (or claimed) and not yet fired.", [({}, gauges["timers_due"])])
    gauge("redwall_scheduler_lag_seconds", "How late the oldest due, unfired timer is.",
          [({}, gauges["scheduler_lag_seconds"])])
    gauge("redwall_schedulers", "Schedulers with a recent heartbeat row.", [({}, gauges["schedulers"])])
    return "\n".join(lines) + "\n"


def _only_tenant(gauges: dict, tenant: str) -> dict:
    gauges = dict(gauges)
    for key in ("cases", "open_tasks", "open_incidents"):
        gauges[key] = [row for row in gauges[key] if row[0] == tenant]
    return gauges


def register_metrics(app) -> None:
    @app.get("/metrics")
    def metrics():
        configured = current_app.config.get("REDWALL_METRICS_TOKEN") or ""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        gauges = operational_gauges(current_app.extensions["redwall"])
        if configured and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), configured.encode()):
            pass  # the installation's scraper: every tenant
        else:
            actor = _actor_from_request()
            if actor is None:
                response = error_response(401, "a bearer token is required: REDWALL_METRICS_TOKEN or an admin's token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="redwall"'
                return response
            if not actor.has_role("admin"):
                return error_response(403, "only admins (or the metrics token) read the metrics")
            gauges = _only_tenant(gauges, actor.tenant_code)
        body = render(gauges)
        return Response(body, mimetype="text/plain", headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
