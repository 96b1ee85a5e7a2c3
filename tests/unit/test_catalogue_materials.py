"""The catalogue's materials lists: every item well formed, conditions naming form fields."""
from onewindow.catalogue import load_catalogue
from onewindow.materials import applies, material_problems, missing


def test_every_shipped_material_is_well_formed():
    for service in load_catalogue().services.values():
        assert material_problems(service.code, list(service.materials), service.fields) == []


def test_bad_materials_are_reported_each():
    problems = material_problems("x", [
        {"code": "a", "name": "甲", "name_en": "A", "original": True, "count": 1, "required": True},
        {"code": "a", "name": "", "name_en": "A", "original": "yes", "count": 0, "required": True},
        {"code": "b", "name": "乙", "name_en": "B", "original": True, "count": 1, "required": False,
         "condition": {"field": "nope", "equals": 1}},
    ], ["f"])
    text = "; ".join(problems)
    assert "listed twice" in text and "name is required" in text and "original must be" in text
    assert "count must be" in text and "'nope', not a field" in text


def test_conditional_items_apply_only_when_the_form_says_so():
    item = {"code": "c", "required": False, "condition": {"field": "care", "equals": "institution"}}
    assert applies(item, {"care": "institution"}) and not applies(item, {"care": "home"}) and not applies(item, None)
    items = [{"code": "a", "applies": True, "certificate": None}, {"code": "b", "applies": True, "certificate": {"number": "1"}},
             {"code": "c", "applies": False, "certificate": None}, {"code": "d", "applies": True, "certificate": None}]
    assert [i["code"] for i in missing(items, ["d"])] == ["a"]
