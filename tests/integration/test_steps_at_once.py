"""A claim is one statement on PostgreSQL (the compare-and-set, the case's lock and its trail event
hashed in SQL), and a completion reads its task and case completing the row in the same
statement; what either may not do falls back to the general path, which says why and writes
nothing. Both databases run every test: SQLite always takes the general path."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.helpers import demo_files, make_users, sent_statements, window_clerks
from tests.integration.test_concurrency import run_at_once
from workflows.accounts import add_user, authenticate
from workflows.cases import start_case
from workflows.errors import Conflict, Forbidden, NotFound, StaleWrite
from workflows.models import Task, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import verify_case_chain
from worklists import commands, handling


@pytest.fixture
def setting(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    case = start_case(ctx, actors["intake1"], "service_application")
    return actors, case, case["tasks"][0]["id"]


def _claims(ctx, case_id):
    with ctx.unit_of_work() as uow:
        return uow.session.execute(
            select(TrailEvent.seq, TrailEvent.actor, TrailEvent.task_id)
            .where(TrailEvent.case_id == case_id, TrailEvent.kind == "task.claimed").order_by(TrailEvent.seq)
        ).all()


def _task(ctx, task_id):
    with ctx.unit_of_work() as uow:
        return uow.session.execute(select(Task.status, Task.assignee, Task.version).where(Task.id == task_id)).one()


def test_a_claim_is_one_statement_and_its_event_verifies(ctx, setting):
    actors, case, task_id = setting
    engine = ctx.session_factory().get_bind()
    # the statements sent, and whether each ran as a transaction of its own (no BEGIN, no COMMIT)
    with sent_statements() as statements:
        answer = commands.claim(ctx, actors["intake1"], task_id, case["tasks"][0]["version"])
    assert answer["status"] == "claimed" and answer["assignee"] == "intake1"
    assert answer["case_number"] == case["number"] and answer["version"] == case["tasks"][0]["version"] + 1
    if engine.dialect.name == "postgresql":
        assert len(statements) == 1 and statements[0][1] is True, statements
    assert [(actor, task) for _, actor, task in _claims(ctx, case["id"])] == [("intake1", task_id)]
    report = verify_case_chain(ctx, None, case["id"])
    assert report["valid"] and report["checked"] >= 2, report
    # the completion's events chain on the head the claim left
    commands.complete(ctx, actors["intake1"], task_id, {"acceptance": "accept", "department": "civil_affairs"})
    report = verify_case_chain(ctx, None, case["id"])
    assert report["valid"], report


def test_claiming_twice_answers_the_same_and_records_once(ctx, setting):
    actors, case, task_id = setting
    first = commands.claim(ctx, actors["intake1"], task_id)
    again = commands.claim(ctx, actors["intake1"], task_id)
    assert again["version"] == first["version"] and again["assignee"] == "intake1"
    assert len(_claims(ctx, case["id"])) == 1


def test_what_a_claim_may_not_do_writes_nothing(ctx, setting):
    actors, case, task_id = setting
    before = _task(ctx, task_id)
    with pytest.raises(StaleWrite):
        commands.claim(ctx, actors["intake1"], task_id, before.version + 1)
    with pytest.raises(Forbidden):  # an admin sees every task but works only those of its groups
        commands.claim(ctx, actors["admin1"], task_id)
    handling.suspend(ctx, actors["admin1"], case["id"], "材料存疑，暂停办理")
    with pytest.raises(Conflict):
        commands.claim(ctx, actors["intake1"], task_id)
    assert _task(ctx, task_id) == before
    assert _claims(ctx, case["id"]) == []
    assert verify_case_chain(ctx, None, case["id"])["valid"]


def test_a_claim_at_once_asks_what_may_work_asks(ctx, setting):
    """The statement's own check of who may work the task (it cannot be rolled back after) agrees
    with ``access.may_work``: a candidate user outside the task's groups may claim it, a member
    of none of its groups may not, and a refused claim changes nothing."""
    actors, case, task_id = setting

    def route(**values):
        with ctx.unit_of_work() as uow:
            uow.session.execute(update(Task).where(Task.id == task_id).values(status="ready", assignee=None, **values))
            uow.commit()

    engine = ctx.session_factory().get_bind()

    def claimed_at_once(actor):
        """The claim's assignee, having checked it took the one statement (PostgreSQL)."""
        with sent_statements() as statements:
            answer = commands.claim(ctx, actors[actor], task_id)
        if engine.dialect.name == "postgresql":
            assert len(statements) == 1, statements
        return answer["assignee"]

    route(group="housing", candidate_groups=["civil_affairs"], candidate_users=["disabled1"])
    before = _task(ctx, task_id)
    with pytest.raises(NotFound):  # intake: not housing, not civil_affairs, not a candidate user (nor sees it)
        commands.claim(ctx, actors["intake1"], task_id)
    assert _task(ctx, task_id) == before and _claims(ctx, case["id"]) == []
    assert claimed_at_once("civil1") == "civil1"  # a candidate group's member
    route(group=None, candidate_groups=[], candidate_users=["disabled1"])
    assert claimed_at_once("disabled1") == "disabled1"  # a candidate user
    route(group="civil_affairs", candidate_groups=[], candidate_users=[])
    assert claimed_at_once("civil2") == "civil2"  # the lane's group
    assert [c[1] for c in _claims(ctx, case["id"])] == ["civil1", "disabled1", "civil2"]
    assert verify_case_chain(ctx, None, case["id"])["valid"]


