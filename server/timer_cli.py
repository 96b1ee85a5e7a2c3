"""``redwall scheduler`` and ``redwall calendar …``: background timers and the working-day calendar."""
from __future__ import annotations

import signal
import sys
import threading
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from workflows import calendar as calendar_cases
from workflows.errors import RedwallError


@click.command("scheduler")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=None,
              help="seconds to wait when nothing is due [REDWALL_SCHEDULER_INTERVAL, 0.5]")
@click.option("--batch", type=click.IntRange(1, 10000), default=500, show_default=True,
              help="most timers claimed per pass")
@click.option("--inline", is_flag=True, help="fire timers in this process instead of sending them to Celery workers "
                                            "(the default when REDIS_URL is not set)")
@click.option("--max-in-flight", type=click.IntRange(1, 1_000_000), default=None,
              help="most claimed timers not yet fired, over all schedulers (default 4 × batch when dispatching)")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--name", default=None, help="name in the heartbeat table (default scheduler@host:pid)")
@with_appcontext
def scheduler(interval, batch, inline, max_in_flight, once, name):
    """Claim due timers and get them fired; run one or several (they share the work)."""
    from .background import TimerScheduler, celery_dispatcher, process_name

    app = current_app
    redis_url = app.config.get("REDIS_URL")
    dispatch = None if inline or not redis_url else celery_dispatcher(redis_url)
    runner = TimerScheduler(
        app.extensions["redwall"], name or process_name("scheduler"), dispatch=dispatch,
        interval=interval or float(app.config.get("REDWALL_SCHEDULER_INTERVAL", 0.5)), batch=batch,
        max_in_flight=max_in_flight,
    )
    if once:
        click.echo(f"{runner.run_once()} timers claimed")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    mode = "firing inline" if dispatch is None else f"sending to Celery at {redis_url}"
    click.echo(f"{runner.name}: claiming due timers every {runner.interval:g} s, {mode}", err=True)
    runner.run(stop)


@click.group("calendar")
def calendar_commands():
    """The working-day calendar: holidays and make-up working days (调休) per tenant or for all."""


def _actor(tenant: str | None):
    from .demo import system_actor

    return system_actor(current_app.extensions["redwall"], tenant or "xichangan")


def _fail(exc: RedwallError):
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(2)


@calendar_commands.command("set")
@click.argument("days", nargs=-1, required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--holiday/--workday", "holiday", required=True, help="not a working day / a working day")
@click.option("--name", default="", help="e.g. 国庆节 or 国庆调休")
@click.option("--tenant", default=None, help="only this tenant (default: every tenant)")
@with_appcontext
def calendar_set(days, holiday, name, tenant):
    """Declare DAYS holidays or working days."""
    rows = [(d.date(), not holiday, name) for d in days]
    try:
        count = calendar_cases.set_overrides(current_app.extensions["redwall"], _actor(tenant), rows,
                                             installation=tenant is None)
    except RedwallError as exc:
        _fail(exc)
    click.echo(f"{count} days set for {tenant or 'every tenant'}")


@calendar_commands.command("unset")
@click.argument("days", nargs=-1, required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--tenant", default=None)
@with_appcontext
def calendar_unset(days, tenant):
    """Remove override rows for DAYS (they follow the library or weekends again)."""
    try:
        count = calendar_cases.remove_overrides(current_app.extensions["redwall"], _actor(tenant),
                                                [d.date() for d in days], installation=tenant is None)
    except RedwallError as exc:
        _fail(exc)
    click.echo(f"{count} override rows removed")


@calendar_commands.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", default=None)
@with_appcontext
def calendar_import(file, tenant):
    """Load FILE: lines ``YYYY-MM-DD,holiday|workday[,name]`` (e.g. next year's State Council schedule)."""
    try:
        rows = calendar_cases.parse_override_rows(file.read_text(encoding="utf-8-sig").splitlines())
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        count = calendar_cases.set_overrides(current_app.extensions["redwall"], _actor(tenant), rows,
                                             installation=tenant is None)
    except RedwallError as exc:
        _fail(exc)
    click.echo(f"{count} days imported for {tenant or 'every tenant'}")


@calendar_commands.command("show")
@click.argument("year", type=int, default=date.today().year)
@click.option("--tenant", default=None)
@with_appcontext
def calendar_show(year, tenant):
    """The holidays on weekdays and the working weekend days of YEAR, and where they come from."""
    try:
        view = calendar_cases.year_view(current_app.extensions["redwall"], _actor(tenant), year,
                                        installation=tenant is None)
    except RedwallError as exc:
        _fail(exc)
    click.echo(f"{year}: {view['working_days']} working days; source: {view['source']}")
    for day in view["exceptions"]:
        kind = "working day" if day["working"] else "holiday"
        click.echo(f"  {day['day']} {day['day']:%a} {kind:11} {day['name']} ({day['source']})")


@calendar_commands.command("recompute")
@click.option("--tenant", default=None, help="tenant code (default: every tenant)")
@with_appcontext
def calendar_recompute(tenant):
    """Recount open cases' deadlines under today's calendar (after importing a year's notice);
    each change is a ``deadline.recomputed`` event in the case's trail."""
    from sqlalchemy import select

    from workflows.calendar_desk import recompute_deadlines
    from workflows.models import Tenant

    ctx = current_app.extensions["redwall"]
    try:
        if tenant:
            codes = [tenant]
            _actor(tenant)  # an unknown code fails here
        else:
            with ctx.unit_of_work() as uow:
                codes = list(uow.session.scalars(select(Tenant.code).order_by(Tenant.code)))
        for code in codes:
            result = recompute_deadlines(ctx, _actor(code))
            for change in result["changed"]:
                click.echo(f"{code}: case {change['number'] or change['case_id']}: "
                           f"{change['from'].isoformat()} -> {change['to'].isoformat()}")
            click.echo(f"{code}: {result['checked']} deadlines checked, {len(result['changed'])} changed, "
                       f"{len(result['skipped'])} skipped (paused for the applicant)")
    except RedwallError as exc:
        _fail(exc)


COMMANDS = (scheduler, calendar_commands)
