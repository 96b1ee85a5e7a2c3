"""Finding and reading residents: what the intake window and the departments see.

Identity numbers and phone numbers are personal information: callers with PII rights
(``intake`` at the window, ``admin``) see them in full and every such read is recorded in
the trail (``pii.read``); everyone else sees them masked (``110102********1234``).
"""
from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

from sqlalchemy import select

from workflows.accounts import Actor
from workflows.cases import decode_cursor, encode_cursor
from workflows.context import EngineContext
from workflows import personal_data
from workflows.errors import Forbidden, InvalidInput, NotFound

from . import identity
from .certificates import certificates_of, tenant_today
from .models import Building, GridCell, House, Person, Vehicle

READ_ROLES = ("intake", "clerk", "supervisor", "auditor", "admin")
_ID_QUERY = re.compile(r"^\d{6,17}[\dXx]?$")


def may_read_pii(actor: Actor) -> bool:
    """Full identity and phone numbers in the registry: the engine's one rule (intake, admin)."""
    return personal_data.has_pii_role(actor)


def _require_reader(actor: Actor) -> None:
    if not actor.has_role(*READ_ROLES):
        raise Forbidden("your roles do not allow reading the resident registry")


mask_phone = personal_data.mask_phone


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _residence(row, full: bool = True) -> dict | None:
    house, building, grid = row
    if house is None:
        return None
    return {
        "house_id": house.id,
        "house_code": house.code,
        "address": house.address if full else personal_data.mask_address(house.address),
        "building_kind": building.kind,
        "grid": grid.code,
        "community": grid.community,
    }


def person_view(person: Person, residence: dict | None, today: date, full: bool) -> dict:
    return {
        "id": person.id,
        "id_number": person.id_number if full else identity.mask(person.id_number),
        "id_number_masked": not full,
        "name": person.name,
        "sex": person.sex,
        # Without the right: the age, never the birth date (it would rebuild the masked number).
        "birth_date": person.birth_date if full else None,
        "age": age_on(person.birth_date, today),
        "ethnicity": person.ethnicity,
        "phone": person.phone if full else mask_phone(person.phone),
        "hukou_local": person.hukou_local,
        "hukou_address": person.hukou_address if full else personal_data.mask_address(person.hukou_address),
        "household_no": person.household_no,
        "relation_to_head": person.relation_to_head,
        "marital_status": person.marital_status,
        "disability_grade": person.disability_grade,
        "disability_kind": person.disability_kind,
        "low_income_status": person.low_income_status,
        "status": person.status,
        "residence": residence,
    }


def _with_residence(query):
    return (
        query.outerjoin(House, House.id == Person.house_id)
        .outerjoin(Building, Building.id == House.building_id)
        .outerjoin(GridCell, GridCell.id == Building.grid_cell_id)
    )


