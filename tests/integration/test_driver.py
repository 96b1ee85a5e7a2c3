"""``workflows.driver``: statements sent straight to psycopg under a session's connection behave
as SQLAlchemy would have sent them — the same transaction, the types' conversions, the columns'
constant defaults, errors as SQLAlchemy's — and a statement sent ``alone`` is a transaction of
its own only where none is open. PostgreSQL only: the driver path exists for it alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflows.driver import DriverStatement, driver_rows, driver_statement
from workflows.models import Tenant
from workflows.unit_of_work import lost_a_race

TENANTS = Tenant.__table__


@pytest.fixture
def app(pg_app):
    """The driver path is PostgreSQL's (the production database)."""
    return pg_app


def _tenants(ctx) -> list[str]:
    with ctx.unit_of_work() as uow:
        return list(uow.session.scalars(select(Tenant.code).order_by(Tenant.code)))


INSERT = TENANTS.insert().values(code=bindparam("code"), name=bindparam("name"),
                                 created_at=bindparam("at", type_=TENANTS.c.created_at.type)).returning(TENANTS.c.id)
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def test_a_statement_joins_the_units_transaction_and_rolls_back_with_it(ctx):
    with ctx.unit_of_work() as uow:
        rows = driver_statement(INSERT).rows(uow.session.connection(), {"code": "kept", "name": "留下", "at": NOW})
        assert rows and isinstance(rows[0][0], int)
        uow.commit()
    with ctx.unit_of_work() as uow:
        driver_statement(INSERT).rows(uow.session.connection(), {"code": "dropped", "name": "回滚", "at": NOW})
        # the unit ends without committing
    assert _tenants(ctx) == ["kept"]


def test_constant_defaults_and_type_conversions_are_applied(ctx):
    """A column SQLAlchemy fills from its constant default as the statement runs (a tenant's
    time zone) and a parameter whose type converts it (an aware datetime, stored as UTC; a naive
    one refused) arrive as SQLAlchemy would send them; a default computed at run time (a
    tenant's ``created_at``) is refused before anything is sent."""
    with ctx.unit_of_work() as uow:
        driver_statement(INSERT).rows(uow.session.connection(), {"code": "t1", "name": "甲", "at": NOW})
        uow.commit()
    with ctx.unit_of_work() as uow:
        row = uow.session.execute(select(Tenant.timezone, Tenant.created_at).where(Tenant.code == "t1")).one()
    assert row.timezone == "Asia/Shanghai"
    assert row.created_at == NOW and row.created_at.utcoffset() == timedelta(0)
    with ctx.unit_of_work() as uow, pytest.raises(ValueError, match="naive"):
        driver_statement(INSERT).rows(uow.session.connection(),
                                      {"code": "t2", "name": "乙", "at": datetime(2026, 11, 30, 9, 30)})
    computed = TENANTS.insert().values(code=bindparam("code"), name=bindparam("name"))
    with ctx.unit_of_work() as uow, pytest.raises(ValueError, match="computed as the statement runs"):
        DriverStatement(computed).rows(uow.session.connection(), {"code": "t3", "name": "丙"})
    assert _tenants(ctx) == ["t1"]


def test_database_errors_arrive_as_sqlalchemys(ctx):
    with ctx.unit_of_work() as uow:
        driver_statement(INSERT).rows(uow.session.connection(), {"code": "same", "name": "甲", "at": NOW})
        uow.commit()
    with ctx.unit_of_work() as uow, pytest.raises(IntegrityError) as raised:
        driver_statement(INSERT).rows(uow.session.connection(), {"code": "same", "name": "乙", "at": NOW})
    assert isinstance(raised.value, DBAPIError) and not lost_a_race(raised.value)
    assert _tenants(ctx) == ["same"]


def test_a_statement_alone_is_its_own_transaction_only_where_none_is_open(ctx):
    statement = ("INSERT INTO tenants (code, name, timezone, created_at) "
                 "VALUES (%(code)s, %(name)s, 'Asia/Shanghai', now()) RETURNING id")
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        driver_rows(conn, statement, {"code": "alone", "name": "自成一事"}, alone=True)
        assert conn.connection.driver_connection.autocommit is False  # set back at once
        # the unit ends without committing: the statement was committed by itself
    assert _tenants(ctx) == ["alone"]
    with ctx.unit_of_work() as uow:
        conn = uow.session.connection()
        driver_rows(conn, "SELECT 1", {})  # a transaction is open now
        driver_rows(conn, statement, {"code": "joined", "name": "随事务"}, alone=True)
        # not committed: it joined the open transaction, which rolls back
    assert _tenants(ctx) == ["alone"]


def test_the_hot_statements_keep_a_generic_plan(ctx):
    """psycopg prepares a statement run five times on a connection; PostgreSQL then plans it once
    for all parameters unless it guesses that the parameters' own plan is cheaper. The case INSERT
    drew its spare task ids from generate_series($1, $2), for which a generic plan guesses 1,000
    rows, so it was planned again at every start (0.26 ms an execution against 0.14)."""
    from sqlalchemy import text

    from tests.helpers import demo_files, make_users
    from workflows.cases import start_case
    from workflows.process_models import deploy_model

    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], demo_files())
    # prepared statements are per connection: the starts join one outer unit of work, so they all
    # run on its connection (one by one, the pool would hand out whichever connection is idle)
    with ctx.unit_of_work() as uow:
        for _ in range(14):  # prepared at the 6th run, 5 custom plans, then PostgreSQL's choice
            start_case(ctx, actors["intake1"], "service_application")
        plans = uow.session.connection().execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'INSERT INTO cases %'")).all()
    assert plans, "the case INSERT was not prepared on this connection"
    generic, custom = plans[0]
    assert generic > 0 and custom <= 5, plans
