"""The handling operations on real SQLite and PostgreSQL: send back, withdraw, add signers,
transfer, copy, urge, suspend and resume, each with the engine, the rows and the trail."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import demo_files, make_users
from workflows.cases import get_case, start_case
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.models import Task, Timer, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import case_trail, verify_case
from worklists import commands, handling

REVIEW = {"review_result": "meets_conditions"}


@pytest.fixture
def office(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    return actors


def story(ctx, case_id: int) -> list[tuple]:
    """(kind, actor, element or name) of the case's trail, in order."""
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            select(TrailEvent.kind, TrailEvent.actor, TrailEvent.task_id).where(TrailEvent.case_id == case_id)
            .order_by(TrailEvent.seq)).all()
    return [(r.kind, r.actor) for r in rows]


def to_review(ctx, a) -> tuple[int, int]:
    """A case accepted at the window (intake1): (case id, review task id)."""
    case = start_case(ctx, a["intake1"], "service_application", {"applicant_name": "王芳",
                                                                  "time_limit_working_days": 10})
    accept = case["tasks"][0]["id"]
    commands.claim(ctx, a["intake1"], accept)
    _, [review] = commands.complete(ctx, a["intake1"], accept, {"acceptance": "accept", "department": "civil_affairs"})
    return case["id"], review["id"]


def work(ctx, who, task_id, data):
    commands.claim(ctx, who, task_id)
    return commands.complete(ctx, who, task_id, data)


def row(ctx, task_id):
    with ctx.unit_of_work() as uow:
        return uow.session.execute(select(Task.status, Task.urged_count).where(Task.id == task_id)).one()


def test_send_back_re_done_parallel_signer_concluded_with_the_story_in_order(ctx, office):
    a = office
    case_id, review = to_review(ctx, a)
    _, [decide] = work(ctx, a["civil1"], review, {**REVIEW, "review_notes": "第一次"})
    commands.claim(ctx, a["civil2"], decide["id"])
    mark = len(story(ctx, case_id))

    # 退回: civil2 sends the case back to the review, which civil1 did
    back = handling.send_back(ctx, a["civil2"], decide["id"], "缺少收入证明")
    assert back["id"] == review and back["status"] == "claimed" and back["assignee"] == "civil1"
    assert back["note"] == "缺少收入证明" and back["element_id"] == "review_civil_affairs"
    assert row(ctx, decide["id"]).status == "cancelled"
    from worklists.inbox import get_task

    assert get_task(ctx, a["civil1"], review)["data"]["review_notes"] == "第一次"  # with the data it had
    case = get_case(ctx, a["civil1"], case_id)
    assert [t["id"] for t in case["tasks"]] == [review] and case["deadline"] is not None

    # re-done: the review goes on to a new decision task
    _, [decide2] = commands.complete(ctx, a["civil1"], review, {**REVIEW, "review_notes": "补充后"})
    commands.claim(ctx, a["civil2"], decide2["id"])

    # 加签 parallel (会签): civil1 signs alongside civil2
    added = handling.add_signers(ctx, a["civil2"], decide2["id"], ["civil1"], "parallel", "请会签")
    [signer] = added["signers"]
    assert signer["kind"] == "sign" and signer["assignee"] == "civil1" and signer["status"] == "claimed"
    case, nxt = commands.complete(ctx, a["civil2"], decide2["id"], {"approved": True})
    assert case["status"] == "open" and nxt == []  # held until civil1 signs
    assert row(ctx, decide2["id"]).status == "completed"
    with pytest.raises(InvalidInput):
        commands.complete(ctx, a["civil1"], signer["id"], {})
    case, _ = commands.complete(ctx, a["civil1"], signer["id"], {"opinion": "同意", "agree": True})
    assert case["status"] == "concluded"

    told = [e for e in story(ctx, case_id)[mark:] if e[0].startswith(("task.", "case.status"))]
    assert told == [
        ("task.sent_back", "civil2"), ("task.cancelled", None), ("task.reopened", "civil2"),
        ("task.completed", "civil1"), ("task.created", None),
        ("task.claimed", "civil2"), ("task.signers_added", "civil2"), ("task.created", "civil2"),
        ("task.completed", "civil2"),
        ("task.signed", "civil1"), ("task.signers_done", "civil1"), ("task.released", "civil1"),
        ("case.status_changed", None),
    ]
    trail = case_trail(ctx, a["auditor1"], case_id)["events"]
    signed = next(e for e in trail if e["kind"] == "task.signed")
    assert signed["data"]["opinion"] == "同意"
    sent = next(e for e in trail if e["kind"] == "task.sent_back")
    assert sent["data"]["reason"] == "缺少收入证明" and sent["data"]["to"] == "review_civil_affairs"
    assert verify_case(ctx, a["auditor1"], case_id)["valid"] is True


