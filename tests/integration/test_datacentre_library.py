"""The synthetic sub-district loaded into real databases, and the certificate library."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from datacentre import certificates, parking, synthetic
from datacentre.models import Certificate, Person
from tests.helpers import demo_files, make_users
from workflows.cases import start_case
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.process_models import deploy_model

AS_OF = date(2026, 11, 25)


@pytest.fixture
def actors(ctx):
    return make_users(ctx)


def test_generate_load_refuse_and_replace(ctx, actors):
    admin = actors["admin1"]
    result = synthetic.generate_demo_data(ctx, admin, 1200, seed=1, as_of=AS_OF)
    expected = synthetic.generate_district(1200, seed=1, as_of=AS_OF).counts()
    assert result["counts"] == expected and result["replaced"] == 0
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Person.id)).where(Person.tenant_id == admin.tenant_id)) == 1200
        assert uow.session.scalar(select(func.count(Certificate.id))) == expected["certificates"]
    with pytest.raises(Conflict):
        synthetic.generate_demo_data(ctx, admin, 1200, seed=1, as_of=AS_OF)
    again = synthetic.generate_demo_data(ctx, admin, 800, seed=2, as_of=AS_OF, replace=True)
    assert again["replaced"] == 1200
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Person.id))) == 800
    with pytest.raises(Forbidden):
        synthetic.generate_demo_data(ctx, actors["intake1"], 10)


def test_parking_hot_spots_come_first(ctx, actors):
    result = synthetic.generate_demo_data(ctx, actors["admin1"], 4000, seed=1, as_of=AS_OF)
    cells = parking.parking_pressure(ctx, actors["civil1"])
    assert len(cells) == result["counts"]["grid_cells"]
    hot = set(result["hot_spots"])
    assert {c["grid"] for c in cells[: len(hot)]} == hot
    assert all(c["pressure"] >= 2.5 for c in cells[: len(hot)])
    pressures = [c["pressure"] for c in cells]
    assert pressures == sorted(pressures, reverse=True)
    assert sum(c["vehicles"] for c in cells) == result["counts"]["vehicles"]
    # another tenant sees none of it
    assert parking.parking_pressure(ctx, actors["civil9"]) == []


def resident(ctx, admin, n: int = 0) -> int:
    synthetic.generate_demo_data(ctx, admin, 50, seed=9, as_of=AS_OF)
    with ctx.unit_of_work() as uow:
        return uow.session.scalars(select(Person.id).where(Person.tenant_id == admin.tenant_id).order_by(Person.id)).all()[n]


def test_certificates_issued_by_a_case_are_kept_and_reused(ctx, actors):
    admin, intake = actors["admin1"], actors["intake1"]
    holder = resident(ctx, admin)
    deploy_model(ctx, actors["designer1"], demo_files())
    case = start_case(ctx, intake, "service_application", {}, service_code="senior_card", applicant_id=holder)
    with ctx.unit_of_work() as uow:
        before = len(certificates.certificates_of(uow.session, admin.tenant_id, holder))
        first = certificates.issue_certificate(
            uow, admin.tenant_id, holder, "senior_card", "LNZ-TEST-1", issued_on=date(2026, 1, 5),
            issuing_case_id=case["id"], actor="civil1",
        )
        uow.commit()
    assert first["issuing_case_number"] == case["number"] and first["issued_by"] == "civil_affairs"
    with ctx.unit_of_work() as uow:
        second = certificates.issue_certificate(uow, admin.tenant_id, holder, "senior_card", "LNZ-TEST-2", issued_on=date(2026, 2, 1))
        uow.commit()
    with ctx.unit_of_work() as uow:
        s = uow.session
        held = certificates.certificates_of(s, admin.tenant_id, holder, today=AS_OF, types=["senior_card"])
        by_number = {c["number"]: c for c in held}
        assert by_number["LNZ-TEST-1"]["status"] == "superseded" and by_number["LNZ-TEST-2"]["status"] == "valid"
        assert len(certificates.certificates_of(s, admin.tenant_id, holder)) == before + 2
        current = certificates.current_certificate(s, admin.tenant_id, holder, "senior_card", AS_OF)
        assert current["id"] == second["id"]
        # the card held on 20 January has been superseded, and its successor begins in February
        assert certificates.current_certificate(s, admin.tenant_id, holder, "senior_card", date(2026, 1, 20)) is None
        assert certificates.current_certificate(s, admin.tenant_id, holder, "parking_permit", AS_OF) is None


def test_expiry_revocation_and_refusals(ctx, actors):
    admin = actors["admin1"]
    holder = resident(ctx, admin, 1)
    with ctx.unit_of_work() as uow:
        cert = certificates.issue_certificate(
            uow, admin.tenant_id, holder, "low_income_certificate", "DB-1", issued_on=date(2025, 1, 1),
            valid_until=certificates.default_validity("low_income_certificate", date(2025, 1, 1)),
        )
        uow.commit()
    assert cert["valid_until"] == date(2025, 12, 31)
    with ctx.unit_of_work() as uow:
        s = uow.session
        (view,) = certificates.certificates_of(s, admin.tenant_id, holder, today=AS_OF, types=["low_income_certificate"])
        assert view["status"] == "expired"
        assert certificates.current_certificate(s, admin.tenant_id, holder, "low_income_certificate", AS_OF) is None
        assert certificates.current_certificate(s, admin.tenant_id, holder, "low_income_certificate", date(2025, 6, 1))
    with ctx.unit_of_work() as uow:
        revoked = certificates.revoke_certificate(uow, admin.tenant_id, cert["id"], "decision reversed")
        uow.commit()
    assert revoked["status"] == "revoked"
    with ctx.unit_of_work() as uow:
        with pytest.raises(Conflict):
            certificates.revoke_certificate(uow, admin.tenant_id, cert["id"], "again")
        with pytest.raises(Conflict):
            certificates.issue_certificate(uow, admin.tenant_id, holder, "low_income_certificate", "DB-1", issued_on=AS_OF)
        with pytest.raises(NotFound):
            certificates.issue_certificate(uow, actors["civil9"].tenant_id, holder, "senior_card", "X-1", issued_on=AS_OF)
        with pytest.raises(NotFound):
            certificates.revoke_certificate(uow, actors["civil9"].tenant_id, cert["id"], "other tenant")
        with pytest.raises(InvalidInput):
            certificates.issue_certificate(uow, admin.tenant_id, holder, "Senior Card", "X-2", issued_on=AS_OF)
        with pytest.raises(InvalidInput):
            certificates.issue_certificate(uow, admin.tenant_id, holder, "senior_card", "X-3", issued_on=AS_OF,
                                           valid_until=date(2020, 1, 1))
        with pytest.raises(NotFound):
            certificates.issue_certificate(uow, admin.tenant_id, holder, "senior_card", "X-4", issued_on=AS_OF,
                                           issuing_case_id=999999)


def test_resident_facts_for_other_use_cases_are_complete_and_unmasked(ctx, actors):
    from datacentre.registry import resident_facts

    admin = actors["admin1"]
    synthetic.generate_demo_data(ctx, admin, 200, seed=11, as_of=AS_OF)
    with ctx.unit_of_work() as uow:
        s = uow.session
        person = s.scalars(select(Person).where(Person.relation_to_head == "spouse").order_by(Person.id).limit(1)).one()
        facts = resident_facts(s, admin.tenant_id, person.id, AS_OF)
        assert facts["id_number"] == person.id_number and not facts["id_number_masked"]
        assert facts["residence"]["address"] and facts["residence"]["grid"].startswith("XC")
        head = next(m for m in facts["household"] if m["relation_to_head"] == "head")
        assert len(head["id_number"]) == 18 and "*" not in head["id_number"]
        with pytest.raises(NotFound):
            resident_facts(s, actors["civil9"].tenant_id, person.id, AS_OF)
