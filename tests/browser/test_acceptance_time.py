"""Acceptance time at the window, measured (issue: "acceptance time −80 %").

The severe-disability care subsidy for a known resident, from the window's home page to the
printed receipt, counting every interaction (clicks, typed fields, keys that submit) — once as
the window works (the form prefilled from the data centre), once as the baseline where the
clerk types the whole form. Both runs print and store their figures in
``test-artifacts/acceptance.json`` (the README quotes them). The browser's own time says little
of a person's, so each run is also costed with the Keystroke-Level Model (tests/browser/workplace.py).
"""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

from .test_workplace import _apply_for_care_subsidy
from .workplace import Interactions, care_subsidy_applicants


def _finish(page, clerk: Interactions) -> None:
    with page.expect_navigation():
        clerk.press("#f\\.bank_account", "Enter")
    page.wait_for_url("**/documents/receipt")
    page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    clerk.click("[data-action=print]")
    assert page.evaluate("window.__printed") == 1


def _type_whole_form(page, clerk: Interactions) -> None:
    """The baseline: every field typed or chosen by hand, as if nothing were known."""
    for field in page.locator("form#application .field").all():
        name = field.get_attribute("data-field")
        control = f"[name='f.{name}']"
        radios = field.locator("input[type=radio]")
        if radios.count():
            checked = field.locator("input[type=radio]:checked")
            value = checked.get_attribute("value") if checked.count() else radios.first.get_attribute("value")
            clerk.click(f"{control}[value='{value}']")
        elif field.locator("select").count():
            value = field.locator("select").input_value() or field.locator("option").nth(1).get_attribute("value")
            clerk.select(control, value)
        else:
            value = field.locator("input, textarea").first.input_value()
            if name == "bank_account":
                value = "6222020200112233445"
            elif name == "disability_card_number" and not value:
                continue  # optional and unknown: nobody types it
            clerk.type(control, value)


def test_acceptance_with_prefill_against_typing_the_whole_form(page, live_server, sign_in, capsys):
    prefilled_resident, baseline_resident = care_subsidy_applicants(live_server.app, count=2)

    sign_in(page, "intake1")
    window = Interactions(page)
    _apply_for_care_subsidy(page, prefilled_resident, window)
    window.click("input[name='f.care_arrangement'][value='home']")
    window.type("#f\\.bank_account", "6222020200112233445")
    _finish(page, window)

    page.goto("/window")
    baseline = Interactions(page)
    _apply_for_care_subsidy(page, baseline_resident, baseline)
    _type_whole_form(page, baseline)
    _finish(page, baseline)
    expect(page.locator("article.document")).to_contain_text(baseline_resident["name"])

    ours, theirs = window.figures(), baseline.figures()
    fewer = {key: round(1 - ours[key] / theirs[key], 3)
             for key in ("interactions", "typed_fields", "typed_keystrokes", "klm_seconds")}
    report = {"service": "severe_disability_care_subsidy", "prefilled": ours, "baseline": theirs, "fewer": fewer}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "acceptance.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    with capsys.disabled():
        print(f"\nacceptance, care subsidy: prefilled {ours['interactions']} interactions "
              f"({ours['typed_fields']} typed fields, {ours['typed_keystrokes']} keystrokes, KLM {ours['klm_seconds']} s, "
              f"browser {ours['browser_seconds']} s); baseline {theirs['interactions']} interactions "
              f"({theirs['typed_fields']} typed fields, {theirs['typed_keystrokes']} keystrokes, KLM {theirs['klm_seconds']} s, "
              f"browser {theirs['browser_seconds']} s); fewer: {fewer}")
    assert ours["interactions"] <= 8, ours
    # the typing the window saves — what "acceptance time −80 %" is made of (about 80 % here;
    # a guard against losing it, not the target: the README discusses the target)
    assert fewer["typed_keystrokes"] >= 0.75, report
    assert theirs["typed_fields"] >= 10, theirs  # the baseline really typed the form
