"""The supervisor's dashboard over HTTP: figures, trend data, the overdue list, pressing (督办) and
the department's answer from its inbox — on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import time_machine

from tests.e2e.pages import Browser
from tests.e2e.test_supervision_api import walk
from tests.helpers import Api, demo_files, make_users
from tests.timekeeping import beijing
from workflows.models import CasePress


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def test_supervisor_presses_an_overdue_case_and_the_clerk_answers(app, ctx, api):
    with time_machine.travel(beijing(2026, 9, 30, 10, 0), tick=False) as traveller:
        assert api.deploy("designer1", demo_files()).status_code == 201
        late = walk(api, 2, "civil_affairs", conclude=False)
        traveller.move_to(beijing(2026, 10, 13, 9, 0))
        supervisor = Browser(app)
        supervisor.sign_in("super1")
        page = supervisor.get("/supervision")
        html = supervisor.text(page)
        assert page.status_code == 200
        assert late["number"] in html and f'id="case-{late["id"]}"' in html
        assert "超期" in html and "督办" in html  # Chinese labels by default
        assert 'src="/static/js/supervision.js"' in html and "<script>" not in html
        trend = supervisor.get("/supervision/trend.json")
        assert trend.status_code == 200 and len(trend.get_json()["weeks"]) == 8

        # an empty comment presses nothing and says why
        supervisor.post(f"/supervision/cases/{late['id']}/press", {"comment": " "})
        assert "flash error" in supervisor.text(supervisor.followed)
        with ctx.unit_of_work() as uow:
            assert uow.session.query(CasePress).count() == 0
        r = supervisor.post(f"/supervision/cases/{late['id']}/press", {"comment": "请今天办结"})
        assert r.status_code == 302
        assert "flash ok" in supervisor.text(supervisor.followed)
        assert "super1" in supervisor.text(supervisor.get("/supervision"))

        clerk = Browser(app)
        clerk.sign_in("civil1")
        inbox = clerk.text(clerk.get("/inbox"))
        assert "请今天办结" in inbox and late["number"] in inbox
        with ctx.unit_of_work() as uow:
            [press_id] = [p.id for p in uow.session.query(CasePress)]
        other = Browser(app)
        other.sign_in("disabled1")
        assert "请今天办结" not in other.text(other.get("/inbox"))
        assert other.post(f"/presses/{press_id}/answer", {"answer": "x"}).status_code == 404
        clerk.post(f"/presses/{press_id}/answer", {"answer": "材料已齐，今日办结", "back": "https://evil.example/"})
        assert clerk.followed.request.path == "/inbox"
        assert "请今天办结" not in clerk.text(clerk.followed)  # answered: off the inbox
        dashboard = supervisor.text(supervisor.get("/supervision"))
        assert "材料已齐，今日办结" in dashboard and "civil1" in dashboard
        case_page = clerk.text(clerk.get(f"/cases/{late['id']}"))
        assert "请今天办结" in case_page and "材料已齐，今日办结" in case_page


def test_dashboard_belongs_to_supervisors_and_reads_bad_periods_in_words(app, api):
    clerk = Browser(app)
    clerk.sign_in("civil1")
    assert clerk.get("/supervision").status_code == 403
    assert clerk.post("/supervision/cases/1/press", {"comment": "x"}).status_code == 403
    supervisor = Browser(app)
    supervisor.sign_in("super1")
    for query in ("from=yesterday", "from=2026-10-11&to=2026-09-01", "group_by=planet", "from=" + "9" * 300):
        page = supervisor.get(f"/supervision?{query}")
        assert page.status_code == 200, query
    assert "flash error" in supervisor.text(supervisor.get("/supervision?from=yesterday"))