def test_simultaneous_claims_leave_one_event_and_a_whole_chain(app, ctx, setting):
    actors, case, task_id = setting
    clerks = window_clerks(ctx, 6)

    def action(i):
        if i == 6:  # something else appending to the same case's chain at the same moment
            return handling.urge(ctx, actors["admin1"], case["id"], "请尽快受理")
        return commands.claim(ctx, clerks[i], task_id)

    results = run_at_once(app, 7, action)
    claims = [r for r in results[:6] if r[0] == "ok"]
    assert len(claims) == 1 and sorted(r[0] for r in results[:6]) == ["conflict"] * 5 + ["ok"], results
    assert results[6][0] in ("ok", "conflict"), results
    assert [c[1] for c in _claims(ctx, case["id"])] == [claims[0][1]["assignee"]]
    report = verify_case_chain(ctx, None, case["id"])
    assert report["valid"], report


def test_a_completion_takes_its_task_as_it_reads_it(ctx, setting):
    actors, case, task_id = setting
    claimed = commands.claim(ctx, actors["intake1"], task_id)
    data = {"acceptance": "accept", "department": "civil_affairs"}
    with pytest.raises(StaleWrite):
        commands.complete(ctx, actors["intake1"], task_id, data, claimed["version"] - 1)
    with pytest.raises(Conflict):  # held by intake1: another clerk of the group cannot complete it
        with ctx.unit_of_work() as uow:
            add_user(uow.session, "xichangan", "window9", "correct-horse-battery", ["intake"], ["intake"])
            uow.commit()
        with ctx.unit_of_work() as uow:
            other = authenticate(uow.session, "window9", "correct-horse-battery")
        commands.complete(ctx, other, task_id, data)
    assert _task(ctx, task_id) == ("claimed", "intake1", claimed["version"])
    engine = ctx.session_factory().get_bind()
    with sent_statements() as sent:
        result, next_tasks = commands.complete(ctx, actors["intake1"], task_id, data, claimed["version"])
    statements = [text for text, _ in sent]
    assert [t["element_id"] for t in next_tasks] == ["review_civil_affairs"]
    assert _task(ctx, task_id) == ("completed", "intake1", claimed["version"] + 1)
    review = next_tasks[0]
    assert _task(ctx, review["id"]) == ("ready", None, 1)
    with ctx.unit_of_work() as uow:  # the row as an INSERT of its own writes it, defaults included
        row = uow.session.execute(select(Task).where(Task.id == review["id"])).scalar_one()
        assert (row.kind, row.urged_count, row.priority, row.case_id) == ("user", 0, 50, case["id"])
    # the next task is in its group's inbox and can be claimed and completed in turn
    commands.claim(ctx, actors["civil1"], review["id"])
    commands.complete(ctx, actors["civil1"], review["id"], {"review_result": "meets_conditions"})
    if engine.dialect.name == "postgresql":
        # the task with its case (row completed, candidates gone, ids drawn for the next tasks);
        # the case row with the next task's row and the step's trail events
        assert len(statements) == 2, statements
        assert "INSERT INTO tasks" in statements[1] and "INSERT INTO trail_events" in statements[1]
    with ctx.unit_of_work() as uow:
        from workflows.models import TaskCandidate

        assert uow.session.scalar(select(TaskCandidate.task_id).where(TaskCandidate.task_id == task_id)) is None
    report = verify_case_chain(ctx, None, case["id"])
    assert report["valid"], report


