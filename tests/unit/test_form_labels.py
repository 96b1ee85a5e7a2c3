"""Every shipped form speaks Chinese, with English beside it: the 22 catalogue services' forms and
every task form of every shipped process; every choice has labels in both; the departments too."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from onewindow.catalogue import load_catalogue
from server.form_labels import choices, department_name, enum_label, field_description, field_title, form_title

REPO = Path(__file__).resolve().parent.parent.parent
PROCESSES = REPO / "bpmn" / "processes"
CJK = re.compile(r"[\u4e00-\u9fff]")


def shipped_forms() -> list[tuple[str, dict]]:
    forms = [(f"catalogue:{s.code}", s.form) for s in load_catalogue().services.values()]
    for path in sorted(PROCESSES.glob("*/*.json")):
        forms.append((str(path.relative_to(REPO)), json.loads(path.read_text(encoding="utf-8"))))
    return forms


FORMS = shipped_forms()


def test_the_forms_are_all_there():
    assert sum(1 for name, _ in FORMS if name.startswith("catalogue:")) == 22
    processes = {Path(name).parent.name for name, _ in FORMS if not name.startswith("catalogue:")}
    assert {"grid_event", "rating_follow_up", "service_application", "supervised_application",
            "civil_affairs_service", "disabled_federation_service"} <= processes
    fields = sum(len(form["properties"]) for _, form in FORMS)
    assert fields > 300


@pytest.mark.parametrize("name, form", FORMS, ids=[name for name, _ in FORMS])
def test_every_field_and_choice_has_chinese_and_english(name, form):
    assert CJK.search(form.get("title", "")), f"{name}: the form's title is not Chinese"
    assert (form.get("x-en") or {}).get("title"), f"{name}: no English title"
    assert not re.search(r"[A-Za-z]{3,}", form["title"]), f"{name}: the Chinese title mixes in English"
    for field, prop in form["properties"].items():
        where = f"{name}.{field}"
        title = prop.get("title", "")
        assert CJK.search(title), f"{where}: no Chinese title"
        assert not re.search(r"[A-Za-z]{3,}", title), f"{where}: the Chinese title mixes in English ({title})"
        en = prop.get("x-en") or {}
        assert en.get("title") and not CJK.search(en["title"]), f"{where}: no English title"
        if "enum" in prop:
            zh_labels, en_labels = prop.get("x-enum-labels") or {}, en.get("enum-labels") or {}
            for code in prop["enum"]:
                assert CJK.search(zh_labels.get(code, "")), f"{where}: {code} has no Chinese label"
                assert en_labels.get(code) and not CJK.search(en_labels[code]), f"{where}: {code} has no English label"
        if prop.get("type") == "boolean":
            for key in ("true", "false"):
                assert CJK.search((prop.get("x-boolean-labels") or {}).get(key, "")), f"{where}: {key} unlabelled"
                assert (en.get("boolean-labels") or {}).get(key), f"{where}: {key} has no English label"
        if prop.get("format") == "date":
            assert CJK.search(prop.get("description", "")), f"{where}: a date field says its format"
        if "pattern" in prop:
            assert CJK.search(prop.get("x-pattern-hint", "")), f"{where}: a pattern says what it expects in words"


def test_the_codes_stay_the_api_contract():
    care = load_catalogue().service("severe_disability_care_subsidy").form["properties"]["care_arrangement"]
    assert care["enum"] == ["home", "institution", "community"]
    assert enum_label(care, "home", "zh") == "居家护理" and enum_label(care, "home", "en") == "Care at home"
    accept = json.loads((PROCESSES / "civil_affairs_service" / "accept_application.json").read_text(encoding="utf-8"))
    acceptance = accept["properties"]["acceptance"]
    assert acceptance["enum"] == ["accept", "refuse", "supplement"]
    assert [label for _, label in choices(acceptance, "zh")] == ["受理", "不予受理", "一次性告知（补正）"]
    decide = json.loads((PROCESSES / "civil_affairs_service" / "decide.json").read_text(encoding="utf-8"))
    assert choices(decide["properties"]["approved"], "zh") == [(True, "批准"), (False, "不批准")]
    assert form_title(accept, "zh") == "受理" and form_title(accept, "en") == "Accept application"
    senior = load_catalogue().service("senior_card").form
    assert field_title(senior["properties"]["sex"], "zh") == "性别" and field_title(senior["properties"]["sex"], "en") == "Sex"
    assert choices(senior["properties"]["sex"], "zh") == [("male", "男"), ("female", "女")]
    assert field_description(senior["properties"]["birth_date"], "zh").startswith("格式")
    assert field_description(senior["properties"]["birth_date"], "en").startswith("Format")


def test_departments_have_chinese_and_english_names():
    catalogue = load_catalogue()
    for code, name in catalogue.departments.items():
        assert CJK.search(name) and not re.search(r"[A-Za-z]", name), code
        assert catalogue.departments_en[code] and not CJK.search(catalogue.departments_en[code]), code
    assert department_name("civil_affairs", "zh") == "民政科"
    assert department_name("civil_affairs", "en") == "Civil affairs"
    assert department_name("no_such_group", "zh") == "no_such_group"
