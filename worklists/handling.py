"""Handling operations Chinese offices expect, on top of claim / assign / delegate / complete:
退回 send back, 转办 transfer, 加签 add signers, 抄送 copy, 撤回 withdraw, 催办 urge, 挂起 / 恢复
suspend and resume.

Each is one use case in one unit of work (``TaskUnitOfWork``, as ``worklists.commands``):
checks in the same order as the commands (roles without a worklist 403, what the caller may
not see 404, what it may not do 403, a stale ``If-Match`` 412, bad input 422, a state that no
longer allows it or a lost race 409), every change a compare-and-set on the row's version,
every applied change an event of the case's trail.

Who may:

* send back, transfer, add signers: the clerk holding the task (claimed, not delegated);
* withdraw: the clerk who completed the task, while the tasks that followed are unclaimed;
* copy: the holder of an open task of the case, or a supervisor of one of the case's groups;
* urge: a supervisor of one of the case's groups, or the intake clerk who received the case;
* suspend, resume: a supervisor of one of the case's groups; admins may do all of the above
  that is not reserved to the holder.

Co-signers (加签) get tasks of their own (``kind`` ``sign``, ``parent_id`` the task they sign
for) that they complete with their opinion through the ordinary ``complete`` command
(:func:`sign`). ``before``: the holder can complete only when they all signed; ``after``:
their tasks are created when the holder completes, and the case moves on when the last has
signed; ``parallel`` (会签): they sign alongside the holder, and the case moves on when the
holder and all signers are done. Until then the holder's completion is held: the row is
completed, the engine step waits (``task.completed`` with ``held_for``; ``task.released`` when
it runs).
"""
from __future__ import annotations

from uuid import uuid4

from workflows.accounts import Actor
from workflows.cases import FINAL_CASE_STATUSES, OPEN_TASK_STATUSES, SUSPENDED
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite

from .access import has_worklist, may_work, require_worklist
from .repository import MAX_ID, TaskRecord, task_item
from .task_changes import answer as _answer
from .task_changes import change as _change
from .task_changes import check_version as _check_version
from .task_changes import record as _record
from .task_changes import unit as _unit
from .task_changes import visible as _visible
from .unit_of_work import Completion, TaskUnitOfWork

MAX_TEXT = 2000
MAX_SIGNERS = 20
MAX_COPIES = 50
SIGN_MODES = ("before", "after", "parallel")
MAX_LIMIT = 500


def _text(value: str | None, field: str, required: bool = False) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if required and not value:
        raise InvalidInput(f"the {field} is required", {field: ["give a reason"]})
    if value is not None and len(value) > MAX_TEXT:
        raise InvalidInput(f"the {field} is too long", {field: [f"at most {MAX_TEXT} characters"]})
    return value or None


def not_suspended(uow: TaskUnitOfWork, task: TaskRecord) -> None:
    """No task of a suspended case can be worked (claimed, completed, handed on, sent back …)."""
    if uow.tasks.case_status(task.case_id) == SUSPENDED:
        raise Conflict("the case is suspended; its tasks can be worked again when it is resumed")


def _open_signers(uow: TaskUnitOfWork, task: TaskRecord) -> list[TaskRecord]:
    return [t for t in uow.tasks.case_tasks(task.case_id)
            if t.parent_id == task.id and t.kind == "sign" and t.status in OPEN_TASK_STATUSES]


def _holder_checks(uow: TaskUnitOfWork, actor: Actor, task: TaskRecord, expected_version: int | None, what: str) -> None:
    """The task is open, a BPMN task, held by the caller (403 otherwise), at the version the caller saw."""
    if task.status not in OPEN_TASK_STATUSES:
        raise Conflict(f"the task is no longer open ({task.status})")
    if task.status != "claimed" or task.assignee != actor.username:
        raise Forbidden(f"only the clerk holding the task may {what} it")
    _check_version(task, expected_version)


def _holder_state(uow: TaskUnitOfWork, task: TaskRecord, signers_go: bool = False) -> None:
    """``signers_go``: the operation ends the task, and its co-signers' tasks with it (send back)."""
    if task.kind != "user":
        raise Conflict(f"a {'co-signer' if task.kind == 'sign' else task.kind}'s task is completed, nothing else")
    if task.delegated_by:
        raise Conflict(f"{task.delegated_by} delegated this task to you: resolve it first")
    if task.handling and not signers_go:
        raise Conflict("co-signers are still to sign this task")
    not_suspended(uow, task)


