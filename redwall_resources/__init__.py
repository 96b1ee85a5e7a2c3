"""Where the files Redwall ships beside its code are: the BPMN folder and the migrations.

``bpmn/`` (service catalogue, process models, proactive rules) and ``migrations/`` (Alembic)
are top-level folders of the source tree, where designers and developers edit them. They are
not Python packages, so an installed wheel would not have them: ``setup.py`` therefore maps
them into this package (``redwall_resources/bpmn``, ``redwall_resources/migrations`` inside
the wheel). Code never builds these paths itself; it asks here, and gets the installed copy
when there is one and the source tree's folder otherwise (a checkout, ``pip install -e``).

This module imports nothing of Redwall's, so every layer may use it.
"""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    for candidate in (_HERE / name, _HERE.parent / name):  # installed wheel, then source tree
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Redwall's {name}/ folder is neither in {_HERE} nor in {_HERE.parent}: "
                            "a broken installation (rebuild the wheel; see README, 'Front-end assets and packaging')")


#: ``bpmn/``: ``catalogue.json``, ``processes/<key>/``, ``proactive/rules.json``
BPMN_DIR: Path = _locate("bpmn")
#: ``migrations/``: Alembic's environment and versions (used through Flask-Migrate)
MIGRATIONS_DIR: Path = _locate("migrations")
