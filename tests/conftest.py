"""Test tiers and the real services they run on.

* ``tests/unit``: no database, no Flask.
* ``tests/integration``: the use cases on real SQLite and real PostgreSQL.
* ``tests/e2e``: the HTTP API through Flask's test client, on both databases.

PostgreSQL tests need ``REDWALL_TEST_POSTGRES_URL`` (a database the suite may wipe);
without it they skip and say why. ``.ci/run`` sets it together with
``REDWALL_REQUIRE_SERVICES=1``, which turns such a skip into a failure.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PG_URL = os.environ.get("REDWALL_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("REDWALL_TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("REDWALL_REQUIRE_SERVICES") == "1"


def require_postgres() -> str:
    if not PG_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REDWALL_REQUIRE_SERVICES=1 but REDWALL_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need REDWALL_TEST_POSTGRES_URL (.ci/run sets it)")
    return PG_URL


def require_redis() -> str:
    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REDWALL_REQUIRE_SERVICES=1 but REDWALL_TEST_REDIS_URL is not set")
        pytest.skip("Redis tests need REDWALL_TEST_REDIS_URL (.ci/run sets it)")
    return REDIS_URL


def reset_postgres(url: str) -> None:
    """Empty the test database completely (schema and Alembic's version table)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _make_app(url: str):
    from flask_migrate import upgrade

    from server.app import create_app

    app = create_app(
        {
            "SKIP_ENV": True,
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret-key-for-the-suite-only-0123456789",
            "REDIS_URL": None,
            "REDWALL_TIMEZONE": "Asia/Shanghai",
            "REDWALL_TOKEN_TTL": 3600,
            "REDWALL_SCRIPT_TIME_LIMIT": 1.0,
            "REDWALL_FILE_DIR": __import__("tempfile").mkdtemp(prefix="redwall-files-"),
        }
    )
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2 at its production cost makes every test user take ~50 ms; the suite tests logic, not cost."""
    from argon2 import PasswordHasher

    from workflows import accounts

    production = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("redwall-no-such-user")
    yield
    accounts._hasher = production


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory):
    return _make_app(f"sqlite:///{tmp_path_factory.mktemp('db') / 'redwall.sqlite'}")


@pytest.fixture(scope="session")
def postgres_app():
    url = require_postgres()
    reset_postgres(url)
    return _make_app(url)


def _truncate(app) -> None:
    from server.extensions import db
    from workflows.models import Base

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                from tests.helpers import trail_guards

                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                trail_guards(conn, on=False)  # the owner resets the test database
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                trail_guards(conn, on=True)
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
                conn.execute(text("DELETE FROM task_counts"))  # last: deleting tasks wrote to them
                conn.execute(text("DELETE FROM task_candidate_counts"))
        # ids restart with the emptied tables, so cached models and workflows must go too
        app.extensions["redwall"].workflows.clear()
        app.extensions["redwall"].runtimes.clear()
        app.extensions["redwall"].calendar.invalidate()  # calendar override rows went too


@pytest.fixture(params=["sqlite", "postgres"])
def app(request):
    """The app on each real database, emptied before the test."""
    app = request.getfixturevalue(f"{request.param}_app")
    _truncate(app)
    with app.app_context():
        yield app


@pytest.fixture
def pg_app(postgres_app):
    """The app on PostgreSQL alone, emptied before the test: for what exists only there (a test
    module names it as its ``app``)."""
    _truncate(postgres_app)
    with postgres_app.app_context():
        yield postgres_app


@pytest.fixture
def ctx(app):
    return app.extensions["redwall"]
