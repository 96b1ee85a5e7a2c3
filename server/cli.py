"""The ``redwall`` command: Flask's commands (run, db, routes) plus Redwall's own."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from workflows import accounts
from workflows.errors import RedwallError


@click.group(cls=FlaskGroup, create_app=lambda: _create_app(), help="Redwall case engine.")
def cli():
    pass


def _create_app():
    from .app import create_app

    return create_app()


def _fail(exc: RedwallError):
    click.echo(f"error: {exc.message}", err=True)
    for key, value in (exc.errors or {}).items():
        click.echo(f"  {key}: {value}", err=True)
    sys.exit(2)


@click.group()
def users():
    """Manage users and their roles."""


@users.command("add")
@click.argument("username")
@click.option("--tenant", required=True, help="tenant (sub-district) code, e.g. xichangan")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(accounts.ROLES))
@click.option("--group", "groups", multiple=True, help="group (department) the user works in")
@click.option("--supervises", multiple=True, help="group the user supervises")
@click.option("--name", "display_name", default="")
@with_appcontext
def add_user(username, tenant, password, roles, groups, supervises, display_name):
    """Create a user with roles and groups."""
    ctx = current_app.extensions["redwall"]
    with ctx.unit_of_work() as uow:
        try:
            accounts.find_tenant(uow.session, tenant)  # a typo in --tenant must not create a tenant
            user = accounts.add_user(uow.session, tenant, username, password, list(roles), list(groups), list(supervises), display_name)
        except RedwallError as exc:
            _fail(exc)
        uow.record(
            "user.created", user.tenant_id, actor="cli",
            data={"username": username, "roles": sorted(roles), "groups": sorted(groups), "supervises": sorted(supervises)},
        )
        uow.commit()
    click.echo(f"user {username} created in tenant {tenant}")


@click.group("tenants")
def tenants():
    """Sub-districts (街道): the only way to create one is `redwall tenants add`."""


@tenants.command("add")
@click.argument("code")
@click.option("--name", required=True, help="the sub-district's name, e.g. 西长安街街道")
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
@with_appcontext
def add_tenant(code, name, timezone):
    """Create a tenant (fails if the code exists)."""
    import re
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from workflows.errors import Conflict, InvalidInput

    if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", code):
        _fail(InvalidInput("a tenant code is 2–64 lower-case letters, digits or _, starting with a letter"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(InvalidInput(f"unknown time zone {timezone!r}"))
    ctx = current_app.extensions["redwall"]
    with ctx.unit_of_work() as uow:
        try:
            accounts.find_tenant(uow.session, code)
        except RedwallError:
            tenant = accounts.ensure_tenant(uow.session, code, name, timezone)
            uow.record("tenant.created", tenant.id, actor="cli", data={"code": code, "name": name, "timezone": timezone})
            uow.commit()
            click.echo(f"tenant {code} created")
            return
    _fail(Conflict(f"tenant {code!r} exists already"))


@tenants.command("list")
@with_appcontext
def list_tenants():
    """The tenants, one a line: code, name, time zone."""
    from sqlalchemy import select

    from workflows.models import Tenant

    ctx = current_app.extensions["redwall"]
    with ctx.unit_of_work() as uow:
        for tenant in uow.session.scalars(select(Tenant).order_by(Tenant.code)):
            click.echo(f"{tenant.code}\t{tenant.name}\t{tenant.timezone}")


@click.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True)
@click.option("--key", default=None, help="entry process id when the files hold several")
@with_appcontext
def deploy(files, tenant, key):
    """Deploy BPMN/DMN/form files as a new version of their process."""
    from .demo import system_actor
    from workflows.process_models import deploy_model

    ctx = current_app.extensions["redwall"]
    try:
        model, created = deploy_model(ctx, system_actor(ctx, tenant), [(f.name, f.read_bytes()) for f in files], key=key)
    except RedwallError as exc:
        _fail(exc)
    note = "" if model["executable"] else " (not executable: stored to be viewed and edited; cases cannot start)"
    click.echo(f"{model['key']} version {model['version']} {'deployed' if created else 'unchanged'}{note}")
    for warning in model.get("warnings", []):
        where = ":".join(str(part) for part in (warning["file"], warning["line"]) if part is not None)
        element = f" [{warning['element_id']}]" if warning["element_id"] else ""
        click.echo(f"warning: {where}{element}: {warning['message']}")


@click.command("migrate")
@click.argument("key")
@click.option("--tenant", required=True, help="tenant (sub-district) code")
@click.option("--from", "from_version", type=int, default=None, help="the version the cases run on")
@click.option("--to", "to_version", type=int, default=None, help="the version they move to")
@click.option("--dry-run", is_flag=True, help="report per case whether it can move, move nothing")
@click.option("--map", "mappings", multiple=True, metavar="OLD=NEW",
              help="an element the new version lacks → the element its cases go to (repeatable)")
@click.option("--cases", "case_ids", multiple=True, metavar="ID[,ID…]", help="only these cases (repeatable)")
@click.option("--resume", "resume", type=int, default=None, metavar="RUN", help="continue an unfinished run")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@with_appcontext
def migrate(key, tenant, from_version, to_version, dry_run, mappings, case_ids, resume, batch_size):
    """Move the running cases of KEY from one version to another (the same use case as the API).

    Each case moves in its own transaction under its version check; an interrupted run
    continues with --resume RUN (or the same command again) and moves no case twice.
    """
    from .demo import system_actor
    from workflows.case_migration import migrate_cases

    if resume is None and (from_version is None or to_version is None):
        raise click.UsageError("--from and --to are required (or --resume RUN)")
    mapping = {}
    for item in mappings:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{item!r} is not OLD=NEW", param_hint="--map")
        mapping[old.strip()] = new.strip()
    ids = None
    if case_ids:
        try:
            ids = [int(part) for item in case_ids for part in item.split(",") if part.strip()]
        except ValueError:
            raise click.BadParameter("case ids are numbers, e.g. --cases 12,13", param_hint="--cases") from None
    ctx = current_app.extensions["redwall"]

    def progress(run):
        click.echo(f"run {run['id']}: {run['processed']} cases done, {run['pending']} to go", err=True)

    try:
        report = migrate_cases(ctx, system_actor(ctx, tenant), key, from_version, to_version, case_ids=ids,
                               mapping=mapping or None, dry_run=dry_run, resume=resume, batch_size=batch_size,
                               progress=progress)
    except RedwallError as exc:
        _fail(exc)
    for case in report["cases"]:
        verdict = {"migrated": "migrated", "can_migrate": "can migrate"}.get(case["outcome"], case["outcome"])
        line = f"{case['id']}\t{case['number'] or ''}\t{verdict}"
        if case["reason"]:
            line += f"\t{case['reason']}"
        click.echo(line)
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in report["counts"].items() if n)
    what = "dry run" if report["dry_run"] else "run"
    click.echo(f"{what} {report['id']} of {key} {report['from_version']} → {report['to_version']}: "
               f"{report['status']}; {counts or 'no running cases'}")


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo tenant, its users and every model under bpmn/ (safe to run again)."""
    from .demo import load_demo

    for line in load_demo(current_app.extensions["redwall"]):
        click.echo(line)