# -- 转办 transfer ---------------------------------------------------------------------------------
def transfer(
    ctx: EngineContext, actor: Actor, task_id: int, username: str, comment: str | None = None,
    expected_version: int | None = None, *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The holder gives the task for good to a colleague who may work it (unlike delegate, it does
    not come back)."""
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        _holder_checks(uow, actor, task, expected_version, "transfer")
        comment = _text(comment, "comment")
        colleague = uow.tasks.colleague(actor.tenant_id, username)
        if colleague is None or username == actor.username or not may_work(colleague, task):
            raise InvalidInput(f"{username!r} may not work this task",
                               {"username": ["a colleague who may work the task (its groups or candidates)"]})
        _holder_state(uow, task)
        task = _change(uow, task, assignee=username, delegated_by=None)
        _record(uow, ctx, "task.transferred", actor, task, to=username, comment=comment)
        answer = _answer(uow, task)
        uow.commit()
        return answer


# -- 退回 send back --------------------------------------------------------------------------------
def send_back(
    ctx: EngineContext, actor: Actor, task_id: int, reason: str, to: str | None = None,
    expected_version: int | None = None, *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The holder sends the case back to an earlier user task on the path it took (the previous
    one when ``to`` is None, else the one with element id ``to``). This task is cancelled; the
    earlier one is open again, assigned to the clerk who last completed it, with its data and
    the reason; co-signers still to sign this task are cancelled with it. Returns the re-opened task."""
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        _holder_checks(uow, actor, task, expected_version, "send back")
        reason = _text(reason, "reason", required=True)
        if to is not None and (not isinstance(to, str) or not 0 < len(to) <= 255):
            raise InvalidInput("no such step", {"to": ["the element id of an earlier user task"]})
        _holder_state(uow, task, signers_go=True)
        handle = uow.open_case(task.tenant_id, task.case_id)
        rows = {t.spiff_id: t for t in uow.tasks.case_tasks(task.case_id)}
        earlier = [rows[s] for s in uow.path_back(handle, task.spiff_id)
                   if s in rows and rows[s].status == "completed" and rows[s].kind == "user"]
        if to is not None:
            earlier = [t for t in earlier if t.element_id == to]
            if not earlier:
                raise Conflict(f"{to!r} is not a step this case passed on its way here")
        if not earlier:
            raise Conflict("there is no earlier step of this case to send it back to")
        target = earlier[0]
        _change(uow, task)  # the task as the caller saw it, or 409
        _record(uow, ctx, "task.sent_back", actor, task, to=target.element_id, to_task=target.id,
                assignee=target.completed_by, reason=reason)
        reopened = _change(uow, target, status="claimed", assignee=target.completed_by, delegated_by=None,
                           completed_at=None, completed_by=None, note=reason, handling=None)
        uow.rewind(actor, handle, target.spiff_id)
        _record(uow, ctx, "task.reopened", actor, reopened, assignee=target.completed_by, reason=reason,
                sent_back_from=task.id)
        answer = _answer(uow, uow.tasks.get(task.tenant_id, target.id))
        uow.commit()
        return answer


# -- 撤回 withdraw ---------------------------------------------------------------------------------
def withdraw(
    ctx: EngineContext, actor: Actor, task_id: int, expected_version: int | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The clerk who completed task ``task_id`` takes it back while the tasks that followed are
    still unclaimed: they are cancelled, and the task is open again, claimed by the caller.
    Of a withdrawal and a claim of the next task at the same time exactly one wins."""
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        if task.kind == "sign":
            raise Conflict("a signature cannot be withdrawn")
        if task.status != "completed":
            raise Conflict(f"only a completed task can be withdrawn (this one is {task.status})")
        if task.completed_by != actor.username:
            raise Forbidden("only the clerk who completed the task may withdraw it")
        _check_version(task, expected_version)
        not_suspended(uow, task)
        if task.handling:
            raise Conflict("co-signers are signing after this task; it cannot be withdrawn now")
        case = uow.case(task.tenant_id, task.case_id)
        if case is None or case.status in FINAL_CASE_STATUSES:
            raise Conflict("the case has ended; nothing can be withdrawn")
        handle = uow.open_case(task.tenant_id, task.case_id)
        following = uow.followers(handle, task.spiff_id)
        if any(not ready for _, ready in following):
            raise Conflict("the next step has been worked already; the task cannot be withdrawn")
        rows = {t.spiff_id: t for t in uow.tasks.case_tasks(task.case_id)}
        nexts = [rows[s] for s, _ in following if s in rows]
        for row in nexts:
            if row.status != "ready":
                raise Conflict(f"the next task has been claimed by {row.assignee}; ask them to send it back")
        for row in nexts:
            _change(uow, row)  # a claim that comes now finds the task changed (409)
        reopened = _change(uow, task, status="claimed", assignee=actor.username, delegated_by=None,
                           completed_at=None, completed_by=None, note=None)
        _record(uow, ctx, "task.withdrawn", actor, reopened, cancelled=[r.id for r in nexts])
        uow.rewind(actor, handle, task.spiff_id)
        answer = _answer(uow, uow.tasks.get(task.tenant_id, task.id))
        uow.commit()
        return answer


# -- 加签 add signers ------------------------------------------------------------------------------
def add_signers(
    ctx: EngineContext, actor: Actor, task_id: int, usernames: list[str], mode: str, comment: str | None = None,
    expected_version: int | None = None, *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The holder adds colleagues who must also sign the task; returns ``{"task", "signers"}``
    (the signers' tasks; for ``after`` they come when the holder completes)."""
    with _unit(ctx, uow) as uow:
        task = _visible(uow, actor, task_id)
        _holder_checks(uow, actor, task, expected_version, "add signers to")
        comment = _text(comment, "comment")
        if mode not in SIGN_MODES:
            raise InvalidInput(f"unknown mode {mode!r}", {"mode": [f"one of {', '.join(SIGN_MODES)}"]})
        if not isinstance(usernames, list) or not 0 < len(usernames) <= MAX_SIGNERS \
                or len(set(usernames)) != len(usernames):
            raise InvalidInput("name the signers", {"usernames": [f"1 to {MAX_SIGNERS} different usernames"]})
        wrong = [u for u in usernames if u == actor.username or not _has_worklist(uow, actor, u)]
        if wrong:
            raise InvalidInput("not colleagues who can sign", {"usernames": [f"{u!r} cannot sign" for u in wrong]})
        _holder_state(uow, task)
        now = ctx.clock()
        if mode == "after":
            task = _change(uow, task, handling={"mode": mode, "after": list(usernames), "comment": comment})
            signers = []
        else:
            task = _change(uow, task, handling={"mode": mode})
            signers = [_sign_task(uow, task, u, mode, comment, actor, now) for u in usernames]
        _record(uow, ctx, "task.signers_added", actor, task, mode=mode, signers=list(usernames), comment=comment)
        for signer in signers:
            _record(uow, ctx, "task.created", actor, signer, name=signer.name, task_kind="sign", mode=mode,
                    signs_for=task.id, assignee=signer.assignee)
        number = uow.tasks.case_number(task.case_id)
        answer = {"task": task_item(task, number), "signers": [task_item(s, number) for s in signers]}
        uow.commit()
        return answer


def _has_worklist(uow: TaskUnitOfWork, actor: Actor, username: str) -> bool:
    colleague = uow.tasks.colleague(actor.tenant_id, username) if isinstance(username, str) else None
    return colleague is not None and has_worklist(colleague)


def _sign_task(uow: TaskUnitOfWork, main: TaskRecord, username: str, mode: str, comment: str | None,
               actor: Actor, now) -> TaskRecord:
    return uow.tasks.add(
        tenant_id=main.tenant_id, case_id=main.case_id, spiff_id=f"sign-{uuid4().hex[:31]}",
        element_id=main.element_id, name=f"会签 {main.name}"[:255] if mode == "parallel" else f"加签 {main.name}"[:255],
        group=main.group, candidate_groups=[], candidate_users=[username], status="claimed", assignee=username,
        delegated_by=None, service_code=main.service_code, priority=main.priority, form_key=None, created_at=now,
        due_at=main.due_at, warn_at=main.warn_at, completed_at=None, completed_by=None, version=1, kind="sign",
        parent_id=main.id, note=comment, urged_count=0, urged_at=None,
        handling={"mode": mode, "for": actor.username},
    )


def held_completion(ctx: EngineContext, uow: TaskUnitOfWork, actor: Actor, completion: Completion,
                    data: dict | None) -> tuple[dict, list[dict]] | None:
    """The holder completes a task that has co-signers (called by ``commands.complete``).

    ``before`` signers still to sign: 409. ``after`` or ``parallel`` signers still to sign: the
    data is checked, the row completed and the engine step held until the last one signs
    (returns the case and the signers' tasks). Nothing pending: None (complete as usual).
    """
    task = completion.task
    handling = task.handling or {}
    mode = handling.get("mode")
    open_signers = _open_signers(uow, task)
    if mode == "before" and open_signers:
        raise Conflict("the co-signers you added before you must sign first")
    if mode not in ("after", "parallel") or (mode == "parallel" and not open_signers):
        if handling:
            _change(uow, task, handling=None)
            completion.task = uow.tasks.get(task.tenant_id, task.id)
        return None
    data = dict(data or {})
    uow.validate(completion, data)
    now = ctx.clock()
    signers = open_signers
    if mode == "after":
        signers = [_sign_task(uow, task, u, mode, handling.get("comment"), actor, now) for u in handling["after"]]
    held = _change(uow, task, status="completed", completed_at=now, completed_by=actor.username,
                   handling={"mode": mode, "held": data})
    _record(uow, ctx, "task.completed", actor, held, name=task.name, element_id=task.element_id, submitted=data,
            held_for=[s.assignee for s in signers])
    for signer in signers if mode == "after" else ():
        _record(uow, ctx, "task.created", actor, signer, name=signer.name, task_kind="sign", mode=mode,
                signs_for=task.id, assignee=signer.assignee)
    uow.tasks.forget_candidates(task.id)
    number = uow.tasks.case_number(task.case_id)
    return uow.case_view(task.tenant_id, task.case_id), [task_item(s, number) for s in signers] if mode == "after" else []


def sign(ctx: EngineContext, uow: TaskUnitOfWork, actor: Actor, task: TaskRecord,
         data: dict | None) -> tuple[dict, list[dict]]:
    """A co-signer completes their task with ``{"opinion", "agree"}`` (called by ``commands.complete``).

    The last signer's signature lets the holder go on (``before``) or runs the held engine step
    (``after``, ``parallel`` once the holder completed)."""
    data = data or {}
    opinion, agree = data.get("opinion"), data.get("agree", True)
    unknown = set(data) - {"opinion", "agree"}
    if not isinstance(opinion, str) or not opinion.strip() or len(opinion) > MAX_TEXT or not isinstance(agree, bool) \
            or unknown:
        raise InvalidInput("a signature needs an opinion", {"data": {
            "opinion": [f"1 to {MAX_TEXT} characters"], "agree": ["true or false"],
            **({k: ["unknown field"] for k in unknown})}})
    now = ctx.clock()
    mode = (task.handling or {}).get("mode")
    signed = _change(uow, task, status="completed", completed_at=now, completed_by=actor.username,
                     handling={**(task.handling or {}), "opinion": opinion.strip(), "agree": agree})
    _record(uow, ctx, "task.signed", actor, signed, mode=mode, signs_for=task.parent_id, opinion=opinion.strip(),
            agree=agree)
    main = uow.tasks.get(task.tenant_id, task.parent_id)
    if main is None or _open_signers(uow, main):
        return uow.case_view(task.tenant_id, task.case_id), []
    if main.status == "completed" and (main.handling or {}).get("held") is not None:
        held = main.handling["held"]
        _change(uow, main, handling=None)
        _record(uow, ctx, "task.signers_done", actor, main, mode=mode)
        return uow.release(actor, uow.tasks.get(main.tenant_id, main.id), held)
    if main.status in OPEN_TASK_STATUSES:
        _change(uow, main, handling=None)
        _record(uow, ctx, "task.signers_done", actor, main, mode=mode, back_to=main.assignee)
    return uow.case_view(task.tenant_id, task.case_id), []


def acknowledge_notice(ctx: EngineContext, uow: TaskUnitOfWork, actor: Actor, task: TaskRecord,
                       data: dict | None) -> tuple[dict, list[dict]]:
    """A clerk of the group completes a notice (``kind`` ``notice``, e.g. a proactive service's
    reminder) to acknowledge it, optionally with ``{"comment"}`` (called by ``commands.complete``)."""
    data = data or {}
    comment = data.get("comment")
    if set(data) - {"comment"} or (comment is not None and (not isinstance(comment, str) or len(comment) > MAX_TEXT)):
        raise InvalidInput("a notice is acknowledged with a comment at most",
                           {"data": {"comment": [f"at most {MAX_TEXT} characters"]}})
    done = _change(uow, task, status="completed", completed_at=ctx.clock(), completed_by=actor.username)
    _record(uow, ctx, "task.completed", actor, done, name=task.name, element_id=task.element_id,
            task_kind=task.kind, comment=comment or None)
    return uow.case_view(task.tenant_id, task.case_id), []


# -- 抄送 copy -------------------------------------------------------------------------------------
def _case_for(uow: TaskUnitOfWork, actor: Actor, case_id: int):
    case = uow.case(actor.tenant_id, case_id) if isinstance(case_id, int) and 0 < case_id <= MAX_ID else None
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def _supervises_case(uow: TaskUnitOfWork, actor: Actor, case) -> bool:
    if actor.is_admin:
        return True
    return actor.has_role("supervisor") and bool(uow.case_groups(case.id) & actor.supervised_groups)


def copy_case(
    ctx: EngineContext, actor: Actor, case_id: int, usernames: list[str], comment: str | None = None,
    *, uow: TaskUnitOfWork | None = None,
) -> dict:
    """The holder of an open task of the case, or a supervisor of its groups, copies colleagues in
    (抄送): they see the case read-only under ``scope=cc``. Returns ``{"case_id", "copies"}``
    (copying someone twice adds nothing)."""
    require_worklist(actor)
    with _unit(ctx, uow) as uow:
        case = _case_for(uow, actor, case_id)
        holder = any(t.assignee == actor.username and t.status == "claimed"
                     for t in uow.tasks.case_tasks(case.id))
        if not holder and not _supervises_case(uow, actor, case):
            raise Forbidden("only the clerk holding a task of the case or a supervisor may copy it")
        comment = _text(comment, "comment")
        if not isinstance(usernames, list) or not 0 < len(usernames) <= MAX_COPIES:
            raise InvalidInput("name whom to copy", {"usernames": [f"1 to {MAX_COPIES} usernames"]})
        usernames = list(dict.fromkeys(usernames))
        wrong = [u for u in usernames if not isinstance(u, str) or u == actor.username
                 or not _has_worklist(uow, actor, u)]
        if wrong:  # (auditors read every case anyway; designers read none)
            raise InvalidInput("not colleagues with a worklist",
                               {"usernames": [f"{u!r} is not a colleague with a worklist" for u in wrong]})
        copies = uow.add_copies(case, usernames, actor.username, comment, ctx.clock())
        if copies:
            uow.record("case.copied", case.tenant_id, case_id=case.id, actor=actor.username, at=ctx.clock(),
                       data={k: v for k, v in {"to": [c["username"] for c in copies], "comment": comment}.items()
                             if v is not None})
        answer = {"case_id": case.id, "case_number": case.number, "copies": copies}
        uow.commit()
        return answer


def list_copies(ctx: EngineContext, actor: Actor, limit: int = 50, cursor: str | None = None,
                *, uow: TaskUnitOfWork | None = None) -> tuple[list[dict], str | None]:
    """What was copied to the caller, newest first (``GET /api/tasks?scope=cc``)."""
    require_worklist(actor)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", {"limit": [f"between 1 and {MAX_LIMIT}"]})
    before = None
    if cursor is not None:
        if not cursor.isdigit() or not 0 < int(cursor) <= MAX_ID:
            raise InvalidInput("the cursor is malformed", {"cursor": ["not a cursor this API issued"]})
        before = int(cursor)
    with _unit(ctx, uow) as uow:
        items = uow.copies(actor.tenant_id, actor.username, limit + 1, before)
    more = len(items) > limit
    items = items[:limit]
    return items, (str(items[-1]["id"]) if more else None)


def mark_copy_read(ctx: EngineContext, actor: Actor, copy_id: int, *, uow: TaskUnitOfWork | None = None) -> dict:
    """The copied user marks a copy read (a copy of someone else's is 404)."""
    require_worklist(actor)
    with _unit(ctx, uow) as uow:
        item, fresh = uow.mark_copy_read(actor.tenant_id, actor.username, copy_id, ctx.clock()) \
            if 0 < copy_id <= MAX_ID else (None, False)
        if item is None:
            raise NotFound(f"copy {copy_id} does not exist")
        if fresh:
            uow.record("case.copy_read", actor.tenant_id, case_id=item["case_id"], actor=actor.username,
                       at=item["read_at"], data={"copy_id": item["id"]})
        uow.commit()
        return item


# -- 催办 urge -------------------------------------------------------------------------------------
def urge(ctx: EngineContext, actor: Actor, case_id: int, comment: str | None = None,
         *, uow: TaskUnitOfWork | None = None) -> dict:
    """A supervisor of the case's groups, or the intake clerk who received the case (for the
    applicant), urges the holders of its open tasks; they see it on the tasks (``urged_count``,
    ``urged_at``) and the supervision metrics count it."""
    if not actor.has_role("supervisor", "intake", "admin"):
        raise Forbidden("only supervisors and the intake window may urge cases")
    with _unit(ctx, uow) as uow:
        case = _case_for(uow, actor, case_id)
        receiver = actor.has_role("intake") and case.started_by == actor.username
        if not receiver and not _supervises_case(uow, actor, case):
            raise Forbidden("only a supervisor of the case's departments or the clerk who received it may urge it")
        comment = _text(comment, "comment")
        if case.status in FINAL_CASE_STATUSES:
            raise Conflict(f"the case has ended ({case.status})")
        now = ctx.clock()
        urged = uow.tasks.urge_open(case.id, now)
        if not urged:
            raise Conflict("the case has no open task to urge (it waits for the applicant or an event)")
        targets = [{"task_id": t.id, "assignee": t.assignee, "group": t.group} for t in urged]
        urging_id = uow.add_urging(case, actor.username, comment, targets, now)
        uow.record("case.urged", case.tenant_id, case_id=case.id, actor=actor.username, at=now,
                   data={k: v for k, v in {"urging_id": urging_id, "comment": comment, "tasks": targets}.items()
                         if v is not None})
        answer = {"id": urging_id, "case_id": case.id, "case_number": case.number, "urged_by": actor.username,
                  "comment": comment, "created_at": now, "tasks": [task_item(t, case.number) for t in urged]}
        uow.commit()
        return answer


# -- 挂起 / 恢复 suspend and resume ----------------------------------------------------------------
def _supervisor_case(uow: TaskUnitOfWork, actor: Actor, case_id: int, expected_version: int | None, what: str):
    if not actor.has_role("supervisor", "admin"):
        raise Forbidden(f"only supervisors and admins may {what} cases")
    case = _case_for(uow, actor, case_id)
    if not _supervises_case(uow, actor, case):
        raise Forbidden(f"only a supervisor of the case's departments may {what} it")
    if expected_version is not None and expected_version != case.version:
        raise StaleWrite(f"case {case.id} has changed since you read it (now version {case.version})")
    return case


def suspend(ctx: EngineContext, actor: Actor, case_id: int, reason: str, expected_version: int | None = None,
            *, uow: TaskUnitOfWork | None = None) -> dict:
    """Suspend a case: no task can be worked, no timer fires, the deadline clock stops."""
    with _unit(ctx, uow) as uow:
        case = _supervisor_case(uow, actor, case_id, expected_version, "suspend")
        reason = _text(reason, "reason", required=True)
        if case.status not in ("open", "waiting_applicant"):
            raise Conflict(f"only a running case can be suspended (this one is {case.status})")
        answer = uow.suspend(actor, case, reason)
        uow.commit()
        return answer


def resume(ctx: EngineContext, actor: Actor, case_id: int, expected_version: int | None = None,
           *, uow: TaskUnitOfWork | None = None) -> dict:
    """Resume a suspended case: status, clock and timers as before, the timers moved on."""
    with _unit(ctx, uow) as uow:
        case = _supervisor_case(uow, actor, case_id, expected_version, "resume")
        if case.status != SUSPENDED:
            raise Conflict(f"the case is not suspended ({case.status})")
        answer = uow.resume(actor, uow.open_case(case.tenant_id, case.id))
        uow.commit()
        return answer
