"""Form problems are sentences naming the field, in Chinese (the catalogue) and English (str),
one per validator kind; nothing big of the submitted value is echoed back."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from server.form_labels import enum_label, field_title, form_title, localise
from workflows import form_problems as fp
from workflows.form_problems import FormProblem, problems_of

REPO = Path(__file__).resolve().parent.parent.parent
CATALOGUE_DIR = REPO / "server" / "translations" / "zh" / "LC_MESSAGES"

SCHEMA = {
    "type": "object",
    "title": "测试表",
    "x-en": {"title": "Test form"},
    "additionalProperties": False,
    "required": ["name", "sex"],
    "properties": {
        "name": {"type": "string", "title": "姓名", "x-en": {"title": "Name"}, "minLength": 1, "maxLength": 5},
        "code": {"type": "string", "title": "代码", "x-en": {"title": "Code"}, "minLength": 3},
        "sex": {"type": "string", "title": "性别", "enum": ["male", "female"],
                "x-enum-labels": {"male": "男", "female": "女"},
                "x-en": {"title": "Sex", "enum-labels": {"male": "Male", "female": "Female"}}},
        "phone": {"type": "string", "title": "联系电话", "pattern": "^[0-9]{5,20}$",
                  "x-pattern-hint": "5至20位数字", "x-en": {"title": "Phone", "pattern-hint": "5 to 20 digits"}},
        "plate": {"type": "string", "title": "号牌", "pattern": "^[A-Z]{2}$", "x-en": {"title": "Plate"}},
        "age": {"type": "integer", "title": "年龄", "x-en": {"title": "Age"}, "minimum": 0, "maximum": 130},
        "amount": {"type": "number", "title": "金额", "x-en": {"title": "Amount"}, "exclusiveMinimum": 0,
                   "exclusiveMaximum": 100},
        "born": {"type": "string", "format": "date", "title": "出生日期", "x-en": {"title": "Birth date"}},
        "id_number": {"type": "string", "format": "id-number", "title": "公民身份号码", "x-en": {"title": "Identity number"}},
        "approved": {"type": "boolean", "title": "审批决定", "x-boolean-labels": {"true": "批准", "false": "不批准"},
                     "x-en": {"title": "Decision", "boolean-labels": {"true": "Approve", "false": "Reject"}}},
        "kind": {"type": "string", "title": "类别", "x-en": {"title": "Kind"}, "const": "only"},
        "items": {"type": "array", "title": "材料", "x-en": {"title": "Materials"}, "minItems": 1, "maxItems": 2,
                  "items": {"type": "string", "minLength": 1}},
        "acceptance": {"type": "string", "title": "受理意见", "enum": ["accept", "refuse"],
                       "x-enum-labels": {"accept": "受理", "refuse": "不予受理"},
                       "x-en": {"title": "Decision at the window", "enum-labels": {"accept": "Accept", "refuse": "Refuse"}}},
        "reason": {"type": "string", "title": "不予受理理由", "x-en": {"title": "Reason for refusal"}},
    },
    "allOf": [{"if": {"properties": {"acceptance": {"const": "refuse"}}}, "then": {"required": ["reason"]}}],
}
VALID = {"name": "王芳", "sex": "female"}


def one(data: dict, field: str, **kw) -> FormProblem:
    problems = problems_of(SCHEMA, {**VALID, **data}, **kw)
    assert field in problems, problems
    [problem] = problems[field]
    return problem


def both(problem: FormProblem) -> tuple[str, str]:
    return localise(problem, "zh"), localise(problem, "en")


@pytest.mark.parametrize("data, field, zh, en", [
    ({"name": None, "sex": None}, "name", "“姓名”应为文字。", "“Name” must be text."),
    ({"sex": "other"}, "sex", "“性别”只能选择：男、女。", "“Sex” must be one of: Male, Female."),
    ({"kind": "many"}, "kind", "“类别”只能是“only”。", "“Kind” must be “only”."),
    ({"phone": "abc"}, "phone", "“联系电话”格式不正确，应为：5至20位数字。",
     "“Phone” is not in the expected format: 5 to 20 digits."),
    ({"plate": "x"}, "plate", "“号牌”格式不正确。", "“Plate” is not in the expected format."),
    ({"name": ""}, "name", "“姓名”不能为空。", "“Name” must not be empty."),
    ({"code": "ab"}, "code", "“代码”至少应有 3 个字。", "“Code” must be at least 3 characters."),
    ({"name": "王芳王芳王芳"}, "name", "“姓名”最多 5 个字（现有 6 个）。", "“Name” must be at most 5 characters (it has 6)."),
    ({"age": -1}, "age", "“年龄”不能小于 0。", "“Age” must be at least 0."),
    ({"age": 131}, "age", "“年龄”不能大于 130。", "“Age” must be at most 130."),
    ({"amount": 0}, "amount", "“金额”必须大于 0。", "“Amount” must be more than 0."),
    ({"amount": 100}, "amount", "“金额”必须小于 100。", "“Amount” must be less than 100."),
    ({"items": []}, "items", "“材料”至少应填写 1 项。", "“Materials” needs at least 1 entries."),
    ({"items": ["a", "b", "c"]}, "items", "“材料”最多填写 2 项。", "“Materials” may have at most 2 entries."),
    ({"items": [""]}, "items.0", "“材料 第 1 项”不能为空。", "“Materials, item 1” must not be empty."),
    ({"born": "2026-02-30"}, "born", "“出生日期”不是有效日期（格式：年-月-日，如 2026-11-29）。",
     "“Birth date” is not a valid date (year-month-day, e.g. 2026-11-29)."),
    ({"approved": "yes"}, "approved", "“审批决定”应为“是”或“否”。", "“Decision” must be yes or no."),
    ({"age": "12"}, "age", "“年龄”应为整数。", "“Age” must be a whole number."),
])
def test_each_validator_kind_is_a_sentence_naming_the_field(data, field, zh, en):
    problem = one(data, field)
    assert both(problem) == (zh, en)
    assert str(problem) == en  # the API's plain str is the English sentence


def test_required_and_conditionally_required_fields_are_named():
    problems = problems_of(SCHEMA, {"acceptance": "refuse"})
    assert localise(problems["name"], "zh") == ["请填写“姓名”。"]
    assert localise(problems["sex"], "en") == ["“Sex” is required."]
    assert localise(problems["reason"], "zh") == ["“受理意见”为“不予受理”时，须填写“不予受理理由”。"]
    assert localise(problems["reason"], "en") == ["“Reason for refusal” is required when “Decision at the window” is “Refuse”."]
    assert set(problems_of(SCHEMA, {}, partial=True)) == set()  # a partial form may leave required fields out
    # an "if" whose field is absent holds vacuously (JSON Schema): then it is a plain "required"
    assert localise(problems_of(SCHEMA, {})["reason"], "en") == ["“Reason for refusal” is required."]


@pytest.mark.parametrize("value, zh, en", [
    ("110105194912310021", "校验位不符", "the check digit does not match"),
    ("12345", "应为18位", "it must have 18 characters"),
    ("99010519491231002X", "“99”不是省级行政区划代码", "99 is not a province code"),
    ("110105194913310021", "出生日期不存在", "the birth date in it is not a date"),
    ("11010519491231002A", "应为17位数字加1位数字或X", "17 digits followed by a digit or X"),
])
def test_identity_numbers_say_what_is_wrong(value, zh, en):
    problem = one({"id_number": value}, "id_number")
    rendered_zh, rendered_en = both(problem)
    assert rendered_zh.startswith("“公民身份号码”不是有效的公民身份号码：") and zh in rendered_zh
    assert rendered_en.startswith("“Identity number” is not a valid identity number:") and en in rendered_en


def test_identity_numbers_are_checked_by_key_name_too():
    problems = fp.identity_number_problems({"others": [{"guardian_id_number": "123"}], "id_number": ""})
    assert list(problems) == ["others[0].guardian_id_number"]
    assert "应为18位" in localise(problems, "zh")["others[0].guardian_id_number"][0]
    # declared by format and by name: reported once
    both_ways = problems_of(SCHEMA, {**VALID, "id_number": "110105194912310021"}, id_numbers_by_key=True)
    assert len(both_ways["id_number"]) == 1


def test_unknown_fields_are_named_and_cut():
    huge = "x" * 10_000
    problems = problems_of(SCHEMA, {**VALID, "shoe_size": 42, huge: 1})
    assert localise(problems["shoe_size"], "zh") == ["“shoe_size”不是本表单的字段。"]
    [long_key] = [k for k in problems if k.startswith("xxx")]
    assert len(long_key) <= fp.MAX_ECHO
    assert all(len(str(p)) < 200 for items in problems.values() for p in items)


def test_a_huge_value_is_never_echoed_back():
    huge = "9" * (20 * 1024 * 1024)
    problems = problems_of(SCHEMA, {**VALID, "name": huge, "phone": huge + "x", "sex": huge, "code": huge[:2]})
    for locale in ("zh", "en"):
        rendered = localise(problems, locale)
        for items in rendered.values():
            for sentence in items:
                assert len(sentence) < 300 and "9" * 60 not in sentence


def test_not_an_object_and_unknown_keywords_do_not_fail():
    assert localise(problems_of(SCHEMA, ["x"]), "zh") == {"form": ["表单内容应为各字段及其取值。"]}
    odd = {"type": "object", "properties": {"a": {"type": "string", "not": {"const": "b"}}}}
    assert localise(problems_of(odd, {"a": "b"}), "zh") == {"a": ["“a”填写不正确。"]}
    # a field without any title is named by its key
    assert localise(problems_of({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "x"}), "en") == {
        "n": ["“n” must be a whole number."]}


def test_a_broken_translation_falls_back_to_english():
    problem = FormProblem(fp.REQUIRED, {"field": fp.Text("姓名", "Name")})
    assert problem.render("zh", lambda s: "%(nonsense)s") == "“姓名” is required."


def test_localise_keeps_the_errors_structure_and_plain_values():
    errors = {"form": {"name": [FormProblem(fp.REQUIRED, {"field": fp.Text("姓名", "Name")})], "other": ["plain"]},
              "code": 3}
    assert localise(errors, "zh") == {"form": {"name": ["请填写“姓名”。"], "other": ["plain"]}, "code": 3}
    assert localise(errors, "en-US") == {"form": {"name": ["“Name” is required."], "other": ["plain"]}, "code": 3}


def test_label_helpers():
    assert field_title(SCHEMA["properties"]["sex"], "zh") == "性别"
    assert field_title(SCHEMA["properties"]["sex"], "en") == "Sex"
    assert field_title({}, "zh", name="shoe_size") == "shoe_size"
    assert enum_label(SCHEMA["properties"]["sex"], "female", "zh") == "女"
    assert enum_label(SCHEMA["properties"]["sex"], "female", "en") == "Female"
    assert enum_label(SCHEMA["properties"]["approved"], True, "zh") == "批准"
    assert enum_label(SCHEMA["properties"]["approved"], False, "en") == "Reject"
    assert enum_label(SCHEMA["properties"]["sex"], "unknown", "zh") == "unknown"
    assert form_title(SCHEMA, "zh") == "测试表" and form_title(SCHEMA, "en") == "Test form"


def test_the_forms_catalogue_translates_every_message_and_is_compiled():
    ids = set()
    for path in (REPO / "workflows" / "form_problems.py", REPO / "onewindow" / "eligibility.py"):
        for _, message, _, _ in extract_from_file("python", str(path), keywords={"N_": None}):
            ids.add(message)
    assert len(ids) > 30
    with open(CATALOGUE_DIR / "forms.po", "rb") as f:
        po = read_po(f, locale="zh")
    with open(CATALOGUE_DIR / "forms.mo", "rb") as f:
        mo = read_mo(f)
    translated = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    assert ids <= set(translated), f"untranslated: {ids - set(translated)}"
    assert {m.id: m.string for m in mo if m.id} == translated, "run pybabel compile -D forms -d server/translations"
    for msgid, msgstr in translated.items():  # the same placeholders on both sides
        assert set(re.findall(r"%\((\w+)\)s", msgid)) == set(re.findall(r"%\((\w+)\)s", msgstr)), msgid
