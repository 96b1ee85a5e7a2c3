"""Who may see and work a task: the rules every inbox query and command shares.

* Members of the group its BPMN lane names (lane id = group) work a task, and so do the
  candidate groups' members and the candidate users a process sets at run time.
* Supervisors see (and assign, and hand back) the tasks of the groups they supervise.
* A task in no lane that names no candidates (the model gave it no group, nor a
  ``default_group`` process property: deploy warned) is nobody's to claim: admins see it in
  their inbox, and admins and every supervisor of the tenant may assign it to anyone with a
  worklist.
* Admins see every task of their tenant; auditors and designers have no worklist at all
  (auditors read case trails instead).
* Whoever holds a task, delegated it, or completed it keeps seeing it.

Functions take any object with the task's attributes (a ``TaskRecord`` or a row), and
any "person" with ``username``, ``roles`` and ``groups`` (an ``Actor`` or a ``Colleague``).
"""
from __future__ import annotations

from workflows.accounts import Actor
from workflows.errors import Forbidden

# Roles that have a worklist. A user may hold several roles; one of these is enough.
WORKLIST_ROLES = ("clerk", "intake", "supervisor", "admin")


def has_worklist(person) -> bool:
    return any(r in person.roles for r in WORKLIST_ROLES)


def require_worklist(actor: Actor) -> None:
    """Refuse roles that have no worklist (auditors, designers) before anything is looked up."""
    if not has_worklist(actor):
        raise Forbidden("your roles give you no task inbox")


def task_groups(task) -> set[str]:
    """The lane group and the candidate groups of a task."""
    groups = set(task.candidate_groups or ())
    if task.group:
        groups.add(task.group)
    return groups


def unrouted(task) -> bool:
    """A task no group works and that names no candidate users (a user task in no lane)."""
    return not task_groups(task) and not task.candidate_users


def may_work(person, task) -> bool:
    """A member of the task's lane or candidate groups, or one of its candidate users."""
    if not has_worklist(person):
        return False
    return person.username in (task.candidate_users or ()) or bool(task_groups(task) & person.groups)


def supervises(actor: Actor, task) -> bool:
    """Admins of the tenant, and supervisors of the task's lane or candidate groups."""
    if actor.is_admin:
        return True
    return actor.has_role("supervisor") and (bool(task_groups(task) & actor.supervised_groups) or unrouted(task))


def may_be_assigned(person, task) -> bool:
    """Whom a supervisor may give the task: who may work it, or anyone with a worklist if no group works it."""
    return may_work(person, task) or (unrouted(task) and has_worklist(person))


def may_see(actor: Actor, task) -> bool:
    if task.tenant_id != actor.tenant_id or not has_worklist(actor):
        return False
    me = actor.username
    return (
        actor.is_admin
        or me in (task.assignee, task.delegated_by, task.completed_by)
        or may_work(actor, task)
        or supervises(actor, task)
    )


def visible_groups(actor: Actor) -> frozenset[str]:
    """The groups whose queues the actor sees: its own, and those it supervises."""
    if actor.has_role("supervisor"):
        return actor.groups | actor.supervised_groups
    return actor.groups
