"""Commands clerks and supervisors give on tasks: claim, unclaim, assign, delegate, resolve, complete.

Each command is one use case in one unit of work. Every change is a compare-and-set on the
task's version (:meth:`TaskRepository.change`), so of many simultaneous commands on one
task exactly one applies and the others answer Conflict (409), on SQLite and PostgreSQL
alike. Every applied change is recorded for the trail.

The checks run in one order everywhere: roles without a worklist (403), tasks the caller
may not see (404), what the caller may not do to a task it sees (403), a stale
``If-Match`` (412), bad input (422), a task in the wrong state or a lost race (409).
Commands are idempotent where asking twice means the same thing (claiming a task one
holds answers 200 and records nothing new).
"""
from __future__ import annotations

from workflows.accounts import Actor
from workflows.cases import OPEN_TASK_STATUSES
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound

from . import handling
from .access import has_worklist, may_be_assigned, may_see, may_work, require_worklist, supervises
from .repository import MAX_ID, task_item
from .task_changes import answer as _answer
from .task_changes import change as _change
from .task_changes import check_version as _check_version
from .task_changes import record as _record
from .task_changes import unit as _unit
from .task_changes import visible as _visible
from .unit_of_work import NOT_ALONE, SqlTaskUnitOfWork, TaskUnitOfWork, claim_alone

MAX_COMMENT = 2000


def _comment(comment: str | None) -> str | None:
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput("the comment is too long", {"comment": [f"at most {MAX_COMMENT} characters"]})
    return comment or None


