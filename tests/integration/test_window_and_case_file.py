"""The window's motion, saved inbox filters and what a case page reads, on both databases."""
from __future__ import annotations

import pytest

from datacentre.certificates import issued_by_case
from tests.eligibility_helpers import eligible_resident
from tests.onewindow_helpers import one_window, open_task, work
from workflows.case_file import case_diagram, case_story, case_summary, urgency
from workflows.errors import Forbidden, InvalidInput, NotFound
from worklists import saved_filters
from desks.window import materials_supplied, receive_at_window

CARE = "severe_disability_care_subsidy"
FORM = {"care_arrangement": "home", "bank_account": "6222020200112233445"}


@pytest.fixture
def actors(ctx):
    return one_window(ctx, residents=600)


def test_accept_refuse_and_supplement_at_the_window(ctx, actors):
    intake = actors["intake1"]
    first = eligible_resident(ctx, intake, CARE)
    accepted = receive_at_window(ctx, intake, CARE, first, FORM, "accept")
    assert accepted["decided"] and [t["element_id"] for t in accepted["next_tasks"]] == ["review"]
    assert accepted["case"]["status"] == "open"

    second = eligible_resident(ctx, intake, CARE, exclude=(first,))
    refused = receive_at_window(ctx, intake, CARE, second, FORM, "refuse", refusal_reason="材料虚假")
    assert refused["case"]["status"] == "refused" and refused["case"]["data"]["refusal_reason"] == "材料虚假"

    third = eligible_resident(ctx, intake, CARE, exclude=(first, second))
    waiting = receive_at_window(ctx, intake, CARE, third, FORM, "supplement", missing_materials=["户口簿"])
    assert waiting["case"]["status"] == "waiting_applicant"
    resumed = materials_supplied(ctx, intake, waiting["case"]["id"])
    assert resumed["status"] == "open"
    assert open_task(ctx, waiting["case"]["id"], "accept_application").group == "intake"

    with pytest.raises(InvalidInput):  # nothing is written for an incomplete decision
        receive_at_window(ctx, intake, CARE, eligible_resident(ctx, intake, CARE, exclude=(first, second, third)),
                          FORM, "refuse")
    with pytest.raises(Forbidden):
        receive_at_window(ctx, actors["civil1"], CARE, first, FORM, "accept")


def test_what_the_case_page_reads(ctx, actors):
    intake, clerk = actors["intake1"], actors["disabled1"]
    resident = eligible_resident(ctx, intake, CARE)
    case = receive_at_window(ctx, intake, CARE, resident, FORM, "accept")["case"]
    work(ctx, clerk, case["id"], "review", {"review_result": "meets_conditions"})
    work(ctx, clerk, case["id"], "decide", {"approved": True, "decision_notes": "申请人110102196604111942已核实"})

    story = case_story(ctx, clerk, case["id"])
    kinds = [e["kind"] for e in story]
    assert kinds[0] == "case.received" and "gateway.decided" in kinds
    assert [e["task_name"] for e in story if e["kind"] == "task.completed"][:3] == [
        "Accept application 受理", "Review 审查", "Decide 决定"]
    for event in story:  # the story names steps, never the data entered
        assert "bank_account" not in str(event["details"]) and "110102196604111942" not in str(event["details"])

    diagram = case_diagram(ctx, clerk, case["id"])
    assert {"received", "accept_application", "review", "decide"} <= set(diagram["completed"])
    assert diagram["current"] == ["hand_out"] and "<bpmn:definitions" in diagram["xml"]

    summary = case_summary(ctx, clerk, case["id"])
    assert summary["applicant_id_number"].count("*") == 8 and summary["number"] == case["number"]

    certificates = issued_by_case(ctx, clerk, case["id"])
    assert [c["type"] for c in certificates] == ["severe_disability_care_subsidy"]
    for reader in (actors["intake1"], actors["civil1"]):
        assert issued_by_case(ctx, reader, case["id"])
    with pytest.raises(NotFound):
        case_story(ctx, actors["intake9"], case["id"])
    with pytest.raises(NotFound):
        case_diagram(ctx, actors["intake9"], case["id"])

    assert urgency(ctx, clerk, None, None) == {"level": "none", "working_days_left": None, "provisional": False}
    open_review = summary  # the deadline of a fresh case is weeks away
    assert urgency(ctx, clerk, open_review["deadline"], None)["level"] == "none"


def test_saved_filters_are_the_owners_and_their_groups(ctx, actors):
    civil1, civil2, disabled1 = actors["civil1"], actors["civil2"], actors["disabled1"]
    own = saved_filters.save_filter(ctx, civil1, "我的超期", {"scope": "group", "overdue": "1"})
    shared = saved_filters.save_filter(ctx, civil1, "科室老年证", {"service_code": "senior_card"}, "civil_affairs")
    assert [f["name"] for f in saved_filters.list_filters(ctx, civil1)] == ["我的超期", "科室老年证"]
    assert [f["name"] for f in saved_filters.list_filters(ctx, civil2)] == ["科室老年证"]
    assert saved_filters.list_filters(ctx, disabled1) == []
    with pytest.raises(Forbidden):
        saved_filters.delete_filter(ctx, civil2, shared["id"])
    with pytest.raises(NotFound):
        saved_filters.delete_filter(ctx, disabled1, own["id"])
    for name, query, share in (("", {}, None), ("x", {"sql": "1"}, None), ("x", {"scope": 5}, None),
                               ("x", {}, "disabled_federation")):
        with pytest.raises(InvalidInput):
            saved_filters.save_filter(ctx, civil1, name, query, share)
    saved_filters.delete_filter(ctx, civil1, own["id"])
    assert [f["name"] for f in saved_filters.list_filters(ctx, civil1)] == ["科室老年证"]
    with pytest.raises(Forbidden):
        saved_filters.list_filters(ctx, actors["auditor1"])


def test_designers_read_only_the_case_files_of_their_own_test_cases(ctx, actors):
    intake = actors["intake1"]
    case = receive_at_window(ctx, intake, CARE, eligible_resident(ctx, intake, CARE), FORM, "accept")["case"]
    for read in (case_story, case_diagram, case_summary):
        with pytest.raises(NotFound):
            read(ctx, actors["designer1"], case["id"])
        assert read(ctx, actors["auditor1"], case["id"])
