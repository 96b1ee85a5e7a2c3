"""The synthetic sub-district: deterministic, believable, and valid for the import rules."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from datacentre import identity
from datacentre.certificates import years_later
from datacentre.csv_import import KINDS, _validate
from datacentre.synthetic import LOAD_ORDER, generate_district
from workflows.errors import InvalidInput

AS_OF = date(2026, 11, 25)


@pytest.fixture(scope="module")
def district():
    return generate_district(6000, seed=1, as_of=AS_OF)


def age(born: date) -> int:
    return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))


def test_same_seed_same_data_other_seed_other_data(district):
    again = generate_district(6000, seed=1, as_of=AS_OF)
    assert again.rows == district.rows and again.hot_spots == district.hot_spots
    other = generate_district(6000, seed=2, as_of=AS_OF)
    assert other.rows["people"] != district.rows["people"]


def test_exact_resident_count_and_bounds():
    assert len(generate_district(1, seed=3, as_of=AS_OF).rows["people"]) == 1
    assert len(generate_district(777, seed=3, as_of=AS_OF).rows["people"]) == 777
    with pytest.raises(InvalidInput):
        generate_district(0)


def test_population_looks_like_the_old_city(district):
    people = district.rows["people"]
    ages = [age(p["birth_date"]) for p in people]
    assert 0.22 <= sum(a >= 60 for a in ages) / len(people) <= 0.28
    assert 0 < sum(a >= 80 for a in ages) / len(people) < 0.1
    assert 0.08 <= sum(a < 18 for a in ages) / len(people) <= 0.2
    assert 0.015 <= sum(1 for p in people if p["disability_grade"]) / len(people) <= 0.05
    assert any(p["disability_grade"] in (1, 2) for p in people)
    statuses = Counter(p["low_income_status"] for p in people)
    assert 0.005 <= statuses["minimum_living"] / len(people) <= 0.05
    assert 0.7 <= sum(p["hukou_local"] for p in people) / len(people) <= 0.9
    assert 0.4 <= sum(p["sex"] == "male" for p in people) / len(people) <= 0.6
    # residents turning 60 within 30 days, without a senior card: the proactive service's work
    sixty_soon = [p for p in people if p["hukou_local"] and AS_OF < years_later(p["birth_date"], 60) <= AS_OF + timedelta(days=30)]
    assert sixty_soon


def test_identity_numbers_are_valid_unique_and_agree_with_the_person(district):
    numbers = [p["id_number"] for p in district.rows["people"]]
    assert len(set(numbers)) == len(numbers)
    for p in district.rows["people"]:
        assert identity.is_valid(p["id_number"], today=AS_OF)
        assert identity.birth_date(p["id_number"]) == p["birth_date"] and identity.sex(p["id_number"]) == p["sex"]
        assert p["birth_date"] < AS_OF
    local = [p for p in district.rows["people"] if p["hukou_local"]]
    assert all(p["id_number"].startswith("110102") for p in local)


def test_households_live_in_houses_in_buildings_in_grid_cells(district):
    cells = {c["code"] for c in district.rows["grid_cells"]}
    buildings = {b["code"]: b for b in district.rows["buildings"]}
    houses = {h["code"]: h for h in district.rows["houses"]}
    assert all(b["grid_code"] in cells for b in buildings.values())
    assert all(h["building_code"] in buildings for h in houses.values())
    assert all(p["house_code"] in houses for p in district.rows["people"])
    heads = Counter(p["household_no"] for p in district.rows["people"] if p["relation_to_head"] == "head")
    assert set(heads.values()) == {1}
    kinds = Counter(b["kind"] for b in buildings.values())
    assert kinds["courtyard"] > kinds["apartment"] > 0
    assert all(not b["has_parking"] for b in buildings.values() if b["kind"] == "courtyard")
    parked = {s["building_code"] for s in district.rows["parking_spaces"] if s["building_code"]}
    assert all(buildings[code]["kind"] == "apartment" and buildings[code]["has_parking"] for code in parked)


def test_a_few_real_parking_hot_spots(district):
    house_cell = {h["code"]: h["building_code"] for h in district.rows["houses"]}
    building_cell = {b["code"]: b["grid_code"] for b in district.rows["buildings"]}
    person_cell = {p["id_number"]: building_cell[house_cell[p["house_code"]]] for p in district.rows["people"]}
    vehicles, spaces = Counter(), Counter()
    for v in district.rows["vehicles"]:
        vehicles[person_cell[v["owner_id_number"]]] += 1
    for s in district.rows["parking_spaces"]:
        spaces[s["grid_code"]] += s["capacity"]
    pressure = {c: vehicles[c] / spaces[c] for c in vehicles if spaces[c]}
    hot = set(district.hot_spots)
    assert 2 <= len(hot) <= 6 and "XC01-01" in hot  # 西单北社区
    assert all(pressure[c] >= 2.5 for c in hot)
    others = [p for c, p in pressure.items() if c not in hot]
    assert max(others) < 2.0 and sorted(others)[len(others) // 2] < 1.5


def test_certificates_follow_the_people(district):
    people = {p["id_number"]: p for p in district.rows["people"]}
    by_type = defaultdict(list)
    for c in district.rows["certificates"]:
        by_type[c["type"]].append(c)
        assert c["holder_id_number"] in people
        assert c["issued_on"] <= AS_OF
    for c in by_type["senior_card"]:
        holder = people[c["holder_id_number"]]
        assert holder["hukou_local"] and age(holder["birth_date"]) >= 60
    disabled = {n for n, p in people.items() if p["disability_grade"]}
    assert {c["holder_id_number"] for c in by_type["disability_certificate"]} == disabled
    for c in by_type["disability_certificate"]:
        assert c["number"].startswith(c["holder_id_number"]) and len(c["number"]) == 20
    assert by_type["disability_card"] and by_type["low_income_certificate"]
    numbers = [(c["type"], c["number"]) for c in district.rows["certificates"]]
    assert len(set(numbers)) == len(numbers)


def test_every_generated_row_passes_the_import_rules(district):
    for kind_name in LOAD_ORDER:
        kind = KINDS[kind_name]
        rows = district.rows[kind_name]
        header = {name for row in rows for name in row}
        for row in rows:
            _, _, errors = _validate(kind, header, row)
            assert errors == {}, (kind_name, row, errors)
