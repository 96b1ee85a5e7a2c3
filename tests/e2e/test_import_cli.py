"""``redwall demo-data`` and ``redwall import``: exit status, messages, the rejected-rows report."""
from __future__ import annotations

import csv

from sqlalchemy import func, select

from datacentre import identity
from datacentre.models import Person


def number(born: str, sequence: int) -> str:
    first17 = f"110102{born}{sequence:03d}"
    return first17 + identity.check_character(first17)


def residents(app) -> int:
    with app.extensions["redwall"].unit_of_work() as uow:
        return uow.session.scalar(select(func.count(Person.id)))


def test_demo_data_generates_refuses_and_replaces(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"])  # only this creates a tenant
    result = runner.invoke(args=["demo-data", "--residents", "300", "--seed", "4", "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "300 people" in result.output and "hot spots: XC01-01" in result.output
    again = runner.invoke(args=["demo-data", "--residents", "300"])
    assert again.exit_code == 2 and "holds 300 residents" in again.output
    replaced = runner.invoke(args=["demo-data", "--residents", "120", "--replace"])
    assert replaced.exit_code == 0 and residents(app) == 120
    written = runner.invoke(args=["demo-data", "--residents", "50", "--csv", str(tmp_path / "csv")])
    assert written.exit_code == 0 and len(list((tmp_path / "csv").glob("*.csv"))) == 8
    assert residents(app) == 120
    assert runner.invoke(args=["demo-data", "--residents", "0"]).exit_code == 2


def test_import_reports_rejected_rows_and_exit_status(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["tenants", "add", "xichangan", "--name", "西长安街街道"])  # only this creates a tenant
    (tmp_path / "grid.csv").write_text("code,name\nG1,第1网格\n", encoding="utf-8")
    (tmp_path / "buildings.csv").write_text("code,kind,address,grid_code\nB1,courtyard,西城区堂子胡同1号,G1\n", encoding="utf-8")
    (tmp_path / "houses.csv").write_text("code,building_code,address\nH1,B1,西城区堂子胡同1号北房\n", encoding="utf-8")
    for kind, name in (("grid_cells", "grid.csv"), ("buildings", "buildings.csv"), ("houses", "houses.csv")):
        result = runner.invoke(args=["import", kind, str(tmp_path / name), "--tenant", "xichangan"])
        assert result.exit_code == 0 and "1 inserted" in result.output, result.output
    good, bad = number("19500101", 11), number("19500101", 21)[:-1] + "Y"
    people = tmp_path / "people.csv"
    people.write_text(f"id_number,name,hukou_local,house_code\n{good},张三,1,H1\n{bad},李四,1,H1\n", encoding="gbk")
    report = tmp_path / "rejected.csv"
    result = runner.invoke(args=["import", "residents", str(people), "--tenant", "xichangan", "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert "1 inserted" in result.output and "1 rejected" in result.output and "row 3" in result.output
    with report.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["column"]) for r in rows] == [("3", "id_number")]
    assert residents(app) == 1

    strict = runner.invoke(args=["import", "people", str(people), "--tenant", "xichangan", "--strict"])
    assert strict.exit_code == 1 and "NOT applied" in strict.output
    dry = runner.invoke(args=["import", "people", str(people), "--tenant", "xichangan", "--dry-run"])
    assert "NOT applied (dry run)" in dry.output and residents(app) == 1
    again = runner.invoke(args=["import", "people", str(tmp_path / "people.csv"), "--tenant", "xichangan"])
    assert "1 unchanged" in again.output

    unknown = runner.invoke(args=["import", "spaceships", str(people), "--tenant", "xichangan"])
    assert unknown.exit_code == 2 and "unknown kind" in unknown.output
    header = runner.invoke(args=["import", "vehicles", str(people), "--tenant", "xichangan"])
    assert header.exit_code == 2 and "header" in header.output
