"""REST blueprints: each handler parses, calls one use case, and answers."""
from __future__ import annotations

# The parser must be in place before any blueprint module decorates its views.
from .parser import install_parser

install_parser()

from . import analytics, auth, cases, ops, process_models, residents, tasks  # noqa: E402

BLUEPRINTS = (auth.blp, process_models.blp, cases.blp, cases.cc_blp, tasks.blp, ops.blp, residents.blp, analytics.blp)
from .trail import blp as trail_blp  # noqa: E402  (the case trail, auditors)

BLUEPRINTS += (trail_blp,)
from .supervision import blp as supervision_blp  # noqa: E402  (performance supervision, workflows.supervision)

BLUEPRINTS += (supervision_blp,)


from . import intake as intake_api, services  # noqa: E402  (the one window: catalogue, intake, events)

BLUEPRINTS += (services.blp, *intake_api.BLUEPRINTS)
from .audit_desk import blp as audit_desk_blp  # noqa: E402  (the auditor's desk)

BLUEPRINTS += (audit_desk_blp,)
from .users import blp as users_blp  # noqa: E402  (users, admins)

BLUEPRINTS += (users_blp,)
from .calendar_api import blp as calendar_blp  # noqa: E402  (the working-day calendar)

BLUEPRINTS += (calendar_blp,)
from .street import blp as street_blp  # noqa: E402  (grid reports, the emergency board)

BLUEPRINTS += (street_blp,)
from .files import blp as files_blp  # noqa: E402  (case files: materials, attachments)

BLUEPRINTS += (files_blp,)
from .public import blp as public_blp  # noqa: E402  (residents' progress, no sign-in)

BLUEPRINTS += (public_blp,)


def register(api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