def claim(
    ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """Take a ready task one may work. Of many simultaneous claims exactly one wins."""
    if uow is None:  # the usual claim in one statement; anything else takes the path that says why
        answer = _claim_at_once(ctx, actor, task_id, expected_version)
        if answer is not None:
            return answer
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if not may_work(actor, task):
            raise Forbidden("you are not a member of this task's groups nor one of its candidates")
        _check_version(task, expected_version)
        if task.status == "claimed" and task.assignee == actor.username:
            return _answer(uow, task)
        if task.status == "claimed":
            raise Conflict(f"the task is already claimed by {task.assignee}")
        if task.status != "ready":
            raise Conflict(f"the task is no longer open ({task.status})")
        handling.not_suspended(uow, task)
        task = _change(uow, task, status="claimed", assignee=actor.username)
        _record(uow, ctx, "task.claimed", actor, task)
        answer = _answer(uow, task)
        uow.commit()
        return answer


def _claim_at_once(ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None) -> dict | None:
    """A ready task of an unsuspended case at the version the caller saw, that the actor may
    work, claimed with its trail event in one statement (PostgreSQL); None, with nothing
    changed, if that is not the case (the general path then says why)."""
    if not has_worklist(actor):
        return None
    claimed = claim_alone(ctx, actor, task_id, expected_version, ctx.clock())
    if claimed is not NOT_ALONE:
        return None if claimed is None else task_item(*claimed)
    with SqlTaskUnitOfWork(ctx) as uow:
        claimed = uow.claim_at_once(actor, task_id, expected_version, ctx.clock())
        if claimed is None:
            return None
        uow.commit()
        return task_item(*claimed)


def unclaim(
    ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """Hand a claimed task back to its group: by the clerk holding it, or a supervisor of the group.

    A delegated task goes back to the clerk who delegated it (``resolve``), not to the
    group; only a supervisor can send it back to the group.
    """
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if task.status != "claimed":
            raise Conflict("the task is not claimed" if task.status == "ready" else f"the task is no longer open ({task.status})")
        holder = task.assignee == actor.username
        if not holder and not supervises(actor, task):
            raise Forbidden("only the clerk holding the task or a supervisor of its group may hand it back")
        _check_version(task, expected_version)
        if holder and task.delegated_by and not supervises(actor, task):
            raise Conflict(f"{task.delegated_by} delegated this task to you: resolve it to hand it back")
        if task.kind == "sign":
            raise Conflict("a co-signer's task belongs to its signer; it cannot go back to the group")
        before = task
        task = _change(uow, task, status="ready", assignee=None, delegated_by=None)
        _record(
            uow, ctx, "task.unclaimed", actor, task,
            previous_assignee=before.assignee, delegated_by=before.delegated_by,
        )
        answer = _answer(uow, task)
        uow.commit()
        return answer


def assign(
    ctx: EngineContext, actor: Actor, task_id: int, username: str, expected_version: int | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """A supervisor (or admin) gives an open task to a named member of its groups or a candidate user."""
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if not supervises(actor, task):
            raise Forbidden("only a supervisor of this task's group may assign it")
        _check_version(task, expected_version)
        assignee = uow.tasks.colleague(actor.tenant_id, username)
        if assignee is None or not may_be_assigned(assignee, task):
            raise InvalidInput(
                f"{username!r} is not a member of this task's groups nor one of its candidate users",
                {"username": ["not a member of the task's groups"]},
            )
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is no longer open ({task.status})")
        if task.kind == "sign":
            raise Conflict("a co-signer's task belongs to its signer")
        handling.not_suspended(uow, task)
        if task.status == "claimed" and task.assignee == username and not task.delegated_by:
            return _answer(uow, task)
        before = task
        task = _change(uow, task, status="claimed", assignee=username, delegated_by=None)
        _record(uow, ctx, "task.assigned", actor, task, assignee=username, previous_assignee=before.assignee)
        answer = _answer(uow, task)
        uow.commit()
        return answer


def delegate(
    ctx: EngineContext, actor: Actor, task_id: int, username: str, comment: str | None = None,
    expected_version: int | None = None, *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The clerk holding a task asks a colleague to work it; it comes back on ``resolve``.

    The colleague may be of any department of the tenant (that is the point of asking),
    but must have a worklist. While delegated the task cannot be completed, handed to the
    group or delegated again by the delegate.
    """
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is no longer open ({task.status})")
        if task.status != "claimed" or task.assignee != actor.username:
            raise Forbidden("only the clerk holding the task may delegate it")
        _check_version(task, expected_version)
        comment = _comment(comment)
        if task.delegated_by:
            raise Conflict(f"{task.delegated_by} delegated this task to you: resolve it first")
        if task.kind == "sign":
            raise Conflict("a co-signer's task is signed by the signer")
        handling.not_suspended(uow, task)
        colleague = uow.tasks.colleague(actor.tenant_id, username)
        if colleague is None or not has_worklist(colleague) or username == actor.username:
            raise InvalidInput(
                f"{username!r} is not a colleague who can work tasks", {"username": ["not a colleague with a worklist"]}
            )
        task = _change(uow, task, assignee=username, delegated_by=actor.username)
        _record(uow, ctx, "task.delegated", actor, task, to=username, comment=comment)
        answer = _answer(uow, task)
        uow.commit()
        return answer


def resolve(
    ctx: EngineContext, actor: Actor, task_id: int, comment: str | None = None,
    expected_version: int | None = None, *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """End a delegation: the task returns to the clerk who delegated it.

    The delegate resolves when done; the delegator may also take the task back early.
    """
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is no longer open ({task.status})")
        if not task.delegated_by:
            raise Conflict("the task is not delegated")
        if actor.username not in (task.assignee, task.delegated_by):
            raise Forbidden("only the delegate or the clerk who delegated the task may end the delegation")
        _check_version(task, expected_version)
        comment = _comment(comment)
        handling.not_suspended(uow, task)
        before = task
        task = _change(uow, task, status="claimed", assignee=before.delegated_by, delegated_by=None)
        _record(
            uow, ctx, "task.returned", actor, task,
            to=before.delegated_by, delegate=before.assignee, comment=comment,
        )
        answer = _answer(uow, task)
        uow.commit()
        return answer


def complete(
    ctx: EngineContext, actor: Actor, task_id: int, data: dict | None, expected_version: int | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> tuple[dict, list[dict]]:
    """Complete a task one holds; the case runs on to its next tasks in the same transaction.

    The task's version is taken first (compare-and-set, completing the row), so a simultaneous
    claim, hand-back, assignment or second completion either happened before (and this answers
    409) or waits and then finds the task changed; nothing is completed twice.
    """
    require_worklist(actor)
    if uow is None and 0 < task_id <= MAX_ID:  # the usual completion: its row completed as it is read
        with SqlTaskUnitOfWork(ctx, lean=True) as at_once:
            completion = at_once.take_for_completion(actor, task_id, expected_version, ctx.clock())
            if completion is not None:
                answer = at_once.run_completion(actor, completion, data)
                at_once.commit()
                return answer
    with _unit(ctx, uow) as uow:
        if not 0 < task_id <= MAX_ID:
            raise NotFound(f"task {task_id} does not exist")
        completion = uow.open_for_completion(actor.tenant_id, task_id)
        task = completion.task
        if not may_see(actor, task):
            raise NotFound(f"task {task_id} does not exist")
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is no longer open ({task.status})")
        holder = task.status == "claimed" and task.assignee == actor.username
        if not holder:
            if not may_work(actor, task):
                raise Forbidden("you may not work this task")
            raise Conflict("claim the task before completing it" if task.status == "ready"
                           else f"the task is claimed by {task.assignee}")
        _check_version(task, expected_version)
        if task.delegated_by:
            raise Conflict(f"{task.delegated_by} delegated this task to you: resolve it, they complete it")
        handling.not_suspended(uow, task)
        if task.kind == "sign":  # a co-signer signs (加签): no engine task of its own
            answer = handling.sign(ctx, uow, actor, task, data)
            uow.commit()
            return answer
        if task.kind == "notice":  # a department acknowledges a notice (e.g. a proactive reminder)
            answer = handling.acknowledge_notice(ctx, uow, actor, task, data)
            uow.commit()
            return answer
        if task.handling:  # co-signers: the engine step may have to wait for them
            held = handling.held_completion(ctx, uow, actor, completion, data)
            if held is not None:
                uow.commit()
                return held
            task = completion.task
        # The compare-and-set takes the task and completes its row in one change; the engine
        # step that follows leaves the row alone (a failing step rolls it back with the rest).
        completion.task = _change(uow, task, status="completed", completed_at=ctx.clock(),
                                  completed_by=actor.username)
        case, next_tasks = uow.run_completion(actor, completion, data)
        uow.tasks.forget_candidates(task.id)
        uow.commit()
        return case, next_tasks
