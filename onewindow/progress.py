"""Progress for residents (一网通办): the receipt's code opens a public page of the case's stages.

At intake every catalogue case gets a short verification code (:func:`new_code`: 6 characters
from an alphabet without look-alikes, about 887 million codes), printed on the receipt with the
case number. :func:`public_progress` answers the number and the code — no sign-in — with the
case's stages in Chinese and the applicant's masked name, nothing else. A wrong number and a
wrong code give the same answer (404, "no case with this number and code"), so the page never
confirms that a case exists; wrong answers are counted per client address and per case number in
the database (the login counters' table, :mod:`people.logins`), so every process sees them:
:data:`ADDRESS_LIMIT` / :data:`NUMBER_LIMIT` failures within 15 minutes lock that key for 15.
"""
from __future__ import annotations

import hmac
import math
import secrets

from sqlalchemy import select

from workflows.context import EngineContext
from workflows.errors import NotFound, TooManyAttempts
from people.logins import count_failure, locked_until
from workflows.models import Case, Task

from .catalogue import load_catalogue
from .models import Intake

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read off paper and typed on a phone
CODE_LENGTH = 6
ADDRESS_LIMIT = 20
NUMBER_LIMIT = 5
MAX_NUMBER = 40
WINDOW_ROLES = ("intake", "admin")
DEPARTMENT_TASKS = ("review", "decide")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str | None) -> str:
    return "".join((code or "").split()).upper()[:CODE_LENGTH * 2]


def mask_name(name: str | None) -> str:
    """王芳 → 王*, 欧阳娜娜 → 欧***: the family name's first character stays."""
    name = (name or "").strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def progress_code_of(ctx: EngineContext, actor, case_id: int) -> str | None:
    """The code printed on the receipt, for the window and admins (None for everyone else)."""
    if not actor.has_role(*WINDOW_ROLES):
        return None
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(select(Intake.progress_code).where(
            Intake.tenant_id == actor.tenant_id, Intake.case_id == case_id))


def _stage(key: str, name: str, status: str, at=None) -> dict:
    return {"key": key, "name": name, "status": status, "at": at}


def stages_of(case: Case, tasks: list[Task], department_name: str) -> list[dict]:
    """The stages a resident understands, each ``done``, ``current`` or ``pending``."""
    by_element: dict[str, list[Task]] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        by_element.setdefault(task.element_id, []).append(task)

    def last(element):
        found = by_element.get(element) or []
        return found[-1] if found else None

    def is_open(task):
        return task is not None and task.status in ("ready", "claimed")

    stages = [_stage("received", "已收件", "done", case.created_at)]
    accept = last("accept_application")
    data = case.data or {}
    if case.status == "refused":
        stages.append(_stage("refused", "不予受理", "done", case.ended_at))
        return stages
    if case.status == "waiting_applicant":
        stages.append(_stage("supplement", "待补正材料（请按一次性告知单补齐）", "current", accept.completed_at if accept else None))
    accepted = accept is not None and accept.status == "completed" and data.get("acceptance") == "accept"
    if accepted:
        stages.append(_stage("accepted", "已受理", "done", accept.completed_at))
    elif case.status != "waiting_applicant":
        stages.append(_stage("accepted", "待受理", "current" if is_open(accept) or accept is None else "pending"))
    review = [t for e in DEPARTMENT_TASKS for t in by_element.get(e, [])]
    decide = last("decide")
    decided = decide is not None and decide.status == "completed"
    if decided:
        stages.append(_stage("review", f"{department_name}审核", "done", decide.completed_at))
    else:
        status = "current" if any(is_open(t) for t in review) else "pending"
        stages.append(_stage("review", f"{department_name}审核中" if status == "current" else f"{department_name}审核", status,
                             min((t.created_at for t in review), default=None)))
    hand_out, deliver = last("hand_out"), last("deliver")
    concluded = decided or case.status == "concluded"
    stages.append(_stage("concluded", "已办结" if concluded else "办结", "done" if concluded else "pending",
                          decide.completed_at if decided else case.ended_at))
    door = data.get("delivery_method") == "door"
    out = deliver if door else hand_out
    if out is not None and out.status == "completed":
        stages.append(_stage("delivered" if door else "collected", "已送达" if door else "已领取", "done", out.completed_at))
    elif is_open(out):
        stages.append(_stage("delivering" if door else "ready", "送达中" if door else "可领取（请到窗口领取结果）", "current",
                             out.created_at))
    else:
        stages.append(_stage("delivering" if door else "ready", "送达" if door else "领取结果", "pending"))
    return stages


def public_progress(ctx: EngineContext, number: str | None, code: str | None, address: str | None) -> dict:
    """The case's stages for the right number and code; :class:`NotFound` otherwise (rate-limited)."""
    now = ctx.clock()
    number = (number or "").strip().upper()[:MAX_NUMBER]
    code = normalise_code(code)
    keys = [("progress_number", number or "-")] + ([("progress_address", address[:255])] if address else [])
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        until = locked_until(conn, keys, now)
        if until is not None:
            raise TooManyAttempts("too many wrong codes; try again later",
                                  retry_after=max(1, math.ceil((until - now).total_seconds())))
        s = uow.session
        row = s.execute(select(Case, Intake.progress_code, Intake.service_code)
                        .join(Intake, Intake.case_id == Case.id).where(Case.number == number).limit(1)).first() if number else None
        expected = row.progress_code if row is not None and row.progress_code else None
        # compare even when there is nothing to compare with: the answer takes the same time
        right = hmac.compare_digest((expected or "-" * CODE_LENGTH).encode(), code.encode())
        if row is None or expected is None or not right:
            count_failure(conn, "progress_number", keys[0][1], NUMBER_LIMIT, now)
            if address:
                count_failure(conn, "progress_address", keys[1][1], ADDRESS_LIMIT, now)
            uow.commit()
            raise NotFound("there is no case with this number and code")
        case = row.Case
        tasks = s.scalars(select(Task).where(Task.case_id == case.id)).all()
        try:
            service = load_catalogue().service(row.service_code)
            service_name, department = service.name, load_catalogue().departments.get(service.department, "")
        except NotFound:
            service_name, department = row.service_code, ""
        return {"number": case.number, "service": service_name, "applicant": mask_name((case.data or {}).get("applicant_name")),
                "status": case.status, "stages": stages_of(case, list(tasks), department)}
