"""The catalogue's department processes give supervisors a pressing task (督办) when a case is overdue."""
from __future__ import annotations

import time_machine

from server.demo import BPMN_DIR, model_files
from tests.helpers import make_users
from tests.timekeeping import beijing, run_due
from workflows.cases import get_case, start_case
from workflows.process_models import deploy_model
from worklists import commands


def tasks(ctx, actor, case_id):
    return {t["element_id"]: t for t in get_case(ctx, actor, case_id)["tasks"]}


def work(ctx, actor, case_id, element_id, data):
    task = tasks(ctx, actor, case_id)[element_id]
    commands.claim(ctx, actor, task["id"])
    return commands.complete(ctx, actor, task["id"], data)[0]


def test_overdue_catalogue_case_is_pressed_and_concludes_cleanly(ctx):
    actors = make_users(ctx)
    deploy_model(ctx, actors["designer1"], model_files(BPMN_DIR / "civil_affairs_service"))
    with time_machine.travel(beijing(2026, 9, 28, 10, 0), tick=False) as traveller:
        case = start_case(ctx, actors["intake1"], "civil_affairs_service", {"time_limit_working_days": 5, "audit_sampled": False})
        # Tue 29 (1), Wed 30 (2), 1–7 October off, Thu 8 (3), Fri 9 (4), make-up Saturday 10 (5)
        assert case["deadline"] == beijing(2026, 10, 10, 23, 59, 59)
        work(ctx, actors["intake1"], case["id"], "accept_application", {"acceptance": "accept", "delivery_method": "window"})
        traveller.move_to(beijing(2026, 10, 10, 23, 59, 59))
        run_due(ctx)
        assert "press_case" not in tasks(ctx, actors["admin1"], case["id"])
        traveller.move_to(beijing(2026, 10, 11, 0, 0, 5))  # Sunday, the first second after: overdue
        run_due(ctx)
        press = tasks(ctx, actors["admin1"], case["id"])["press_case"]
        assert press["group"] == "supervision" and press["priority"] == 90
        work(ctx, actors["civil1"], case["id"], "review", {"review_result": "meets_conditions"})
        work(ctx, actors["civil1"], case["id"], "decide", {"approved": True})
        after = get_case(ctx, actors["admin1"], case["id"])
        assert set(tasks(ctx, actors["admin1"], case["id"])) == {"hand_out", "press_case"}, (after["status"], after["has_incident"], after["tasks"])
        ended = work(ctx, actors["intake1"], case["id"], "hand_out", {"handed_to": "王芳"})
        assert ended["status"] == "concluded" and ended["tasks"] == []  # the pressing task went with it
