"""``redwall scheduler`` and ``redwall calendar``, and embedded mode: the app's own timer thread."""
from __future__ import annotations

import time
from pathlib import Path

import time_machine

from tests.helpers import Api, make_users
from tests.timekeeping import beijing, timers_of
from workflows.cases import start_case
from workflows.process_models import deploy_model

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "timers" / "wait_then_follow_up.bpmn"


def test_scheduler_once_fires_what_is_due(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("w.bpmn", FIXTURE.read_bytes())])
    with time_machine.travel(beijing(2026, 11, 25, 10, 0), tick=False) as traveller:
        case = start_case(ctx, actors["civil1"], "wait_then_follow_up", {"wait_for": "PT5S"})
        runner = app.test_cli_runner()
        result = runner.invoke(args=["scheduler", "--once", "--inline"])
        assert result.exit_code == 0 and "0 timers claimed" in result.output, result.output
        traveller.shift(6)
        result = runner.invoke(args=["scheduler", "--once", "--inline", "--name", "cli-test"])
        assert result.exit_code == 0 and "1 timers claimed" in result.output, result.output
    [wait, escalate] = timers_of(ctx, case["id"])
    assert wait.status == "fired" and wait.fired_by == "cli-test" and escalate.status == "pending"


def test_calendar_commands(app, ctx, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"])  # only this creates a tenant
    schedule = tmp_path / "2027.csv"
    schedule.write_text("# 2027 (example)\n2027-01-01,holiday,元旦\n2027-02-06,workday,春节调休\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(schedule)])
    assert result.exit_code == 0 and "2 days imported for every tenant" in result.output, result.output
    result = runner.invoke(args=["calendar", "show", "2027"])
    assert "source: overrides" in result.output
    assert "2027-01-01 Fri holiday" in result.output and "2027-02-06 Sat working day" in result.output
    result = runner.invoke(args=["calendar", "set", "2027-01-04", "--holiday", "--tenant", "xichangan", "--name", "local"])
    assert result.exit_code == 0 and "1 days set for xichangan" in result.output
    assert "2027-01-04 Mon holiday" in runner.invoke(args=["calendar", "show", "2027", "--tenant", "xichangan"]).output
    assert "2027-01-04" not in runner.invoke(args=["calendar", "show", "2027"]).output
    result = runner.invoke(args=["calendar", "unset", "2027-01-04", "--tenant", "xichangan"])
    assert "1 override rows removed" in result.output
    assert "2026-10-10 Sat working day" in runner.invoke(args=["calendar", "show", "2026"]).output
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-01,party\n")
    result = runner.invoke(args=["calendar", "import", str(bad)])
    assert result.exit_code == 2 and "line 1" in result.output


def test_embedded_mode_fires_timers_in_a_thread_of_the_app(tmp_path):
    """No REDIS_URL, not testing: the first request starts the timer thread (as in ``make run``)."""
    from flask_migrate import upgrade

    from server.app import create_app

    app = create_app({
        "SKIP_ENV": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'embedded.sqlite'}",
        "SECRET_KEY": "embedded-mode-test-secret-0123456789abcdef01234567", "REDIS_URL": None,
        "REDWALL_TIMEZONE": "Asia/Shanghai", "REDWALL_TOKEN_TTL": 3600, "REDWALL_SCRIPT_TIME_LIMIT": 1.0,
        "REDWALL_BACKGROUND": "auto", "REDWALL_SCHEDULER_INTERVAL": 0.1,
    })
    with app.app_context():
        upgrade()
        ctx = app.extensions["redwall"]
        make_users(ctx)
        api = Api(app.test_client())
        assert api.deploy("designer1", [("w.bpmn", FIXTURE.read_bytes())]).status_code == 201
        r = api.post("/api/process-models/wait_then_follow_up/instances", "civil1", json={"data": {"wait_for": "PT1S"}})
        case = r.get_json()
        assert r.status_code == 201 and case["tasks"] == []
        thread = app.extensions["redwall_background"]["thread"]
        assert thread is not None and thread.is_alive()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            tasks = api.get(f"/api/cases/{case['id']}", "civil1").get_json()["tasks"]
            if tasks:
                break
            time.sleep(0.1)
        assert [t["element_id"] for t in tasks] == ["follow_up"]
        health = api.get("/api/ops/health").get_json()
        assert health["mode"] == "embedded" and health["scheduler"]["running"] == 1
        thread.stop.set()
        thread.join(5)
        assert not thread.is_alive()
