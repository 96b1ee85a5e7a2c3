"""The worklist's pure rules without a database: who sees and works what, and cursors."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from tests.worklist_helpers import actor, task
from workflows.errors import InvalidInput
from worklists import access
from worklists.inbox import decode_cursor, encode_cursor

CIVIL1 = actor("civil1", groups=["civil_affairs"])
SUPER1 = actor("super1", roles=["supervisor"], supervises=["civil_affairs"])
SUPER_MEMBER = actor("super2", roles=["supervisor"], groups=["intake"], supervises=["civil_affairs"])
ADMIN1 = actor("admin1", roles=["admin"])
AUDITOR1 = actor("auditor1", roles=["auditor"])
DISABLED1 = actor("disabled1", groups=["disabled_federation"])


@pytest.mark.parametrize(
    "who, the_task, sees, works, supervises",
    [
        (CIVIL1, task(group="civil_affairs"), True, True, False),
        (CIVIL1, task(group="intake"), False, False, False),
        (CIVIL1, task(group="intake", candidate_groups=("civil_affairs",)), True, True, False),
        (DISABLED1, task(group="intake", candidate_users=("disabled1",)), True, True, False),
        (DISABLED1, task(group="civil_affairs", status="claimed", assignee="disabled1"), True, False, False),
        (DISABLED1, task(group="civil_affairs", status="claimed", delegated_by="disabled1"), True, False, False),
        (DISABLED1, task(group="civil_affairs", status="completed", completed_by="disabled1"), True, False, False),
        (SUPER1, task(group="civil_affairs"), True, False, True),
        (SUPER1, task(group="intake", candidate_groups=("civil_affairs",)), True, False, True),
        (SUPER1, task(group="intake"), False, False, False),
        (SUPER_MEMBER, task(group="intake"), True, True, False),
        (ADMIN1, task(group="intake"), True, False, True),
        (ADMIN1, task(group="intake", tenant_id=2), False, False, True),
        (AUDITOR1, task(group="civil_affairs"), False, False, False),
        (actor("civil9", groups=["civil_affairs"], tenant_id=2), task(group="civil_affairs"), False, True, False),
    ],
)
def test_access_rules(who, the_task, sees, works, supervises):
    # may_work and supervises are asked only about tasks of the actor's own tenant; may_see checks the tenant
    assert access.may_see(who, the_task) is sees
    assert access.may_work(who, the_task) is works
    assert access.supervises(who, the_task) is supervises


def test_visible_groups_include_supervised_ones_for_supervisors_only():
    assert access.visible_groups(SUPER_MEMBER) == {"intake", "civil_affairs"}
    not_a_supervisor = actor("x", groups=["intake"], supervises=["civil_affairs"])
    assert access.visible_groups(not_a_supervisor) == {"intake"}


ROW = SimpleNamespace(id=17, priority=70, due_at=datetime(2026, 12, 1, 1, 30, tzinfo=timezone.utc),
                      created_at=datetime(2026, 11, 20, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    "sort, expected",
    [("due", (ROW.due_at, 17)), ("priority", (70, 17)), ("created", (ROW.created_at, 17))],
)
def test_cursors_round_trip(sort, expected):
    assert decode_cursor(encode_cursor(sort, ROW), sort) == expected


def test_undated_cursor_round_trips():
    undated = SimpleNamespace(id=5, due_at=None)
    assert decode_cursor(encode_cursor("due", undated), "due") == (None, 5)


def raw(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor, sort",
    [
        ("%%%", "due"),
        ("bm90IGpzb24", "due"),  # "not json"
        (raw({"a": 1}), "due"),
        (raw(["due", "2026-12-01T01:30:00+00:00"]), "due"),  # wrong arity
        (raw(["priority", 70, 17]), "due"),  # issued for another sort
        (raw(["due", "2026-12-01T01:30:00", 17]), "due"),  # naive time
        (raw(["due", "yesterday", 17]), "due"),
        (raw(["due", 5, 17]), "due"),
        (raw(["created", None, 17]), "created"),
        (raw(["priority", "70", 17]), "priority"),
        (raw(["priority", True, 17]), "priority"),
        (raw(["priority", 2**40, 17]), "priority"),
        (raw(["due", None, "17"]), "due"),
        (raw(["due", None, 0]), "due"),
        (raw(["due", None, 2**70]), "due"),
        ("A" * 501, "due"),
        (raw([[[[[[[[[[[]]]]]]]]]]]), "due"),
    ],
)
def test_malformed_cursors_are_422(cursor, sort):
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, sort)
    assert "cursor" in raised.value.errors
