"""Who may see and work a task: the rules every inbox query and command shares."""
from __future__ import annotations

from sqlalchemy import or_

from workflows.accounts import Actor
from workflows.models import Task


def may_work(actor: Actor, task: Task) -> bool:
    """Members of the task's lane group or candidate groups, and its candidate users."""
    if actor.username in (task.candidate_users or ()):
        return True
    groups = {task.group} | set(task.candidate_groups or ())
    groups.discard(None)
    return bool(groups & actor.groups) and actor.has_role("clerk", "intake", "supervisor", "admin")


def supervises(actor: Actor, task: Task) -> bool:
    if actor.is_admin:
        return True
    groups = {task.group} | set(task.candidate_groups or ())
    return actor.has_role("supervisor") and bool(groups & actor.supervised_groups)


def may_see(actor: Actor, task: Task) -> bool:
    if task.tenant_id != actor.tenant_id:
        return False
    return (
        actor.is_admin
        or actor.has_role("auditor")
        or task.assignee == actor.username
        or may_work(actor, task)
        or supervises(actor, task)
    )


def visible_filter(actor: Actor):
    """SQL condition for the tasks ``actor`` may see (tenant filter applied separately)."""
    if actor.is_admin or actor.has_role("auditor"):
        return None
    groups = sorted(actor.groups | (actor.supervised_groups if actor.has_role("supervisor") else frozenset()))
    conditions = [Task.assignee == actor.username]
    if groups:
        conditions.append(Task.group.in_(groups))
    return or_(*conditions)
