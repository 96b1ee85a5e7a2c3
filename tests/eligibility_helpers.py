"""Residents who may apply for a service: its eligibility rules met and no case of it open."""
from __future__ import annotations

from sqlalchemy import select

from datacentre.certificates import tenant_today
from datacentre.models import Person
from onewindow.catalogue import load_catalogue
from onewindow.eligibility import eligibility_in


def eligible_resident(ctx, actor, service_code: str, exclude=(), **where) -> int:
    """Id of the first resident of ``actor``'s tenant who may apply for ``service_code`` now."""
    service = load_catalogue().service(service_code)
    with ctx.unit_of_work() as uow:
        query = select(Person.id).where(Person.tenant_id == actor.tenant_id).order_by(Person.id)
        for column, value in where.items():
            column = getattr(Person, column)
            query = query.where(column.is_(None) if value is None else column == value)
        today = tenant_today(ctx.clock(), actor.timezone)
        for pid in uow.session.scalars(query):
            if pid not in exclude and eligibility_in(uow.session, actor.tenant_id, service, pid, today)["eligible"]:
                return pid
    raise AssertionError(f"no resident may apply for {service_code} {where}")


def ineligible_resident(ctx, actor, service_code: str, rule: str, **where) -> int:
    """Id of the first resident of ``actor``'s tenant whom ``rule`` of ``service_code`` refuses."""
    service = load_catalogue().service(service_code)
    with ctx.unit_of_work() as uow:
        query = select(Person.id).where(Person.tenant_id == actor.tenant_id).order_by(Person.id)
        for column, value in where.items():
            column = getattr(Person, column)
            query = query.where(column.is_(None) if value is None else column == value)
        today = tenant_today(ctx.clock(), actor.timezone)
        for pid in uow.session.scalars(query):
            problems = eligibility_in(uow.session, actor.tenant_id, service, pid, today)["problems"]
            if any(p["rule"] == rule for p in problems):
                return pid
    raise AssertionError(f"no resident is refused {service_code} by {rule} {where}")
