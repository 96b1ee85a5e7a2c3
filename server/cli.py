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
            user = accounts.add_user(uow.session, tenant, username, password, list(roles), list(groups), list(supervises), display_name)
        except RedwallError as exc:
            _fail(exc)
        uow.record(
            "user.created", user.tenant_id, actor="cli",
            data={"username": username, "roles": sorted(roles), "groups": sorted(groups), "supervises": sorted(supervises)},
        )
        uow.commit()
    click.echo(f"user {username} created in tenant {tenant}")


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
    click.echo(f"{model['key']} version {model['version']} {'deployed' if created else 'unchanged'}")


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo tenant, its users and every model under bpmn/ (safe to run again)."""
    from .demo import load_demo

    for line in load_demo(current_app.extensions["redwall"]):
        click.echo(line)


def register_commands(app) -> None:
    """Add Redwall's commands to the app's CLI (``redwall …`` and ``flask --app server.app …``)."""
    for command in (users, deploy, demo):
        app.cli.add_command(command)


def main():
    cli(prog_name="redwall")


if __name__ == "__main__":
    main()
