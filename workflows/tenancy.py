"""Which tenant a script runs for: set by the engine around each run, read by the script
helpers (``working_days()`` & co. use that tenant's calendar). Pure: no database here, so the
engine (``workflows.engine``) stays free of SQLAlchemy."""
from __future__ import annotations

import contextlib
import contextvars

#: The tenant whose calendar script helpers use (set by the engine around each run).
script_tenant: contextvars.ContextVar[int | None] = contextvars.ContextVar("redwall_script_tenant", default=None)


@contextlib.contextmanager
def tenant_scope(tenant_id: int | None):
    """Make ``working_days()`` & co. in scripts use ``tenant_id``'s calendar."""
    token = script_tenant.set(tenant_id)
    try:
        yield
    finally:
        script_tenant.reset(token)
