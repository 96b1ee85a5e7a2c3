"""Each handling operation (退回 转办 加签 抄送 撤回 催办 挂起) as a use case without a database:
the in-memory repository and unit of work of tests/worklist_helpers.py stand in for the engine's."""
from __future__ import annotations

import pytest

from tests.worklist_helpers import FIXED_CLOCK, NOW, FakeTaskUnitOfWork, InMemoryTaskRepository, actor, colleague, task
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from worklists import commands, handling

CIVIL1 = actor("civil1", groups=["civil_affairs"])
CIVIL2 = actor("civil2", groups=["civil_affairs"])
DISABLED1 = actor("disabled1", groups=["disabled_federation"])
INTAKE1 = actor("intake1", roles=["intake"], groups=["intake"])
INTAKE2 = actor("intake2", roles=["intake"], groups=["intake"])
SUPER1 = actor("super1", roles=["supervisor"], supervises=["civil_affairs"])
SUPER2 = actor("super2", roles=["supervisor"], supervises=["disabled_federation"])
ADMIN1 = actor("admin1", roles=["admin"])
AUDITOR1 = actor("auditor1", roles=["auditor"])
OTHER_TENANT = actor("civil9", groups=["civil_affairs"], tenant_id=2)
COLLEAGUES = [
    (1, colleague("civil1", groups=["civil_affairs"])),
    (1, colleague("civil2", groups=["civil_affairs"])),
    (1, colleague("civil3", groups=["civil_affairs"])),
    (1, colleague("disabled1", groups=["disabled_federation"])),
    (1, colleague("auditor1", roles=["auditor"])),
    (2, colleague("civil9", groups=["civil_affairs"])),
]
CASE = 7


def step(task_id, **values):
    """A task of case 7."""
    return task(task_id, case_id=CASE, **values)


def unit(*tasks, statuses=None):
    return FakeTaskUnitOfWork(InMemoryTaskRepository(tasks, COLLEAGUES, case_statuses=statuses))


def run(command, who, uow, *args, **kwargs):
    return command(FIXED_CLOCK, who, *args, uow=uow, **kwargs)


def kinds(uow):
    return [e.kind for e in uow.events]


HELD = dict(status="claimed", assignee="civil1")


# -- 转办 transfer ---------------------------------------------------------------------------------
def test_transfer_gives_the_task_for_good():
    uow = unit(step(1, **HELD))
    view = run(handling.transfer, CIVIL1, uow, 1, "civil2", "休假")
    assert view["assignee"] == "civil2" and view["delegated_by"] is None and view["status"] == "claimed"
    [event] = uow.events
    assert (event.kind, event.actor, event.data) == ("task.transferred", "civil1", {"to": "civil2", "comment": "休假"})


@pytest.mark.parametrize("who, exc", [
    (CIVIL2, Forbidden),          # sees the task, does not hold it
    (SUPER1, Forbidden),          # supervisors assign; they do not transfer
    (DISABLED1, NotFound),        # another group's task
    (OTHER_TENANT, NotFound),
    (AUDITOR1, Forbidden),        # no worklist
])
def test_only_the_holder_transfers(who, exc):
    uow = unit(step(1, **HELD))
    with pytest.raises(exc):
        run(handling.transfer, who, uow, 1, "civil3")
    assert uow.events == [] and uow.tasks.rows[1].assignee == "civil1"


def test_transfer_checks_in_order_version_input_state():
    with pytest.raises(StaleWrite):
        run(handling.transfer, CIVIL1, unit(step(1, **HELD)), 1, "disabled1", expected_version=9)
    with pytest.raises(InvalidInput):
        run(handling.transfer, CIVIL1, unit(step(1, **HELD)), 1, "disabled1")  # may not work it
    with pytest.raises(InvalidInput):
        run(handling.transfer, CIVIL1, unit(step(1, **HELD)), 1, "civil9")  # another tenant's
    with pytest.raises(Conflict, match="delegated"):
        run(handling.transfer, CIVIL1, unit(step(1, status="claimed", assignee="civil1", delegated_by="civil3")),
            1, "civil2")
    with pytest.raises(Conflict, match="suspended"):
        run(handling.transfer, CIVIL1, unit(step(1, **HELD), statuses={CASE: "suspended"}), 1, "civil2")
    with pytest.raises(Conflict, match="no longer open"):
        run(handling.transfer, CIVIL1, unit(step(1, status="completed", completed_by="civil1")), 1, "civil2")


