"""The service catalogue as data: 17 categories, 22 services, forms that say where values come
from, processes for every service, the rendered department templates in step with the template."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from onewindow.catalogue import CATALOGUE_PATH, CatalogueError, load_catalogue, parse_catalogue
from onewindow.events import CATEGORIES, URGENT_CATEGORIES

REPO = Path(__file__).resolve().parent.parent.parent
PROCESSES = REPO / "bpmn" / "processes"
ARTICLE_SERVICES = {
    "senior_card", "disability_certificate", "disability_card", "low_income_certificate", "elderly_meal_voucher",
    "elderly_home_care_voucher", "elderly_health_voucher", "severe_disability_care_subsidy",
    "birth_service_registration", "residential_parking_permit", "disabled_family_form",
}


def test_seventeen_categories_and_twenty_two_services_with_the_articles_services():
    catalogue = load_catalogue()
    assert len(catalogue.categories) == 17 and len(catalogue.services) == 22
    assert ARTICLE_SERVICES <= set(catalogue.services)
    assert {s.category for s in catalogue.services.values()} == set(catalogue.categories)
    assert catalogue.services["disabled_family_form"].name == "残疾人家庭情况表"
    for service in catalogue.services.values():
        assert service.name and service.name_en and 0 < service.time_limit_working_days <= 60
        assert 0 <= service.audit_sample_rate <= 1
        Draft202012Validator.check_schema(service.form)
        assert service.sources, f"{service.code} prefills nothing"
        assert (PROCESSES / service.process_key / f"{service.process_key}.bpmn").exists()


def test_forms_draw_on_the_registry_the_certificate_library_and_earlier_cases():
    sources = [src for s in load_catalogue().services.values() for src in s.sources.values()]
    assert any(src.startswith("registry:person.") for src in sources)
    assert any(src.startswith("certificate:disability_certificate.") for src in sources)
    assert any(src.startswith("case:") for src in sources)
    care = load_catalogue().services["severe_disability_care_subsidy"]
    assert care.sources["disability_certificate_number"] == "certificate:disability_certificate.number"


def test_a_broken_catalogue_is_reported_whole():
    raw = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    first = broken["services"][0]
    first["category"] = "nowhere"
    first["form"]["properties"]["applicant_name"]["x-source"] = "telepathy:mind"
    first["form"]["required"].append("ghost")
    broken["services"][1]["form"]["properties"]["x"] = {"type": "string", "x-source": "case:no_such_service.x"}
    with pytest.raises(CatalogueError) as problems:
        parse_catalogue(broken)
    message = str(problems.value)
    for fragment in ("nowhere", "telepathy", "ghost", "no_such_service"):
        assert fragment in message


def test_the_department_processes_are_the_rendered_template_with_the_whole_lifecycle():
    sys.path.insert(0, str(REPO / "bpmn" / "templates"))
    try:
        import department_service
    finally:
        sys.path.pop(0)
    rendered = department_service.rendered()
    assert set(rendered) == {s.process_key for s in load_catalogue().services.values()}
    for folder, files in rendered.items():
        for name, text in files.items():
            assert (PROCESSES / folder / name).read_text(encoding="utf-8") == text, f"re-render {folder}/{name}"
    tree = etree.parse(str(PROCESSES / "civil_affairs_service" / "civil_affairs_service.bpmn"))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    lanes = {lane.get("id") for lane in tree.iterfind(".//bpmn:lane", ns)}
    assert lanes == {"intake", "applicant", "civil_affairs", "street_lane_chief", "auditors", "supervision"}
    ids = {e.get("id") for e in tree.iter() if e.get("id")}
    for step in ("accept_application", "wait_for_materials", "review", "decide", "record_conclusion",
                 "hand_out", "deliver", "archive", "queue_for_audit", "refused", "concluded", "press_case"):
        assert step in ids


def test_the_grid_routing_table_knows_the_same_categories_as_the_use_case():
    tree = etree.parse(str(PROCESSES / "grid_event" / "grid_event_routing.dmn"))
    ns = {"d": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    entries = [rule.find("d:inputEntry/d:text", ns).text.strip('"') for rule in tree.iterfind(".//d:rule", ns)]
    assert entries[-1] == "-" and set(entries[:-1]) | {"other"} == set(CATEGORIES)
    urgent = [rule for rule in tree.iterfind(".//d:rule", ns)
              if rule.findall("d:outputEntry/d:text", ns)[2].text == "True"]
    assert {r.find("d:inputEntry/d:text", ns).text.strip('"') for r in urgent} == set(URGENT_CATEGORIES)
