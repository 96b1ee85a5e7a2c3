"""Browser tests: the real app in a real headless Chromium (Debian's, driven by Playwright).

Fixtures
* ``live_server`` (session): the app on PostgreSQL (a database of its own beside the suite's
  ``REDWALL_TEST_POSTGRES_URL``; SQLite only when that is unset and services are not required),
  migrated, with ``redwall demo`` loaded (demo users, every shipped model, 2,000 residents),
  served by werkzeug in a thread on 127.0.0.1 and a free port. ``.url``, ``.app``, ``.port``.
* ``browser`` (session), ``page`` (each test): Chromium from ``/usr/bin/chromium`` (never a
  downloaded browser), locale zh-CN, time zone Asia/Shanghai, viewport 1440×900, relative URLs
  against the live server (``page.goto("/")``). A test fails when its page asked any host but
  the live server (pages must work offline) or broke the Content-Security-Policy.
* ``screenshot(page, name)``: full-page PNG in ``test-artifacts/screenshots/`` (git-ignored).
* ``axe_check(page)``: runs axe-core (vendored) on the page; fails naming every serious or
  critical violation, returns all violations.
* ``sign_in(page, username)``: signs in through the form at ``/`` with the demo password.

The three helpers are plain functions (``from tests.browser.conftest import sign_in``) and also
fixtures of the same names. Without Chromium or Playwright the tests skip and say why; with
``REDWALL_REQUIRE_SERVICES=1`` (``.ci/run``) they fail instead, like the PostgreSQL tests.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, REPO, REQUIRE_SERVICES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_URL = "/static/vendor/axe-core/axe.min.js"
AXE_FILE = REPO / "server" / "static" / "vendor" / "axe-core" / "axe.min.js"
DEMO_PASSWORD = "redwall-demo"
BLOCKING_IMPACTS = ("serious", "critical")


def _unavailable(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"REDWALL_REQUIRE_SERVICES=1 but {reason} (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


# --- the live server -------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: object
    port: int
    database_url: str


def _browser_database_url() -> str | None:
    """A database of the browser tests' own beside the suite's, so that neither empties the other's."""
    if not PG_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REDWALL_REQUIRE_SERVICES=1 but REDWALL_TEST_POSTGRES_URL is not set")
        return None
    url = make_url(PG_URL)
    admin = os.environ.get("REDWALL_TEST_POSTGRES_ADMIN_URL") or url.set(database="postgres").render_as_string(
        hide_password=False)
    name = f"{url.database}_browser"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = os.environ.get("REDWALL_TEST_POSTGRES_ADMIN_URL") or parsed.set(database="postgres").render_as_string(
        hide_password=False)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from server.app import create_app
    from server.demo import load_demo
    from server.extensions import db

    database_url = _browser_database_url() or f"sqlite:///{tmp_path_factory.mktemp('browser') / 'redwall.sqlite'}"
    app = create_app({
        "SKIP_ENV": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
        "REDIS_URL": None,
        "REDWALL_TIMEZONE": "Asia/Shanghai",
        "REDWALL_TOKEN_TTL": 3600,
        "REDWALL_SCRIPT_TIME_LIMIT": 1.0,
    })
    with app.app_context():
        upgrade()
        load_demo(app.extensions["redwall"])
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, port=server.server_port,
                         database_url=database_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        timers = (app.extensions.get("redwall_background") or {}).get("thread")
        if timers is not None:  # the embedded timer thread the first request started
            timers.stop.set()
            timers.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if database_url.startswith("postgresql"):
            _drop_database(database_url)


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("browser tests need Playwright for Python (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageWatch:
    """What a page did that it must not: ask another host, or break the security policy."""
    live_host: str
    external_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def route(self, route):
        url = route.request.url
        host = urlsplit(url).netloc
        if url.startswith(("data:", "blob:", "about:")) or host == self.live_host:
            route.continue_()
        else:
            self.external_requests.append(url)
            route.abort("blockedbyclient")

    def console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def problems(self) -> list[str]:
        found = [f"asked another host (pages must work offline): {url}" for url in self.external_requests]
        found += [f"Content-Security-Policy violation: {text}" for text in self.csp_violations]
        found += [f"uncaught script error: {text}" for text in self.page_errors]
        return found


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
        viewport={"width": 1440, "height": 900},
    )
    context.set_default_timeout(15_000)
    watch = PageWatch(live_host=urlsplit(live_server.url).netloc)
    context.route("**/*", watch.route)
    tab = context.new_page()
    tab.on("console", watch.console)
    tab.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    tab.watch = watch
    failure_shot = f"FAILED-{request.node.name}"
    (SCREENSHOTS / f"{_safe_name(failure_shot)}.png").unlink(missing_ok=True)  # an earlier run's
    try:
        yield tab
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            try:
                screenshot(tab, failure_shot)
            except Exception:  # noqa: BLE001 - a screenshot of a broken page must not hide the failure
                pass
        context.close()
    problems = watch.problems()
    if problems:
        pytest.fail(f"{request.node.nodeid}:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so that ``page`` can screenshot a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- helpers ----------------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("_") or "page"


def screenshot(page, name: str) -> Path:
    """A full-page PNG of ``page`` as ``test-artifacts/screenshots/<name>.png``; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation.get('impact')}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation.get("nodes", [])[:10]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    at {target}: {summary}")
        if len(violation.get("nodes", [])) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


def axe_check(page, options: dict | None = None, allow_serious: bool = False) -> list[dict]:
    """Run axe-core on the page as it is now; fail on any serious or critical violation.

    axe is loaded from the app's static folder (the vendored copy), which the page's own
    Content-Security-Policy (``script-src 'self'``) allows. Returns every violation found.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    result = page.evaluate("async (options) => await window.axe.run(document, options || {})", options)
    violations = result["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    if blocking and not allow_serious:
        pytest.fail(f"axe-core found {len(blocking)} serious or critical accessibility violation(s) on "
                    f"{page.url}:\n{format_violations(blocking)}", pytrace=False)
    return violations


def sign_in(page, username: str, password: str = DEMO_PASSWORD):
    """Sign in through the form at ``/`` and wait for the home page the role lands on."""
    page.goto("/")
    page.fill("[name=username]", username)
    page.fill("[name=password]", password)
    with page.expect_navigation():
        page.locator("form:has([name=username]) button[type=submit]").click()
    page.wait_for_load_state()
    return page


@pytest.fixture(name="screenshot")
def screenshot_fixture():
    return screenshot


@pytest.fixture(name="axe_check")
def axe_check_fixture():
    return axe_check


@pytest.fixture(name="sign_in")
def sign_in_fixture():
    return sign_in