def test_transfer_loses_a_race_cleanly():
    uow = unit(step(1, **HELD))
    uow.tasks.before_change = lambda repo: repo.change(repo.rows[1], status="ready", assignee=None)
    with pytest.raises(Conflict):
        run(handling.transfer, CIVIL1, uow, 1, "civil2")
    assert uow.events == [] and uow.commits == 0


# -- 退回 send back --------------------------------------------------------------------------------
def sent_back_world():
    accept = step(1, spiff_id="s-accept", element_id="accept", group="intake", status="completed",
                  completed_by="intake1", completed_at=NOW)
    review = step(2, spiff_id="s-review", element_id="review", status="completed", completed_by="civil2",
                  completed_at=NOW)
    decide = step(3, spiff_id="s-decide", element_id="decide", **HELD)
    uow = unit(accept, review, decide)
    uow.paths = {"s-decide": ["s-review", "s-accept"]}
    return uow


def test_send_back_reopens_the_previous_step_for_whoever_did_it():
    uow = sent_back_world()
    view = run(handling.send_back, CIVIL1, uow, 3, "缺少收入证明")
    assert (view["id"], view["status"], view["assignee"], view["note"]) == (2, "claimed", "civil2", "缺少收入证明")
    assert uow.tasks.rows[3].status == "cancelled" and uow.tasks.rows[2].completed_by is None
    assert kinds(uow) == ["task.sent_back", "task.cancelled", "task.reopened"]
    assert uow.events[0].data == {"to": "review", "to_task": 2, "assignee": "civil2", "reason": "缺少收入证明"}


def test_send_back_to_a_chosen_step_on_the_path_only():
    uow = sent_back_world()
    assert run(handling.send_back, CIVIL1, uow, 3, "重新受理", to="accept")["assignee"] == "intake1"
    uow = sent_back_world()
    with pytest.raises(Conflict, match="not a step"):
        run(handling.send_back, CIVIL1, uow, 3, "x", to="archive")
    assert uow.events == [] and uow.tasks.rows[3].status == "claimed"


def test_send_back_needs_a_reason_an_earlier_step_and_the_holder():
    with pytest.raises(InvalidInput):
        run(handling.send_back, CIVIL1, sent_back_world(), 3, "   ")
    with pytest.raises(Forbidden):
        run(handling.send_back, CIVIL2, sent_back_world(), 3, "x")
    first = unit(step(1, spiff_id="s-accept", **HELD))
    with pytest.raises(Conflict, match="no earlier step"):
        run(handling.send_back, CIVIL1, first, 1, "x")


# -- 撤回 withdraw ---------------------------------------------------------------------------------
def withdraw_world(next_status="ready", next_assignee=None):
    done = step(1, spiff_id="s-review", status="completed", completed_by="civil1", completed_at=NOW)
    nxt = step(2, spiff_id="s-decide", status=next_status, assignee=next_assignee)
    uow = unit(done, nxt)
    uow.follows = {"s-review": [("s-decide", True)]}
    return uow


def test_withdraw_reopens_ones_task_and_cancels_the_next():
    uow = withdraw_world()
    view = run(handling.withdraw, CIVIL1, uow, 1)
    assert (view["status"], view["assignee"], view["completed_by"]) == ("claimed", "civil1", None)
    assert uow.tasks.rows[2].status == "cancelled"
    assert kinds(uow) == ["task.withdrawn", "task.cancelled"] and uow.events[0].data == {"cancelled": [2]}


