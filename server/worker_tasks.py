"""Celery tasks: each takes ids, calls one use case, and may run any number of times."""
from __future__ import annotations

from workflows import timers

from .background import process_name
from .celery_app import celery, engine_context

MAX_IDS = 1000


@celery.task(name="redwall.fire_timers", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def fire_timers(timer_ids: list) -> dict:
    """Fire the given timer rows (those still open and due); see ``workflows.timers.fire_timer``."""
    ids = [int(i) for i in timer_ids[:MAX_IDS] if isinstance(i, int) and not isinstance(i, bool)]
    return timers.fire_timers(engine_context(), ids, process_name("worker"))
