"""The built wheel is a product that runs, not only the Python code.

Builds the sdist and, from it, the wheel (``python -m build --no-isolation``: offline, and the
sdist step checks MANIFEST.in too), checks the wheel's file list, installs it with
``pip install --no-deps --target``, and then, from another working directory with only that
target on PYTHONPATH ahead of the venv's site-packages (which supplies the dependencies),
runs ``redwall db upgrade`` on a fresh SQLite file, ``redwall demo``, and GETs ``/`` and a
vendored asset from the app.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def run(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 120) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([PYTHON, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)], cwd=out, timeout=300)
    wheels = list(out.glob("redwall-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]


def shipped_source_files() -> set[str]:
    """The repository's files that must be in the wheel, by their path inside it."""
    expected = set()
    for path in (REPO / "bpmn").rglob("*"):
        if path.suffix in (".json", ".bpmn", ".dmn"):
            expected.add("redwall_resources/bpmn/" + path.relative_to(REPO / "bpmn").as_posix())
    for path in (REPO / "migrations").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            expected.add("redwall_resources/migrations/" + path.relative_to(REPO / "migrations").as_posix())
    for folder in ("templates", "static", "translations"):
        for path in (REPO / "server" / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pot":
                expected.add(path.relative_to(REPO).as_posix())
    return expected


def test_the_wheel_holds_templates_static_translations_bpmn_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = shipped_source_files() - names
    assert not missing, f"missing from the wheel: {sorted(missing)[:20]}"
    for needed in ("server/static/vendor/htmx.org/htmx.min.js",
                   "server/static/vendor/htmx.org/LICENSE", "server/static/vendor/VERSIONS.txt",
                   "server/translations/babel.cfg", "redwall_resources/__init__.py",
                   "redwall_resources/bpmn/catalogue.json", "redwall_resources/bpmn/proactive/rules.json",
                   "redwall_resources/migrations/env.py", "redwall_resources/migrations/alembic.ini",
                   "redwall_resources/migrations/script.py.mako"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "bench/", "node_modules/", "bpmn/", "migrations/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "redwall = server.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_migrates_loads_the_demo_and_serves_pages(wheel, tmp_path):
    target, workdir = tmp_path / "site", tmp_path / "elsewhere"
    workdir.mkdir()
    run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        cwd=workdir)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDWALL_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FLASK_", "PYTHON"))}
    env.update(
        PYTHONPATH=str(target),  # ahead of the venv's site-packages (and its editable install of the tree)
        DATABASE_URL=f"sqlite:///{workdir / 'redwall.sqlite'}",
        SECRET_KEY="wheel-test-secret-key-0123456789abcdef",
    )
    redwall = [PYTHON, str(target / "bin" / "redwall")]  # the console script pip wrote into the target

    out = run(redwall + ["db", "upgrade"], cwd=workdir, env=env)
    assert (workdir / "redwall.sqlite").stat().st_size > 0, out
    out = run(redwall + ["demo"], cwd=workdir, env=env)
    assert "user intake1" in out and "service_application" in out, out

    probe = r"""
import json, sys
import redwall_resources, server, onewindow.catalogue
from server.app import create_app
app = create_app()
client = app.test_client()
landing = client.get("/", follow_redirects=True)
htmx = client.get("/static/vendor/htmx.org/htmx.min.js")
print(json.dumps({
    "server": server.__file__, "bpmn": str(redwall_resources.BPMN_DIR),
    "migrations": str(redwall_resources.MIGRATIONS_DIR),
    "services": len(onewindow.catalogue.load_catalogue().services),
    "landing": [landing.status_code, landing.mimetype, landing.get_data(as_text=True)[:2000]],
    "htmx": [htmx.status_code, len(htmx.get_data())],
}))
sys.stdout.flush()
"""
    result = json.loads(run([PYTHON, "-c", probe], cwd=workdir, env=env).strip().splitlines()[-1])
    # everything comes from the installed copy, nothing from the source tree
    assert Path(result["server"]).is_relative_to(target), result["server"]
    assert Path(result["bpmn"]) == target / "redwall_resources" / "bpmn"
    assert Path(result["migrations"]) == target / "redwall_resources" / "migrations"
    assert result["services"] >= 22
    status, mimetype, body = result["landing"]
    assert (status, mimetype) == (200, "text/html"), result["landing"]
    assert "<html" in body.lower()
    assert result["htmx"] == [200, (REPO / "server/static/vendor/htmx.org/htmx.min.js").stat().st_size]
