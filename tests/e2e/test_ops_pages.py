"""The operations desk over HTTP: health and cases, incidents retried from the page, users added,
changed, reset and disabled through forms — with the disabled user's session out at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from server.demo import system_actor
from tests.e2e.pages import Browser
from tests.helpers import Api, demo_files, make_users
from workflows.cases import start_case
from workflows.models import Incident, User


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def test_health_incidents_and_retry(app, ctx, api):
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
    failing = (fixtures / "cases" / "scripted.bpmn").read_text().replace("SCRIPT", "result = no_such_name + 1")
    from workflows.process_models import deploy_model

    deploy_model(ctx, system_actor(ctx, "xichangan"), [("scripted.bpmn", failing.encode())])
    start_case(ctx, system_actor(ctx, "xichangan"), "scripted")
    with ctx.unit_of_work() as uow:
        incident = uow.session.scalar(select(Incident.id).where(Incident.resolved_at.is_(None)))
    admin = Browser(app)
    admin.sign_in("admin1")
    html = admin.text(admin.get("/ops"))
    assert "运行状况" in html and "各状态办件数" in html and "no_such_name" in html
    admin.post(f"/ops/incidents/{incident}/retry")
    assert "flash error" in admin.text(admin.followed)  # it failed again, said in words
    clerk = Browser(app)
    clerk.sign_in("civil1")
    assert clerk.get("/ops").status_code == 403
    assert clerk.post(f"/ops/incidents/{incident}/retry").status_code == 403


def test_users_through_the_forms(app, ctx, api):
    admin = Browser(app)
    admin.sign_in("admin1")
    admin.post("/ops/users", {"username": "civil5", "password": "short", "roles": "clerk"})
    assert "flash error" in admin.text(admin.followed)
    admin.post("/ops/users", {"username": "civil5", "password": "a-long-password", "roles": ["clerk"],
                              "groups": "civil_affairs", "display_name": "王五"})
    assert "flash ok" in admin.text(admin.followed) and 'id="user-civil5"' in admin.text(admin.followed)
    admin.post("/ops/users", {"username": "civil5", "password": "a-long-password", "roles": ["clerk"]})
    assert "flash error" in admin.text(admin.followed)
    admin.post("/ops/users/civil5", {"roles": ["clerk"], "groups": "civil_affairs, disabled_federation"})
    with ctx.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == "civil5"))
        assert user.groups == ["civil_affairs", "disabled_federation"]

    clerk = Browser(app)
    clerk.sign_in("civil5", "a-long-password")
    assert clerk.get("/inbox").status_code == 200
    admin.post("/ops/users/civil5/password", {"password": "another-password"})
    assert "flash ok" in admin.text(admin.followed)
    assert clerk.get("/inbox").status_code == 302  # the old session ended with the reset
    clerk.sign_in("civil5", "another-password")
    admin.post("/ops/users/civil5/active", {"active": "0"})
    assert clerk.get("/inbox").status_code == 302  # disabled: out at once
    admin.post("/ops/users/admin1/active", {"active": "0"})
    assert "flash error" in admin.text(admin.followed)  # not oneself
    assert admin.get("/ops/users/civil9").status_code == 404  # another tenant's user
    assert admin.get("/ops/users/nobody").status_code == 404
