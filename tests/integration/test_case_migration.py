"""Moving running cases to a new version (issue 12) on the real databases: what moves, what is
reported and left as it is, what a mapping changes, what cases keep, crashes and stale cases."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from tests.helpers import make_users
from tests.timekeeping import beijing, clock_of, tasks_of, timers_of
from workflows import case_migration
from workflows.case_migration import get_run, migrate_cases
from workflows.cases import get_case, start_case
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case, CaseMigrationItem, TrailEvent
from workflows.process_models import deploy_model
from workflows.trail import case_trail, verify_case_chain
from worklists import commands

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "migration"
START = beijing(2026, 11, 25, 10, 0)
DATA = {"applicant_name": "王芳", "note": "kept"}


def v1_files():
    return [("moving.bpmn", (FIXTURES / "moving_v1.bpmn").read_bytes())]


def v2_files():
    return [("moving.bpmn", (FIXTURES / "moving_v2.bpmn").read_bytes()),
            ("review.json", (FIXTURES / "review.json").read_bytes())]


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], v1_files())
    return actors


def work(ctx, actor, case_id: int, element_id: str, data: dict | None = None) -> None:
    [task] = [t for t in get_case(ctx, actor, case_id)["tasks"] if t["element_id"] == element_id]
    commands.claim(ctx, actor, task["id"])
    commands.complete(ctx, actor, task["id"], data or {})


def at(ctx, actors, where: str, data: dict | None = None) -> int:
    """A case of version 1 standing at ``where``: accept, wait (timer), review or decide."""
    case = start_case(ctx, actors["intake1"], "moving", dict(DATA if data is None else data))
    if where == "accept":
        return case["id"]
    work(ctx, actors["intake1"], case["id"], "accept")
    if where == "wait":
        return case["id"]
    from tests.timekeeping import run_due

    with time_machine.travel(ctx.clock() + timedelta(hours=2, seconds=1), tick=False):
        run_due(ctx)
    if where == "review":
        return case["id"]
    work(ctx, actors["civil1"], case["id"], "review")
    assert where == "decide"
    return case["id"]


def items(ctx, run_id: int) -> dict[int, CaseMigrationItem]:
    with ctx.unit_of_work() as uow:
        rows = uow.session.scalars(select(CaseMigrationItem).where(CaseMigrationItem.run_id == run_id)).all()
        uow.session.expunge_all()
        return {r.case_id: r for r in rows}


def migrated_events(ctx, case_id: int) -> list[TrailEvent]:
    with ctx.unit_of_work() as uow:
        rows = uow.session.scalars(select(TrailEvent).where(TrailEvent.case_id == case_id,
                                                            TrailEvent.kind == "case.migrated")).all()
        uow.session.expunge_all()
    for row in rows:
        row.data = json.loads(row.data) if isinstance(row.data, str) else row.data
    return rows


def test_cases_move_keeping_data_deadline_timers_and_trail(ctx, actors):
    with time_machine.travel(START, tick=False):
        review, accept, waiting = (at(ctx, actors, w) for w in ("review", "accept", "wait"))
        deploy_model(ctx, actors["designer1"], v2_files())
        before = {c: get_case(ctx, actors["admin1"], c) for c in (accept, waiting, review)}
        clocks = {c: clock_of(ctx, c) for c in (accept, waiting, review)}
        [wait_timer] = [t for t in timers_of(ctx, waiting) if t.status == "pending" and t.kind == "bpmn"]
        trail_before = {c: len(case_trail(ctx, actors["admin1"], c)["events"]) for c in (accept, waiting, review)}
        review_task = tasks_of(ctx, review)[-1]

        dry = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=True)
        assert dry["status"] == "done" and dry["counts"]["can_migrate"] == 3
        assert {c["case_id"]: c["outcome"] for c in dry["cases"]} == dict.fromkeys((accept, waiting, review), "can_migrate")
        assert {get_case(ctx, actors["admin1"], c)["model_version"] for c in (accept, waiting, review)} == {1}

        report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False)
    assert report["counts"]["migrated"] == 3 and report["pending"] == 0
    for case_id in (accept, waiting, review):
        after = get_case(ctx, actors["admin1"], case_id)
        assert after["model_version"] == 2 and after["version"] == before[case_id]["version"] + 1
        assert after["data"] == before[case_id]["data"] and after["deadline"] == before[case_id]["deadline"]
        assert after["deadline"] is not None
        clock = clock_of(ctx, case_id)
        assert (clock.deadline, clock.state, clock.started_at) == (clocks[case_id].deadline, clocks[case_id].state,
                                                                   clocks[case_id].started_at)
        trail = case_trail(ctx, actors["admin1"], case_id)["events"]
        assert len(trail) == trail_before[case_id] + 1
        event = trail[-1]
        assert event["kind"] == "case.migrated" and event["actor"] == "designer1"
        assert (event["data"]["from_version"], event["data"]["to_version"], event["data"]["mapping"]) == (1, 2, {})
        assert verify_case_chain(ctx, None, case_id)["valid"]
    # the open review task is re-pointed: same row and due date, the new name and form
    [task] = [t for t in tasks_of(ctx, review) if t.status == "ready"]
    assert (task.id, task.element_id, task.due_at) == (review_task.id, "review", review_task.due_at)
    assert (task.name, task.form_key, task.group) == ("Review and decide", "review.json", "civil_affairs")
    assert migrated_events(ctx, review)[0].data["tasks"] == [
        {"task_id": task.id, "from": "review", "to": "review", "group": "civil_affairs", "form": "review.json"}]
    # the waiting timer keeps its row and its due time, and still fires into the new version
    [timer] = [t for t in timers_of(ctx, waiting) if t.status == "pending" and t.kind == "bpmn"]
    assert (timer.id, timer.due_at) == (wait_timer.id, wait_timer.due_at)
    from tests.timekeeping import run_due

    with time_machine.travel(wait_timer.due_at + timedelta(seconds=1), tick=False):
        assert run_due(ctx).get("fired") == 1
    [next_task] = get_case(ctx, actors["admin1"], waiting)["tasks"]
    assert (next_task["element_id"], next_task["name"]) == ("review", "Review and decide")
    # and a moved case runs to its end on the new version (decide is gone)
    work(ctx, actors["civil1"], review, "review", {"applicant_name": "王芳", "decision": "approve"})
    assert get_case(ctx, actors["admin1"], review)["status"] == "concluded"


def test_a_case_waiting_on_a_removed_task_is_left_alone_until_a_mapping_moves_it(ctx, actors):
    with time_machine.travel(START, tick=False):
        deciding = at(ctx, actors, "decide")
        accept = at(ctx, actors, "accept")
        deploy_model(ctx, actors["designer1"], v2_files())
        before = get_case(ctx, actors["admin1"], deciding)
        [decide_task] = before["tasks"]

        report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False)
    outcome = {c["case_id"]: c for c in report["cases"]}
    assert outcome[accept]["outcome"] == "migrated"
    assert outcome[deciding]["outcome"] == "blocked" and not outcome[deciding]["migratable"]
    [reason] = outcome[deciding]["reasons"]
    assert reason["code"] == "waiting_element_gone" and reason["element_id"] == "decide"
    untouched = get_case(ctx, actors["admin1"], deciding)
    assert untouched == before and migrated_events(ctx, deciding) == []

    with pytest.raises(InvalidInput) as refused:  # a mapping to an element the new version lacks
        migrate_cases(ctx, actors["designer1"], "moving", 1, 2, mapping={"decide": "nowhere"}, dry_run=True)
    assert "nowhere" in refused.value.errors["mapping"][0]

    with time_machine.travel(START + timedelta(hours=3), tick=False):
        mapped = migrate_cases(ctx, actors["admin1"], "moving", 1, 2, mapping={"decide": "review"}, dry_run=False)
    assert [c["outcome"] for c in mapped["cases"]] == ["migrated"]
    moved = get_case(ctx, actors["admin1"], deciding)
    [task] = moved["tasks"]
    assert (task["id"], task["element_id"], task["name"]) == (decide_task["id"], "review", "Review and decide")
    assert moved["data"] == before["data"] and moved["model_version"] == 2
    [event] = migrated_events(ctx, deciding)
    assert event.actor == "admin1" and event.data["mapping"] == {"decide": "review"}
    assert event.data["tasks"][0]["from"] == "decide" and event.data["tasks"][0]["to"] == "review"
    assert verify_case_chain(ctx, None, deciding)["valid"]
    work(ctx, actors["civil1"], deciding, "review", {"applicant_name": "王芳", "decision": "approve"})
    assert get_case(ctx, actors["admin1"], deciding)["status"] == "concluded"


def test_a_form_that_shows_missing_case_data_blocks_the_move(ctx, actors):
    with time_machine.travel(START, tick=False):
        nameless = at(ctx, actors, "review", data={"note": "no name"})
        named = at(ctx, actors, "review")
        deploy_model(ctx, actors["designer1"], v2_files())
        report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=True)
    outcome = {c["case_id"]: c for c in report["cases"]}
    assert outcome[named]["outcome"] == "can_migrate"
    [reason] = outcome[nameless]["reasons"]
    assert reason["code"] == "missing_data" and "applicant_name" in reason["message"]


def test_a_crash_between_batches_then_resume_moves_every_case_once(ctx, actors, monkeypatch):
    with time_machine.travel(START, tick=False):
        cases = [at(ctx, actors, "accept") for _ in range(7)]
        deploy_model(ctx, actors["designer1"], v2_files())
        real = case_migration._batch_done

        def die_after_first(ctx_, run_id, number):
            real(ctx_, run_id, number)
            raise KeyboardInterrupt  # the process is killed between two batches

        monkeypatch.setattr(case_migration, "_batch_done", die_after_first)
        with pytest.raises(KeyboardInterrupt):
            migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False, batch_size=3)
        monkeypatch.setattr(case_migration, "_batch_done", real)
        [run] = case_migration.list_runs(ctx, actors["designer1"], "moving")
        assert run["status"] == "interrupted" and "KeyboardInterrupt" in run["error"]
        with ctx.unit_of_work() as uow:  # as if killed outright: still "running", its lease not yet out
            uow.session.execute(case_migration.RUNS.update().values(status="running"))
            uow.commit()
        with pytest.raises(Conflict):
            migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False, batch_size=3)
        with ctx.unit_of_work() as uow:
            on_v2 = uow.session.scalar(select(func.count()).select_from(Case).where(Case.model_version == 2))
        assert on_v2 == 3
        [run] = case_migration.list_runs(ctx, actors["designer1"], "moving")
        assert run["status"] == "running" and run["processed"] == 3 and run["batches"] == 1
        progress = get_run(ctx, actors["designer1"], "moving", run["id"])
        assert progress["pending"] == 4

        # an exception inside the next batch: that case is reported, the rest goes on
        real_write = case_migration._write_moved

        def fail_once(ctx_, uow, plan, record, moved, now):
            if record.id == cases[4]:
                raise RuntimeError("disk full")
            return real_write(ctx_, uow, plan, record, moved, now)

        monkeypatch.setattr(case_migration, "_write_moved", fail_once)
    with time_machine.travel(START + timedelta(seconds=case_migration.LEASE_SECONDS + 1), tick=False):
        resumed = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False, batch_size=3)
        monkeypatch.setattr(case_migration, "_write_moved", real_write)
    assert resumed["id"] == run["id"] and resumed["status"] == "done"
    assert resumed["counts"]["migrated"] == 6 and resumed["counts"]["failed"] == 1
    assert "disk full" in {c["case_id"]: c for c in resumed["cases"]}[cases[4]]["reasons"][0]["message"]
    for case_id in cases:
        expected = 0 if case_id == cases[4] else 1
        assert len(migrated_events(ctx, case_id)) == expected
        assert verify_case_chain(ctx, None, case_id)["valid"]
    assert get_case(ctx, actors["admin1"], cases[4])["model_version"] == 1
    # a finished run is not resumed; a new run picks up the case left behind
    with pytest.raises(Conflict):
        migrate_cases(ctx, actors["designer1"], "moving", 1, 2, resume=run["id"])
    again = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False)
    assert again["id"] != run["id"] and [c["case_id"] for c in again["cases"]] == [cases[4]]
    assert again["counts"]["migrated"] == 1


def test_a_case_changed_while_being_moved_is_reported_stale_not_overwritten(ctx, actors, monkeypatch, app):
    with time_machine.travel(START, tick=False):
        case_id = at(ctx, actors, "accept")
        other = at(ctx, actors, "accept")
        deploy_model(ctx, actors["designer1"], v2_files())
        real = case_migration._assess_for

        def clerk_meanwhile(ctx_, plan, record, state):
            result = real(ctx_, plan, record, state)
            if record.id == case_id:  # the intake clerk completes the task while the case is being moved
                def clerk():
                    with app.app_context(), time_machine.travel(START, tick=False):
                        work(ctx, actors["intake1"], case_id, "accept")

                worker = threading.Thread(target=clerk)  # a session (and transaction) of its own
                worker.start()
                worker.join(30)
            return result

        monkeypatch.setattr(case_migration, "_assess_for", clerk_meanwhile)
        report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=False)
    outcome = {c["case_id"]: c for c in report["cases"]}
    assert outcome[case_id]["outcome"] == "stale" and outcome[other]["outcome"] == "migrated"
    case = get_case(ctx, actors["admin1"], case_id)
    assert case["model_version"] == 1 and case["tasks"] == []  # the clerk's step stands, on version 1
    assert migrated_events(ctx, case_id) == [] and verify_case_chain(ctx, None, case_id)["valid"]


def test_who_may_and_bad_input(ctx, actors):
    deploy_model(ctx, actors["designer1"], v2_files())
    with pytest.raises(Forbidden):
        migrate_cases(ctx, actors["civil1"], "moving", 1, 2)
    with pytest.raises(NotFound):
        migrate_cases(ctx, actors["designer1"], "moving", 1, 9)
    with pytest.raises(NotFound):  # another tenant's key
        migrate_cases(ctx, actors["designer9"], "moving", 1, 2)
    with pytest.raises(InvalidInput):
        migrate_cases(ctx, actors["designer1"], "moving", 2, 2)
    with pytest.raises(InvalidInput):
        migrate_cases(ctx, actors["designer1"], "moving", "1", 2)
    with pytest.raises(InvalidInput):
        migrate_cases(ctx, actors["designer1"], "moving", 1, 2, case_ids=["x"])
    with pytest.raises(InvalidInput):
        migrate_cases(ctx, actors["designer1"], "moving", 1, 2, mapping={"nowhere": "review"})
    with pytest.raises(InvalidInput):
        migrate_cases(ctx, actors["designer1"], "moving", 1, 2, mapping=["decide"])
    report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, dry_run=True)
    with pytest.raises(NotFound):
        get_run(ctx, actors["designer9"], "moving", report["id"])
    with pytest.raises(Forbidden):
        get_run(ctx, actors["civil1"], "moving", report["id"])


def test_only_the_cases_asked_for_move(ctx, actors):
    with time_machine.travel(START, tick=False):
        first, second = at(ctx, actors, "accept"), at(ctx, actors, "accept")
        deploy_model(ctx, actors["designer1"], v2_files())
        with pytest.raises(NotFound):  # unknown ids (or another tenant's) are refused, nothing moves
            migrate_cases(ctx, actors["designer1"], "moving", 1, 2, case_ids=[second, 999999], dry_run=False)
        report = migrate_cases(ctx, actors["designer1"], "moving", 1, 2, case_ids=[second], dry_run=False)
    assert [c["case_id"] for c in report["cases"]] == [second]
    assert get_case(ctx, actors["admin1"], first)["model_version"] == 1


def test_a_shipped_model_with_its_event_subprocess_and_a_paused_clock_moves_and_runs_on(ctx, monkeypatch, request):
    """civil_affairs_service (an event subprocess for pressing, the applicant's lane, forms) edited
    as version 2: a case waiting for materials (clock paused) and one at review move and run to
    their end on it."""
    from onewindow import intake
    from onewindow.intake import submit_application
    from server.demo import BPMN_DIR, model_files, system_actor
    from tests.eligibility_helpers import eligible_resident
    from tests.onewindow_helpers import one_window
    from tests.onewindow_helpers import work as ow_work
    from workflows.cases import send_message

    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    actors = one_window(ctx)
    waiting = submit_application(ctx, actors["intake1"], "senior_card",
                                 eligible_resident(ctx, actors["intake1"], "senior_card"), {})["id"]
    ow_work(ctx, actors["intake1"], waiting, "accept_application",
            {"acceptance": "supplement", "missing_materials": ["户口簿 household register"]})
    reviewing = submit_application(ctx, actors["intake1"], "senior_card",
                                   eligible_resident(ctx, actors["intake1"], "senior_card"), {})["id"]
    ow_work(ctx, actors["intake1"], reviewing, "accept_application", {"acceptance": "accept"})
    from tests.timekeeping import run_due

    later = time_machine.travel(ctx.clock() + timedelta(days=40), tick=False)
    later.start()  # overdue: the case_overdue message opens a task inside the event subprocess
    request.addfinalizer(later.stop)
    run_due(ctx)
    before = {c: get_case(ctx, actors["admin1"], c) for c in (waiting, reviewing)}
    assert sorted(t["element_id"] for t in before[reviewing]["tasks"]) == ["press_case", "review"]
    paused = clock_of(ctx, waiting)
    assert paused.state == "paused"
    files = [(name, content.replace("Review 审查".encode(), "Review 审查（复核）".encode()))
             for name, content in model_files(BPMN_DIR / "civil_affairs_service")]
    system = system_actor(ctx, "xichangan")
    deploy_model(ctx, system, files)
    old = before[waiting]["model_version"]

    report = migrate_cases(ctx, system, "civil_affairs_service", old, old + 1, dry_run=False,
                           case_ids=[waiting, reviewing])
    assert report["counts"]["migrated"] == 2, report["cases"]
    for case_id in (waiting, reviewing):
        after = get_case(ctx, actors["admin1"], case_id)
        assert after["model_version"] == old + 1 and after["data"] == before[case_id]["data"]
        assert after["status"] == before[case_id]["status"] and after["deadline"] == before[case_id]["deadline"]
        assert verify_case_chain(ctx, None, case_id)["valid"]
    clock = clock_of(ctx, waiting)
    assert (clock.state, clock.paused_at, clock.remaining_working_days) == (
        "paused", paused.paused_at, paused.remaining_working_days)
    tasks = {t["element_id"]: t for t in get_case(ctx, actors["admin1"], reviewing)["tasks"]}
    assert tasks["review"]["name"] == "Review 审查（复核）" and set(tasks) == {"press_case", "review"}
    assert {t["id"] for t in tasks.values()} == {t["id"] for t in before[reviewing]["tasks"]}

    resumed = send_message(ctx, actors["intake1"], waiting, "materials_supplied", {"supplied": ["hukou_book"]})
    assert resumed["status"] == "open" and resumed["deadline"] is not None
    for case_id in (waiting, reviewing):
        if case_id == waiting:
            ow_work(ctx, actors["intake1"], case_id, "accept_application", {"acceptance": "accept"})
        ow_work(ctx, actors["civil1"], case_id, "review", {"review_result": "meets_conditions"})
        ow_work(ctx, actors["civil1"], case_id, "decide", {"approved": True})
        done, _ = ow_work(ctx, actors["intake1"], case_id, "hand_out", {"handed_to": "the applicant"})
        assert done["status"] == "concluded" and done["model_version"] == old + 1
        assert verify_case_chain(ctx, None, case_id)["valid"]
