"""POST/GET /api/process-models/{key}/migrations: dry run, the real run in the background, who may,
bad input; 1,000 running cases moved in one call on PostgreSQL."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import _truncate
from tests.helpers import Api, make_users
from workflows.cases import start_case
from workflows.models import Case, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import verify_case_chain

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "migration"
URL = "/api/process-models/moving/migrations"


def v1_files():
    return [("moving.bpmn", (FIXTURES / "moving_v1.bpmn").read_bytes())]


def v2_files():
    return [("moving.bpmn", (FIXTURES / "moving_v2.bpmn").read_bytes()),
            ("review.json", (FIXTURES / "review.json").read_bytes())]


def follow(api: Api, location: str, user: str = "designer1", seconds: float = 300) -> dict:
    """GET the run until it is no longer running."""
    deadline = time.monotonic() + seconds
    while True:
        r = api.get(location, user)
        assert r.status_code == 200, r.get_json()
        run = r.get_json()
        if run["status"] != "running" or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


@pytest.fixture
def world(app, ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], v1_files())
    return actors, Api(app.test_client())


def test_dry_run_then_the_real_run_followed_to_its_end(ctx, world):
    actors, api = world
    cases = [start_case(ctx, actors["intake1"], "moving", {"applicant_name": "王芳"})["id"] for _ in range(3)]
    assert api.deploy("designer1", v2_files()).status_code == 201

    r = api.post(URL, "designer1", json={"from_version": 1, "to_version": 2, "dry_run": True})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["status"] == "done" and report["dry_run"] is True
    assert [(c["id"], c["migratable"], c["reason"]) for c in report["cases"]] == [(c, True, None) for c in cases]
    assert r.headers["Location"] == f"{URL}/{report['id']}"

    r = api.post(URL, "admin1", json={"from_version": 1, "to_version": 2, "dry_run": False, "case_ids": cases[:2]})
    assert r.status_code == 202, r.get_json()
    run = follow(api, r.headers["Location"], "admin1")
    assert run["status"] == "done" and run["counts"]["migrated"] == 2 and run["created_by"] == "admin1"
    assert {c["id"] for c in run["cases"]} == set(cases[:2])
    with ctx.unit_of_work() as uow:
        versions = dict(uow.session.execute(select(Case.id, Case.model_version)).all())
    assert versions == {cases[0]: 2, cases[1]: 2, cases[2]: 1}
    listed = api.get(URL, "designer1").get_json()["items"]
    assert [r["id"] for r in listed] == [run["id"], report["id"]] and "cases" not in listed[0]


def test_a_blocked_case_says_why_and_a_mapping_moves_it(ctx, world):
    actors, api = world
    case = start_case(ctx, actors["intake1"], "moving", {"applicant_name": "王芳"})
    from tests.integration.test_case_migration import work
    import time_machine
    from datetime import timedelta
    from tests.timekeeping import run_due

    work(ctx, actors["intake1"], case["id"], "accept")
    with time_machine.travel(ctx.clock() + timedelta(hours=2, seconds=1), tick=False):
        run_due(ctx)
    work(ctx, actors["civil1"], case["id"], "review")
    assert api.deploy("designer1", v2_files()).status_code == 201
    report = api.post(URL, "designer1", json={"from_version": 1, "to_version": 2}).get_json()
    [row] = report["cases"]
    assert row["migratable"] is False and "decide" in row["reason"] and row["reasons"][0]["code"] == "waiting_element_gone"

    r = api.post(URL, "designer1", json={"from_version": 1, "to_version": 2, "mapping": {"decide": "review"},
                                         "dry_run": False})
    assert r.status_code == 202
    run = follow(api, r.headers["Location"])
    assert run["counts"]["migrated"] == 1
    assert api.get(f"/api/cases/{case['id']}", "admin1").get_json()["tasks"][0]["element_id"] == "review"


@pytest.mark.parametrize("body, field", [
    ({"to_version": 2}, "from_version"),
    ({"from_version": "1", "to_version": 2}, "from_version"),
    ({"from_version": 1, "to_version": 2, "case_ids": "all"}, "case_ids"),
    ({"from_version": 1, "to_version": 2, "mapping": {"decide": 5}}, "mapping"),
    ({"from_version": 1, "to_version": 2, "mapping": {"nowhere": "review"}}, "mapping"),
    ({"from_version": 1, "to_version": 2, "dry_run": "yes please"}, "dry_run"),
    ({"from_version": 1, "to_version": 2, "everything": True}, "everything"),
    ({"from_version": 2, "to_version": 2}, "to_version"),
])
def test_bad_input_is_a_clear_422(world, body, field):
    actors, api = world
    assert api.deploy("designer1", v2_files()).status_code == 201
    r = api.post(URL, "designer1", json=body)
    assert r.status_code == 422, r.get_json()
    assert field in str(r.get_json()["errors"])


def test_who_may_and_other_tenants(ctx, world):
    actors, api = world
    assert api.deploy("designer1", v2_files()).status_code == 201
    body = {"from_version": 1, "to_version": 2}
    assert api.post(URL, None, json=body).status_code == 401
    for user in ("intake1", "civil1", "super1", "auditor1"):
        assert api.post(URL, user, json=body).status_code == 403, user
    assert api.post(URL, "designer9", json=body).status_code == 404  # another tenant's key
    assert api.post(URL, "designer1", json={"from_version": 1, "to_version": 7}).status_code == 404
    run = api.post(URL, "designer1", json=body).get_json()
    assert api.get(f"{URL}/{run['id']}", "designer9").status_code == 404
    assert api.get(f"{URL}/{run['id']}", "civil1").status_code == 403
    assert api.get(f"{URL}/999999", "designer1").status_code == 404
    assert api.get(f"/api/process-models/other/migrations/{run['id']}", "designer1").status_code == 404


@pytest.fixture
def pg(postgres_app):
    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app


def test_a_thousand_running_cases_move_in_one_call_on_postgresql(pg):
    ctx = pg.extensions["redwall"]
    actors = make_users(ctx)
    api = Api(pg.test_client())
    deploy_model(ctx, actors["designer1"], v1_files())
    data = {"applicant_name": "王芳", "note": "kept"}
    for _ in range(1000):
        start_case(ctx, actors["intake1"], "moving", data)
    deploy_model(ctx, actors["designer1"], v2_files())

    r = api.post(URL, "designer1", json={"from_version": 1, "to_version": 2, "dry_run": False})
    assert r.status_code == 202, r.get_json()
    run = follow(api, r.headers["Location"], seconds=600)
    assert run["status"] == "done", run
    assert run["counts"]["migrated"] == 1000 and run["processed"] == 1000 and run["pending"] == 0
    assert run["batches"] == 10
    with ctx.unit_of_work() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Case).where(Case.model_version == 2)) == 1000
        assert s.scalar(select(func.count()).select_from(Case).where(Case.data != None)) == 1000  # noqa: E711
        moved = s.scalar(select(func.count()).select_from(TrailEvent).where(TrailEvent.kind == "case.migrated"))
        assert moved == 1000
        some = s.scalars(select(Case.id).order_by(Case.id).limit(3)).all()
        assert all(c.data == data for c in s.scalars(select(Case)).all())
    assert all(verify_case_chain(ctx, None, case_id)["valid"] for case_id in some)