def test_withdraw_after_the_next_task_was_claimed_is_409():
    uow = withdraw_world("claimed", "civil2")
    with pytest.raises(Conflict, match="civil2"):
        run(handling.withdraw, CIVIL1, uow, 1)
    assert uow.events == [] and uow.tasks.rows[1].status == "completed"


def test_withdraw_racing_a_claim_of_the_next_task_loses_cleanly():
    uow = withdraw_world()
    uow.tasks.before_change = lambda repo: repo.change(repo.rows[2], status="claimed", assignee="civil2")
    with pytest.raises(Conflict):
        run(handling.withdraw, CIVIL1, uow, 1)
    assert uow.commits == 0 and uow.tasks.rows[1].status == "completed" and uow.tasks.rows[2].assignee == "civil2"


def test_withdraw_only_ones_own_completed_task():
    with pytest.raises(Forbidden):
        run(handling.withdraw, CIVIL2, withdraw_world(), 1)
    with pytest.raises(Conflict, match="only a completed task"):
        run(handling.withdraw, CIVIL2, withdraw_world(), 2)
    worked = withdraw_world()
    worked.follows = {"s-review": [("s-decide", False)]}
    with pytest.raises(Conflict, match="worked already"):
        run(handling.withdraw, CIVIL1, worked, 1)


# -- 加签 add signers ------------------------------------------------------------------------------
def test_before_signers_sign_first_then_the_task_returns_to_the_holder():
    uow = unit(step(1, **HELD))
    added = run(handling.add_signers, CIVIL1, uow, 1, ["civil2", "disabled1"], "before", "请先会签")
    signers = added["signers"]
    assert [(s["assignee"], s["kind"], s["parent_id"], s["status"]) for s in signers] == [
        ("civil2", "sign", 1, "claimed"), ("disabled1", "sign", 1, "claimed")]
    assert added["task"]["signing"] == {"mode": "before"}
    with pytest.raises(Conflict, match="sign first"):
        run(commands.complete, CIVIL1, uow, 1, {})
    with pytest.raises(InvalidInput):
        run(commands.complete, CIVIL2, uow, signers[0]["id"], {"agree": True})  # an opinion is required
    run(commands.complete, CIVIL2, uow, signers[0]["id"], {"opinion": "同意", "agree": True})
    run(commands.complete, DISABLED1, uow, signers[1]["id"], {"opinion": "基本同意"})
    assert uow.tasks.rows[1].handling is None and uow.completions == []
    run(commands.complete, CIVIL1, uow, 1, {"approved": True})
    assert uow.completions == [("civil1", ("engine-step", 1), {"approved": True})]
    assert kinds(uow) == ["task.signers_added", "task.created", "task.created", "task.signed", "task.signed",
                          "task.signers_done", "task.completed"]
    assert uow.events[4].data == {"mode": "before", "signs_for": 1, "opinion": "基本同意", "agree": True}


def test_parallel_signers_hold_the_case_until_the_last_signs():
    uow = unit(step(1, **HELD))
    [signer] = run(handling.add_signers, CIVIL1, uow, 1, ["civil2"], "parallel")["signers"]
    with pytest.raises(InvalidInput):
        run(commands.complete, CIVIL1, uow, 1, {"invalid": 1})  # the form is checked when held
    case, nexts = run(commands.complete, CIVIL1, uow, 1, {"approved": True})
    assert nexts == [] and uow.tasks.rows[1].status == "completed" and uow.completions == []
    run(commands.complete, CIVIL2, uow, signer["id"], {"opinion": "同意"})
    assert uow.completions == [("civil2", ("released", 1), {"approved": True})]
    assert kinds(uow)[-4:] == ["task.completed", "task.signed", "task.signers_done", "task.released"]


def test_parallel_signers_done_before_the_holder_complete_as_usual():
    uow = unit(step(1, **HELD))
    [signer] = run(handling.add_signers, CIVIL1, uow, 1, ["civil2"], "parallel")["signers"]
    run(commands.complete, CIVIL2, uow, signer["id"], {"opinion": "同意"})
    run(commands.complete, CIVIL1, uow, 1, {"approved": True})
    assert uow.completions == [("civil1", ("engine-step", 1), {"approved": True})]


