"""Each worklist command as a use case, without a database: the in-memory repository and
unit of work stand in for the engine's (tests/worklist_helpers.py)."""
from __future__ import annotations

import dataclasses

import pytest

from tests.worklist_helpers import FIXED_CLOCK, FakeTaskUnitOfWork, InMemoryTaskRepository, actor, colleague, task
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from worklists import commands

CIVIL1 = actor("civil1", groups=["civil_affairs"])
CIVIL2 = actor("civil2", groups=["civil_affairs"])
DISABLED1 = actor("disabled1", groups=["disabled_federation"])
SUPER1 = actor("super1", roles=["supervisor"], supervises=["civil_affairs"])
ADMIN1 = actor("admin1", roles=["admin"])
AUDITOR1 = actor("auditor1", roles=["auditor"])
DESIGNER1 = actor("designer1", roles=["designer"])
OTHER_TENANT = actor("civil9", groups=["civil_affairs"], tenant_id=2)
COLLEAGUES = [
    (1, colleague("civil1", groups=["civil_affairs"])),
    (1, colleague("civil2", groups=["civil_affairs"])),
    (1, colleague("disabled1", groups=["disabled_federation"])),
    (1, colleague("auditor1", roles=["auditor"])),
    (2, colleague("civil9", groups=["civil_affairs"])),
]


def unit(*tasks):
    return FakeTaskUnitOfWork(InMemoryTaskRepository(tasks, COLLEAGUES))


def run(command, who, uow, *args, **kwargs):
    return command(FIXED_CLOCK, who, *args, uow=uow, **kwargs)


def kinds(uow):
    return [e.kind for e in uow.events]


# -- claim ------------------------------------------------------------------------------------
def test_claim_takes_a_ready_task_and_records_it():
    uow = unit(task(1))
    view = run(commands.claim, CIVIL1, uow, 1)
    assert view["status"] == "claimed" and view["assignee"] == "civil1" and view["version"] == 2
    assert view["case_number"] == "T1-20261125-000101"
    assert uow.tasks.rows[1].assignee == "civil1" and uow.commits == 1
    [event] = uow.events
    assert (event.kind, event.task_id, event.case_id, event.actor) == ("task.claimed", 1, 101, "civil1")


def test_claiming_a_task_one_holds_is_idempotent():
    uow = unit(task(1, status="claimed", assignee="civil1"))
    assert run(commands.claim, CIVIL1, uow, 1)["assignee"] == "civil1"
    assert uow.events == [] and uow.tasks.rows[1].version == 1


def test_claim_of_a_task_held_by_another_is_409_naming_the_holder():
    uow = unit(task(1, status="claimed", assignee="civil2"))
    with pytest.raises(Conflict, match="civil2"):
        run(commands.claim, CIVIL1, uow, 1)
    assert uow.events == []


def test_claim_loses_a_race_cleanly():
    uow = unit(task(1))
    # someone claims between our read and our compare-and-set
    uow.tasks.before_change = lambda repo: repo.change(repo.rows[1], status="claimed", assignee="civil2")
    with pytest.raises(Conflict):
        run(commands.claim, CIVIL1, uow, 1)
    assert uow.tasks.rows[1].assignee == "civil2" and uow.events == [] and uow.commits == 0


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_claim_of_a_closed_task_is_409(status):
    with pytest.raises(Conflict, match="no longer open"):
        run(commands.claim, CIVIL1, unit(task(1, status=status)), 1)


def test_claim_by_candidates():
    by_group = task(1, group="intake", candidate_groups=("civil_affairs",))
    assert run(commands.claim, CIVIL1, unit(by_group), 1)["assignee"] == "civil1"
    by_user = task(2, group="intake", candidate_users=("disabled1",))
    assert run(commands.claim, DISABLED1, unit(by_user), 2)["assignee"] == "disabled1"


@pytest.mark.parametrize(
    "who, error",
    [
        (DISABLED1, NotFound),  # another group: invisible
        (OTHER_TENANT, NotFound),  # another tenant: invisible
        (SUPER1, Forbidden),  # sees it, is no member
        (ADMIN1, Forbidden),
        (AUDITOR1, Forbidden),  # no worklist at all
        (DESIGNER1, Forbidden),
    ],
)
def test_claim_refusals(who, error):
    uow = unit(task(1))
    with pytest.raises(error):
        run(commands.claim, who, uow, 1)
    assert uow.tasks.rows[1].status == "ready"


def test_unknown_task_is_404():
    with pytest.raises(NotFound):
        run(commands.claim, CIVIL1, unit(), 42)


def test_stale_if_match_is_412():
    uow = unit(task(1, version=3))
    with pytest.raises(StaleWrite):
        run(commands.claim, CIVIL1, uow, 1, expected_version=2)
    assert run(commands.claim, CIVIL1, uow, 1, expected_version=3)["version"] == 4


