"""Ratings (好差评): one per finished case; a bad one starts a follow-up case with its own deadline."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from onewindow import intake
from onewindow.intake import submit_application
from onewindow.models import Rating
from onewindow.ratings import rate_case
from tests.eligibility_helpers import eligible_resident
from tests.onewindow_helpers import one_window, work
from workflows.cases import get_case
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from worklists import inbox


@pytest.fixture
def actors(ctx, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    return one_window(ctx, residents=200)


def concluded_case(ctx, actors) -> dict:
    pid = eligible_resident(ctx, actors["intake1"], "senior_card")
    case = submit_application(ctx, actors["intake1"], "senior_card", pid, {})
    work(ctx, actors["intake1"], case["id"], "accept_application", {"acceptance": "accept"})
    work(ctx, actors["civil1"], case["id"], "review", {"review_result": "meets_conditions"})
    work(ctx, actors["civil1"], case["id"], "decide", {"approved": True})
    done, _ = work(ctx, actors["intake1"], case["id"], "hand_out", {"handed_to": "the applicant"})
    assert done["status"] == "concluded"
    return done


def test_one_rating_per_finished_case(ctx, actors):
    case = concluded_case(ctx, actors)
    rating = rate_case(ctx, actors["intake1"], case["id"], 5, "快 fast")
    assert (rating["score"], rating["bad"], rating["follow_up_case_id"]) == (5, False, None)
    with pytest.raises(Conflict):
        rate_case(ctx, actors["intake1"], case["id"], 4)
    for score in (0, 6, True, "5"):
        with pytest.raises(InvalidInput):
            rate_case(ctx, actors["intake1"], case["id"], score)
    with pytest.raises(Forbidden):
        rate_case(ctx, actors["civil1"], case["id"], 3)
    with pytest.raises(NotFound):
        rate_case(ctx, actors["intake9"], case["id"], 3)
    pid = eligible_resident(ctx, actors["intake1"], "senior_card")  # another resident: the first holds the card now
    still_open = submit_application(ctx, actors["intake1"], "senior_card", pid, {})
    with pytest.raises(Conflict):
        rate_case(ctx, actors["intake1"], still_open["id"], 2)
    with ctx.unit_of_work() as uow:
        assert len(list(uow.session.scalars(select(Rating)))) == 1


def test_a_bad_rating_starts_a_follow_up_case_for_the_supervisor(ctx, actors):
    case = concluded_case(ctx, actors)
    rating = rate_case(ctx, actors["intake1"], case["id"], 1, "排队太久 waited too long")
    assert rating["bad"] is True and rating["follow_up_case_number"]
    follow_up = get_case(ctx, actors["super1"], rating["follow_up_case_id"])
    assert follow_up["process_key"] == "rating_follow_up" and follow_up["deadline"] is not None
    assert follow_up["data"]["rated_case_number"] == case["number"]
    [task] = follow_up["tasks"]
    assert task["group"] == "supervision" and task["candidate_users"] == ["super1"]
    # the supervisor of the department sees it in the inbox, first by priority
    items, _ = inbox.list_tasks(ctx, actors["super1"], scope="all")
    assert task["id"] in [i["id"] for i in items]
    done, _ = work(ctx, actors["super1"], follow_up["id"], "follow_up",
                   {"contacted_on": "2026-11-26", "cause": "delay", "answer": "window hours extended", "rectified": True})
    assert done["status"] == "concluded"
