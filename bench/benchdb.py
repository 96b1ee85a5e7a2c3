"""The benchmarks' own databases: each script drops and creates one, so no run depends on another."""
from __future__ import annotations

from sqlalchemy import create_engine, text

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def recreate_database(url: str, admin_url: str = ADMIN_URL, drop_only: bool = False) -> None:
    """Drop the database ``url`` names (forcing other sessions off) and create it empty again."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def three_tasks_client(url: str, tree, config: dict | None = None):
    """The Flask app of checkout ``tree`` on a fresh database ``url`` (migrated, one clerk, the
    ``bench/three_tasks.bpmn`` model deployed), in-process, for the request benchmarks.

    Returns ``(app, client, headers)``: the app, its test client and the clerk's bearer header.
    """
    import os
    import sys
    from pathlib import Path

    tree = Path(tree).resolve()
    recreate_database(url)
    os.environ.update(DATABASE_URL=url, SECRET_KEY="profile-secret-key-0123456789abcdef0123456789",
                      REDWALL_SCRIPT_WORKERS="0")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from flask_migrate import upgrade

    from server.app import create_app
    from workflows import accounts
    from workflows.process_models import deploy_model

    app = create_app({"REDWALL_BACKGROUND": "off", **(config or {})})
    with app.app_context():
        upgrade()
        ctx = app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            accounts.add_user(uow.session, "bench", "bench-designer", "bench-password-1", ["designer"], [])
            accounts.add_user(uow.session, "bench", "bench0", "bench-password-1", ["intake", "clerk"],
                              ["intake", "civil_affairs"])
            uow.commit()
        with ctx.unit_of_work() as uow:
            designer = accounts.authenticate(uow.session, "bench-designer", "bench-password-1")
        model = Path(__file__).resolve().parent / "three_tasks.bpmn"
        deploy_model(ctx, designer, [("three_tasks.bpmn", model.read_bytes())])
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "bench0", "password": "bench-password-1"}).json["token"]
    return app, client, {"Authorization": f"Bearer {token}"}
