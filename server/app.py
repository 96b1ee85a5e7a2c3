"""The Flask app factory: configuration, extensions, the engine context, blueprints."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, send_from_directory
from werkzeug.routing import IntegerConverter

import redwall_resources as resources
from workflows.context import build_context
from workflows.database import configure_sqlite

from . import config as config_module
from .errors import register_error_handlers
from .extensions import api, db, migrate

class DatabaseIdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


MIGRATIONS_DIR = str(resources.MIGRATIONS_DIR)


def create_app(config: dict | None = None) -> Flask:
    """Build an app; ``config`` overrides what the environment says (tests use it)."""
    import datacentre.models  # noqa: F401  (the data centre's tables join Base.metadata)
    import onewindow.models  # noqa: F401  (the one window's tables too)
    import worklists.models  # noqa: F401  (saved inbox filters)

    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.update(config_module.from_environment(instance) if not (config or {}).get("SKIP_ENV") else {})
    app.config.update(
        API_TITLE="Redwall",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served from the package's own static files: government intranets are offline.
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "info": {"description": "Redwall: one-window government services on a BPMN case engine."},
        },
        SQLALCHEMY_ENGINE_OPTIONS={},
    )
    if config:
        app.config.update(config)
    # Answers keep the order their schemas give (Flask 2.3 dropped the JSON_SORT_KEYS setting
    # and sorts every object's keys by default: work for nobody, on every answer).
    app.json.sort_keys = False
    from workflows.database import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }

    # Ids in URLs are BIGINTs: a larger number can name nothing, so it is a 404, not a database error.
    app.url_map.converters["int"] = DatabaseIdConverter

    # Behind reverse proxies the client's address is in X-Forwarded-For: trust exactly the
    # configured number of hops (0: none, the peer address is the client's). Sign-in throttling
    # keys on this address (people.logins).
    hops = int(app.config.get("REDWALL_PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    db.init_app(app)
    from .files import init_files

    init_files(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    api.init_app(app)
    from .api import register

    register(api)
    register_error_handlers(app)
    from .web import init_web

    init_web(app)
    from .limits import install_limits

    install_limits(app)
    from .cli import register_commands

    register_commands(app)

    with app.app_context():
        configure_sqlite(db.engine)
        app.extensions["redwall"] = build_context(
            session_factory=lambda: db.session,
            script_time_limit=app.config["REDWALL_SCRIPT_TIME_LIMIT"],
            **config_module.engine_options_from(app.config, lambda: db.session),
        )
        # the hot path without ORM sessions: a claim on a pooled connection, starts and completions
        # on a LeanSession (workflows.unit_of_work)
        if db.engine.dialect.name == "postgresql":
            app.extensions["redwall"].sql_engine = db.engine
        from .wiring import wire

        wire(app.extensions["redwall"])  # the case step's handlers: engine rows, certificates, the audit queue
    # Embedded mode (no REDIS_URL): timers fire in a thread of this app (server.background).
    from .background import start_with_app

    start_with_app(app)

    from .metrics import register_metrics

    register_metrics(app)

    # No server version in answers: Werkzeug's server (redwall run) would send
    # "Werkzeug/3.1.9 Python/3.11.7"; gunicorn sends "gunicorn" without a version.
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.version_string = lambda self: "Redwall"

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename):
        from swagger_ui_bundle import swagger_ui_path

        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    logging.basicConfig(level=logging.INFO)
    return app
