"""Identity numbers (GB 11643-1999): check digit, validation, masking, and who reads them in full."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator

from workflows.accounts import Actor
from workflows.identity_numbers import (
    FORMAT_CHECKER,
    check_character,
    id_number_problem,
    id_number_problems,
    is_valid_id_number,
    mask_id_number,
)
from workflows.personal_data import full_value_paths as full_number_paths
from workflows.personal_data import mask_personal_data, personal_data_view
from workflows.personal_data import may_read_personal_data as may_read_full_numbers

VALID = "110102199001011233"
VALID_X = "11010519491231002X"  # the example of the standard itself


@pytest.mark.parametrize("number", [VALID, VALID_X, "440301198510102017", "510107200002290010", VALID_X.lower()])
def test_valid_numbers(number):
    assert is_valid_id_number(number), id_number_problem(number)


def test_the_check_character_is_iso_7064_mod_11_2():
    # weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, remainder -> 1 0 X 9 8 7 6 5 4 3 2
    digits = "11010519491231002"
    total = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    assert total % 11 == 2 and check_character(digits) == "X"


@pytest.mark.parametrize(
    "number, why",
    [
        ("110102199001011234", "check digit"),  # one digit off
        ("110102199001021233", "check digit"),  # transposed birth day digits
        ("11010219900101123", "18 characters"),
        ("1101021990010112334", "18 characters"),
        ("11010219900101123Y", "17 digits"),
        ("A10102199001011233", "17 digits"),
        ("010102199001011233", "17 digits"),
        ("990102199001011230", "province"),
        ("110102199002301238", "not a date"),  # 30 February
        ("110102219001011231", "plausible"),  # born in 2190
        (110102199001011233, "string"),
        (None, "string"),
    ],
)
def test_invalid_numbers_say_why(number, why):
    problem = id_number_problem(number)
    assert problem is not None and why in problem


def test_a_future_birth_date_is_refused_relative_to_today():
    number = "110102203001011234"
    fixed = number[:17] + check_character(number[:17])
    assert "plausible" in id_number_problem(fixed, today=date(2026, 11, 25))
    assert id_number_problem(fixed, today=date(2031, 1, 1)) is None


def test_masking_keeps_region_and_last_four():
    assert mask_id_number(VALID) == "110102********1233"
    assert mask_id_number(VALID_X) == "110105********002X"
    assert mask_id_number("12345") == "*****"


def test_masking_finds_numbers_by_key_and_by_value_at_any_depth():
    data = {
        "applicant_name": "王芳",
        "applicant_id_number": VALID,  # by key
        "id_number": "not-a-valid-one-but-still-private",  # by key, even if invalid
        "household": [{"relation": "spouse", "note": f"配偶 {VALID_X}"}, {"guardian_id_number": VALID_X}],
        "free_text": VALID_X,  # by value: a number typed where no number was expected
        "count": 3,
        "phone": "13800138000",
    }
    masked, paths = mask_personal_data(data)
    assert masked["applicant_id_number"] == "110102********1233"
    assert masked["id_number"].startswith("not-a-") and "*" in masked["id_number"]
    assert masked["household"][1]["guardian_id_number"] == "110105********002X"
    assert masked["free_text"] == "110105********002X"
    assert masked["household"][0]["note"] == "配偶 110105********002X"  # inside prose too (issue 10, item 3)
    assert masked["phone"] == "138****8000" and masked["applicant_name"] == "王芳"
    assert sorted(paths) == ["applicant_id_number", "free_text", "household[0].note", "household[1].guardian_id_number",
                             "id_number", "phone"]
    assert data["applicant_id_number"] == VALID  # the original is untouched


def test_masking_copies_nothing_when_there_is_nothing_to_mask():
    data = {"a": [1, {"b": "c"}]}
    masked, paths = mask_personal_data(data)
    assert masked is data and paths == []


def test_masked_values_are_not_masked_again():
    masked, _ = mask_personal_data({"id_number": VALID})
    again, paths = mask_personal_data(masked)
    assert again == masked and paths == []
    assert full_number_paths(masked) == []


def test_validation_by_key_name():
    problems = id_number_problems({
        "applicant_id_number": "110102199001011234",
        "id_number": VALID,
        "others": [{"guardian_id_number": "123"}],
        "spouse_id_number": "",  # empty: left to the form's "required"
        "not_an_id": "110102199001011234",
    })
    assert set(problems) == {"applicant_id_number", "others[0].guardian_id_number"}
    assert "check digit" in problems["applicant_id_number"][0]


def test_form_schemas_can_declare_the_format():
    schema = {"type": "object", "properties": {"holder": {"type": "string", "format": "id-number"},
                                                "email": {"type": "string", "format": "email"}}}
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    assert list(validator.iter_errors({"holder": VALID, "email": "no email, not asserted"})) == []
    [error] = validator.iter_errors({"holder": "110102199001011234"})
    assert error.validator == "format"


def actor(*roles, groups=(), username="u1"):
    return Actor(user_id=1, username=username, tenant_id=1, tenant_code="t", roles=frozenset(roles), groups=frozenset(groups))


def task(group="civil_affairs", assignee=None):
    return SimpleNamespace(group=group, assignee=assignee)


@pytest.mark.parametrize(
    "who, tasks, allowed",
    [
        (actor("intake"), [], True),
        (actor("admin"), [], True),
        (actor("auditor"), [task()], False),
        (actor("designer"), [task()], False),
        (actor("supervisor"), [task()], False),
        (actor("clerk", groups=["civil_affairs"]), [task()], True),  # ready in the clerk's group
        (actor("clerk", groups=["civil_affairs"]), [task(assignee="someone")], False),  # a colleague holds it
        (actor("clerk", groups=["disabled_federation"]), [task()], False),
        (actor("clerk", username="c1"), [task(group="other", assignee="c1")], True),  # assigned to the clerk
        (actor("clerk", groups=["civil_affairs"]), [], False),  # nothing open: no need to know
    ],
)
def test_who_reads_full_numbers(who, tasks, allowed):
    assert may_read_full_numbers(who, tasks) is allowed


class FakeUnitOfWork:
    def __init__(self):
        self.events = []

    def record(self, kind, tenant_id, **details):
        self.events.append((kind, tenant_id, details))


def test_reading_a_full_number_is_recorded_and_masked_reads_are_not():
    data = {"applicant_id_number": VALID, "name": "王芳"}
    uow = FakeUnitOfWork()
    shown = personal_data_view(uow, actor("intake"), data, tenant_id=1, case_id=5, via="case")
    assert shown["applicant_id_number"] == VALID
    [(kind, tenant_id, details)] = uow.events
    assert kind == "pii.read" and details["case_id"] == 5 and details["data"] == {"fields": ["applicant_id_number"], "via": "case"}
    assert VALID not in str(details)  # which field, never the value

    uow = FakeUnitOfWork()
    shown = personal_data_view(uow, actor("auditor"), data, tenant_id=1, case_id=5, via="case")
    assert shown["applicant_id_number"] == "110102********1233" and uow.events == []

    uow = FakeUnitOfWork()
    assert personal_data_view(uow, actor("intake"), {"name": "x"}, tenant_id=1, case_id=5, via="case") == {"name": "x"}
    assert uow.events == []
