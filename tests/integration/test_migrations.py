"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

import datacentre.models  # noqa: F401  (its tables are in Base.metadata too)
from server.extensions import db
from workflows.models import Base


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree; run `redwall db migrate`: {diff}"


def test_downgrade_to_empty_and_back(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())
