"""GET /metrics: Prometheus text with counts that follow what happens."""
from __future__ import annotations

from tests.helpers import Api, demo_files, make_users


def sample(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{want}}} " if want else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0.0


def test_metrics_follow_cases_and_tasks(app, ctx):
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    before = app.test_client().get("/metrics")
    assert before.status_code == 200 and before.mimetype == "text/plain"
    assert "# TYPE redwall_cases gauge" in before.get_data(as_text=True)
    for _ in range(3):
        api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}})
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert sample(text, "redwall_cases", tenant="xichangan", status="open") == 3
    assert sample(text, "redwall_open_tasks", tenant="xichangan", status="ready") == 3
    assert sample(text, "redwall_cases", tenant="jinrong", status="open") == 0
