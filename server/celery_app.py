"""The Celery application: Redis as broker, JSON only, late acknowledgement.

Start workers with ``celery -A server.celery_app worker --loglevel=info`` (and ``redwall
scheduler`` to feed them). Configuration comes from the environment (``server.config``):
``REDIS_URL`` for the broker, ``DATABASE_URL`` for the database.

Delivery is at least once: a task is acknowledged after it ran (``acks_late``) and handed
to another worker if its worker dies (``reject_on_worker_lost``; Redis gives unacknowledged
tasks back after ``REDWALL_CELERY_VISIBILITY`` seconds). The tasks are idempotent — a timer
fires only while its row is open, in the transaction that closes it — so a task delivered
twice changes nothing the second time. What the broker loses (a Redis restarted without
persistence) the schedulers claim again once the rows' lease has passed.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from celery import Celery

from . import config as config_module

INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def make_celery(redis_url: str | None = None, visibility: int | None = None) -> Celery:
    settings = config_module.timing_from_environment()
    visibility = visibility or settings["REDWALL_CELERY_VISIBILITY"]
    app = Celery("redwall", set_as_current=False, include=["server.worker_tasks"])
    app.conf.update(
        broker_url=redis_url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="redwall",
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            # look for tasks of dead workers about every tenth of the visibility timeout
            "unacked_restore_interval": max(1, min(10, visibility // 10)),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
    )
    return app


#: The worker's app (``celery -A server.celery_app``); building it connects to nothing.
celery = make_celery()

_context = None
_context_lock = threading.Lock()


def engine_context():
    """This worker process's engine context (built on first use, after the fork)."""
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                from workflows.context import build_context
                from workflows.database import make_session_factory

                config = config_module.from_environment(INSTANCE)
                _, session_factory = make_session_factory(config["SQLALCHEMY_DATABASE_URI"])
                _context = build_context(
                    session_factory=session_factory,
                    script_time_limit=config["REDWALL_SCRIPT_TIME_LIMIT"],
                    **config_module.engine_options_from(config, session_factory),
                )
                from .wiring import wire

                wire(_context)  # the case step's handlers: engine rows, certificates, the audit queue
    return _context