def test_a_completion_of_a_suspended_case_changes_nothing(ctx, setting):
    actors, case, task_id = setting
    claimed = commands.claim(ctx, actors["intake1"], task_id)
    handling.suspend(ctx, actors["admin1"], case["id"], "材料存疑，暂停办理")
    with pytest.raises(Conflict):
        commands.complete(ctx, actors["intake1"], task_id, {"acceptance": "accept", "department": "civil_affairs"})
    assert _task(ctx, task_id) == ("claimed", "intake1", claimed["version"])


def test_a_start_checks_the_latest_version_it_remembers_as_it_inserts(ctx, setting):
    actors, case, _ = setting
    assert case["model_version"] == 1
    # a second start runs on the version this process remembers (no lookup) …
    engine = ctx.session_factory().get_bind()
    with sent_statements() as sent:
        again = start_case(ctx, actors["intake1"], "service_application")
    statements = [text for text, _ in sent]
    assert again["model_version"] == 1
    if engine.dialect.name == "postgresql":  # SQLite checks the hint with a SELECT of its own
        assert not any(s.lstrip().startswith("SELECT") for s in statements), statements
        # the case (checking the hint; task ids drawn with it), then its task row with its trail events
        assert len(statements) == 2, statements
        assert "INSERT INTO tasks" in statements[1] and "INSERT INTO trail_events" in statements[1]
    # … and once a newer version is deployed (by any process), the next start runs on it
    files = [(name, content + b"\n<!-- v2 -->\n" if name.endswith(".bpmn") else content)
             for name, content in demo_files()]
    deploy_model(ctx, actors["designer1"], files)
    assert start_case(ctx, actors["intake1"], "service_application")["model_version"] == 2
    # the hint now names version 2: a start asking for version 1 explicitly still gets it
    assert start_case(ctx, actors["intake1"], "service_application", version=1)["model_version"] == 1
    assert start_case(ctx, actors["intake1"], "service_application")["model_version"] == 2


def test_a_start_that_opens_two_tasks_writes_whole_rows_and_a_whole_chain(ctx):
    from pathlib import Path

    actors = make_users(ctx)
    bpmn = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "engine" / "parallel_gateway.bpmn"
    deploy_model(ctx, actors["designer1"], [(bpmn.name, bpmn.read_bytes())])
    case = start_case(ctx, actors["intake1"], "parallel_gateway", {"applicant": "Li Wei"})
    assert sorted(t["element_id"] for t in case["tasks"]) == ["check_identity", "check_property"]
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(select(Task).where(Task.case_id == case["id"]).order_by(Task.id)).scalars().all()
        assert [(r.kind, r.urged_count, r.status, r.version) for r in rows] == [("user", 0, "ready", 1)] * 2
        assert {r.id for r in rows} == {t["id"] for t in case["tasks"]}
    assert verify_case_chain(ctx, None, case["id"])["valid"]
    for task in case["tasks"]:  # each is in its group's inbox and can be worked
        clerk = actors["civil1"] if task["element_id"] == "check_property" else actors["intake1"]
        assert commands.claim(ctx, clerk, task["id"])["assignee"] == clerk.username
    assert verify_case_chain(ctx, None, case["id"])["valid"]


def test_a_claim_alone_begins_no_session_and_one_inside_a_unit_joins_it(ctx, setting):
    """On PostgreSQL the claim runs on a pooled connection of its own, with no ORM session begun;
    a claim inside an open unit of work joins that unit instead, so the unit's rollback undoes it."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    actors, case, task_id = setting
    postgres = ctx.session_factory().get_bind().dialect.name == "postgresql"
    begun = []

    def note(session, transaction, connection):
        begun.append(session)

    event.listen(Session, "after_begin", note)
    try:
        with ctx.unit_of_work():  # claimed inside it and rolled back with it: nothing stays
            inside = commands.claim(ctx, actors["intake1"], task_id)
        assert inside["assignee"] == "intake1" and begun
        assert _task(ctx, task_id)[0] == "ready" and _claims(ctx, case["id"]) == []
        begun.clear()
        answer = commands.claim(ctx, actors["intake1"], task_id)
        assert answer["assignee"] == "intake1"
        assert (begun == []) is postgres, begun  # SQLite takes the general path, in a session
    finally:
        event.remove(Session, "after_begin", note)
    assert _task(ctx, task_id)[0] == "claimed"
    assert [c[1] for c in _claims(ctx, case["id"])] == ["intake1"]
