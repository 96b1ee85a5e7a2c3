"""Eligibility and duplicates before acceptance, on the real databases: the rules read the data
centre on the tenant's today, duplicates are open cases of the same service and applicant, the
proactive job keeps working, a refused application leaves nothing behind."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select, update

from datacentre.models import Certificate, Person
from onewindow import intake
from onewindow.eligibility import check_eligibility
from onewindow.intake import submit_application
from onewindow.models import Intake
from server.form_labels import localise
from tests.eligibility_helpers import eligible_resident
from tests.onewindow_helpers import one_window, work
from workflows.cases import send_message
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Case


@pytest.fixture
def actors(ctx, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    return one_window(ctx)


def counts(ctx) -> tuple[int, int]:
    with ctx.unit_of_work() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Case)),
                uow.session.scalar(select(func.count()).select_from(Intake)))


def set_birth_date(ctx, pid: int, born: date) -> None:
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(Person).where(Person.id == pid).values(birth_date=born))
        uow.commit()


def test_a_sixteen_year_old_is_refused_a_senior_card_in_words(ctx, actors):
    intake1 = actors["intake1"]
    pid = eligible_resident(ctx, intake1, "senior_card")
    today = datetime.now(timezone.utc).astimezone().date()
    set_birth_date(ctx, pid, date(today.year - 16, 1, 1) if today.month > 1 else date(today.year - 17, 1, 1))
    result = check_eligibility(ctx, intake1, "senior_card", pid)
    assert result["eligible"] is False and [p["rule"] for p in result["problems"]] == ["min_age"]
    age = 16 if today.month > 1 else 17
    assert localise(result["problems"], "zh") == [{"rule": "min_age", "message": f"申请人 {age} 岁，老年证须年满 60 周岁。"}]
    before = counts(ctx)
    with pytest.raises(InvalidInput) as refused:
        submit_application(ctx, intake1, "senior_card", pid, {})
    assert [p["rule"] for p in refused.value.errors["eligibility"]] == ["min_age"]
    assert "form" not in refused.value.errors  # the form itself is fine: only the person is not eligible
    assert counts(ctx) == before  # no half-written case


def test_age_is_counted_on_the_tenants_today(ctx, actors):
    """Born 60 years ago tomorrow (tenant time): not yet 60, so not yet eligible."""
    intake1 = actors["intake1"]
    pid = eligible_resident(ctx, intake1, "senior_card")
    now = ctx.clock()
    from datacentre.certificates import tenant_today, years_later

    today = tenant_today(now, intake1.timezone)
    set_birth_date(ctx, pid, years_later(today, -60))
    assert check_eligibility(ctx, intake1, "senior_card", pid)["eligible"] is True
    from datetime import timedelta

    set_birth_date(ctx, pid, years_later(today, -60) + timedelta(days=1))
    problems = check_eligibility(ctx, intake1, "senior_card", pid)["problems"]
    assert localise(problems, "zh")[0]["message"] == "申请人 59 岁，老年证须年满 60 周岁。"


def test_a_second_open_case_is_a_conflict_until_the_first_is_finished(ctx, actors):
    intake1 = actors["intake1"]
    pid = eligible_resident(ctx, intake1, "senior_card")
    first = submit_application(ctx, intake1, "senior_card", pid, {})
    before = counts(ctx)
    with pytest.raises(Conflict) as duplicate:
        submit_application(ctx, intake1, "senior_card", pid, {})
    assert first["number"] in duplicate.value.message
    assert duplicate.value.errors["open_cases"] == [{"id": first["id"], "number": first["number"], "status": "open"}]
    assert localise(duplicate.value.errors["eligibility"], "zh") == [
        {"rule": "no_open_case", "message": f"该居民已有在办的老年证申请：{first['number']}。"}]
    assert counts(ctx) == before

    # waiting for the applicant's materials is still open
    work(ctx, intake1, first["id"], "accept_application", {"acceptance": "supplement", "missing_materials": ["照片 photo"]})
    with pytest.raises(Conflict):
        submit_application(ctx, intake1, "senior_card", pid, {})
    assert check_eligibility(ctx, intake1, "senior_card", pid)["open_cases"][0]["status"] == "waiting_applicant"

    # another service for the same resident is no duplicate
    assert "no_open_case" not in {p["rule"] for p in check_eligibility(ctx, intake1, "temporary_assistance", pid)["problems"]}

    # refused: the resident may apply again
    send_message(ctx, intake1, first["id"], "materials_supplied", {})
    done, _ = work(ctx, intake1, first["id"], "accept_application", {"acceptance": "refuse", "refusal_reason": "照片不合格"})
    assert done["status"] == "refused"
    again = submit_application(ctx, intake1, "senior_card", pid, {})
    assert again["number"] != first["number"]


def test_a_granted_certificate_is_not_granted_twice(ctx, actors):
    intake1 = actors["intake1"]
    pid = eligible_resident(ctx, intake1, "senior_card")
    case = submit_application(ctx, intake1, "senior_card", pid, {})
    work(ctx, intake1, case["id"], "accept_application", {"acceptance": "accept"})
    work(ctx, actors["civil1"], case["id"], "review", {"review_result": "meets_conditions"})
    work(ctx, actors["civil1"], case["id"], "decide", {"approved": True})
    work(ctx, intake1, case["id"], "hand_out", {"handed_to": "本人"})
    with ctx.unit_of_work() as uow:
        number = uow.session.scalar(select(Certificate.number).where(Certificate.issuing_case_id == case["id"]))
    result = check_eligibility(ctx, intake1, "senior_card", pid)
    assert result["open_cases"] == []
    assert localise(result["problems"], "zh") == [
        {"rule": "no_valid_certificate", "message": f"申请人已持有有效的老年证（{number}），无需重复申领。"}]
    # the card is what the meal voucher needs
    assert "certificate" not in {p["rule"] for p in check_eligibility(ctx, intake1, "elderly_meal_voucher", pid)["problems"]}


def test_who_may_check_and_whom(ctx, actors):
    pid = eligible_resident(ctx, actors["intake1"], "senior_card")
    assert check_eligibility(ctx, actors["admin1"], "senior_card", pid)["eligible"] is True
    for user in ("civil1", "designer1", "auditor1", "super1"):
        with pytest.raises(Forbidden):
            check_eligibility(ctx, actors[user], "senior_card", pid)
    with pytest.raises(NotFound):  # another tenant's window does not see the resident
        check_eligibility(ctx, actors["intake9"], "senior_card", pid)
    with pytest.raises(NotFound):
        check_eligibility(ctx, actors["intake1"], "no_such_service", pid)


def test_bulk_entries_report_ineligible_and_duplicate_residents_and_go_on(ctx, actors):
    intake1 = actors["intake1"]
    good = eligible_resident(ctx, intake1, "senior_card")
    other = eligible_resident(ctx, intake1, "senior_card", exclude=(good,))
    young = eligible_resident(ctx, intake1, "senior_card", exclude=(good, other))
    set_birth_date(ctx, young, date(2010, 1, 1))
    result = intake.submit_bulk(ctx, intake1, "senior_card", [
        {"applicant_id": good, "form": {}}, {"applicant_id": good, "form": {}},
        {"applicant_id": young, "form": {}}, {"applicant_id": other, "form": {}}])
    assert [c["applicant_id"] for c in result["created"]] == [good, other]
    assert [r["index"] for r in result["rejected"]] == [1, 2]
    assert result["rejected"][0]["errors"]["open_cases"][0]["number"] == result["created"][0]["number"]
    assert [p["rule"] for p in result["rejected"][1]["errors"]["eligibility"]] == ["min_age"]


def test_two_windows_at_once_open_one_case(app, ctx, actors):
    """The same resident's application received at four windows at once: one case, three 409s."""
    from tests.integration.test_concurrency import run_at_once

    intake1 = actors["intake1"]
    pid = eligible_resident(ctx, intake1, "senior_card")
    results = run_at_once(app, 4, lambda i: submit_application(ctx, intake1, "senior_card", pid, {}))
    assert sorted(kind for kind, _ in results) == ["conflict"] * 3 + ["ok"], results
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Case).where(Case.applicant_id == pid)) == 1
