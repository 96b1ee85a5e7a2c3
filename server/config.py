"""Configuration from environment variables — the one place they are read.

| variable | meaning | default |
|---|---|---|
| DATABASE_URL | SQLAlchemy URL (``postgresql+psycopg://...`` or ``sqlite:///...``) | SQLite file ``instance/redwall.sqlite`` |
| REDIS_URL | Celery broker; unset = embedded mode (background work in a thread of the app) | unset |
| SECRET_KEY | signs access tokens; set it (the same value) on every web process | random per instance folder (``instance/secret_key``) |
| REDWALL_TIMEZONE | time zone for rendering times and counting working days | Asia/Shanghai |
| REDWALL_TOKEN_TTL | access-token lifetime in seconds | 28800 (8 hours) |
| REDWALL_SCRIPT_TIME_LIMIT | seconds a BPMN script or expression may run | 2.0 |
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    path = instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'redwall.sqlite'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "SECRET_KEY": _secret_key(instance_path),
        "REDWALL_TIMEZONE": os.environ.get("REDWALL_TIMEZONE", "Asia/Shanghai"),
        "REDWALL_TOKEN_TTL": int(os.environ.get("REDWALL_TOKEN_TTL", "28800")),
        "REDWALL_SCRIPT_TIME_LIMIT": float(os.environ.get("REDWALL_SCRIPT_TIME_LIMIT", "2.0")),
    }