def test_send_back_only_to_a_step_on_the_path_taken(ctx, office):
    a = office
    case_id, review = to_review(ctx, a)
    commands.claim(ctx, a["civil1"], review)
    with pytest.raises(Conflict):
        handling.send_back(ctx, a["civil1"], review, "x", to="review_disabled_federation")  # not taken
    with pytest.raises(Conflict):
        handling.send_back(ctx, a["civil1"], review, "x", to="decide")  # ahead, not behind
    with pytest.raises(InvalidInput):
        handling.send_back(ctx, a["civil1"], review, "  ")
    with pytest.raises(Forbidden):
        handling.send_back(ctx, a["civil2"], review, "not mine")
    back = handling.send_back(ctx, a["civil1"], review, "材料不清", to="accept_application")
    assert back["assignee"] == "intake1" and back["element_id"] == "accept_application"
    assert get_case(ctx, a["intake1"], case_id)["status"] == "open"


def test_withdraw_until_the_next_task_is_claimed(ctx, office):
    a = office
    case_id, review = to_review(ctx, a)
    _, [decide] = work(ctx, a["civil1"], review, REVIEW)
    with pytest.raises(Forbidden):
        handling.withdraw(ctx, a["civil2"], review)  # not theirs
    again = handling.withdraw(ctx, a["civil1"], review)
    assert again["id"] == review and again["status"] == "claimed" and again["assignee"] == "civil1"
    assert row(ctx, decide["id"]).status == "cancelled"
    assert story(ctx, case_id)[-2:] == [("task.withdrawn", "civil1"), ("task.cancelled", None)]
    _, [decide2] = commands.complete(ctx, a["civil1"], review, REVIEW)
    commands.claim(ctx, a["civil2"], decide2["id"])
    with pytest.raises(Conflict):
        handling.withdraw(ctx, a["civil1"], review)


def test_before_and_after_signers(ctx, office):
    a = office
    _, review = to_review(ctx, a)
    commands.claim(ctx, a["civil1"], review)
    added = handling.add_signers(ctx, a["civil1"], review, ["civil2", "super1"], "before")
    assert {s["assignee"] for s in added["signers"]} == {"civil2", "super1"}
    with pytest.raises(Conflict):
        commands.complete(ctx, a["civil1"], review, REVIEW)  # they sign first
    with pytest.raises(Conflict):
        handling.transfer(ctx, a["civil1"], review, "civil2")
    for signer in added["signers"]:
        commands.complete(ctx, a[signer["assignee"]], signer["id"], {"opinion": "可以", "agree": True})
    _, [decide] = commands.complete(ctx, a["civil1"], review, REVIEW)

    commands.claim(ctx, a["civil2"], decide["id"])
    added = handling.add_signers(ctx, a["civil2"], decide["id"], ["civil1"], "after")
    assert added["signers"] == []
    case, [signer] = commands.complete(ctx, a["civil2"], decide["id"], {"approved": True})
    assert case["status"] == "open" and signer["assignee"] == "civil1"
    case, _ = commands.complete(ctx, a["civil1"], signer["id"], {"opinion": "不同意", "agree": False})
    assert case["status"] == "concluded"


def test_transfer_copy_and_urge(ctx, office):
    a = office
    case_id, review = to_review(ctx, a)
    commands.claim(ctx, a["civil1"], review)
    with pytest.raises(InvalidInput):
        handling.transfer(ctx, a["civil1"], review, "disabled1")  # may not work it
    moved = handling.transfer(ctx, a["civil1"], review, "civil2", "休假")
    assert moved["assignee"] == "civil2" and moved["delegated_by"] is None

    copied = handling.copy_case(ctx, a["civil2"], case_id, ["disabled1", "intake1"], "供参考")
    assert {c["username"] for c in copied["copies"]} == {"disabled1", "intake1"}
    assert handling.copy_case(ctx, a["civil2"], case_id, ["disabled1"])["copies"] == []  # once
    with pytest.raises(Forbidden):
        handling.copy_case(ctx, a["civil1"], case_id, ["disabled1"])  # holds nothing here any more
    items, _ = handling.list_copies(ctx, a["disabled1"])
    assert [i["case_id"] for i in items] == [case_id] and items[0]["status"] == "unread"
    read = handling.mark_copy_read(ctx, a["disabled1"], items[0]["id"])
    assert read["status"] == "read"
    assert handling.mark_copy_read(ctx, a["disabled1"], items[0]["id"])["read_at"] == read["read_at"]

    with pytest.raises(Forbidden):
        handling.urge(ctx, a["civil1"], case_id)
    urged = handling.urge(ctx, a["super1"], case_id, "请加快")
    assert [t["id"] for t in urged["tasks"]] == [review] and urged["tasks"][0]["urged_count"] == 1
    handling.urge(ctx, a["intake1"], case_id)  # the clerk who received it, for the applicant
    assert row(ctx, review).urged_count == 2
    kinds = [k for k, _ in story(ctx, case_id)]
    assert kinds.count("case.urged") == 2 and "task.transferred" in kinds and "case.copied" in kinds
    assert "case.copy_read" in kinds


