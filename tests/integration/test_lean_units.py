"""The hot path's units of work on a LeanSession (``workflows.unit_of_work``): a start and a
completion of their own begin no ORM Session, yet whatever asks the scope's session inside them
(a nested unit, a helper on ``db.session``, an ORM query) works in their one transaction; an error
leaves nothing written; and the scope's own session is back, untouched, when they end.
PostgreSQL only: the web app sets ``sql_engine`` there alone."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.extensions import db
from tests.helpers import demo_files, make_users
from workflows.cases import start_case
from workflows.models import Case, Task, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import verify_case_chain
from workflows.unit_of_work import LeanSession
from worklists import commands


@pytest.fixture
def app(pg_app):
    return pg_app


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    return actors


@pytest.fixture
def begun():
    """Every ORM Session that begins a transaction while the test runs."""
    sessions = []

    def note(session, transaction, connection):
        sessions.append(session)

    event.listen(Session, "after_begin", note)
    yield sessions
    event.remove(Session, "after_begin", note)


def _count(ctx, model, **where):
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_a_start_and_a_completion_begin_no_session_and_verify(ctx, actors, begun):
    assert ctx.sql_engine is not None
    case = start_case(ctx, actors["intake1"], "service_application")
    task_id = case["tasks"][0]["id"]
    commands.claim(ctx, actors["intake1"], task_id)
    commands.complete(ctx, actors["intake1"], task_id, {"acceptance": "accept", "department": "civil_affairs"})
    assert begun == []
    report = verify_case_chain(ctx, None, case["id"])
    assert report["valid"] and report["checked"] >= 4, report
    assert _count(ctx, Task, case_id=case["id"], status="completed") == 1


def test_the_scope_asks_the_lean_unit_inside_it_and_gets_its_own_session_back(ctx, actors):
    before = db.session()  # the scope's own session, idle
    with ctx.unit_of_work(lean=True) as uow:
        assert isinstance(uow.session, LeanSession)
        assert db.session() is uow.session  # a helper on db.session works in this unit
        with ctx.unit_of_work() as inner:  # a nested unit joins it
            assert inner.outer is uow and inner.session is uow.session
        view = start_case(ctx, actors["intake1"], "service_application", uow=uow)
        # an ORM query in the same transaction sees the uncommitted case
        assert uow.session.get(Case, view["id"]).number == view["number"]
        uow.commit()
    assert db.session() is before
    assert _count(ctx, Case, id=view["id"]) == 1


def test_a_failing_lean_unit_leaves_nothing(ctx, actors):
    cases_before = _count(ctx, Case)
    events_before = _count(ctx, TrailEvent)
    with pytest.raises(RuntimeError, match="after the step"):
        with ctx.unit_of_work(lean=True) as uow:
            start_case(ctx, actors["intake1"], "service_application", uow=uow)
            raise RuntimeError("after the step, before the commit")
    assert _count(ctx, Case) == cases_before and _count(ctx, TrailEvent) == events_before
    assert not isinstance(db.session(), LeanSession)


def test_a_busy_scope_keeps_its_session(ctx, actors):
    """A scope whose session is in a transaction (or holds objects) is not stood in for: the unit
    joins nothing and runs on that session, as every unit did before."""
    db.session.execute(select(1))  # the scope's session is now in a transaction
    busy = db.session()
    with ctx.unit_of_work(lean=True) as uow:
        assert uow.session is busy
        uow.rollback()
    assert db.session() is busy
