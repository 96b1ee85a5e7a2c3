"""The ``redwall`` command: users, deployments and the demo data."""
from __future__ import annotations

from sqlalchemy import select

from tests.helpers import DEMO_MODEL_DIR, Api
from workflows.models import ProcessModel, User


def test_users_add_and_login(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"]).exit_code == 0
    result = runner.invoke(
        args=["users", "add", "clerk7", "--tenant", "xichangan", "--role", "clerk", "--group", "civil_affairs",
              "--password", "a-long-password"],
    )
    assert result.exit_code == 0, result.output
    r = app.test_client().post("/api/auth/token", json={"username": "clerk7", "password": "a-long-password"})
    assert r.status_code == 200 and r.get_json()["user"]["groups"] == ["civil_affairs"]
    again = runner.invoke(args=["users", "add", "clerk7", "--tenant", "xichangan", "--role", "clerk", "--password", "a-long-password"])
    assert again.exit_code == 2 and "exists" in again.output
    bad = runner.invoke(args=["users", "add", "x8", "--tenant", "xichangan", "--role", "wizard", "--password", "a-long-password"])
    assert bad.exit_code != 0


def test_deploy_command(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"]).exit_code == 0
    files = [str(p) for p in sorted(DEMO_MODEL_DIR.iterdir())]
    result = runner.invoke(args=["deploy", "--tenant", "xichangan", *files])
    assert result.exit_code == 0 and "service_application version 1 deployed" in result.output, result.output
    result = runner.invoke(args=["deploy", "--tenant", "xichangan", *files])
    assert "version 1 unchanged" in result.output


def test_deploy_command_says_when_a_model_cannot_run_and_what_it_warns(app, tmp_path):
    from tests.e2e.test_designer_uploads import NOT_EXECUTABLE
    from tests.unit.test_model_parsing import DI_AND_VENDOR

    runner = app.test_cli_runner()
    assert runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"]).exit_code == 0
    (tmp_path / "leave.bpmn").write_bytes(NOT_EXECUTABLE)
    result = runner.invoke(args=["deploy", "--tenant", "xichangan", str(tmp_path / "leave.bpmn")])
    assert result.exit_code == 0, result.output
    assert "leave_request version 1 deployed (not executable: stored to be viewed and edited" in result.output
    (tmp_path / "di.bpmn20.xml").write_bytes(DI_AND_VENDOR)
    result = runner.invoke(args=["deploy", "--tenant", "xichangan", str(tmp_path / "di.bpmn20.xml")])
    assert result.exit_code == 0 and "proc version 1 deployed\n" in result.output, result.output
    assert "warning: di.bpmn20.xml:" in result.output and "[shape_work]" in result.output


def test_demo_loads_users_and_models_idempotently(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "created" not in second.output
    ctx = app.extensions["redwall"]
    with ctx.unit_of_work() as uow:
        names = set(uow.session.scalars(select(User.username)))
        keys = set(uow.session.scalars(select(ProcessModel.key)))
    assert {"intake1", "civil1", "disabled1", "super1", "designer1", "auditor1", "admin1"} <= names
    assert "service_application" in keys
    client = app.test_client()
    r = client.post("/api/auth/token", json={"username": "super1", "password": "redwall-demo"})
    assert r.status_code == 200 and r.get_json()["user"]["supervises"] == ["civil_affairs", "disabled_federation"]


def test_only_tenants_add_creates_a_tenant_and_a_typo_fails(app):
    from workflows.models import Tenant

    runner = app.test_cli_runner()
    created = runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"])
    assert created.exit_code == 0, created.output
    assert runner.invoke(args=["tenants", "add", "xichangan", "--name", "again"]).exit_code == 2
    assert runner.invoke(args=["tenants", "add", "Bad Code", "--name", "x"]).exit_code == 2
    assert runner.invoke(args=["tenants", "add", "dongcheng", "--name", "x", "--timezone", "Mars/Base"]).exit_code == 2
    files = [str(p) for p in sorted(DEMO_MODEL_DIR.iterdir())]
    for args in (["users", "add", "clerk8", "--tenant", "xichangna", "--role", "clerk", "--password", "a-long-password"],
                 ["deploy", "--tenant", "xichangna", *files],
                 ["demo-data", "--tenant", "xichangna", "--residents", "10"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2 and "no tenant 'xichangna'" in result.output, (args, result.output)
    listed = runner.invoke(args=["tenants", "list"])
    assert listed.output.split() == ["xichangan", "西长安街街道", "Asia/Shanghai"]
    with app.app_context():
        from server.extensions import db

        assert [t.code for t in db.session.scalars(select(Tenant))] == ["xichangan"]