def test_suspend_stops_work_timers_and_clock_and_resume_reschedules(ctx, office):
    a = office
    case = start_case(ctx, a["intake1"], "service_application", {"applicant_name": "王芳",
                                                                  "time_limit_working_days": 5})
    case_id, accept = case["id"], case["tasks"][0]["id"]
    with pytest.raises(Forbidden):
        handling.suspend(ctx, a["civil1"], case_id, "x")
    suspended = handling.suspend(ctx, a["admin1"], case_id, "等待上级批示")
    assert suspended["status"] == "suspended" and suspended["deadline"] is None
    with ctx.unit_of_work() as uow:
        assert uow.session.scalars(select(Timer.status).where(Timer.case_id == case_id,
                                                              Timer.status == "pending")).all() == []
    with pytest.raises(Conflict):
        commands.claim(ctx, a["intake1"], accept)
    with pytest.raises(Conflict):
        handling.suspend(ctx, a["admin1"], case_id, "again")
    resumed = handling.resume(ctx, a["admin1"], case_id)
    assert resumed["status"] == "open" and resumed["deadline"] is not None
    with ctx.unit_of_work() as uow:
        kinds = set(uow.session.scalars(select(Timer.kind).where(Timer.case_id == case_id,
                                                                 Timer.status == "pending")).all())
    assert kinds == {"warning", "overdue", "red"}
    commands.claim(ctx, a["intake1"], accept)
    kinds = [k for k, _ in story(ctx, case_id)]
    assert kinds[kinds.index("deadline.paused"):] == [
        "deadline.paused", "case.suspended", "case.status_changed",
        "deadline.resumed", "case.resumed", "case.status_changed", "task.claimed"]
    assert verify_case(ctx, a["auditor1"], case_id)["valid"] is True


def test_a_suspended_case_is_not_retried_until_resumed(ctx, office):
    from pathlib import Path

    from sqlalchemy import select as sql_select

    from workflows import incidents
    from workflows.models import Incident

    script = (Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "cases" / "scripted.bpmn").read_text()
    deploy_model(ctx, office["designer1"], [("scripted.bpmn", script.replace("SCRIPT", "x = no_such_name").encode())])
    case = start_case(ctx, office["admin1"], "scripted")
    with ctx.unit_of_work() as uow:
        incident = uow.session.scalar(sql_select(Incident.id).where(Incident.case_id == case["id"]))
    handling.suspend(ctx, office["admin1"], case["id"], "排查脚本")
    with pytest.raises(Conflict, match="suspended"):
        incidents.retry_incident(ctx, office["admin1"], incident)
    handling.resume(ctx, office["admin1"], case["id"])
    incidents.retry_incident(ctx, office["admin1"], incident)  # fails again, but runs


def test_send_back_takes_the_co_signers_tasks_with_it(ctx, office):
    a = office
    _, review = to_review(ctx, a)
    _, [decide] = work(ctx, a["civil1"], review, REVIEW)
    commands.claim(ctx, a["civil2"], decide["id"])
    [signer] = handling.add_signers(ctx, a["civil2"], decide["id"], ["super1"], "parallel")["signers"]
    with pytest.raises(Conflict):
        handling.transfer(ctx, a["civil2"], decide["id"], "civil1")  # the signers sign for civil2
    back = handling.send_back(ctx, a["civil2"], decide["id"], "重审")
    assert back["id"] == review and row(ctx, signer["id"]).status == "cancelled"
    with pytest.raises(Conflict):
        commands.complete(ctx, a["super1"], signer["id"], {"opinion": "同意"})