@click.command("demo-data")
@click.option("--residents", type=click.IntRange(1, 2_000_000), default=20000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="same seed and day, same data")
@click.option("--tenant", default="xichangan", show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="day ages are counted on (default today)")
@click.option("--replace", is_flag=True, help="delete the tenant's registry data first")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write the data as import files into this folder instead of loading it")
@with_appcontext
def demo_data(residents, seed, tenant, as_of, replace, csv_dir):
    """Generate a synthetic sub-district: residents, houses, vehicles, parking, certificates."""
    import time

    from datacentre import synthetic

    from .demo import system_actor

    day = as_of.date() if as_of else None
    started = time.perf_counter()
    try:
        if csv_dir is not None:
            for path in synthetic.write_csv(synthetic.generate_district(residents, seed, day), csv_dir):
                click.echo(f"wrote {path}")
            return
        ctx = current_app.extensions["redwall"]
        result = synthetic.generate_demo_data(ctx, system_actor(ctx, tenant), residents, seed, day, replace)
    except RedwallError as exc:
        _fail(exc)
    counts = ", ".join(f"{n} {kind}" for kind, n in result["counts"].items())
    click.echo(f"tenant {tenant}: {counts} loaded in {time.perf_counter() - started:.1f} s (ages as of {result['as_of']})")
    click.echo(f"parking hot spots: {', '.join(result['hot_spots'])}")


