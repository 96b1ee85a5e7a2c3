"""webargs' Flask parser with one repair: JSON nested deeper than Python's recursion
limit is answered as invalid JSON (400), not as an unexpected error (500)."""
from __future__ import annotations

import json

import flask_smorest
from webargs.flaskparser import FlaskParser


class RedwallParser(FlaskParser):
    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise json.JSONDecodeError("the JSON document is nested too deeply", "", 0) from None


def install_parser() -> None:
    """flask-smorest reads the parser from this class attribute when views are decorated."""
    if not isinstance(flask_smorest.Blueprint.ARGUMENTS_PARSER, RedwallParser):
        flask_smorest.Blueprint.ARGUMENTS_PARSER = RedwallParser()