def test_after_signers_come_when_the_holder_completes():
    uow = unit(step(1, **HELD))
    assert run(handling.add_signers, CIVIL1, uow, 1, ["civil2"], "after")["signers"] == []
    _, [signer] = run(commands.complete, CIVIL1, uow, 1, {"approved": True})
    assert signer["assignee"] == "civil2" and uow.completions == []
    run(commands.complete, CIVIL2, uow, signer["id"], {"opinion": "不同意", "agree": False})
    assert uow.completions == [("civil2", ("released", 1), {"approved": True})]


def test_add_signers_input_and_rights():
    for names, mode in ((["civil1"], "before"), (["nobody"], "before"), (["auditor1"], "parallel"),
                        ([], "after"), (["civil2", "civil2"], "after"), (["civil2"], "sideways")):
        with pytest.raises(InvalidInput):
            run(handling.add_signers, CIVIL1, unit(step(1, **HELD)), 1, names, mode)
    with pytest.raises(Forbidden):
        run(handling.add_signers, CIVIL2, unit(step(1, **HELD)), 1, ["civil3"], "before")
    uow = unit(step(1, **HELD))
    [signer] = run(handling.add_signers, CIVIL1, uow, 1, ["civil2"], "parallel")["signers"]
    with pytest.raises(Conflict):
        run(handling.add_signers, CIVIL1, uow, 1, ["civil3"], "parallel")  # one round at a time
    for command, args in ((commands.unclaim, ()), (handling.transfer, ("civil3",)),
                          (commands.delegate, ("civil3",))):
        with pytest.raises(Conflict):
            run(command, CIVIL2, uow, signer["id"], *args)


# -- 抄送 copy -------------------------------------------------------------------------------------
def test_the_holder_or_a_supervisor_copies_and_the_copied_read():
    uow = unit(step(1, **HELD))
    answer = run(handling.copy_case, CIVIL1, uow, CASE, ["disabled1", "civil3", "disabled1"], "供参考")
    assert [c["username"] for c in answer["copies"]] == ["disabled1", "civil3"]
    assert run(handling.copy_case, SUPER1, uow, CASE, ["disabled1"])["copies"] == []  # copied once
    assert kinds(uow) == ["case.copied"] and uow.events[0].data == {"to": ["disabled1", "civil3"],
                                                                     "comment": "供参考"}
    items, cursor = run(handling.list_copies, DISABLED1, uow)
    assert [(i["case_id"], i["status"]) for i in items] == [(CASE, "unread")] and cursor is None
    assert run(handling.mark_copy_read, DISABLED1, uow, items[0]["id"])["status"] == "read"
    run(handling.mark_copy_read, DISABLED1, uow, items[0]["id"])  # again: nothing new
    assert kinds(uow) == ["case.copied", "case.copy_read"]
    with pytest.raises(NotFound):
        run(handling.mark_copy_read, CIVIL2, uow, items[0]["id"])  # someone else's copy


@pytest.mark.parametrize("who, exc", [(CIVIL2, Forbidden), (SUPER2, Forbidden), (AUDITOR1, Forbidden),
                                      (OTHER_TENANT, NotFound)])
def test_copy_rights(who, exc):
    with pytest.raises(exc):
        run(handling.copy_case, who, unit(step(1, **HELD)), CASE, ["disabled1"])


@pytest.mark.parametrize("name", ["civil9", "auditor1", "civil1", "nobody"])
def test_copy_names_colleagues_with_a_worklist(name):
    with pytest.raises(InvalidInput):
        run(handling.copy_case, CIVIL1, unit(step(1, **HELD)), CASE, [name])


