"""Prefill and intake rules without a database: typed/prefilled counting, value coercion,
household relations, form problems by field, the audit sample, the proactive rule file."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from onewindow.catalogue import load_catalogue
from onewindow.intake import audit_draw, count_fields, form_problems
from onewindow.prefill import _coerce, _relative
from onewindow.proactive import birthday_in, load_rules
from workflows.errors import InvalidInput


def test_a_kept_prefilled_value_counts_as_prefilled_a_changed_one_as_typed():
    prefilled = {"name": {"value": "王芳", "source": "registry:person"}, "phone": {"value": "139", "source": "registry:person"}}
    submitted = {"phone": "138", "bank_account": "6222"}
    final = {"name": "王芳", "phone": "138", "bank_account": "6222"}
    typed, kept, sources = count_fields(prefilled, submitted, final)
    assert (typed, kept, sources) == (2, 1, {"name": "registry:person"})
    # sending the prefilled value back unchanged is not typing
    assert count_fields(prefilled, {"name": "王芳"}, {"name": "王芳", "phone": "139"})[:2] == (0, 2)


def test_values_are_coerced_to_what_the_form_wants():
    assert _coerce("2", {"type": "integer"}) == 2
    assert _coerce(date(1950, 1, 2), {"type": "string", "format": "date"}) == "1950-01-02"
    assert _coerce("x", {"type": "integer"}) is None
    assert _coerce("", {"type": "string"}) is None
    assert _coerce("purple", {"type": "string", "enum": ["red"]}) is None
    assert _coerce(True, {"type": "boolean"}) is True and _coerce("yes", {"type": "boolean"}) is None


def test_household_relations_are_seen_from_the_applicant():
    child = {"relation_to_head": "child", "name": "小明", "birth_date": date(2010, 1, 1)}
    elder = {"relation_to_head": "child", "name": "大明", "birth_date": date(2005, 1, 1)}
    spouse = {"relation_to_head": "spouse", "name": "李娜", "birth_date": date(1980, 1, 1)}
    head = {"relation_to_head": "head", "name": "张伟", "birth_date": date(1979, 1, 1)}
    me_head = {**head, "household": [spouse, child, elder]}
    assert _relative(me_head, "head") is me_head
    assert _relative(me_head, "spouse")["name"] == "李娜"
    assert _relative(me_head, "child")["name"] == "大明"  # the eldest
    me_spouse = {**spouse, "household": [head, child]}
    assert _relative(me_spouse, "spouse")["name"] == "张伟" and _relative(me_spouse, "head")["name"] == "张伟"
    assert _relative({**child, "household": [head]}, "spouse") is None


def test_form_problems_name_each_field():
    service = load_catalogue().service("severe_disability_care_subsidy")
    problems = form_problems(service, {"applicant_name": "", "id_number": "110102190001010000", "sex": "x",
                                       "birth_date": "1950-13-01", "extra": 1})
    assert {"applicant_name", "id_number", "sex", "birth_date", "extra", "address", "bank_account"} <= set(problems)
    partial = form_problems(service, {"sex": "x"}, partial=True)
    assert set(partial) == {"sex"}


def test_the_audit_sample_follows_the_rate_and_is_reproducible():
    service = load_catalogue().service("low_income_certificate")  # rate 0.3
    at = datetime(2026, 11, 25, tzinfo=timezone.utc)
    draws = [audit_draw(1, service, applicant, at) for applicant in range(2000)]
    assert 0.25 < sum(draws) / len(draws) < 0.35
    assert draws == [audit_draw(1, service, applicant, at) for applicant in range(2000)]


def test_the_shipped_proactive_rules_and_a_broken_rule_file(tmp_path):
    rules = {r.code: r for r in load_rules()}
    assert rules["senior_card_at_60"].service == "senior_card" and rules["senior_card_at_60"].age == 60
    assert rules["health_voucher_at_80"].age == 80
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"code": "a", "service": "senior_card", "age": 60, "within_days": 400,
                                           "delivery": "drone"}]}))
    with pytest.raises(InvalidInput) as bad:
        load_rules(path)
    assert len(bad.value.errors["rules"]) == 2
    assert birthday_in(date(1964, 2, 29), 60) == date(2024, 2, 29)
    assert birthday_in(date(1966, 2, 28), 60) == date(2026, 2, 28)
    assert birthday_in(date(1968, 2, 29), 60) == date(2028, 2, 29)
