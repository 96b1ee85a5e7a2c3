"""The intake window's one motion: receive an application and decide on acceptance at once.

At the window the clerk has the applicant in front of them: the application is received
(:func:`onewindow.intake.submit_application`) and the acceptance task that the department
process opens in the intake lane is claimed and completed with the clerk's decision — accept
(受理), refuse with a reason (不予受理), or list everything missing in one notice (一次性告知),
after which the case waits for the applicant with its deadline clock paused.

Receiving and deciding are separate transactions on purpose: a received application is a
valid case on its own (it sits in the intake inbox at acceptance), so a decision that fails
(a lost race, a form problem) never loses the application.
"""
from __future__ import annotations

from workflows.accounts import Actor
from workflows.cases import send_message
from workflows.context import EngineContext
from workflows.errors import Conflict, InvalidInput

from onewindow.intake import submit_application

from worklists import commands

ACCEPTANCE_TASK = "accept_application"
DECISIONS = ("accept", "refuse", "supplement")
MAX_REASON = 2000
MAX_MISSING = 50


def acceptance_data(decision: str, refusal_reason: str | None = None, missing_materials: list[str] | None = None,
                    delivery_method: str | None = None) -> dict:
    """The acceptance task's data for a decision, checked before anything is written."""
    problems: dict[str, list[str]] = {}
    if decision not in DECISIONS:
        problems["acceptance"] = ["accept, refuse or supplement"]
    data: dict = {"acceptance": decision}
    if decision == "refuse":
        reason = (refusal_reason or "").strip()
        if not reason:
            problems["refusal_reason"] = ["a refusal needs its reason"]
        elif len(reason) > MAX_REASON:
            problems["refusal_reason"] = [f"at most {MAX_REASON} characters"]
        data["refusal_reason"] = reason
    if decision == "supplement":
        missing = [m.strip() for m in (missing_materials or []) if m and m.strip()]
        if not missing:
            problems["missing_materials"] = ["list everything that is missing"]
        elif len(missing) > MAX_MISSING or any(len(m) > 200 for m in missing):
            problems["missing_materials"] = [f"at most {MAX_MISSING} items of 200 characters"]
        data["missing_materials"] = missing
    if delivery_method is not None:
        if delivery_method not in ("window", "door"):
            problems["delivery_method"] = ["window or door"]
        data["delivery_method"] = delivery_method
    if problems:
        raise InvalidInput("the acceptance decision is incomplete", {"decision": problems})
    return data


def receive_at_window(
    ctx: EngineContext, actor: Actor, service_code: str, applicant_id: int, form: dict,
    decision: str, refusal_reason: str | None = None, missing_materials: list[str] | None = None,
    delivery_method: str | None = None, materials: dict | None = None,
) -> dict:
    """Receive the application and apply the window's acceptance decision.

    ``materials``: what the window's checklist recorded (:func:`onewindow.materials.record`),
    kept in the case data.

    Returns ``{"case", "decided", "next_tasks"}``; ``decided`` is False when the application
    was received but the decision could not be applied (the case then waits at acceptance in
    the intake inbox, and ``problem`` says why).
    """
    decision_data = acceptance_data(decision, refusal_reason, missing_materials, delivery_method)
    case = submit_application(ctx, actor, service_code, applicant_id, form, delivery_method=delivery_method,
                              extra_data=materials or None)
    task = next((t for t in case.get("tasks", []) if t.get("element_id") == ACCEPTANCE_TASK), None)
    if task is None:
        return {"case": case, "decided": False, "next_tasks": [], "problem": "the process opened no acceptance task"}
    try:
        commands.claim(ctx, actor, task["id"])
        after, next_tasks = commands.complete(ctx, actor, task["id"], decision_data)
    except (Conflict, InvalidInput) as exc:
        return {"case": case, "decided": False, "next_tasks": [], "problem": exc.message}
    return {"case": after, "decided": True, "next_tasks": next_tasks}


def materials_supplied(ctx: EngineContext, actor: Actor, case_id: int) -> dict:
    """The applicant brought what the one-time notice listed: the clock resumes, acceptance reopens."""
    return send_message(ctx, actor, case_id, "materials_supplied")