def search_residents(
    ctx: EngineContext, actor: Actor, q: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[dict], str | None]:
    """Residents whose name starts with ``q`` or whose identity number is or starts with ``q``.

    An 18-character ``q`` is looked up exactly; 6 to 17 digits match the start of the number
    (region code, birth date); anything else matches names (exact or as a prefix). Ordered by
    id, one page at a time.
    """
    _require_reader(actor)
    q = (q or "").strip()
    if len(q) > 50:
        raise InvalidInput("the search text is too long", {"q": ["at most 50 characters"]})
    full = may_read_pii(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        query = _with_residence(select(Person, House, Building, GridCell)).where(Person.tenant_id == actor.tenant_id)
        how = "all"
        if q and _ID_QUERY.match(q):
            if not full:
                # A search by number (or its beginning) would confirm a guessed birth date and so
                # rebuild a masked number: only those with the right search by number.
                raise Forbidden("searching by identity number needs the right to read personal data (intake, admin)")
            number = q.upper()
            query = query.where(Person.id_number == number if len(number) == 18 else Person.id_number.startswith(number, autoescape=True))
            how = "id_number"
        elif q:
            query = query.where(Person.name.startswith(q, autoescape=True))
            how = "name"
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            if not isinstance(last_id, int):
                raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
            query = query.where(Person.id > last_id)
        rows = s.execute(query.order_by(Person.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        today = tenant_today(ctx.clock(), actor.timezone)
        items = [person_view(row[0], _residence(row[1:], full), today, full) for row in rows]
        if full and items:
            uow.record("pii.read", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                       data={"resident_ids": [i["id"] for i in items], "via": "search", "query_kind": how})
            uow.commit()
        return items, (encode_cursor([rows[-1][0].id]) if more else None)


def get_resident(ctx: EngineContext, actor: Actor, resident_id: int) -> dict:
    """One resident with residence, household, vehicles and certificates."""
    _require_reader(actor)
    full = may_read_pii(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        row = s.execute(
            _with_residence(select(Person, House, Building, GridCell)).where(
                Person.id == resident_id, Person.tenant_id == actor.tenant_id
            )
        ).first()
        if row is None:
            raise NotFound(f"resident {resident_id} does not exist")
        person = row[0]
        today = tenant_today(ctx.clock(), actor.timezone)
        view = person_view(person, _residence(row[1:], full), today, full)
        view["household"] = [
            {"id": m.id, "name": m.name, "relation_to_head": m.relation_to_head, "age": age_on(m.birth_date, today)}
            for m in household_members(s, actor.tenant_id, person)
        ]
        view["vehicles"] = [
            {"plate": v.plate, "kind": v.kind}
            for v in s.scalars(select(Vehicle).where(Vehicle.owner_id == person.id).order_by(Vehicle.id))
        ]
        view["certificates"] = certificates_of(s, actor.tenant_id, person.id, today)
        if not full:
            # A disability certificate number embeds the identity number.
            view["certificates"] = personal_data.mask_personal_data(view["certificates"])[0]
        view["attributes"] = dict(person.attributes or {})
        if not full:
            view["attributes"] = personal_data.mask_personal_data(view["attributes"])[0]
        if full:
            uow.record("pii.read", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                       data={"resident_ids": [person.id], "via": "record"})
            uow.commit()
        return view


def household_members(session, tenant_id: int, person: Person) -> list[Person]:
    """The others registered in the same household (same household number), head first."""
    if not person.household_no:
        return []
    members = session.scalars(
        select(Person).where(
            Person.tenant_id == tenant_id, Person.household_no == person.household_no, Person.id != person.id
        ).order_by(Person.id)
    )
    return sorted(members, key=lambda m: (m.relation_to_head != "head", m.id))


def resident_facts(session, tenant_id: int, resident_id: int, today: date, with_household: bool = True) -> dict:
    """Everything the registry knows of a resident, unmasked, for use inside another use case
    (prefill, eligibility); the caller's unit of work decides what is shown and recorded.

    ``with_household=False`` leaves out the household (one query less); callers that may need
    it later use :func:`household_facts`."""
    row = session.execute(
        _with_residence(select(Person, House, Building, GridCell)).where(
            Person.id == resident_id, Person.tenant_id == tenant_id
        )
    ).first()
    if row is None:
        raise NotFound(f"resident {resident_id} does not exist")
    person = row[0]
    facts = person_view(person, _residence(row[1:]), today, full=True)
    facts["attributes"] = dict(person.attributes or {})
    if with_household:
        facts["household"] = household_facts(session, tenant_id, person)
    return facts


def household_facts(session, tenant_id: int, person: Person | dict) -> list[dict]:
    """The other members of the resident's household, unmasked (see :func:`resident_facts`)."""
    if isinstance(person, dict):
        person = SimpleNamespace(id=person["id"], household_no=person["household_no"])
    return [
        {"id": m.id, "name": m.name, "id_number": m.id_number, "relation_to_head": m.relation_to_head,
         "birth_date": m.birth_date, "sex": m.sex, "disability_grade": m.disability_grade}
        for m in household_members(session, tenant_id, person)
    ]
