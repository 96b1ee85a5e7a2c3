"""The inbox queries and counts on real SQLite and PostgreSQL: who sees what, filters, sorts,
keyset pagination under change, candidates, badges, and delegation end to end."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.helpers import make_users
from tests.worklist_helpers import deploy_lane_processes, hours, open_task, set_task
from workflows.errors import InvalidInput
from workflows.models import TaskCandidate
from worklists import commands
from worklists.inbox import count_tasks, list_tasks


@pytest.fixture
def desk(ctx):
    actors = make_users(ctx)
    deploy_lane_processes(ctx, actors["designer1"])
    deploy_lane_processes(ctx, actors["designer9"])
    return actors


def ids(ctx, who, **query):
    items, _ = list_tasks(ctx, who, limit=500, **query)
    return [t["id"] for t in items]


def walk(ctx, who, limit, between=None, **query):
    """Every page of a view; ``between(page_number)`` may change the data between pages."""
    seen, cursor, page = [], None, 0
    while True:
        items, cursor = list_tasks(ctx, who, limit=limit, cursor=cursor, **query)
        assert len(items) <= limit
        seen += [t["id"] for t in items]
        page += 1
        if cursor is None:
            return seen
        if between:
            between(page)


def test_who_sees_what(ctx, desk):
    a = desk
    intake1 = a["intake1"]
    civil = open_task(ctx, intake1, "civil_affairs")
    front = open_task(ctx, intake1, "intake")
    disabled = open_task(ctx, intake1, "disabled_federation")
    for_civil = open_task(ctx, intake1, "intake", {"candidate_groups": ["civil_affairs"]})
    for_civil1 = open_task(ctx, intake1, "disabled_federation", {"candidate_users": "civil1"})
    elsewhere = open_task(ctx, a["intake9"], "civil_affairs")

    assert sorted(ids(ctx, a["civil1"], scope="group")) == sorted([civil, for_civil, for_civil1])
    assert sorted(ids(ctx, a["civil2"], scope="group")) == sorted([civil, for_civil])
    assert sorted(ids(ctx, intake1, scope="group")) == sorted([front, for_civil])
    assert sorted(ids(ctx, a["disabled1"], scope="group")) == sorted([disabled, for_civil1])
    assert sorted(ids(ctx, a["super1"], scope="group")) == sorted([civil, disabled, for_civil, for_civil1])
    assert sorted(ids(ctx, a["admin1"], scope="all")) == sorted([civil, front, disabled, for_civil, for_civil1])
    assert ids(ctx, a["civil9"], scope="all") == [elsewhere]

    commands.claim(ctx, a["civil1"], civil)
    commands.claim(ctx, a["civil1"], for_civil1)
    assert sorted(ids(ctx, a["civil1"], scope="mine")) == sorted([civil, for_civil1])
    assert ids(ctx, a["civil1"], scope="group") == [for_civil]
    assert civil in ids(ctx, a["civil2"], scope="all") and civil not in ids(ctx, a["civil2"], scope="group")
    assert ids(ctx, a["civil2"], scope="mine") == []
    # claimed tasks stay in the supervisor's and the admin's views
    assert {civil, for_civil1} <= set(ids(ctx, a["super1"], scope="all"))
    assert ids(ctx, a["admin1"], scope="all", status="claimed", sort="created") == sorted([civil, for_civil1])


def test_sorts_and_keyset_pages_are_exact_and_stable_under_change(ctx, desk):
    a = desk
    now = ctx.clock()
    rows, lane = {}, set()
    for i in range(18):
        if i % 6 == 4:  # tasks civil1 sees as a candidate (group or user) interleave with the lane's
            task_id = open_task(ctx, a["intake1"], "intake", {"candidate_groups": ["civil_affairs"]})
        elif i % 6 == 5:
            task_id = open_task(ctx, a["intake1"], "disabled_federation", {"candidate_users": ["civil1"]})
        else:
            task_id = open_task(ctx, a["intake1"], "civil_affairs")
            lane.add(task_id)
        due = None if i % 5 == 0 else now + hours((i * 7) % 11 - 3)  # ties, past, future, undated
        created = datetime(2026, 11, 1, tzinfo=timezone.utc) + hours((i * 5) % 9)
        set_task(ctx, task_id, due_at=due, priority=(i * 3) % 4 * 10, created_at=created)
        rows[task_id] = (due, (i * 3) % 4 * 10, created)
    far = datetime(9999, 1, 1, tzinfo=timezone.utc)
    expected = {
        "due": sorted(rows, key=lambda t: (rows[t][0] is None, rows[t][0] or far, t)),
        "priority": sorted(rows, key=lambda t: (-rows[t][1], t)),
        "created": sorted(rows, key=lambda t: (rows[t][2], t)),
    }
    for sort, order in expected.items():
        assert ids(ctx, a["civil1"], scope="group", sort=sort) == order, sort
        for limit in (1, 3, 5):
            assert walk(ctx, a["civil1"], limit, scope="group", sort=sort) == order, (sort, limit)
        assert walk(ctx, a["civil1"], 4, scope="all", sort=sort) == order, sort

    # tasks arriving and leaving between pages neither repeat nor hide the others
    def churn(page):
        if page == 1:
            newcomer = open_task(ctx, a["intake1"], "civil_affairs")
            set_task(ctx, newcomer, due_at=now - hours(100))  # sorts before the cursor: not seen this walk
        if page == 2:
            commands.claim(ctx, a["civil2"], gone)  # not reached yet; claimed away by a colleague

    gone = [t for t in expected["due"] if t in lane][-1]
    seen = walk(ctx, a["civil1"], 4, between=churn, scope="group", sort="due")
    assert seen == [t for t in expected["due"] if t != gone]


def test_filters(ctx, desk):
    a = desk
    now = ctx.clock()
    overdue = open_task(ctx, a["intake1"], "civil_affairs", service_code="senior_card", applicant_id=7)
    warned = open_task(ctx, a["intake1"], "civil_affairs", service_code="disability_subsidy")
    calm = open_task(ctx, a["intake1"], "civil_affairs", service_code="senior_card")
    undated_warned = open_task(ctx, a["intake1"], "civil_affairs")
    front = open_task(ctx, a["intake1"], "intake", service_code="senior_card")
    set_task(ctx, overdue, due_at=now - hours(2), warn_at=now - hours(26))
    set_task(ctx, warned, due_at=now + hours(5), warn_at=now - hours(1))
    set_task(ctx, calm, due_at=now + hours(48), warn_at=now + hours(24))
    set_task(ctx, undated_warned, warn_at=now - hours(1))

    admin = a["admin1"]
    assert ids(ctx, admin, overdue=True) == [overdue]
    assert ids(ctx, admin, warned=True) == [warned, undated_warned]
    assert ids(ctx, admin, warned=True, sort="priority") == [warned, undated_warned]
    assert ids(ctx, admin, due_before=now + hours(6)) == [overdue, warned]
    assert ids(ctx, admin, service_code="senior_card") == [overdue, calm, front]
    assert ids(ctx, admin, service_code="senior_card", group="civil_affairs") == [overdue, calm]
    assert ids(ctx, admin, applicant_id=7) == [overdue]
    number = list_tasks(ctx, admin, limit=1)[0][0]["case_number"]
    assert ids(ctx, admin, case_number=number) == [overdue]
    assert ids(ctx, a["civil1"], group="intake") == []  # not one of civil1's groups
    assert ids(ctx, a["civil1"], group="civil_affairs", overdue=True) == [overdue]

    commands.claim(ctx, a["civil1"], overdue)
    commands.complete(ctx, a["civil1"], overdue, {"note": "done"})
    assert overdue not in ids(ctx, admin)
    assert ids(ctx, a["civil1"], status="completed") == [overdue]
    assert ids(ctx, a["civil1"], scope="mine", status="completed") == [overdue]
    with pytest.raises(InvalidInput):
        list_tasks(ctx, a["civil1"], scope="group", status="claimed")
    with pytest.raises(InvalidInput):
        list_tasks(ctx, a["civil1"], limit=501)
    with pytest.raises(InvalidInput):
        list_tasks(ctx, a["civil1"], sort="urgency")


def test_badge_counts(ctx, desk):
    a = desk
    now = ctx.clock()
    civil = [open_task(ctx, a["intake1"], "civil_affairs") for _ in range(3)]
    disabled = open_task(ctx, a["intake1"], "disabled_federation")
    for_civil = open_task(ctx, a["intake1"], "intake", {"candidate_groups": ["civil_affairs"]})
    for_civil1 = open_task(ctx, a["intake1"], "disabled_federation", {"candidate_users": ["civil1"]})
    set_task(ctx, civil[0], due_at=now - hours(1))
    set_task(ctx, civil[1], due_at=now + hours(3), warn_at=now - hours(1))
    commands.claim(ctx, a["civil1"], civil[2])
    commands.delegate(ctx, a["civil1"], civil[2], "disabled1")

    counts = count_tasks(ctx, a["civil1"])
    assert counts["views"] == {
        "mine": {"total": 0, "overdue": 0, "warned": 0},
        "group": {"total": 4, "overdue": 1, "warned": 1},  # 2 of the lane, 1 by candidate group, 1 by name
        "delegated": {"total": 1, "overdue": 0, "warned": 0},
    }
    assert counts["groups"] == [{"group": "civil_affairs", "ready": 3, "claimed": 1, "overdue": 1, "warned": 1}]
    assert count_tasks(ctx, a["disabled1"])["views"]["mine"]["total"] == 1

    supervisor = count_tasks(ctx, a["super1"])
    assert supervisor["groups"] == [
        {"group": "civil_affairs", "ready": 3, "claimed": 1, "overdue": 1, "warned": 1},
        {"group": "disabled_federation", "ready": 2, "claimed": 0, "overdue": 0, "warned": 0},
    ]
    admin = count_tasks(ctx, a["admin1"])
    assert admin["views"]["group"]["total"] == 5  # every ready task of the tenant
    assert [g["group"] for g in admin["groups"]] == ["civil_affairs", "disabled_federation", "intake"]
    assert count_tasks(ctx, a["civil9"])["views"]["group"]["total"] == 0
    assert for_civil and disabled and for_civil1


@pytest.fixture
def recorded(ctx):
    events = []
    sink = ctx.event_sink
    ctx.event_sink = lambda session, batch: events.extend(batch)
    yield events
    ctx.event_sink = sink


def test_delegation_on_the_database(ctx, desk, recorded):
    a = desk
    task_id = open_task(ctx, a["intake1"], "civil_affairs", {"candidate_groups": ["intake"]})
    with ctx.unit_of_work() as uow:
        assert uow.session.scalars(select(TaskCandidate.name).where(TaskCandidate.task_id == task_id)).all() == ["intake"]
    commands.claim(ctx, a["civil1"], task_id)
    view = commands.delegate(ctx, a["civil1"], task_id, "disabled1", comment="请核对残疾证")
    assert view["assignee"] == "disabled1" and view["delegated_by"] == "civil1"
    assert ids(ctx, a["disabled1"], scope="mine") == [task_id]
    assert ids(ctx, a["civil1"], scope="delegated") == [task_id]
    assert task_id in ids(ctx, a["civil1"], scope="all")
    assert commands.resolve(ctx, a["disabled1"], task_id, comment="已核对")["assignee"] == "civil1"
    assert ids(ctx, a["civil1"], scope="delegated") == [] and ids(ctx, a["disabled1"], scope="mine") == []
    commands.complete(ctx, a["civil1"], task_id, {"note": "done"})
    with ctx.unit_of_work() as uow:
        assert uow.session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == task_id)).all() == []
    worklist = [(e.kind, e.actor, e.data) for e in recorded if e.kind.startswith("task.") and e.kind != "task.created"]
    assert [w[:2] for w in worklist] == [
        ("task.claimed", "civil1"), ("task.delegated", "civil1"), ("task.returned", "disabled1"),
        ("task.completed", "civil1"),
    ]
    assert worklist[1][2] == {"to": "disabled1", "comment": "请核对残疾证"}
    assert worklist[2][2] == {"to": "civil1", "delegate": "disabled1", "comment": "已核对"}
