"""The supervisor's desk over HTTP: the overdue and warned lists, the weekly trend, pressing (督办)
and the department's answer — the contract, the roles and bad input."""
from __future__ import annotations

import pytest
import time_machine

from tests.e2e.test_supervision_api import walk
from tests.helpers import PASSWORD, Api, demo_files, make_users
from tests.timekeeping import beijing


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def _trail_kinds(api, case_id):
    r = api.get(f"/api/cases/{case_id}/trail", "auditor1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    events = body["events"] if isinstance(body, dict) else body
    return [e["kind"] for e in events]


def test_overdue_case_is_listed_pressed_and_answered(api):
    with time_machine.travel(beijing(2026, 9, 30, 10, 0), tick=False) as traveller:
        assert api.deploy("designer1", demo_files()).status_code == 201
        late = walk(api, 2, "civil_affairs", conclude=False)         # due Fri 9 October (1–7 are holidays)
        done = walk(api, 2, "disabled_federation", conclude=True)    # concluded at once
        traveller.move_to(beijing(2026, 10, 13, 9, 0))              # Tue 13
        api.tokens.clear()
        soon = walk(api, 1, "disabled_federation", conclude=False)   # due Wed 14, warned from the end of today
        traveller.move_to(beijing(2026, 10, 14, 9, 0))              # Wed: Sat 10 (调休, a working day), 12, 13, 14 over
        api.tokens.clear()
        r = api.get("/api/supervision/watchlist?kind=overdue", "super1")
        assert r.status_code == 200, r.get_json()
        [item] = r.get_json()["items"]
        assert item["case_id"] == late["id"] and item["department"] == "civil_affairs"
        assert item["working_days_over"] == 4 and item["deadline_date"] == "2026-10-09"
        assert item["last_press"] is None
        warned = api.get("/api/supervision/watchlist?kind=warned", "super1").get_json()["items"]
        assert [w["case_id"] for w in warned] == [soon["id"]] and warned[0]["working_days_left"] == 0

        # press: a comment is required, only supervisors and admins press, ended cases cannot be pressed
        url = f"/api/supervision/cases/{late['id']}/presses"
        assert api.post(url, "super1", json={"comment": "  "}).status_code == 422
        assert api.post(url, "super1", json={"comment": "x" * 1001}).status_code == 422
        assert api.post(url, "super1", json={"comment": "ok", "colour": "red"}).status_code == 422
        assert api.post(url, "civil1", json={"comment": "请加快"}).status_code == 403
        assert api.post(url, "auditor1", json={"comment": "请加快"}).status_code == 403
        r = api.post(f"/api/supervision/cases/{done['id']}/presses", "super1", json={"comment": "请加快"})
        assert r.status_code == 409, r.get_json()
        r = api.post(url, "super1", json={"comment": "请今天办结"})
        assert r.status_code == 201, r.get_json()
        press = r.get_json()
        assert press["pressed_by"] == "super1" and press["comment"] == "请今天办结" and press["answer"] is None
        assert press["department"] == "civil_affairs"
        assert "case.pressed" in _trail_kinds(api, late["id"])

        # the department sees it and answers once; another department does not see it
        [seen] = api.get(url, "civil1").get_json()
        assert seen["may_answer"] is True and seen["comment"] == "请今天办结"
        answer = f"/api/supervision/presses/{press['id']}/answer"
        assert api.post(answer, "disabled1", json={"answer": "好"}).status_code == 404
        assert api.post(answer, "super1", json={"answer": "好"}).status_code == 403
        assert api.post(answer, "civil1", json={"answer": ""}).status_code == 422
        r = api.post(answer, "civil1", json={"answer": "材料已齐，今日办结"})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["answered_by"] == "civil1"
        assert api.post(answer, "civil2", json={"answer": "again"}).status_code == 409
        assert "case.press_answered" in _trail_kinds(api, late["id"])
        [item] = api.get("/api/supervision/watchlist?kind=overdue", "super1").get_json()["items"]
        assert item["last_press"]["answer"] == "材料已齐，今日办结" and item["last_press"]["answered_by"] == "civil1"


def test_supervisors_see_only_their_departments_and_other_tenants_nothing(api, ctx):
    from workflows import accounts

    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "xichangan", "superd", PASSWORD, ["supervisor"], [], ["disabled_federation"])
        uow.commit()
    with time_machine.travel(beijing(2026, 9, 30, 10, 0), tick=False) as traveller:
        assert api.deploy("designer1", demo_files()).status_code == 201
        late = walk(api, 2, "civil_affairs", conclude=False)
        traveller.move_to(beijing(2026, 10, 13, 9, 0))
        api.tokens.clear()
        assert api.get("/api/supervision/watchlist", "superd").get_json()["items"] == []
        assert len(api.get("/api/supervision/watchlist", "admin1").get_json()["items"]) == 1
        assert len(api.get("/api/supervision/watchlist", "auditor1").get_json()["items"]) == 1
        url = f"/api/supervision/cases/{late['id']}/presses"
        assert api.post(url, "superd", json={"comment": "请加快"}).status_code == 404
        assert api.post("/api/supervision/cases/999999/presses", "super1", json={"comment": "请加快"}).status_code == 404
        assert api.get("/api/supervision/watchlist", "civil1").status_code == 403
        assert api.get(url, "civil9").status_code == 404  # another tenant's case


def test_weekly_trend(api):
    with time_machine.travel(beijing(2026, 10, 8, 10, 0), tick=False) as traveller:
        assert api.deploy("designer1", demo_files()).status_code == 201
        walk(api, 2, "disabled_federation", conclude=True)   # Thu 8 Oct, on time
        traveller.move_to(beijing(2026, 10, 14, 10, 0))     # the next week (Mon 12 – Sun 18)
        api.tokens.clear()
        r = api.get("/api/supervision/trend?weeks=3", "super1")
        assert r.status_code == 200, r.get_json()
        weeks = r.get_json()["weeks"]
        assert [w["week_start"] for w in weeks] == ["2026-09-28", "2026-10-05", "2026-10-12"]
        assert weeks[-1]["week_end"] == "2026-10-14"  # the current week runs to today
        assert weeks[1]["concluded"] == 1 and weeks[1]["on_time_rate"] == 1.0
        assert weeks[0]["concluded"] == 0 and weeks[0]["on_time_rate"] is None
        only = api.get("/api/supervision/trend?weeks=3&group=civil_affairs", "super1").get_json()["weeks"]
        assert sum(w["concluded"] for w in only) == 0


@pytest.mark.parametrize("query", ["weeks=0", "weeks=27", "weeks=many", "colour=red"])
def test_bad_trend_queries_are_422(api, query):
    r = api.get(f"/api/supervision/trend?{query}", "admin1")
    assert r.status_code == 422 and set(r.get_json()) >= {"code", "status", "message"}


@pytest.mark.parametrize("query", ["kind=late", "limit=0", "limit=501", "colour=red"])
def test_bad_watchlist_queries_are_422(api, query):
    r = api.get(f"/api/supervision/watchlist?{query}", "admin1")
    assert r.status_code == 422 and set(r.get_json()) >= {"code", "status", "message"}