# -- 催办 urge -------------------------------------------------------------------------------------
def test_a_supervisor_or_the_receiving_window_urges_the_holders():
    uow = unit(step(1, **HELD), step(2, group="civil_affairs"), step(3, status="completed"))
    urged = run(handling.urge, SUPER1, uow, CASE, "请加快")
    assert [t["id"] for t in urged["tasks"]] == [1, 2] and urged["tasks"][0]["urged_count"] == 1
    run(handling.urge, INTAKE1, uow, CASE)
    assert uow.tasks.rows[1].urged_count == 2 and uow.tasks.rows[3].urged_count == 0
    assert kinds(uow) == ["case.urged", "case.urged"]
    assert uow.events[0].data["tasks"] == [{"task_id": 1, "assignee": "civil1", "group": "civil_affairs"},
                                           {"task_id": 2, "assignee": None, "group": "civil_affairs"}]


@pytest.mark.parametrize("who, exc", [(CIVIL1, Forbidden), (INTAKE2, Forbidden), (SUPER2, Forbidden),
                                      (AUDITOR1, Forbidden), (OTHER_TENANT, Forbidden)])
def test_urge_rights(who, exc):
    with pytest.raises(exc):
        run(handling.urge, who, unit(step(1, **HELD)), CASE)


def test_urge_needs_an_open_task():
    with pytest.raises(Conflict):
        run(handling.urge, SUPER1, unit(step(1, status="completed")), CASE)
    with pytest.raises(NotFound):
        run(handling.urge, actor("super9", roles=["supervisor"], supervises=["civil_affairs"], tenant_id=2),
            unit(step(1, **HELD)), CASE)


# -- 挂起 / 恢复 suspend and resume ----------------------------------------------------------------
def test_suspend_stops_all_work_until_resumed():
    uow = unit(step(1), step(2, status="claimed", assignee="civil2"))
    assert run(handling.suspend, SUPER1, uow, CASE, "等待批示")["status"] == "suspended"
    for command, who, args in ((commands.claim, CIVIL1, (1,)), (commands.complete, CIVIL2, (2, {})),
                               (commands.assign, SUPER1, (1, "civil1")), (handling.transfer, CIVIL2, (2, "civil1"))):
        with pytest.raises(Conflict, match="suspended"):
            run(command, who, uow, *args)
    with pytest.raises(Conflict):
        run(handling.suspend, ADMIN1, uow, CASE, "again")
    assert run(handling.resume, ADMIN1, uow, CASE)["status"] == "open"
    run(commands.claim, CIVIL1, uow, 1)
    assert kinds(uow) == ["case.suspended", "case.resumed", "task.claimed"]


def test_suspend_rights_version_and_reason():
    for who, exc in ((CIVIL1, Forbidden), (SUPER2, Forbidden), (AUDITOR1, Forbidden), (INTAKE1, Forbidden)):
        with pytest.raises(exc):
            run(handling.suspend, who, unit(step(1)), CASE, "x")
    with pytest.raises(StaleWrite):
        run(handling.suspend, SUPER1, unit(step(1)), CASE, "x", expected_version=2)
    with pytest.raises(InvalidInput):
        run(handling.suspend, SUPER1, unit(step(1)), CASE, "")
    with pytest.raises(Conflict, match="not suspended"):
        run(handling.resume, SUPER1, unit(step(1)), CASE)


# -- notices (a department reminded, e.g. by the proactive job) ---------------------------------------
def test_a_notice_is_acknowledged_by_a_clerk_of_its_group_without_the_engine():
    uow = unit(step(1, kind="notice", element_id="notice", spiff_id="notice-1"))
    run(commands.claim, CIVIL1, uow, 1)
    with pytest.raises(InvalidInput):
        run(commands.complete, CIVIL1, uow, 1, {"approved": True})
    case, nexts = run(commands.complete, CIVIL1, uow, 1, {"comment": "已安排"})
    assert nexts == [] and uow.completions == [] and uow.tasks.rows[1].status == "completed"
    assert uow.events[-1].kind == "task.completed" and uow.events[-1].data["task_kind"] == "notice"
    with pytest.raises(NotFound):
        run(commands.claim, DISABLED1, unit(step(2, kind="notice")), 2)
