"""The vendored front-end libraries are exactly the lockfile's release files, with their licences.

server/static/vendor/ is written by scripts/refresh_vendor.py (``make vendor``) and committed,
so that the app runs offline without npm. These checks fail when someone bumps a version in
package.json/package-lock.json without refreshing, edits a vendored file by hand, or deletes one.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "server" / "static" / "vendor"
PACKAGE_LINE = re.compile(r"^(?P<name>\S+) (?P<version>\S+) (?P<integrity>sha512-\S+) (?P<licence>.+)$")
FILE_LINE = re.compile(r"^    (?P<path>\S+) (?P<size>\d+) (?P<sha256>[0-9a-f]{64})$")


def parse_versions(text: str) -> dict[str, dict]:
    packages: dict[str, dict] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        if m := PACKAGE_LINE.match(line):
            current = packages.setdefault(m["name"], {**m.groupdict(), "files": {}})
        elif (m := FILE_LINE.match(line)) and current is not None:
            current["files"][m["path"]] = (int(m["size"]), m["sha256"])
        else:
            raise AssertionError(f"VERSIONS.txt line {number} is malformed: {line!r}")
    return packages


@pytest.fixture(scope="module")
def versions() -> dict[str, dict]:
    return parse_versions((VENDOR / "VERSIONS.txt").read_text(encoding="utf-8"))


def test_every_declared_package_is_vendored_at_the_lockfile_version(versions):
    declared = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    assert set(versions) == set(declared), "package.json and server/static/vendor/VERSIONS.txt name different packages"
    for name, spec in declared.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name} is not pinned exactly in package.json: {spec!r}"
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == spec, f"{name}: package.json {spec}, package-lock.json {locked['version']}"
        assert versions[name]["version"] == spec, (
            f"{name}: vendored {versions[name]['version']}, lockfile {spec}: run `make vendor` and commit")
        assert versions[name]["integrity"] == locked["integrity"], f"{name}: vendored from another tarball"


def test_every_listed_file_is_present_and_unchanged(versions):
    for name, entry in versions.items():
        assert entry["files"], f"{name} lists no file"
        for relative, (size, digest) in entry["files"].items():
            path = VENDOR / name / relative
            assert path.is_file(), f"vendor/{name}/{relative} is missing"
            data = path.read_bytes()
            assert len(data) == size and hashlib.sha256(data).hexdigest() == digest, (
                f"vendor/{name}/{relative} differs from the release file: run `make vendor`, never edit by hand")


def test_nothing_unlisted_and_every_package_has_its_licence(versions):
    listed = {f"{name}/{relative}" for name, entry in versions.items() for relative in entry["files"]}
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {"VERSIONS.txt"}
    assert present == listed, f"unlisted: {sorted(present - listed)}; missing: {sorted(listed - present)}"
    for name, entry in versions.items():
        assert any(Path(f).name.upper().startswith("LICENSE") for f in entry["files"]), f"{name} has no licence file"


def test_the_pages_libraries_are_there():
    """What the templates and the browser tests load by these exact paths."""
    for relative in ("htmx.org/htmx.min.js", "bpmn-js/bpmn-viewer.production.min.js",
                     "bpmn-js/bpmn-modeler.production.min.js", "bpmn-js/assets/diagram-js.css",
                     "bpmn-js/assets/bpmn-font/css/bpmn.css", "echarts/echarts.min.js", "axe-core/axe.min.js"):
        assert (VENDOR / relative).stat().st_size > 1000, relative


def test_the_parser_rejects_a_malformed_line():
    with pytest.raises(AssertionError, match="line 2"):
        parse_versions("htmx.org 2.0.11 sha512-abc 0BSD\n    htmx.min.js twelve deadbeef\n")
