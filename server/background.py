"""Background execution: the scheduler loop, in its own process or in a thread of the app.

* Distributed mode (``REDIS_URL`` set): ``redwall scheduler`` processes claim due timers and
  send their ids to Celery workers (``server.worker_tasks``), in chunks, after the claim has
  committed. Run as many schedulers and workers as you like.
* Embedded mode (no ``REDIS_URL``): the web app starts one daemon thread on its first request
  that claims and fires timers itself, through the same use cases (``make run`` on SQLite).
  ``redwall scheduler --inline`` does the same in a process of its own.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable

from workflows import timers
from workflows.context import EngineContext

log = logging.getLogger(__name__)

#: timer ids per Celery task: small enough to spread over workers, large enough that a burst of them
#: is written in a few statements (workflows.case_repository.BurstCaseRepository)
CHUNK = 50
HOUSEKEEPING_EVERY = 600.0
#: seconds between folds of the badge counters (worklists.task_counts): their rows stay few
FOLD_COUNTERS_EVERY = 30.0


def process_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


class TimerScheduler:
    """Claims due timers and either dispatches them (``dispatch(ids)``) or fires them inline."""

    def __init__(
        self,
        ctx: EngineContext,
        name: str,
        dispatch: Callable[[list[int]], None] | None = None,
        interval: float = 0.5,
        batch: int = 500,
        max_in_flight: int | None = None,
    ):
        self.ctx = ctx
        self.name = name
        self.dispatch = dispatch
        self.interval = interval
        self.batch = batch
        # dispatching: no more claimed-unfired timers than the workers will take soon
        self.max_in_flight = max_in_flight if max_in_flight is not None else (4 * batch if dispatch else None)
        self._last_housekeeping = 0.0
        self._last_fold = 0.0

    def run_once(self) -> int:
        """One pass: claim what is due, hand it on. Returns how many timers were claimed."""
        claim = timers.claim_due_timers(self.ctx, self.name, self.batch, on_claimed=self.dispatch,
                                        max_in_flight=self.max_in_flight)
        if self.dispatch is None and claim.ids:
            timers.fire_timers(self.ctx, claim.ids, self.name)
        now = time.monotonic()
        if now - self._last_fold > FOLD_COUNTERS_EVERY:
            self._last_fold = now
            from worklists.task_counts import fold_all

            fold_all(self.ctx)
        if now - self._last_housekeeping > HOUSEKEEPING_EVERY:
            self._last_housekeeping = now
            timers.purge_finished_timers(self.ctx)
            from onewindow.proactive import run_daily_jobs

            run_daily_jobs(self.ctx)  # the proactive job, once per tenant and local day
        return len(claim.ids)

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; errors (database or broker down) are logged and retried."""
        failures = 0
        while not stop.is_set():
            try:
                claimed = self.run_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("scheduler %s: pass failed (%s in a row); trying again", self.name, failures)
                stop.wait(min(0.5 * 2 ** failures, 10.0))
                continue
            if claimed < self.batch:
                stop.wait(self.interval)
        try:
            timers.forget_scheduler(self.ctx, self.name)
        except Exception:
            log.warning("scheduler %s: could not remove its heartbeat", self.name)


def celery_dispatcher(redis_url: str, chunk: int = CHUNK) -> Callable[[list[int]], None]:
    """Send claimed timer ids to the workers, ``chunk`` ids per task."""
    from .celery_app import make_celery

    celery = make_celery(redis_url)

    def dispatch(ids: list[int]) -> None:
        with celery.producer_or_acquire() as producer:
            for start in range(0, len(ids), chunk):
                celery.send_task("redwall.fire_timers", args=[ids[start:start + chunk]], producer=producer)

    return dispatch


# -- embedded mode -----------------------------------------------------------------------------
def embedded_wanted(app) -> bool:
    mode = str(app.config.get("REDWALL_BACKGROUND", "auto")).lower()
    if mode == "off" or app.config.get("TESTING"):
        return False
    return mode == "thread" or not app.config.get("REDIS_URL")


def start_with_app(app) -> None:
    """Start the embedded timer thread on the app's first request (not for CLI commands)."""
    if not embedded_wanted(app):
        return
    lock = threading.Lock()
    state = {"thread": None}

    @app.before_request
    def _ensure_timer_thread():
        if state["thread"] is not None:
            return
        with lock:
            if state["thread"] is None:
                state["thread"] = _start_thread(app)

    app.extensions["redwall_background"] = state


def _start_thread(app) -> threading.Thread:
    stop = threading.Event()
    scheduler = TimerScheduler(
        app.extensions["redwall"], process_name("embedded"), dispatch=None,
        interval=float(app.config.get("REDWALL_SCHEDULER_INTERVAL", 0.5)), batch=100,
    )

    def run():
        with app.app_context():
            scheduler.run(stop)

    thread = threading.Thread(target=run, name="redwall-timers", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    log.info("embedded mode: timers fire in the thread %s", scheduler.name)
    return thread


def start_migration(ctx: EngineContext, actor, key: str, from_version, to_version, *, case_ids=None,
                    mapping=None, dry_run: bool = True, resume: int | None = None) -> tuple[int, dict | None]:
    """Start (or resume) a migration run, for the API and the studio page alike: a new dry run is
    carried out at once and its report returned; anything else goes on in the background
    (``None``: follow the run)."""
    from workflows.case_migration import execute_run, start_run

    run_id = start_run(ctx, actor, key, from_version, to_version, case_ids=case_ids, mapping=mapping,
                       dry_run=dry_run, resume=resume)
    if dry_run and resume is None:
        return run_id, execute_run(ctx, run_id, actor.username)
    run_migration_in_background(ctx, run_id, actor.username)
    return run_id, None


def run_migration_in_background(ctx: EngineContext, run_id: int, username: str) -> threading.Thread:
    """Carry a migration run (``workflows.case_migration``) on in a thread of this process.

    The request that started it answers at once (202); the page and the API follow the run. If
    the process ends first, the run stays resumable (``resume``, ``redwall migrate --resume``).
    """
    from flask import current_app

    from workflows.case_migration import execute_run

    app = current_app._get_current_object()

    def work():
        with app.app_context():
            try:
                execute_run(ctx, run_id, username)
            except Exception:  # noted on the run (interrupted); the log has the rest
                log.exception("migration run %s stopped", run_id)

    thread = threading.Thread(target=work, name=f"migration-{run_id}", daemon=True)
    thread.start()
    return thread
