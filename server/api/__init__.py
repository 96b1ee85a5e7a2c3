"""REST blueprints: each handler parses, calls one use case, and answers."""
from __future__ import annotations

from . import auth, cases, ops, process_models, tasks

BLUEPRINTS = (auth.blp, process_models.blp, cases.blp, tasks.blp, ops.blp)


def register(api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
