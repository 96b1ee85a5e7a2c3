"""``GET /metrics`` in the Prometheus text format (aggregate counts only: no personal data)."""
from __future__ import annotations

from flask import Response, current_app

from workflows.gauges import operational_gauges


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


def register_metrics(app) -> None:
    @app.get("/metrics")
    def metrics():
        body = render(operational_gauges(current_app.extensions["redwall"]))
        return Response(body, mimetype="text/plain", headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