# -- unclaim ----------------------------------------------------------------------------------
def test_holder_hands_a_task_back_to_the_group():
    uow = unit(task(1, status="claimed", assignee="civil1"))
    view = run(commands.unclaim, CIVIL1, uow, 1)
    assert view["status"] == "ready" and view["assignee"] is None
    [event] = uow.events
    assert event.kind == "task.unclaimed" and event.data == {"previous_assignee": "civil1"}


def test_supervisor_hands_back_anyone_s_task_and_a_colleague_may_not():
    uow = unit(task(1, status="claimed", assignee="civil2"))
    with pytest.raises(Forbidden):
        run(commands.unclaim, CIVIL1, uow, 1)
    assert run(commands.unclaim, SUPER1, uow, 1)["status"] == "ready"
    assert uow.events[0].actor == "super1" and uow.events[0].data["previous_assignee"] == "civil2"


def test_unclaim_of_a_ready_task_is_409():
    with pytest.raises(Conflict, match="not claimed"):
        run(commands.unclaim, CIVIL1, unit(task(1)), 1)


def test_a_delegate_cannot_hand_the_task_to_the_group():
    uow = unit(task(1, status="claimed", assignee="civil2", delegated_by="civil1"))
    with pytest.raises(Conflict, match="resolve"):
        run(commands.unclaim, CIVIL2, uow, 1)
    view = run(commands.unclaim, SUPER1, uow, 1)  # the supervisor can, and the delegation ends
    assert view["assignee"] is None and view["delegated_by"] is None


# -- assign -----------------------------------------------------------------------------------
def test_supervisor_assigns_to_a_member():
    uow = unit(task(1))
    view = run(commands.assign, SUPER1, uow, 1, "civil2")
    assert view["status"] == "claimed" and view["assignee"] == "civil2"
    [event] = uow.events
    assert event.kind == "task.assigned" and event.data == {"assignee": "civil2"} and event.actor == "super1"


def test_reassigning_a_claimed_task_names_the_previous_holder():
    uow = unit(task(1, status="claimed", assignee="civil1"))
    run(commands.assign, ADMIN1, uow, 1, "civil2")
    assert uow.events[0].data == {"assignee": "civil2", "previous_assignee": "civil1"}


@pytest.mark.parametrize("username", ["disabled1", "auditor1", "civil9", "nobody"])
def test_assign_to_a_non_member_is_422_naming_the_field(username):
    uow = unit(task(1))
    with pytest.raises(InvalidInput) as raised:
        run(commands.assign, SUPER1, uow, 1, username)
    assert "username" in raised.value.errors and username in raised.value.message
    assert uow.tasks.rows[1].status == "ready"


def test_assign_to_a_candidate_user_outside_the_group():
    uow = unit(task(1, candidate_users=("disabled1",)))
    assert run(commands.assign, SUPER1, uow, 1, "disabled1")["assignee"] == "disabled1"


def test_a_task_in_no_lane_is_assigned_by_an_admin_or_any_supervisor_to_anyone_with_a_worklist():
    # deploy warned: nobody's group works it, so nobody can claim it...
    for who in (CIVIL1, DISABLED1):
        with pytest.raises((Forbidden, NotFound)):
            run(commands.claim, who, unit(task(1, group=None)), 1)
    # ...but an admin, or a supervisor of any group, gives it to someone of any department
    uow = unit(task(1, group=None))
    assert run(commands.assign, SUPER1, uow, 1, "disabled1")["assignee"] == "disabled1"
    assert run(commands.assign, ADMIN1, uow, 1, "civil1")["assignee"] == "civil1"
    run(commands.complete, CIVIL1, uow, 1, {})
    assert uow.tasks.rows[1].status == "completed"
    # never to someone without a worklist
    with pytest.raises(InvalidInput):
        run(commands.assign, ADMIN1, unit(task(1, group=None)), 1, "auditor1")


def test_a_task_of_a_group_stays_its_supervisors_to_assign():
    with pytest.raises((Forbidden, NotFound)):
        run(commands.assign, SUPER1, unit(task(1, group="disabled_federation")), 1, "disabled1")
    with pytest.raises(InvalidInput):  # and only to who may work it
        run(commands.assign, ADMIN1, unit(task(1)), 1, "disabled1")


def test_only_supervisors_assign():
    with pytest.raises(Forbidden):
        run(commands.assign, CIVIL1, unit(task(1)), 1, "civil2")


def test_assign_of_a_closed_task_is_409():
    with pytest.raises(Conflict):
        run(commands.assign, SUPER1, unit(task(1, status="completed")), 1, "civil2")


# -- delegate and resolve ---------------------------------------------------------------------
def test_delegation_round_trip():
    uow = unit(task(1, status="claimed", assignee="civil1"))
    view = run(commands.delegate, CIVIL1, uow, 1, "disabled1", comment="please check the disability card")
    assert view["assignee"] == "disabled1" and view["delegated_by"] == "civil1" and view["status"] == "claimed"
    # the delegate sees it (it is theirs now) although it is another department's task
    with pytest.raises(Conflict, match="resolve"):
        run(commands.complete, DISABLED1, uow, 1, {})
    with pytest.raises(Conflict, match="resolve"):
        run(commands.delegate, DISABLED1, uow, 1, "civil2")
    view = run(commands.resolve, DISABLED1, uow, 1, comment="card is valid")
    assert view["assignee"] == "civil1" and view["delegated_by"] is None and view["status"] == "claimed"
    assert kinds(uow) == ["task.delegated", "task.returned"]
    assert uow.events[0].data == {"to": "disabled1", "comment": "please check the disability card"}
    assert uow.events[1].data == {"to": "civil1", "delegate": "disabled1", "comment": "card is valid"}
    run(commands.complete, CIVIL1, uow, 1, {"note": "ok"})
    assert uow.tasks.rows[1].status == "completed"


