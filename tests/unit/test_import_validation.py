"""The CSV import's rules, row by row, without a database."""
from __future__ import annotations

from datetime import date

import pytest

from datacentre import identity
from datacentre.csv_import import KINDS, _validate, day, decode, kind_named, plate, read_csv
from workflows.errors import InvalidInput

PEOPLE = KINDS["people"]
GOOD_ID = "11010219600115002" + identity.check_character("11010219600115002")  # a woman born 1960-01-15


def person(**overrides):
    row = {"id_number": GOOD_ID, "name": "王秀兰", "hukou_local": "是", "house_code": "H1"}
    row.update(overrides)
    return row


def validate_person(**overrides):
    row = person(**overrides)
    return _validate(PEOPLE, set(row), row)


def test_a_good_row_takes_sex_and_birth_date_from_the_number():
    values, refs, errors = validate_person()
    assert errors == {}
    assert values["sex"] == "female" and values["birth_date"] == date(1960, 1, 15)
    assert values["hukou_local"] is True and refs == {"house_code": "H1"}


@pytest.mark.parametrize(
    "overrides, column, words",
    [
        ({"id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")}, "id_number", "check"),
        ({"id_number": "11010219601315002X"}, "id_number", "date"),
        ({"id_number": "1101021960011500"}, "id_number", "18"),
        ({"id_number": "99010219600115002X"}, "id_number", "province"),
        ({"sex": "male"}, "sex", "female"),
        ({"birth_date": "1960-01-16"}, "birth_date", "1960-01-15"),
        ({"name": ""}, "name", "required"),
        ({"hukou_local": "maybe"}, "hukou_local", "yes/no"),
        ({"disability_grade": "5"}, "disability_grade", "between 1 and 4"),
        ({"disability_kind": "physical"}, "disability_kind", "grade"),
        ({"low_income_status": "rich"}, "low_income_status", "choose from"),
        ({"phone": "call me"}, "phone", "digits"),
        ({"house_code": "H 1"}, "house_code", "code"),
        ({"name": "王\x07"}, "name", "control"),
    ],
)
def test_bad_cells_are_named_with_a_reason(overrides, column, words):
    _, _, errors = validate_person(**overrides)
    assert column in errors and words in errors[column], errors


def test_explicit_values_that_agree_and_empty_optional_cells():
    values, _, errors = validate_person(sex="female", birth_date="1960/1/15", phone="138-0013-8000", disability_grade="",
                                        household_no="")
    assert errors == {}
    assert values["phone"] == "13800138000" and values["disability_grade"] is None and values["household_no"] is None


def test_free_attributes_go_to_the_json_column():
    row = person(**{"attr.guardian": "王建国", "attr.note": ""})
    values, _, errors = _validate(PEOPLE, set(row), row)
    assert errors == {} and values["attributes"] == {"guardian": "王建国"}


@pytest.mark.parametrize("text, expected", [("2024-03-01", date(2024, 3, 1)), ("20240301", date(2024, 3, 1)),
                                            ("2024/3/1", date(2024, 3, 1)), (date(2020, 2, 29), date(2020, 2, 29))])
def test_dates(text, expected):
    assert day(text) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "yesterday", "240301", "2024-13-01"])
def test_bad_dates(text):
    with pytest.raises(ValueError):
        day(text)


def test_plates_and_credit_codes():
    assert plate("京a·12345") == "京A12345" and plate("京AD12345") == "京AD12345"
    for bad in ("A12345", "京I12345", "京A1234", "京A1234567"):
        with pytest.raises(ValueError):
            plate(bad)
    body = "91110102MA01ABCD0"
    good = body + identity.credit_code_check_character(body)
    assert identity.validate_credit_code(good.lower()) == good
    wrong = body + ("0" if good[-1] != "0" else "1")
    with pytest.raises(identity.InvalidIdentityNumber):
        identity.validate_credit_code(wrong)
    with pytest.raises(identity.InvalidIdentityNumber):
        identity.validate_credit_code("91110102MA01ABCDOZ")  # O and Z never occur


def test_certificate_rows():
    kind = KINDS["certificates"]
    row = {"type": "senior_card", "number": "LNZ1", "holder_id_number": GOOD_ID, "issued_on": "2020-01-20", "data.grade": "2"}
    values, refs, errors = _validate(kind, set(row), row)
    assert errors == {} and values["valid_from"] == date(2020, 1, 20) and values["data"] == {"grade": "2"}
    row.update({"valid_from": "2020-02-01", "valid_until": "2020-01-31"})
    assert "valid_until" in _validate(kind, set(row), row)[2]
    row.update({"valid_until": "", "type": "Senior Card"})
    assert "type" in _validate(kind, set(row), row)[2]


def test_header_problems_refuse_the_whole_file():
    with pytest.raises(InvalidInput) as refused:
        read_csv(PEOPLE, "id_number,name,nickname,name\n")
    columns = refused.value.errors["columns"]
    assert columns["unknown"] == ["nickname"] and columns["duplicate"] == ["name"] and columns["missing"] == ["hukou_local"]
    with pytest.raises(InvalidInput):
        read_csv(PEOPLE, b"")
    with pytest.raises(InvalidInput):
        kind_named("spaceships")
    assert kind_named("residents") is PEOPLE


def test_lines_are_counted_as_in_the_file_and_wide_rows_rejected():
    text = (
        "id_number,name,hukou_local\n"
        f"{GOOD_ID},王秀兰,1\n"
        "\n"
        f'{GOOD_ID},"张\n三",1\n'
        f"{GOOD_ID},李四,1,extra\n"
    )
    header, rows = read_csv(PEOPLE, text)
    assert header == ["id_number", "name", "hukou_local"]
    assert [line for line, _ in rows] == [2, 4, 6]
    assert _validate(PEOPLE, set(header), rows[2][1])[2] == {"row": "4 cells, the header names 3"}


def test_encodings():
    text = "id_number,name,hukou_local\n11010219600115002X,王秀兰,是\n"
    assert decode(text.encode("utf-8-sig")) == text
    assert decode(text.encode("gbk")) == text
    assert decode(text) == text
