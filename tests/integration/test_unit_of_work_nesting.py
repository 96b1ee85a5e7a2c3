"""Units of work nested in one another, on the app's scoped session (the same session twice):
the inner unit joins the outer one or makes it raise; it never silently drops the outer work."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import make_users
from workflows.cases import get_case, start_case
from workflows.models import Case, Tenant, TrailEvent
from workflows.process_models import deploy_model
from workflows.unit_of_work import NestedUnitFailed
from tests.helpers import demo_files


def _tenant_names(ctx) -> set[str]:
    with ctx.unit_of_work() as uow:
        return set(uow.session.scalars(select(Tenant.code)))


def _add_tenant(uow, code: str) -> None:
    uow.session.add(Tenant(code=code, name=code, timezone="Asia/Shanghai"))
    uow.session.flush()


def test_the_app_context_hands_out_one_session_so_units_nest(ctx):
    with ctx.unit_of_work() as outer, ctx.unit_of_work() as inner:
        assert inner.session is outer.session and inner.outer is outer


def test_an_inner_unit_joins_the_outer_one_and_the_outer_commit_keeps_both(ctx):
    with ctx.unit_of_work() as outer:
        _add_tenant(outer, "outer-a")
        with ctx.unit_of_work() as inner:
            _add_tenant(inner, "inner-a")
            inner.record("test.inner", 1)
            inner.commit()  # leaves the commit to the outer unit
        assert [e.kind for e in outer.events] == ["test.inner"]  # the inner unit's events are the outer's
        outer.events.clear()
        _add_tenant(outer, "outer-b")  # the session is still open and in the same transaction
        outer.commit()
    assert {"outer-a", "inner-a", "outer-b"} <= _tenant_names(ctx)


def test_an_inner_unit_that_did_not_commit_does_not_drop_the_outer_work(ctx):
    with ctx.unit_of_work() as outer:
        _add_tenant(outer, "outer-c")
        with ctx.unit_of_work() as inner:  # a read-only use case inside
            inner.session.scalars(select(Tenant.id)).all()
        outer.commit()
    assert "outer-c" in _tenant_names(ctx)


def test_an_inner_unit_that_failed_makes_the_outer_commit_raise_and_nothing_is_written(ctx):
    with ctx.unit_of_work() as outer:
        _add_tenant(outer, "outer-d")
        try:
            with ctx.unit_of_work() as inner:
                _add_tenant(inner, "inner-d")
                raise ValueError("the inner use case failed")
        except ValueError:
            pass  # a caller that swallows the error still cannot commit half the work
        with pytest.raises(NestedUnitFailed):
            outer.commit()
    assert not {"outer-d", "inner-d"} & _tenant_names(ctx)


def test_after_commit_work_of_an_inner_unit_runs_once_the_outer_unit_commits(ctx):
    ran = []
    with ctx.unit_of_work() as outer:
        with ctx.unit_of_work() as inner:
            inner.after_commit(lambda: ran.append("inner"))
            inner.commit()
        assert ran == []
        outer.commit()
    assert ran == ["inner"]


def test_a_use_case_with_its_own_unit_inside_another_unit_is_committed_with_it(ctx):
    """start_case opens its own unit; inside an outer unit it joins, and its case and events
    are written by the outer commit together with the outer unit's work."""
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    with ctx.unit_of_work() as outer:
        _add_tenant(outer, "outer-e")
        case = start_case(ctx, actors["intake1"], "service_application", {"applicant_name": "王芳"})
        outer.commit()
    assert "outer-e" in _tenant_names(ctx)
    assert get_case(ctx, actors["intake1"], case["id"])["status"] == "open"
    with ctx.unit_of_work() as uow:
        kinds = uow.session.scalars(select(TrailEvent.kind).where(TrailEvent.case_id == case["id"])).all()
        assert uow.session.get(Case, case["id"]).number == case["number"]
    assert "case.received" in kinds and "task.created" in kinds
