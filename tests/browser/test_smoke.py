"""The sign-in page opens in Chromium, offline, with no serious accessibility violation."""
from __future__ import annotations

import pytest


def test_the_sign_in_page_opens_offline_and_passes_axe(page, screenshot, axe_check):
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.locator("[name=username]").is_visible()
    assert page.locator("[name=password]").is_visible()
    assert page.locator("form:has([name=username]) button[type=submit]").is_visible()
    assert page.evaluate("document.documentElement.lang").lower().startswith("zh")
    assert screenshot(page, "sign_in").stat().st_size > 1000
    axe_check(page)


def test_the_guards_catch_an_inaccessible_control_and_a_request_to_another_host(page, axe_check):
    """The fixtures' own checks can fail: axe on an unlabelled control, the page watch on a CDN."""
    page.goto("/")
    with page.expect_event("requestfailed"):
        page.evaluate("""() => {
            const field = document.createElement('input');
            document.body.appendChild(field);
            const img = document.createElement('img');
            img.alt = '';
            img.src = 'https://cdn.invalid/logo.png';
            document.body.appendChild(img);
        }""")
    with pytest.raises(pytest.fail.Exception, match=r"\[critical\] label"):
        axe_check(page)
    # the page's Content-Security-Policy stops it first; without one the route guard would
    problems = page.watch.problems()
    assert len(problems) == 1 and "https://cdn.invalid/logo.png" in problems[0], problems
    page.watch.external_requests.clear()  # seen; the page fixture would fail this test otherwise
    page.watch.csp_violations.clear()
