"""Start-up wiring of the engine: the one place where a case step's handlers are registered.

Every case step (``workflows.steps.run_step``) hands its outcome to these handlers, in this
order, inside the step's transaction:

1. ``retries`` — a failed service call that may work later becomes a retry timer (before the
   incident is written, which it replaces);
2. ``deadline_clock`` — the case clock (承诺时限) and its supervision timers; the due times of
   the tasks the step creates (so before the task rows);
3. ``bpmn_timers`` — one open timer row per timer event the case waits on;
4. ``task_rows`` — the completed task, cancelled and new task rows, candidates;
5. ``incidents`` — the retried incident resolved, a new incident written;
6. ``case_row`` — the case row under its version check, the step's trail events appended in the
   same statement (the trail writer appends what is recorded later at commit);
7. ``issue_certificate`` — the one window: a positive decision issues the service's certificate;
8. ``queue_for_audit`` — the one window: a concluded case sampled for audit enters the queue.
"""
from __future__ import annotations

from onewindow import conclusion
from workflows import steps
from workflows.context import EngineContext

STEP_HANDLERS = steps.StepHandlers([
    ("retries", steps.retries),
    ("deadline_clock", steps.deadline_clock),
    ("bpmn_timers", steps.bpmn_timers),
    ("task_rows", steps.task_rows),
    ("incidents", steps.incidents),
    ("case_row", steps.case_row),
    ("issue_certificate", conclusion.issue_certificate_on_decision),
    ("queue_for_audit", conclusion.queue_concluded_for_audit),
])


def wire(ctx: EngineContext) -> EngineContext:
    """Register the step handlers in ``ctx`` (the app factory and each worker call this once)."""
    ctx.step_handlers = STEP_HANDLERS
    return ctx
