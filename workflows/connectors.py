"""Service-task connectors: named Python callables a process may call.

A BPMN service task names an operator (``spiffworkflow:serviceTaskOperator id="..."``)
and its parameters; the engine looks the name up here. Nothing else is callable from a
deployed model, so designers cannot reach arbitrary code.
"""
from __future__ import annotations

import json
from typing import Any, Callable


Connector = Callable[..., Any]


class ConnectorRegistry:
    def __init__(self):
        self._connectors: dict[str, Connector] = {}

    def register(self, name: str, fn: Connector | None = None):
        """Register ``fn`` under ``name``; usable as a decorator."""

        def add(f: Connector) -> Connector:
            self._connectors[name] = f
            return f

        return add(fn) if fn is not None else add

    def names(self) -> list[str]:
        return sorted(self._connectors)

    def call(self, task_data: dict, operation_name: str, operation_params: dict) -> Any:
        """Call a connector with the evaluated parameters of a service task.

        SpiffWorkflow hands parameters as ``{name: {"value": ..., "type": ...}}``; the
        connector receives plain keyword arguments.
        """
        connector = self._connectors.get(operation_name)
        if connector is None:
            raise LookupError(f"no connector named {operation_name!r}; known: {', '.join(self.names()) or 'none'}")
        params = {
            name: (param["value"] if isinstance(param, dict) and "value" in param else param)
            for name, param in (operation_params or {}).items()
        }
        return connector(**params)


def default_connectors() -> ConnectorRegistry:
    """Connectors every installation has; hosts add their own (department systems, SMS, ...)."""
    registry = ConnectorRegistry()

    @registry.register("echo")
    def echo(**params):
        """Returns its parameters: lets designers test service-task wiring."""
        return json.loads(json.dumps(params, default=str))

    return registry
