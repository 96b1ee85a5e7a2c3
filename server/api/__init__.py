"""REST blueprints: each handler parses, calls one use case, and answers."""
from __future__ import annotations

# The parser must be in place before any blueprint module decorates its views.
from .parser import install_parser

install_parser()

from . import auth, cases, ops, process_models, tasks  # noqa: E402

BLUEPRINTS = (auth.blp, process_models.blp, cases.blp, tasks.blp, ops.blp)


def register(api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
