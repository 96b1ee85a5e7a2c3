"""A burst of due timers fired in one transaction on PostgreSQL (workflows.case_repository.
BurstCaseRepository): task rows, case rows and trail events written once for the whole burst,
each timer still exactly once, and a case changed meanwhile sends the burst back to one by one."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import event, select, update

from tests.helpers import make_users
from tests.timekeeping import beijing, tasks_of, timers_of
from workflows import timers
from workflows.case_repository import BurstCaseRepository
from workflows.cases import start_case
from workflows.models import Case, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import verify_case_chain

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
WAITING = "wait_then_follow_up"
START = beijing(2026, 11, 25, 10, 0)


@pytest.fixture
def app(pg_app):
    """The burst is PostgreSQL's (SQLite fires a burst step by step, as before)."""
    return pg_app


@pytest.fixture
def cases(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], [("w.bpmn", (FIXTURES / "timers" / f"{WAITING}.bpmn").read_bytes())])
    with time_machine.travel(START, tick=False):
        return [start_case(ctx, actors["civil1"], WAITING, {"wait_for": "PT1M"}) for _ in range(12)]


def _claim(ctx, n):
    claim = timers.claim_due_timers(ctx, "burst-test", n)
    assert len(claim.ids) == n
    return claim.ids


def _exactly_once(ctx, cases, meddled=None):
    for case in cases:
        assert [t.element_id for t in tasks_of(ctx, case["id"])] == ["follow_up"]
        assert timers_of(ctx, case["id"])[0].status == "fired"
        with ctx.unit_of_work() as uow:
            kinds = uow.session.scalars(
                select(TrailEvent.kind).where(TrailEvent.case_id == case["id"]).order_by(TrailEvent.seq)).all()
            # one write by the start, one by the timer (and one by the other writer, if any)
            assert uow.session.get(Case, case["id"]).version == (3 if case["id"] == meddled else 2)
        assert kinds.count("timer.fired") == 1 and kinds.count("task.created") == 1, kinds
        assert verify_case_chain(ctx, None, case["id"])["valid"] is True


def test_a_burst_writes_its_task_rows_cases_and_events_in_a_few_statements(ctx, cases):
    statements = []
    engine = ctx.session_factory().get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with time_machine.travel(START + timedelta(seconds=61), tick=False):
        ids = _claim(ctx, len(cases))
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert timers.fire_timers(ctx, ids, "w1") == {"fired": len(cases)}
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    _exactly_once(ctx, cases)
    # per case only the row of its next timer (the follow-up task's boundary timer, the bpmn_timers
    # handler); for the whole burst: mark fired, read the cases, draw task ids, insert the tasks,
    # insert the events, update the cases
    new_timers = [s for s in statements if s.startswith("INSERT INTO timers")]
    assert len(new_timers) == len(cases)
    assert len(statements) - len(new_timers) <= 8, statements


def test_a_case_changed_while_the_burst_ran_sends_it_back_to_one_by_one_and_each_fires_once(ctx, cases,
                                                                                            monkeypatch):
    flush = BurstCaseRepository.flush
    changed = []

    def meddle(self):
        if not changed and self._writes:  # another transaction writes one of the burst's cases first
            case_id = self._writes[0]["id"]
            other = ctx.session_factory().get_bind()
            with other.begin() as conn:
                conn.execute(update(Case).where(Case.id == case_id).values(updated_at=Case.updated_at,
                                                                          version=Case.version + 1))
            changed.append(case_id)
        return flush(self)

    monkeypatch.setattr(BurstCaseRepository, "flush", meddle)
    with time_machine.travel(START + timedelta(seconds=61), tick=False):
        ids = _claim(ctx, len(cases))
        assert timers.fire_timers(ctx, ids, "w1") == {"fired": len(cases)}
    assert changed
    _exactly_once(ctx, cases, meddled=changed[0])
