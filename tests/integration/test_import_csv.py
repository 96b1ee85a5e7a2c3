"""CSV imports on SQLite and PostgreSQL: per-row validation, idempotent upsert, one transaction."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from datacentre import identity
from datacentre.csv_import import import_csv
from datacentre.models import Building, Certificate, GridCell, House, Person, Vehicle
from datacentre.synthetic import LOAD_ORDER, generate_district, write_csv
from tests.helpers import PASSWORD, make_users
from workflows import accounts
from workflows.errors import Forbidden, InvalidInput


def id_number(region: str, born: str, sequence: int) -> str:
    first17 = f"{region}{born}{sequence:03d}"
    return first17 + identity.check_character(first17)


WANG = id_number("110102", "19600115", 2)  # female
LI = id_number("110102", "19551230", 13)  # male
ZHAO = id_number("370102", "19900301", 25)  # male, not local

GRID = "code,name,community,lat,lon\nG1,西单北社区第1网格,西单北社区,39.91,116.37\nG2,府右街社区第1网格,府右街社区,39.91,116.38\n"
BUILDINGS = (
    "code,kind,address,grid_code,has_parking\n"
    "B1,courtyard,西城区堂子胡同12号,G1,0\n"
    "B2,apartment,西城区府右街3号楼,G2,是\n"
)
HOUSES = "code,building_code,address,unit\nH1,B1,西城区堂子胡同12号北房,北房\nH2,B2,西城区府右街3号楼1单元101室,1单元101\n"


def people_csv(extra: str = "") -> str:
    return (
        "id_number,name,hukou_local,house_code,household_no,relation_to_head,disability_grade,disability_kind,attr.guardian\n"
        f"{WANG},王秀兰,1,H1,HH1,head,1,physical,王建国\n"
        f"{LI},李建国,1,H1,HH1,spouse,,,\n"
        f"{ZHAO},赵磊,0,H2,HH2,head,,,\n" + extra
    )


@pytest.fixture
def actors(ctx):
    actors = make_users(ctx)
    with ctx.unit_of_work() as uow:
        accounts.add_user(uow.session, "jinrong", "admin9", PASSWORD, ["admin"])
        uow.commit()
    with ctx.unit_of_work() as uow:
        actors["admin9"] = accounts.authenticate(uow.session, "admin9", PASSWORD)
    return actors


def load_places(ctx, actor):
    for kind, text in (("grid_cells", GRID), ("buildings", BUILDINGS), ("houses", HOUSES)):
        report = import_csv(ctx, actor, kind, text.encode("utf-8-sig"), source=f"{kind}.csv")
        assert report.applied and not report.rejected, report


def count(ctx, model, tenant_id) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(select(func.count(model.id)).where(model.tenant_id == tenant_id))


def test_a_chain_of_files_with_rejected_rows_and_reasons(ctx, actors):
    admin = actors["admin1"]
    load_places(ctx, admin)
    bad_check = WANG[:-1] + ("1" if WANG[-1] != "1" else "2")
    extra = (
        f"{bad_check},钱多多,1,H1,,,,,\n"  # line 5: check character
        f"{id_number('110102', '19800101', 31)},孙悟,1,H9,,,,,\n"  # line 6: no such house
        f"{WANG},王秀兰,1,H1,,,,,\n"  # line 7: duplicate of line 2
        f"{id_number('110102', '19800101', 41)},,maybe,H1,,,5,,\n"  # line 8: three problems
    )
    report = import_csv(ctx, admin, "people", people_csv(extra), source="people.csv")
    assert report.applied and (report.rows, report.inserted, report.updated, report.unchanged) == (7, 3, 0, 0)
    rejected = {r.row: r for r in report.rejected}
    assert sorted(rejected) == [5, 6, 7, 8]
    assert "check" in rejected[5].errors["id_number"]
    assert "H9 is not in the registry" in rejected[6].errors["house_code"]
    assert "row 2" in rejected[7].errors["id_number"]
    assert set(rejected[8].errors) == {"name", "hukou_local", "disability_grade"}
    with ctx.unit_of_work() as uow:
        wang = uow.session.scalar(select(Person).where(Person.id_number == WANG))
        house = uow.session.get(House, wang.house_id)
        assert (wang.sex, wang.birth_date, wang.disability_grade, wang.disability_kind) == ("female", date(1960, 1, 15), 1, "physical")
        assert wang.attributes == {"guardian": "王建国"} and house.code == "H1" and wang.tenant_id == admin.tenant_id
        zhao = uow.session.scalar(select(Person).where(Person.id_number == ZHAO))
        assert zhao.hukou_local is False and zhao.attributes == {}

    vehicles = f"plate,owner_id_number,kind\n京A12345,{LI},car\n京B1234,{LI},car\n京AD12345,{id_number('110102', '19800101', 51)},ev\n"
    report = import_csv(ctx, admin, "vehicles", vehicles)
    assert report.inserted == 1 and [r.row for r in report.rejected] == [3, 4]
    certificates = (
        "type,number,holder_id_number,issued_on,valid_until,issued_by,data.grade\n"
        f"disability_certificate,{WANG}41,{WANG},2020-05-01,2030-04-30,disabled_federation,1\n"
        f"senior_card,LNZ2015000001,{WANG},2020-01-20,,,\n"
        f"senior_card,LNZ2015000002,{WANG},2020-01-20,,,\n"
        f"senior_card,LNZ2015000009,{WANG},2020-01-20,2019-01-01,,\n"
    )
    report = import_csv(ctx, admin, "certificates", certificates)
    assert report.inserted == 3 and [r.row for r in report.rejected] == [5]
    with ctx.unit_of_work() as uow:
        cert = uow.session.scalar(select(Certificate).where(Certificate.type == "disability_certificate"))
        assert cert.data == {"grade": "1"} and cert.valid_from == date(2020, 5, 1) and cert.issuing_case_id is None


def test_importing_twice_changes_nothing_and_changed_rows_are_updated(ctx, actors):
    admin = actors["admin1"]
    load_places(ctx, admin)
    first = import_csv(ctx, admin, "people", people_csv())
    assert first.inserted == 3
    again = import_csv(ctx, admin, "residents", people_csv())
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
    changed = people_csv().replace("赵磊,0,H2", "赵磊,1,H1")
    report = import_csv(ctx, admin, "people", changed)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    # A file without some columns leaves them as they are.
    report = import_csv(ctx, admin, "people", f"id_number,name,hukou_local\n{WANG},王秀兰,1\n")
    assert report.unchanged == 1
    with ctx.unit_of_work() as uow:
        zhao = uow.session.scalar(select(Person).where(Person.id_number == ZHAO))
        wang = uow.session.scalar(select(Person).where(Person.id_number == WANG))
        assert zhao.hukou_local is True and uow.session.get(House, zhao.house_id).code == "H1"
        assert wang.disability_grade == 1 and wang.house_id is not None
    assert count(ctx, GridCell, admin.tenant_id) == 2 and count(ctx, Building, admin.tenant_id) == 2


def test_strict_and_dry_run_write_nothing(ctx, actors):
    admin = actors["admin1"]
    load_places(ctx, admin)
    with_bad_row = people_csv(f"{WANG[:-1]}0,坏,1,H1,,,,,\n" if WANG[-1] != "0" else f"{WANG[:-1]}1,坏,1,H1,,,,,\n")
    report = import_csv(ctx, admin, "people", with_bad_row, strict=True)
    assert not report.applied and len(report.rejected) == 1 and report.inserted == 3
    assert count(ctx, Person, admin.tenant_id) == 0
    report = import_csv(ctx, admin, "people", people_csv(), dry_run=True)
    assert not report.applied and report.inserted == 3 and not report.rejected
    assert count(ctx, Person, admin.tenant_id) == 0


def test_a_failure_during_the_import_leaves_nothing_behind(ctx, actors):
    admin = actors["admin1"]
    load_places(ctx, admin)

    def broken_sink(session, events):
        raise RuntimeError("the trail is unavailable")

    previous, ctx.event_sink = ctx.event_sink, broken_sink
    try:
        with pytest.raises(RuntimeError):
            import_csv(ctx, admin, "people", people_csv())
    finally:
        ctx.event_sink = previous
    assert count(ctx, Person, admin.tenant_id) == 0


def test_refusals(ctx, actors):
    with pytest.raises(Forbidden):
        import_csv(ctx, actors["intake1"], "people", people_csv())
    with pytest.raises(InvalidInput) as refused:
        import_csv(ctx, actors["admin1"], "people", "id,name\n1,x\n")
    assert refused.value.errors["columns"]["missing"] == ["id_number", "hukou_local"]
    with pytest.raises(InvalidInput):
        import_csv(ctx, actors["admin1"], "people", b"\xff\xfe\x00\x81\x30\x81")


def test_tenants_are_separate(ctx, actors):
    load_places(ctx, actors["admin1"])
    import_csv(ctx, actors["admin1"], "people", people_csv())
    # jinrong has no houses: the same file's references do not reach into xichangan
    report = import_csv(ctx, actors["admin9"], "people", people_csv())
    assert report.inserted == 0 and len(report.rejected) == 3
    assert all("house_code" in r.errors for r in report.rejected)
    load_places(ctx, actors["admin9"])
    report = import_csv(ctx, actors["admin9"], "people", people_csv())
    assert report.inserted == 3
    assert count(ctx, Person, actors["admin1"].tenant_id) == 3 and count(ctx, Person, actors["admin9"].tenant_id) == 3


def test_generated_files_round_trip_through_the_import(ctx, actors, tmp_path):
    district = generate_district(300, seed=5, as_of=date(2026, 11, 25))
    files = write_csv(district, tmp_path)
    assert [f.name.split("_", 1)[1] for f in files] == [f"{k}.csv" for k in LOAD_ORDER]
    admin = actors["admin1"]
    for kind, path in zip(LOAD_ORDER, files):
        report = import_csv(ctx, admin, kind, path.read_bytes(), source=path.name)
        assert report.applied and not report.rejected and report.inserted == len(district.rows[kind]), (kind, report.rejected[:3])
    for kind, path in zip(LOAD_ORDER, files):
        report = import_csv(ctx, admin, kind, path.read_bytes())
        assert report.unchanged == len(district.rows[kind]) and report.inserted == report.updated == 0
    assert count(ctx, Vehicle, admin.tenant_id) == len(district.rows["vehicles"])
