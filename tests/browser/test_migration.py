"""Moving running cases in Chromium: the studio's list links to the page, the dry run reports a case
waiting on a removed task as 不可迁移 with its reason, a mapping makes it 可迁移, the move runs in the
background and the page follows it to its end. Screenshots and axe on each state."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine
from playwright.sync_api import expect

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "migration"


def _cases_on_version_one(app) -> tuple[int, int]:
    """A case at its first task and one waiting at ``decide`` (gone in version 2), then version 2."""
    from server.demo import system_actor
    from tests.timekeeping import run_due
    from workflows.cases import complete_user_task, open_task_for_update, start_case
    from workflows.process_models import deploy_model

    ctx = app.extensions["redwall"]
    with app.app_context():
        actor = system_actor(ctx, "xichangan")
        deploy_model(ctx, actor, [("moving.bpmn", (FIXTURES / "moving_v1.bpmn").read_bytes())])
        first = start_case(ctx, actor, "moving", {"applicant_name": "王芳"})["id"]
        deciding = start_case(ctx, actor, "moving", {"applicant_name": "李强"})

        def complete(task_id):
            with ctx.unit_of_work() as uow:
                step = open_task_for_update(ctx, uow, actor.tenant_id, task_id)
                _, next_tasks = complete_user_task(ctx, uow, actor, step, {})
                uow.commit()
            return next_tasks

        complete(deciding["tasks"][0]["id"])  # accept; then the two-hour wait
        with time_machine.travel(ctx.clock() + timedelta(hours=2, seconds=5), tick=False):
            run_due(ctx, "browser-test")
        with ctx.unit_of_work() as uow:
            from sqlalchemy import select

            from workflows.models import Task

            review = uow.session.scalar(select(Task.id).where(Task.case_id == deciding["id"], Task.element_id == "review"))
        complete(review)
        deploy_model(ctx, actor, [("moving.bpmn", (FIXTURES / "moving_v2.bpmn").read_bytes()),
                                  ("review.json", (FIXTURES / "review.json").read_bytes())])
    return first, deciding["id"]


def test_a_designer_dry_runs_maps_a_removed_task_and_moves_the_cases(page, live_server, sign_in, screenshot, axe_check):
    first, deciding = _cases_on_version_one(live_server.app)
    sign_in(page, "designer1")
    page.goto("/studio")
    page.locator('tbody.model[data-key="moving"] a.migrate-link').click()
    expect(page.locator("h1")).to_have_text("将运行中的办件迁移到另一版本")
    expect(page.locator("#from")).to_have_value("1")
    expect(page.locator("#to")).to_have_value("2")
    expect(page.locator('#mapping tr[data-element="decide"]')).to_be_visible()
    expect(page.locator("#start")).to_have_count(0)  # nothing to move before a dry run
    screenshot(page, "migration-start")
    axe_check(page)

    page.locator("#dry-run").click()
    report = page.locator("#report")
    expect(report).to_have_attribute("data-status", "done")
    expect(report.locator(f'tr[data-case="{first}"]')).to_contain_text("可迁移")
    blocked = report.locator(f'tr[data-case="{deciding}"]')
    expect(blocked).to_contain_text("不可迁移")
    expect(blocked).to_contain_text("在 decide 等待，第 2 版已没有该环节")
    expect(page.locator("#start")).to_have_text("立即迁移 1 件")
    screenshot(page, "migration-dry-run")
    axe_check(page)

    page.locator("#map-decide").select_option("review")
    page.locator("#dry-run").click()
    expect(page.locator("#report")).to_contain_text("2 件可迁移")
    expect(page.locator("#report")).not_to_contain_text("不可迁移")
    expect(page.locator("#map-decide")).to_have_value("review")
    page.locator("#start").click()

    report = page.locator("#report")
    expect(report).to_have_attribute("data-status", "done", timeout=30000)  # polled while it runs
    expect(report.locator("#run-state")).to_contain_text("已完成")
    expect(report.locator("#run-state")).to_contain_text("2 件已迁移")
    expect(report.locator('tr[data-outcome="migrated"]')).to_have_count(2)
    expect(report).to_contain_text("decide → review")
    screenshot(page, "migration-done")
    axe_check(page)

    from sqlalchemy import select

    from workflows.models import Case, Task

    ctx = live_server.app.extensions["redwall"]
    with live_server.app.app_context(), ctx.unit_of_work() as uow:
        assert set(uow.session.scalars(select(Case.model_version).where(Case.id.in_([first, deciding])))) == {2}
        [task] = uow.session.scalars(select(Task).where(Task.case_id == deciding, Task.status == "ready")).all()
        assert (task.element_id, task.name) == ("review", "Review and decide")