@click.command("import")
@click.argument("kind", metavar="KIND")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True, help="tenant (sub-district) code the rows belong to")
@click.option("--strict", is_flag=True, help="import nothing if any row is rejected")
@click.option("--dry-run", is_flag=True, help="check the file and report, write nothing")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the rejected rows and reasons to this CSV file")
@with_appcontext
def import_file(kind, file, tenant, strict, dry_run, report_path):
    """Import a CSV file of KIND into the data centre (kinds and columns: datacentre/csv_import.py).

    KIND: grid_cells, buildings, houses, people (residents), vehicles, parking_spaces,
    organisations, certificates. Exit status 0: all rows good; 1: some rows rejected; 2: file refused.
    """
    import csv as csv_module

    from datacentre.csv_import import import_csv

    from .demo import system_actor

    ctx = current_app.extensions["redwall"]
    try:
        report = import_csv(ctx, system_actor(ctx, tenant), kind, file.read_bytes(), source=file.name,
                            strict=strict, dry_run=dry_run)
    except RedwallError as exc:
        _fail(exc)
    state = "applied" if report.applied else "NOT applied (dry run)" if dry_run else "NOT applied (strict: rows rejected)"
    click.echo(f"{report.kind} from {file.name}: {report.rows} rows, {report.inserted} inserted, {report.updated} updated, "
               f"{report.unchanged} unchanged, {len(report.rejected)} rejected; {state}")
    for rejected in report.rejected[:20]:
        reasons = "; ".join(f"{column}: {message}" for column, message in rejected.errors.items())
        click.echo(f"  row {rejected.row} ({rejected.key}): {reasons}")
    if len(report.rejected) > 20:
        click.echo(f"  … and {len(report.rejected) - 20} more" + ("" if report_path else " (--report FILE lists them all)"))
    if report_path is not None:
        with report_path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv_module.writer(f)
            writer.writerow(["row", "key", "column", "reason"])
            for rejected in report.rejected:
                for column, message in rejected.errors.items():
                    writer.writerow([rejected.row, rejected.key, column, message])
        click.echo(f"rejected rows written to {report_path}")
    if report.rejected:
        sys.exit(1)


@click.group("trail")
def trail_commands():
    """Verify and anchor the case trail (办事留痕)."""


@trail_commands.command("verify")
@click.option("--case", "case_id", type=int, default=None, help="verify this case only")
@click.option("--tenant", default=None, help="tenant code (default: every tenant)")
@with_appcontext
def trail_verify(case_id, tenant):
    """Re-hash the trail: exit 0 if valid, 1 with the first bad event and why."""
    from sqlalchemy import select

    from workflows import trail
    from workflows.models import Tenant

    ctx = current_app.extensions["redwall"]
    results = []
    try:
        if case_id is not None:
            tenant_id = None
            if tenant:
                with ctx.unit_of_work() as uow:
                    tenant_id = uow.session.scalar(select(Tenant.id).where(Tenant.code == tenant))
                if tenant_id is None:
                    _fail(RedwallError(f"no tenant {tenant!r}"))
            results.append((f"case {case_id}", trail.verify_case_chain(ctx, tenant_id, case_id)))
        else:
            with ctx.unit_of_work() as uow:
                query = select(Tenant.id, Tenant.code).order_by(Tenant.id)
                if tenant:
                    query = query.where(Tenant.code == tenant)
                tenants = uow.session.execute(query).all()
            if tenant and not tenants:
                _fail(RedwallError(f"no tenant {tenant!r}"))
            for tenant_id, code in tenants:
                results.append((f"tenant {code}", trail.verify_tenant_chains(ctx, tenant_id)))
    except RedwallError as exc:
        _fail(exc)
    valid = True
    for what, result in results:
        if result["valid"]:
            click.echo(f"{what}: valid ({result['checked']} events, {result['chains']} chains, "
                       f"{result['anchors_checked']} anchors)")
            continue
        valid = False
        click.echo(f"{what}: NOT VALID ({result['checked']} events checked)")
        for problem in result["problems"]:
            where = f"case {problem['case_id']}" if problem["case_id"] is not None else "tenant chain"
            seq = f" event {problem['seq']}" if problem["seq"] is not None else ""
            click.echo(f"  {where}{seq}: {problem['reason']}")
    sys.exit(0 if valid else 1)


@trail_commands.command("anchor")
@with_appcontext
def trail_anchor():
    """Write the daily anchors of every closed day not anchored yet (idempotent)."""
    from workflows import trail

    written = trail.anchor_trail(current_app.extensions["redwall"])
    for anchor in written:
        click.echo(f"tenant {anchor['tenant_id']} {anchor['day']}: {anchor['chains']} chains, "
                   f"{anchor['events']} events, {anchor['hash']}")
    click.echo(f"{len(written)} anchors written")


def register_commands(app) -> None:
    """Add Redwall's commands to the app's CLI (``redwall …`` and ``flask --app server.app …``)."""
    for command in (users, tenants, deploy, migrate, demo, demo_data, import_file):
        app.cli.add_command(command)
    app.cli.add_command(trail_commands)
    from flask_migrate.cli import db as db_group

    from .db_grant import grant_command

    if "grant" not in db_group.commands:
        db_group.add_command(grant_command)  # redwall db grant <role>
    from .timer_cli import COMMANDS as timer_commands  # scheduler, calendar

    for command in timer_commands:
        app.cli.add_command(command)
    from .onewindow_cli import COMMANDS as one_window_commands  # intake-report, proactive run

    for command in one_window_commands:
        app.cli.add_command(command)


def main():
    cli(prog_name="redwall")


if __name__ == "__main__":
    main()
