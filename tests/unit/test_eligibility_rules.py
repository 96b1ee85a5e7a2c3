"""The eligibility rules of the catalogue, evaluated without a database: what each rule refuses,
in words (Chinese through the catalogue, English as str), and that the shipped rules are sound."""
from __future__ import annotations

import copy
import json

import pytest

from onewindow.catalogue import CATALOGUE_PATH, CatalogueError, load_catalogue, parse_catalogue
from onewindow.eligibility import Applicant, evaluate, rule_problems
from server.form_labels import localise


def service(code):
    return load_catalogue().service(code)


def senior(age=65, hukou_local=True, **kw) -> Applicant:
    return Applicant(age=age, hukou_local=hukou_local, **kw)


def messages(problems, locale="zh"):
    return [localise(p.message, locale) for p in problems]


def test_a_sixteen_year_old_gets_no_senior_card():
    problems = evaluate(service("senior_card"), senior(age=16))
    assert [p.rule for p in problems] == ["min_age"]
    assert messages(problems) == ["申请人 16 岁，老年证须年满 60 周岁。"]
    assert messages(problems, "en") == ["The applicant is 16; Senior card requires an age of at least 60."]
    assert evaluate(service("senior_card"), senior(age=60)) == []


def test_a_second_open_senior_card_case_is_a_duplicate():
    open_case = {"id": 7, "number": "XC-2026-000007", "status": "waiting_applicant"}
    problems = evaluate(service("senior_card"), senior(open_cases=(open_case,)))
    assert [p.rule for p in problems] == ["no_open_case"]
    assert messages(problems) == ["该居民已有在办的老年证申请：XC-2026-000007。"]


@pytest.mark.parametrize("code, applicant, rule, zh", [
    ("senior_card", senior(hukou_local=False), "hukou_local", "申请人不是本市户籍，老年证仅限本市户籍居民申请。"),
    ("senior_card", senior(certificates={"senior_card": "LN-1"}), "no_valid_certificate",
     "申请人已持有有效的老年证（LN-1），无需重复申领。"),
    ("senior_card", senior(age=None), "min_age", "人口库中没有申请人的出生日期，无法确认是否年满 60 周岁（老年证）。"),
    ("elderly_meal_voucher", senior(), "certificate", "申请人没有有效的老年证，申请养老助餐券须持有老年证。"),
    ("elderly_health_voucher", senior(age=79, certificates={"senior_card": "LN-1"}), "min_age",
     "申请人 79 岁，高龄老人助医券须年满 80 周岁。"),
    ("severe_disability_care_subsidy", senior(disability_grade=3, certificates={"disability_certificate": "CJ-1"}),
     "max_disability_grade", "申请人残疾等级为 3 级，重度残疾人护理补贴仅限 1 至 2 级残疾人。"),
    ("severe_disability_care_subsidy", senior(certificates={"disability_certificate": "CJ-1"}),
     "max_disability_grade", "人口库中没有申请人的残疾等级，重度残疾人护理补贴仅限 1 至 2 级残疾人。"),
    ("disabled_living_subsidy", senior(certificates={"disability_certificate": "CJ-1"}, low_income_status=None),
     "low_income_status", "人口库中申请人不属于低保、低收入家庭或特困供养人员，不符合困难残疾人生活补贴的申请条件。"),
    ("residential_parking_permit", senior(), "vehicle", "申请人名下没有登记的机动车，居住停车证仅限车辆所有人申请。"),
    ("residence_permit", senior(hukou_local=True), "hukou_nonlocal", "申请人为本市户籍，居住证申领仅限非本市户籍人员申请。"),
    ("unemployment_registration", senior(age=15), "min_age", "申请人 15 岁，失业登记须年满 16 周岁。"),
])
def test_each_rule_refuses_in_words(code, applicant, rule, zh):
    problems = [p for p in evaluate(service(code), applicant) if p.rule == rule]
    assert messages(problems) == [zh]
    assert str(problems[0].message) and not any("\u4e00" <= ch <= "\u9fff" for ch in str(problems[0].message))


def test_who_meets_every_rule_passes():
    assert evaluate(service("severe_disability_care_subsidy"),
                    senior(disability_grade=1, certificates={"disability_certificate": "CJ-1"})) == []
    assert evaluate(service("disabled_living_subsidy"),
                    senior(low_income_status="minimum_living", certificates={"disability_certificate": "CJ-1"})) == []
    assert evaluate(service("residential_parking_permit"), senior(vehicles=1)) == []
    assert evaluate(service("residence_permit"), senior(age=30, hukou_local=False)) == []
    assert evaluate(service("legal_aid"), senior(age=None, hukou_local=None)) == []  # no rules


def test_the_shipped_rules_are_sound_and_modest():
    catalogue = load_catalogue()
    for s in catalogue.services.values():
        assert rule_problems(s.code, list(s.eligibility)) == []
    assert {r["rule"] for r in catalogue.service("senior_card").eligibility} == {
        "min_age", "hukou_local", "no_valid_certificate", "no_open_case"}
    with_duplicate_check = [s.code for s in catalogue.services.values()
                            if any(r["rule"] == "no_open_case" for r in s.eligibility)]
    assert len(with_duplicate_check) >= 15
    # proofs, legal aid and funeral subsidies may be asked for again (another purpose, matter, deceased)
    assert not catalogue.service("residence_proof").eligibility


def test_a_broken_rule_is_reported_with_the_catalogue():
    raw = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    broken["services"][0]["eligibility"] = [{"rule": "telepathy"}, {"rule": "min_age"},
                                            {"rule": "low_income_status", "any_of": ["rich"]}]
    with pytest.raises(CatalogueError) as problems:
        parse_catalogue(broken)
    message = str(problems.value)
    assert "telepathy" in message and "needs 'value'" in message and "unknown status" in message
