"""Database engine settings shared by the web app, workers and scripts."""
from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker


def configure_sqlite(engine: Engine) -> None:
    """WAL journal, enforced foreign keys and a busy timeout: SQLite as a real embedded default."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if ":memory:" not in str(engine.url) and engine.url.database:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # pool_recycle instead of pre-ping: a ping is one more round trip on every transaction.
    return {"pool_recycle": 1800, "pool_size": 10, "max_overflow": 20}


def make_session_factory(url: str):
    """A sessionmaker for scripts and workers that run without Flask."""
    engine = create_engine(url, **engine_options(url))
    configure_sqlite(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)
