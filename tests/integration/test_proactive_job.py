"""The proactive job (找上门) on the real databases: residents turning 60 get a senior-card case
without asking, delivered to the door on the birthday; rerunning starts nothing twice; the
second rule (turning 80) proves the rule file is general; the scheduler runs it once a day."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from datacentre.certificates import issue_certificate, years_later
from datacentre.models import Person
from onewindow import proactive
from onewindow.models import Intake, JobRun
from tests.onewindow_helpers import one_window, work
from tests.timekeeping import beijing, tasks_of
from workflows.errors import Forbidden, InvalidInput
from workflows.identity_numbers import check_character
from workflows.models import Case, TrailEvent

TODAY = date(2026, 11, 25)
NOW = beijing(2026, 11, 25, 9, 0)


def add_person(ctx, tenant_id: int, born: date, local: bool = True, seq: int = 1, sex: str = "female") -> int:
    first17 = f"110102{born:%Y%m%d}{seq * 2 + (1 if sex == 'male' else 0):03d}"
    with ctx.unit_of_work() as uow:
        person = Person(tenant_id=tenant_id, id_number=first17 + check_character(first17), name=f"居民{seq}", sex=sex,
                        birth_date=born, hukou_local=local, hukou_address="西城区", phone="13900000000",
                        status="active", attributes={})
        uow.session.add(person)
        uow.session.flush()
        uow.commit()
        return person.id


@pytest.fixture
def actors(ctx):
    with time_machine.travel(NOW, tick=False):
        return one_window(ctx, residents=0)


def test_residents_turning_60_get_a_senior_card_case_once(ctx, actors):
    tenant = actors["intake1"].tenant_id
    in_ten_days = years_later(TODAY + timedelta(days=10), -60)
    turning = add_person(ctx, tenant, in_ten_days, seq=1)
    add_person(ctx, tenant, in_ten_days, local=False, seq=2)  # no local hukou
    has_card = add_person(ctx, tenant, in_ten_days, seq=3)
    add_person(ctx, tenant, years_later(TODAY + timedelta(days=45), -60), seq=4)  # too far ahead
    add_person(ctx, tenant, years_later(TODAY - timedelta(days=1), -60), seq=5)  # turned 60 yesterday
    eighty = add_person(ctx, tenant, years_later(TODAY + timedelta(days=3), -80), seq=6, sex="male")
    with ctx.unit_of_work() as uow:
        issue_certificate(uow, tenant, has_card, "senior_card", "LNZ-OLD-1", issued_on=TODAY)
        uow.commit()

    with time_machine.travel(NOW, tick=False):
        first = proactive.run_proactive(ctx, actors["admin1"])
        again = proactive.run_proactive(ctx, actors["admin1"])
    by_rule = {r["rule"]: r for r in first["rules"]}
    assert [s["resident_id"] for s in by_rule["senior_card_at_60"]["started"]] == [turning]
    assert [s["resident_id"] for s in by_rule["health_voucher_at_80"]["started"]] == [eighty]
    assert by_rule["senior_card_at_60"]["failed"] == []
    assert all(not r["started"] for r in again["rules"])  # nothing twice

    started = by_rule["senior_card_at_60"]["started"][0]
    assert started["birthday"] == (TODAY + timedelta(days=10)).isoformat()
    with ctx.unit_of_work() as uow:
        case = uow.session.get(Case, started["case_id"])
        assert (case.service_code, case.applicant_id, case.data["delivery_method"]) == ("senior_card", turning, "door")
        assert uow.session.scalar(select(Intake.origin).where(Intake.case_id == case.id)) == "proactive"
        reminders = list(uow.session.scalars(select(TrailEvent.data).where(TrailEvent.kind == "proactive.reminded")))
        assert len(reminders) == 2 and started["number"] in "".join(reminders)

    # the department is reminded with an item in its inbox (not only a trail entry no clerk sees)
    from worklists import commands
    from worklists.inbox import list_tasks

    with time_machine.travel(NOW, tick=False):
        queue, _ = list_tasks(ctx, actors["civil1"], scope="group")
        notices = [t for t in queue if t["kind"] == "notice"]
        assert sorted(t["case_id"] for t in notices) == sorted(
            s["case_id"] for r in first["rules"] for s in r["started"])
        [notice] = [t for t in notices if t["case_id"] == started["case_id"]]
        assert notice["group"] == "civil_affairs" and started["number"] in notice["note"]
        assert notice["name"].startswith("主动服务提醒")
        commands.claim(ctx, actors["civil1"], notice["id"])
        commands.complete(ctx, actors["civil1"], notice["id"], {"comment": "已安排"})
        queue, _ = list_tasks(ctx, actors["civil2"], scope="group")
        assert notice["id"] not in [t["id"] for t in queue]

    # accepted and decided, the card goes to the street-lane chief, due on the birthday
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        work(ctx, actors["intake1"], started["case_id"], "accept_application", {"acceptance": "accept"})
        work(ctx, actors["civil1"], started["case_id"], "review", {"review_result": "meets_conditions"})
        _, next_tasks = work(ctx, actors["civil1"], started["case_id"], "decide", {"approved": True})
    [deliver] = next_tasks
    assert deliver["element_id"] == "deliver" and deliver["group"] == "street_lane_chief"
    birthday_end = beijing(2026, 12, 5, 23, 59, 59)
    assert deliver["due_at"] == birthday_end
    with time_machine.travel(NOW + timedelta(days=10), tick=False):
        done, _ = work(ctx, actors["lane1"], started["case_id"], "deliver",
                       {"delivered_on": "2026-12-05", "received_by": "居民1"})
    assert done["status"] == "concluded"
    assert [t.element_id for t in tasks_of(ctx, started["case_id"])][-1] == "deliver"
    with time_machine.travel(NOW + timedelta(days=1), tick=False):  # the new card: nothing more to do
        assert all(not r["started"] for r in proactive.run_proactive(ctx, actors["admin1"])["rules"])


def test_the_scheduler_runs_the_job_once_a_day_from_six(ctx, actors):
    tenant = actors["intake1"].tenant_id
    add_person(ctx, tenant, years_later(TODAY + timedelta(days=5), -60), seq=7)
    assert proactive.run_daily_jobs(ctx, beijing(2026, 11, 25, 5, 0)) == []  # before 06:00
    with time_machine.travel(beijing(2026, 11, 25, 6, 30), tick=False):
        ran = {r["tenant"]: r for r in proactive.run_daily_jobs(ctx, beijing(2026, 11, 25, 6, 30))}
        assert set(ran) == {"xichangan", "jinrong"}
        assert ran["xichangan"]["started"] == {"senior_card_at_60": 1, "health_voucher_at_80": 0}
        assert proactive.run_daily_jobs(ctx, beijing(2026, 11, 25, 18, 0)) == []
    with ctx.unit_of_work() as uow:
        runs = list(uow.session.scalars(select(JobRun).where(JobRun.tenant_id == tenant)))
        assert [(r.day, r.result["started"]["senior_card_at_60"]) for r in runs] == [(TODAY, 1)]


def test_the_rule_file_is_checked_and_the_job_is_not_for_everyone(ctx, actors, tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"rules": [{"code": "x", "service": "no_such", "age": 200, "within_days": 30}]}))
    with pytest.raises(InvalidInput) as problems:
        proactive.run_proactive(ctx, actors["admin1"], bad)
    assert len(problems.value.errors["rules"]) == 2
    with pytest.raises(Forbidden):
        proactive.run_proactive(ctx, actors["civil1"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rules": [{"code": "meal_at_70", "service": "elderly_meal_voucher", "age": 70,
                                            "within_days": 7, "hukou_local": False, "delivery": "window"}]}))
    tenant = actors["intake1"].tenant_id
    seventy = add_person(ctx, tenant, years_later(TODAY + timedelta(days=2), -70), local=False, seq=8)
    with time_machine.travel(NOW, tick=False):
        [rule] = proactive.run_proactive(ctx, actors["admin1"], other)["rules"]
    assert [s["resident_id"] for s in rule["started"]] == [seventy]
