"""Intake at the one window on the real databases: prefilled forms, typed/prefilled counts,
the whole lifecycle (supplement loop with the deadline paused, decision, hand-out, archive),
certificates into the library and later reuse, the auditors' queue."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from datacentre.models import Certificate, Person
from onewindow import audits, intake
from onewindow.intake import submit_application
from onewindow.models import Audit, Intake
from onewindow.prefill import prefill
from tests.eligibility_helpers import eligible_resident
from tests.onewindow_helpers import one_window, resident_with, work
from workflows.cases import get_case, send_message
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import CaseClock


@pytest.fixture
def actors(ctx):
    return one_window(ctx)


def test_prefill_takes_the_care_subsidy_from_the_registry_and_the_certificate_library(ctx, actors):
    pid = resident_with(ctx, "disability_certificate")
    result = prefill(ctx, actors["intake1"], "severe_disability_care_subsidy", pid)
    fields = result["fields"]
    assert result["total_fields"] == 15
    assert fields["applicant_name"]["source"] == "registry:person"
    assert len(fields["id_number"]["value"]) == 18  # intake sees the full number
    cert = fields["disability_certificate_number"]
    assert cert["source"] == f"certificate:disability_certificate:{cert['value']}"
    assert fields["disability_grade"]["value"] in (1, 2, 3, 4)
    assert {"care_arrangement", "bank_account"} <= set(result["missing"])
    assert len(result["missing"]) <= 4
    assert set(fields).isdisjoint(result["missing"])
    # a clerk sees masked identity numbers; designers may not prefill
    masked = prefill(ctx, actors["civil1"], "severe_disability_care_subsidy", pid)
    assert "*" in masked["fields"]["id_number"]["value"] and "*" in masked["fields"]["disability_certificate_number"]["value"]
    with pytest.raises(Forbidden):
        prefill(ctx, actors["designer1"], "severe_disability_care_subsidy", pid)
    with pytest.raises(NotFound):
        prefill(ctx, actors["intake1"], "no_such_service", pid)
    with pytest.raises(NotFound):  # another tenant's window does not see the resident
        prefill(ctx, actors["intake9"], "severe_disability_care_subsidy", pid)


def test_submitting_counts_typed_and_prefilled_fields_and_names_each_bad_field(ctx, actors):
    pid = eligible_resident(ctx, actors["intake1"], "severe_disability_care_subsidy")
    with pytest.raises(InvalidInput) as bad:
        submit_application(ctx, actors["intake1"], "severe_disability_care_subsidy", pid,
                           {"care_arrangement": "at the moon", "bank_account": "12", "shoe_size": 42})
    assert set(bad.value.errors["form"]) == {"care_arrangement", "bank_account", "shoe_size"}
    with pytest.raises(InvalidInput) as missing:
        submit_application(ctx, actors["intake1"], "severe_disability_care_subsidy", pid, {"care_arrangement": "home"})
    assert set(missing.value.errors["form"]) == {"bank_account"}
    with pytest.raises(InvalidInput):
        submit_application(ctx, actors["intake1"], "no_such_service", pid, {})
    with pytest.raises(Forbidden):
        submit_application(ctx, actors["civil1"], "severe_disability_care_subsidy", pid, {})

    case = submit_application(ctx, actors["intake1"], "severe_disability_care_subsidy", pid,
                              {"care_arrangement": "home", "bank_account": "6222020200112233445", "phone": "139 0000 0000"})
    counts = case["intake"]
    assert counts["typed_fields"] == 3  # two missing fields and a changed phone number
    assert counts["prefilled_fields"] + counts["typed_fields"] <= counts["total_fields"] == 15
    assert "phone" not in counts["sources"] and "applicant_name" in counts["sources"]
    assert case["service_code"] == "severe_disability_care_subsidy" and case["applicant_id"] == pid
    assert case["process_key"] == "disabled_federation_service" and case["deadline"] is not None
    assert [t["element_id"] for t in case["tasks"]] == ["accept_application"]
    with ctx.unit_of_work() as uow:
        row = uow.session.scalar(select(Intake).where(Intake.case_id == case["id"]))
        assert (row.typed_fields, row.prefilled_fields) == (3, counts["prefilled_fields"])


def test_the_lifecycle_pauses_for_materials_issues_the_certificate_and_queues_the_audit(ctx, actors, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: True)  # this case falls in the sample
    pid = eligible_resident(ctx, actors["intake1"], "senior_card")
    case = submit_application(ctx, actors["intake1"], "senior_card", pid, {})
    assert case["data"]["audit_sampled"] is True
    work(ctx, actors["intake1"], case["id"], "accept_application",
         {"acceptance": "supplement", "missing_materials": ["近期免冠照片 photo", "户口簿 household register"]})
    waiting = get_case(ctx, actors["intake1"], case["id"])
    assert waiting["status"] == "waiting_applicant" and waiting["deadline"] is None
    with ctx.unit_of_work() as uow:
        assert uow.session.get(CaseClock, case["id"]).state == "paused"
    resumed = send_message(ctx, actors["intake1"], case["id"], "materials_supplied", {"supplied": ["photo", "hukou_book"]})
    assert resumed["status"] == "open" and resumed["deadline"] is not None
    work(ctx, actors["intake1"], case["id"], "accept_application", {"acceptance": "accept"})
    work(ctx, actors["civil1"], case["id"], "review", {"review_result": "meets_conditions"})
    decided, next_tasks = work(ctx, actors["civil1"], case["id"], "decide", {"approved": True})
    assert [t["element_id"] for t in next_tasks] == ["hand_out"]
    with ctx.unit_of_work() as uow:  # the certificate is in the library as soon as it is decided
        cert = uow.session.scalar(select(Certificate).where(Certificate.issuing_case_id == case["id"]))
        assert (cert.type, cert.holder_id, cert.issued_by) == ("senior_card", pid, "civil_affairs")
        number = cert.number
    done, _ = work(ctx, actors["intake1"], case["id"], "hand_out", {"handed_to": "the applicant"})
    assert done["status"] == "concluded" and done["data"]["archived"] is True

    # a later case reuses the certificate: the voucher's senior card number comes prefilled
    voucher = prefill(ctx, actors["intake1"], "elderly_meal_voucher", pid)
    assert voucher["fields"]["senior_card_number"] == {"value": number, "source": f"certificate:senior_card:{number}"}

    # the auditors' queue: verify the trail, record the finding once
    items, _ = audits.audit_queue(ctx, actors["auditor1"])
    assert [i["case_id"] for i in items] == [case["id"]]
    finding = audits.record_finding(ctx, actors["auditor1"], items[0]["id"], "compliant", "materials complete, on time")
    assert finding["trail_valid"] is True and finding["trail_checked"] > 5 and finding["status"] == "done"
    with pytest.raises(Conflict):
        audits.record_finding(ctx, actors["auditor1"], items[0]["id"], "compliant", "again")
    with pytest.raises(Forbidden):
        audits.record_finding(ctx, actors["civil1"], items[0]["id"], "compliant", "a clerk")
    with pytest.raises(NotFound):
        audits.audit_queue(ctx, actors["auditor1"]) and audits.record_finding(ctx, actors["admin1"], 10**9, "compliant", "x")


def test_an_earlier_case_fills_what_it_knows(ctx, actors, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    pid = eligible_resident(ctx, actors["intake1"], "disabled_living_subsidy")
    first = submit_application(ctx, actors["intake1"], "disabled_living_subsidy", pid,
                               {"bank_account": "6222020200998877665"})
    later = prefill(ctx, actors["intake1"], "severe_disability_care_subsidy", pid)
    assert later["fields"]["bank_account"] == {"value": "6222020200998877665", "source": f"case:{first['number']}"}
    assert "bank_account" not in later["missing"]


def test_a_refused_case_issues_nothing_and_is_not_audited(ctx, actors, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: True)
    pid = eligible_resident(ctx, actors["intake1"], "senior_card")
    case = submit_application(ctx, actors["intake1"], "senior_card", pid, {})
    done, _ = work(ctx, actors["intake1"], case["id"], "accept_application",
                   {"acceptance": "refuse", "refusal_reason": "not resident in this sub-district"})
    assert done["status"] == "refused"
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(Certificate.id).where(Certificate.issuing_case_id == case["id"])) is None
        assert uow.session.scalar(select(Audit.id).where(Audit.case_id == case["id"])) is None


def test_bulk_entry_of_the_family_situation_form_types_three_fields_per_known_resident(ctx, actors):
    with ctx.unit_of_work() as uow:
        disabled = list(uow.session.scalars(select(Person.id).where(Person.disability_grade.is_not(None)).order_by(Person.id).limit(5)))
    typed = {"employment_status": "retired", "monthly_household_income": 3200, "main_needs": "rehabilitation"}
    entries = [{"applicant_id": pid, "form": dict(typed)} for pid in disabled]
    entries.append({"applicant_id": disabled[0], "form": {"employment_status": "astronaut"}})
    entries.append({"applicant_id": 10**12, "form": dict(typed)})
    result = intake.submit_bulk(ctx, actors["intake1"], "disabled_family_form", entries)
    assert [c["index"] for c in result["created"]] == list(range(len(disabled)))
    assert [r["index"] for r in result["rejected"]] == [len(disabled), len(disabled) + 1]
    assert "employment_status" in result["rejected"][0]["errors"]["form"]
    assert all(c["typed_fields"] == 3 for c in result["created"]) and result["typed_per_form"] == 3
    assert result["full_form_fields"] == 19 * len(disabled)
    with pytest.raises(InvalidInput):
        intake.submit_bulk(ctx, actors["intake1"], "disabled_family_form", [])