def test_the_delegator_may_take_the_task_back():
    uow = unit(task(1, status="claimed", assignee="civil2", delegated_by="civil1"))
    assert run(commands.resolve, CIVIL1, uow, 1)["assignee"] == "civil1"
    assert uow.events[0].actor == "civil1"


@pytest.mark.parametrize(
    "setup, who, target, error",
    [
        (dict(status="ready"), CIVIL1, "civil2", Forbidden),  # claim it first
        (dict(status="claimed", assignee="civil2"), CIVIL1, "disabled1", Forbidden),  # not the holder
        (dict(status="claimed", assignee="civil1"), CIVIL1, "civil1", InvalidInput),  # oneself
        (dict(status="claimed", assignee="civil1"), CIVIL1, "auditor1", InvalidInput),  # no worklist
        (dict(status="claimed", assignee="civil1"), CIVIL1, "civil9", InvalidInput),  # other tenant
        (dict(status="completed", assignee="civil1"), CIVIL1, "civil2", Conflict),
    ],
)
def test_delegate_refusals(setup, who, target, error):
    uow = unit(task(1, **setup))
    with pytest.raises(error):
        run(commands.delegate, who, uow, 1, target)
    assert uow.events == []


def test_resolve_refusals():
    with pytest.raises(Conflict, match="not delegated"):
        run(commands.resolve, CIVIL1, unit(task(1, status="claimed", assignee="civil1")), 1)
    with pytest.raises(Forbidden):  # a bystander of the group
        run(commands.resolve, CIVIL2, unit(task(1, status="claimed", assignee="disabled1", delegated_by="civil1")), 1)
    with pytest.raises(InvalidInput):
        run(commands.resolve, DISABLED1, unit(task(1, status="claimed", assignee="disabled1", delegated_by="civil1")),
            1, comment="x" * (commands.MAX_COMMENT + 1))


# -- complete ---------------------------------------------------------------------------------
def test_complete_runs_the_engine_step_once_for_the_holder():
    uow = unit(task(1, status="claimed", assignee="civil1", candidate_groups=("intake",)))
    case, next_tasks = run(commands.complete, CIVIL1, uow, 1, {"note": "done"})
    assert case["id"] == 101 and next_tasks == []
    assert uow.completions == [("civil1", ("engine-step", 1), {"note": "done"})]
    assert uow.tasks.rows[1].status == "completed" and 1 not in uow.tasks.candidates
    assert kinds(uow) == ["task.completed"] and uow.commits == 1


def test_complete_takes_the_version_first_so_a_concurrent_change_wins_cleanly():
    uow = unit(task(1, status="claimed", assignee="civil1"))
    uow.tasks.before_change = lambda repo: repo.change(repo.rows[1], status="ready", assignee=None)  # a supervisor
    with pytest.raises(Conflict):
        run(commands.complete, CIVIL1, uow, 1, {})
    assert uow.completions == [] and uow.tasks.rows[1].status == "ready"


@pytest.mark.parametrize(
    "setup, who, error",
    [
        (dict(status="ready"), CIVIL1, Conflict),  # claim first
        (dict(status="claimed", assignee="civil2"), CIVIL1, Conflict),  # a colleague holds it
        (dict(status="claimed", assignee="civil2"), SUPER1, Forbidden),  # supervisors do not work tasks
        (dict(status="claimed", assignee="civil2"), ADMIN1, Forbidden),
        (dict(status="claimed", assignee="civil1"), AUDITOR1, Forbidden),
        (dict(status="claimed", assignee="civil1"), DISABLED1, NotFound),
        (dict(status="claimed", assignee="civil1"), OTHER_TENANT, NotFound),
        (dict(status="completed", assignee="civil1"), CIVIL1, Conflict),  # no double completion
        (dict(status="cancelled", assignee="civil1"), CIVIL1, Conflict),
    ],
)
def test_complete_refusals(setup, who, error):
    uow = unit(task(1, **setup))
    before = dataclasses.replace(uow.tasks.rows[1])
    with pytest.raises(error):
        run(commands.complete, who, uow, 1, {})
    assert uow.completions == [] and uow.tasks.rows[1] == before


def test_complete_with_a_stale_version_is_412():
    uow = unit(task(1, status="claimed", assignee="civil1", version=5))
    with pytest.raises(StaleWrite):
        run(commands.complete, CIVIL1, uow, 1, {}, expected_version=4)
    assert uow.completions == []
