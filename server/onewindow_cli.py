"""``redwall intake-report`` and ``redwall proactive run``: the one window's commands."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from workflows.errors import RedwallError


def _fail(exc: RedwallError):
    click.echo(f"error: {exc.message}", err=True)
    for key, value in (exc.errors or {}).items():
        click.echo(f"  {key}: {value}", err=True)
    sys.exit(2)


@click.command("intake-report")
@click.option("--applications", type=click.IntRange(1, 5000), default=500, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--tenant", default="xichangan", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@with_appcontext
def intake_report(applications, seed, tenant, as_json):
    """Simulate a working day of intake on the data centre: typed and prefilled fields per service.

    Exit status 0 when the issue's thresholds hold, 1 when one fails.
    """
    from onewindow.report import format_report, intake_day_report

    from .demo import system_actor

    ctx = current_app.extensions["redwall"]
    try:
        result = intake_day_report(ctx, system_actor(ctx, tenant), applications, seed)
    except RedwallError as exc:
        _fail(exc)
    click.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else format_report(result))
    sys.exit(0 if result["passed"] else 1)


@click.group("proactive")
def proactive_commands():
    """Proactive services (找上门): the daily job."""


@proactive_commands.command("run")
@click.option("--tenant", default="xichangan", show_default=True)
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="a rule file instead of bpmn/proactive/rules.json")
@with_appcontext
def proactive_run(tenant, rules_path):
    """Start the cases the proactive rules call for today (running it again starts nothing new)."""
    from onewindow.proactive import run_proactive

    from .demo import system_actor

    ctx = current_app.extensions["redwall"]
    try:
        result = run_proactive(ctx, system_actor(ctx, tenant), rules_path)
    except RedwallError as exc:
        _fail(exc)
    for rule in result["rules"]:
        click.echo(f"{rule['rule']}: {rule['candidates']} residents, {len(rule['started'])} cases started, "
                   f"{rule['skipped']} already started, {len(rule['failed'])} failed")
        for started in rule["started"]:
            click.echo(f"  {started['number']} for resident {started['resident_id']}, due {started['birthday']}")
        for failed in rule["failed"]:
            click.echo(f"  resident {failed['resident_id']}: {failed['error']}", err=True)


COMMANDS = (intake_report, proactive_commands)
