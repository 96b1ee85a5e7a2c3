"""Ratings (好差评, 国办发〔2019〕51号; GB/T 39734-2020): one per case, five levels.

5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. A bad rating (1–2) starts a
follow-up case of its own (process ``rating_follow_up``, its own time limit) in which the
supervisor of the deciding department contacts the resident and answers — in the same
transaction as the rating, so there is never a bad rating without its follow-up.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflows.accounts import Actor
from workflows.cases import FINAL_CASE_STATUSES, start_case
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case, Group, GroupMembership, User

from .models import Rating

RATE_ROLES = ("intake", "admin")
LEVELS = {5: "非常满意 very satisfied", 4: "满意 satisfied", 3: "基本满意 fairly satisfied",
          2: "不满意 dissatisfied", 1: "非常不满意 very dissatisfied"}
BAD = (1, 2)
FOLLOW_UP_PROCESS = "rating_follow_up"
MAX_COMMENT = 2000


def rating_view(rating: Rating, follow_up_number: str | None = None) -> dict:
    return {"id": rating.id, "case_id": rating.case_id, "score": rating.score, "level": LEVELS[rating.score],
            "comment": rating.comment, "rated_by": rating.rated_by, "rated_at": rating.rated_at,
            "bad": rating.score in BAD, "follow_up_case_id": rating.follow_up_case_id,
            "follow_up_case_number": follow_up_number}


def supervisors_of(session, tenant_id: int, group: str) -> list[str]:
    """Usernames of the active users who supervise ``group`` in the tenant."""
    return list(session.scalars(
        select(User.username).join(GroupMembership, GroupMembership.user_id == User.id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(Group.tenant_id == tenant_id, Group.code == group, GroupMembership.kind == "supervisor",
               User.active.is_(True)).order_by(User.username)
    ))


def rate_case(ctx: EngineContext, actor: Actor, case_id: int, score: int, comment: str | None = None) -> dict:
    """Record the resident's rating of a finished case (entered at the window or its terminal)."""
    if not actor.has_role(*RATE_ROLES):
        raise Forbidden("ratings are entered at the intake window")
    if isinstance(score, bool) or not isinstance(score, int) or score not in LEVELS:
        raise InvalidInput("the score is 1 to 5", {"score": ["a whole number from 1 (very dissatisfied) to 5"]})
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("the comment is too long", {"comment": [f"at most {MAX_COMMENT} characters"]})
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = s.get(Case, case_id)
        if case is None or case.tenant_id != actor.tenant_id:
            raise NotFound(f"case {case_id} does not exist")
        if case.status not in FINAL_CASE_STATUSES:
            raise Conflict("a case is rated once it is concluded or refused")
        if s.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
            raise Conflict("this case has been rated already (one rating per case)")
        now = ctx.clock()
        rating = Rating(tenant_id=actor.tenant_id, case_id=case.id, score=score, comment=comment,
                        rated_by=actor.username, rated_at=now)
        s.add(rating)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict("this case has been rated already (one rating per case)") from None
        follow_up = None
        if score in BAD:
            department = (case.data or {}).get("department")
            bosses = supervisors_of(s, actor.tenant_id, department) if department else []
            follow_up = start_case(
                ctx, actor, FOLLOW_UP_PROCESS,
                {"rated_case_id": case.id, "rated_case_number": case.number, "score": score, "comment": comment,
                 "rated_service_code": case.service_code, "rated_department": department,
                 # the department's supervisors work it (the department itself if it has none)
                 "candidate_users": bosses, "candidate_groups": [] if bosses or not department else [department]},
                applicant_id=case.applicant_id, uow=uow,
            )
            rating.follow_up_case_id = follow_up["id"]
            s.flush()
        uow.record("case.rated", actor.tenant_id, case_id=case.id, actor=actor.username, at=now,
                   data={"score": score, "level": LEVELS[score], "comment": comment,
                         "follow_up_case": follow_up["number"] if follow_up else None})
        view = rating_view(rating, follow_up["number"] if follow_up else None)
        uow.commit()
        return view
