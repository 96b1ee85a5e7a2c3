"""The hottest statements of a case step, sent straight to the database driver (psycopg).

A claim, a completion's read of its task and case, and a step's case write each run once a
request, and each is SQL written out already (no ORM objects, no Python-side types to apply).
Through SQLAlchemy's ``Connection.execute`` every such statement also paid for the execution
context, the result's metadata and rows — and for psycopg building a description object for
every column of the answer (the claim answers 31 columns, a completion's read 49). Measured on
the whole three-task case: that was about a tenth of the web worker's CPU.

Here the statement goes to the psycopg connection under the session's SQLAlchemy connection,
so it joins that connection's transaction (or, asked to, runs as a transaction of its own
where none is open), and rows come back as plain tuples in the order the
statement names its columns. A database error is raised as SQLAlchemy's
:class:`~sqlalchemy.exc.DBAPIError` of the same kind, as if SQLAlchemy had sent the statement,
so the units of work treat a lost race (serialization failure, deadlock) as they always do.

SQLAlchemy's engine events do not see these statements; count round trips at the driver
(``bench/round_trips``, ``bench/step_statements.py`` and the tests do).
"""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy.exc import DBAPIError

TUPLES_OK = ExecStatus.TUPLES_OK
IDLE = TransactionStatus.IDLE


def driver_rows(conn, statement: str, params: dict[str, Any], *, alone: bool = False) -> list[tuple]:
    """Run ``statement`` (psycopg's ``%(name)s`` placeholders) on the driver connection under the
    SQLAlchemy connection ``conn`` and return its rows as tuples (none for a statement that
    returns no rows).

    ``alone``: the statement is all its unit of work does and is whole on its own, so where no
    transaction is open yet it runs as a transaction by itself (autocommit for this statement
    only: no BEGIN and COMMIT round trips; the unit's commit then has nothing to send). Inside
    an open transaction it simply joins it."""
    driver = conn.connection.driver_connection
    by_itself = alone and not driver.autocommit and driver.info.transaction_status == IDLE
    try:
        if by_itself:
            driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(statement, params)
                result = cursor.pgresult
                return cursor.fetchall() if result is not None and result.status == TUPLES_OK else []
        finally:
            if by_itself:
                driver.autocommit = False
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, params, exc, psycopg.Error, dialect=conn.dialect) from exc


class DriverStatement:
    """A SQLAlchemy Core ``statement`` compiled once (for the dialect of the first connection that
    runs it) and then sent with :func:`driver_rows`: its parameters converted by their types'
    bind processors, as SQLAlchemy would (JSON, aware datetimes to UTC), its literals bound as
    the compiled statement binds them. Results are the driver's values: psycopg reads JSON and
    aware datetimes itself, and nothing here reads a type that needs more."""

    def __init__(self, statement):
        self.statement = statement
        self.names = tuple(statement.selected_columns.keys()) if hasattr(statement, "selected_columns") else ()
        self._compiled: tuple[str, dict, dict] | None = None

    def _compile(self, dialect) -> tuple[str, dict, dict]:
        compiled = self.statement.compile(dialect=dialect)
        values = compiled.params  # by the names the SQL gives them
        processors, literals = {}, {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
            if not bind.required:
                literals[name] = values[name]
        # columns an INSERT (UPDATE) leaves out and SQLAlchemy fills from their defaults as the
        # statement runs: only constant defaults can be taken once here
        for column, default in [*((c, c.default) for c in compiled.insert_prefetch),
                                *((c, c.onupdate) for c in compiled.update_prefetch)]:
            if default is None or not default.is_scalar:
                raise ValueError(f"{column} takes a default computed as the statement runs: "
                                 "send this statement through SQLAlchemy")
            literals[column.key] = default.arg
        self._compiled = (str(compiled), literals, processors)
        return self._compiled

    def rows(self, conn, params: dict[str, Any]) -> list[tuple]:
        sql, literals, processors = self._compiled or self._compile(conn.dialect)
        values = {**literals, **params}
        for name, processor in processors.items():
            if name in values:
                values[name] = processor(values[name])
        return driver_rows(conn, sql, values)


_statements: dict[int, DriverStatement] = {}


def driver_statement(statement) -> DriverStatement:
    """The :class:`DriverStatement` of a statement built once and kept (a module's constant or a
    cache of shapes): one compilation per statement object."""
    found = _statements.get(id(statement))
    if found is None or found.statement is not statement:
        found = _statements[id(statement)] = DriverStatement(statement)
    return found
