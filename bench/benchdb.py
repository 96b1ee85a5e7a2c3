"""The benchmarks' own databases: each script drops and creates one, so no run depends on another."""
from __future__ import annotations

from sqlalchemy import create_engine, text

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def recreate_database(url: str, admin_url: str = ADMIN_URL, drop_only: bool = False) -> None:
    """Drop the database ``url`` names (forcing other sessions off) and create it empty again."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
