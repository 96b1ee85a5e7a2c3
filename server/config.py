"""Configuration from environment variables — the one place they are read.

| variable | meaning | default |
|---|---|---|
| DATABASE_URL | SQLAlchemy URL (``postgresql+psycopg://...`` or ``sqlite:///...``) | SQLite file ``instance/redwall.sqlite`` |
| REDIS_URL | Celery broker; unset = embedded mode (background work in a thread of the app) | unset |
| SECRET_KEY | signs access tokens; set it (the same value) on every web process | random per instance folder (``instance/secret_key``) |
| REDWALL_TIMEZONE | time zone for rendering times and counting working days | Asia/Shanghai |
| REDWALL_TOKEN_TTL | access-token lifetime in seconds | 28800 (8 hours) |
| REDWALL_REVOCATION_INTERVAL | seconds a process trusts a user's key it read (a disabled user, a new password, changed roles, signing out everywhere: refused on every process within this) | 5 |
| REDWALL_SCRIPT_TIME_LIMIT | seconds a BPMN script or expression may run | 2.0 |
| REDWALL_SCRIPT_WORKERS | worker processes per server process that run scripts under CPU and memory limits; 0 runs them in the server process (no real bound) | 2 |
| REDWALL_SCRIPT_MEMORY_MB | address space of each script worker process (RLIMIT_AS), MB | 256 |
| REDWALL_MAX_JSON_BYTES | largest JSON request body (``POST /api/events``, with its photo: 4 MiB) | 1048576 |
| REDWALL_MAX_UPLOAD_BYTES | largest multipart upload (model files) | 16777216 |

| REDWALL_METRICS_TOKEN | bearer token the Prometheus scraper sends to ``GET /metrics`` (every tenant); unset: admins' tokens only (their tenant) | unset |
| REDWALL_DEMO | ``1``: demo mode (``make run``): the sign-in page names the demo users (never the password: it is in the README) | unset |
| REDWALL_PROXY_HOPS | reverse proxies in front of the app whose ``X-Forwarded-For``/``-Proto`` are trusted (Werkzeug ProxyFix); 0: the peer address is the client's | 0 |
| REDWALL_BACKGROUND | ``auto``: without REDIS_URL the app fires timers in a background thread; ``off``: never | auto |
| REDWALL_OFFICE_HOURS | office hours that count as working hours (handling-time metrics) | 09:00-12:00,13:30-17:30 |
| REDWALL_WARN_WORKING_DAYS | warning (预警) this many working days before a deadline | 1 |
| REDWALL_RED_AFTER_WORKING_DAYS | red level (红牌) this many working days after a deadline | 3 |
| REDWALL_SERVICE_RETRIES | automatic retries of a failed service call before the case gets an incident | 3 |
| REDWALL_RETRY_BACKOFF | seconds before each retry, comma-separated (the last repeats) | 30,120,480 |
| REDWALL_TIMER_LEASE | seconds after which a claimed timer that has not fired is claimed again | 60 |
| REDWALL_SCHEDULER_INTERVAL | seconds a scheduler waits when no timer is due | 0.5 |
| REDWALL_CELERY_VISIBILITY | seconds before Redis hands an unacknowledged task (worker killed) to another worker | 300 |
| REDWALL_FILE_STORAGE | where case files' bytes live: ``folder`` or ``database`` (chunked rows) | ``database`` on PostgreSQL, else ``folder`` |
| REDWALL_FILE_DIR | the folder of the ``folder`` store | ``instance/files`` |
| REDWALL_FILE_MAX_BYTES | largest file accepted | 10485760 (10 MB) |
| REDWALL_CASE_FILES_MAX_BYTES | all the files of one case together | 52428800 (50 MB) |
| REDWALL_PUBLIC_URL | the address residents reach the progress page at (printed as a QR code on receipts) | the request's host |
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
        "REDWALL_REVOCATION_INTERVAL": float(os.environ.get("REDWALL_REVOCATION_INTERVAL", "5")),
        "REDWALL_SCRIPT_TIME_LIMIT": float(os.environ.get("REDWALL_SCRIPT_TIME_LIMIT", "2.0")),
        "REDWALL_PROXY_HOPS": int(os.environ.get("REDWALL_PROXY_HOPS", "0")),
        "REDWALL_METRICS_TOKEN": os.environ.get("REDWALL_METRICS_TOKEN") or None,
        "REDWALL_DEMO": os.environ.get("REDWALL_DEMO", "") in ("1", "true", "yes"),
        "REDWALL_MAX_JSON_BYTES": int(os.environ.get("REDWALL_MAX_JSON_BYTES", str(1024 * 1024))),
        "REDWALL_MAX_UPLOAD_BYTES": int(os.environ.get("REDWALL_MAX_UPLOAD_BYTES", str(16 * 1024 * 1024))),
        **timing_from_environment(),
        **files_from_environment(),
    }


def files_from_environment() -> dict:
    env = os.environ.get
    found = {name: env(name) for name in ("REDWALL_FILE_STORAGE", "REDWALL_FILE_DIR", "REDWALL_PUBLIC_URL") if env(name)}
    for name in ("REDWALL_FILE_MAX_BYTES", "REDWALL_CASE_FILES_MAX_BYTES"):
        if env(name):
            found[name] = int(env(name))
    return found


def timing_from_environment() -> dict:
    """Timers, deadlines and background execution (read by the app, the scheduler and workers)."""
    env = os.environ.get
    return {
        "REDWALL_BACKGROUND": env("REDWALL_BACKGROUND", "auto"),
        "REDWALL_SCRIPT_WORKERS": int(env("REDWALL_SCRIPT_WORKERS", "2")),
        "REDWALL_SCRIPT_MEMORY_MB": int(env("REDWALL_SCRIPT_MEMORY_MB", "256")),
        "REDWALL_OFFICE_HOURS": env("REDWALL_OFFICE_HOURS", "09:00-12:00,13:30-17:30"),
        "REDWALL_WARN_WORKING_DAYS": int(env("REDWALL_WARN_WORKING_DAYS", "1")),
        "REDWALL_RED_AFTER_WORKING_DAYS": int(env("REDWALL_RED_AFTER_WORKING_DAYS", "3")),
        "REDWALL_SERVICE_RETRIES": int(env("REDWALL_SERVICE_RETRIES", "3")),
        "REDWALL_RETRY_BACKOFF": env("REDWALL_RETRY_BACKOFF", "30,120,480"),
        "REDWALL_TIMER_LEASE": float(env("REDWALL_TIMER_LEASE", "60")),
        "REDWALL_SCHEDULER_INTERVAL": float(env("REDWALL_SCHEDULER_INTERVAL", "0.5")),
        "REDWALL_CELERY_VISIBILITY": int(env("REDWALL_CELERY_VISIBILITY", "300")),
        # SpiffWorkflow's own loggers ("spiff.*"): at INFO they write a line for every task's
        # state change; DEBUG or INFO here to see the engine's inner steps.
        "REDWALL_ENGINE_LOG_LEVEL": env("REDWALL_ENGINE_LOG_LEVEL", "WARNING").upper(),
    }


def engine_options_from(config, session_factory) -> dict:
    """``calendar`` and ``timing`` for ``workflows.context.build_context`` from a config mapping."""
    from workflows.calendar import OfficeHours, WorkingCalendar
    from workflows.deadlines import TimingPolicy

    defaults = timing_from_environment()
    get = lambda key: config.get(key, defaults[key])  # noqa: E731
    backoff = tuple(float(part) for part in str(get("REDWALL_RETRY_BACKOFF")).split(",") if part.strip())
    return {
        "script_workers": int(get("REDWALL_SCRIPT_WORKERS")),
        "script_memory_mb": int(get("REDWALL_SCRIPT_MEMORY_MB")),
        "engine_log_level": str(get("REDWALL_ENGINE_LOG_LEVEL")).upper(),
        "calendar": WorkingCalendar(
            session_factory,
            office_hours=OfficeHours.parse(get("REDWALL_OFFICE_HOURS")),
            default_timezone=config.get("REDWALL_TIMEZONE") or "Asia/Shanghai",
        ),
        "timing": TimingPolicy(
            warn_working_days=int(get("REDWALL_WARN_WORKING_DAYS")),
            red_after_working_days=int(get("REDWALL_RED_AFTER_WORKING_DAYS")),
            service_retries=int(get("REDWALL_SERVICE_RETRIES")),
            retry_backoff=backoff or (0.0,),
            lease_seconds=float(get("REDWALL_TIMER_LEASE")),
        ),
    }
