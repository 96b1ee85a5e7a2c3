"""Packaging. Metadata and dependencies live in setup.cfg; this file adds what setup.cfg cannot say.

``bpmn/`` and ``migrations/`` are top-level folders of the source tree but no Python packages.
The product cannot run without them (catalogue, process models, proactive rules, the schema),
so the wheel carries them inside the package ``redwall_resources``, which finds them in either
place (see ``redwall_resources/__init__.py`` and the README, "Front-end assets and packaging").
"""
from pathlib import Path

from setuptools import find_namespace_packages, setup

# wheel package -> source folder; each subfolder becomes a subpackage of its own
SHIPPED = {"redwall_resources.bpmn": "bpmn", "redwall_resources.migrations": "migrations"}
SHIPPED_FILES = ["*.json", "*.bpmn", "*.dmn", "*.py", "README", "*.ini", "*.mako"]


def shipped_folders() -> dict[str, str]:
    folders = {}
    for package, folder in SHIPPED.items():
        root = Path(folder)
        for directory in [root, *sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
            folders[".".join([package, *directory.relative_to(root).parts])] = directory.as_posix()
    return folders


FOLDERS = shipped_folders()

setup(
    # namespace-aware, so that data-only folders (server/templates, server/static …) are packages too
    packages=find_namespace_packages(include=["workflows*", "worklists*", "onewindow*", "datacentre*", "people*",
                                              "supervision*", "desks*", "server*",
                                              "redwall_resources"], exclude=["*__pycache__*"]) + list(FOLDERS),
    package_dir=FOLDERS,
    package_data={package: SHIPPED_FILES for package in FOLDERS},
)
