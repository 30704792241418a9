"""A trainer pastes a broken YAML, sees the error at its line, fixes it, previews and publishes it."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from flask import Flask

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's `browser` fixture explains; in CI the import error itself fails the run
    if os.environ.get("CI"):
        raise
    pytest.skip("the playwright package is missing: pip install -e '.[test]'", allow_module_level=True)

from tests.browser.test_play_browser import sign_in  # noqa: E402 - after the skip above

from tests.browser.conftest import PASSWORD, Account

FIXED = """id: {id}
title: Returns desk
language: en
nodes:
  opening:
    say: I want to return these shoes.
    choices:
      - {{id: help, text: "Of course, let me help.", points: 5, feedback: A warm start., goto: done}}
  done:
    ending: success
    debrief: Quick and kind.
"""


@pytest.fixture
def trainer(live_app: Flask) -> Account:
    """A fresh trainer account for each test."""
    from app.accounts import create_user

    name = f"trainer{next(_numbers)}"
    with live_app.app_context():
        create_user(name, PASSWORD, role="trainer", display_name="Tina Trainer")
    return Account(name, PASSWORD)


_numbers = itertools.count(1)



def test_paste_broken_see_the_line_fix_preview_publish(open_tab, trainer, screenshot_dir: Path):
    tab = open_tab()
    page = tab.page
    sign_in(page, trainer)
    page.goto("/studio/new")
    page.wait_for_load_state("domcontentloaded")
    page.evaluate("window.__marker = 1")
    broken = FIXED.format(id="returns-desk").replace("goto: done}", "goto: dnoe}")
    with page.expect_response(lambda r: r.url.endswith("/studio/check")) as checked:
        page.get_by_test_id("draft-text").fill(broken)
    assert checked.value.request.headers.get("hx-request") == "true"
    problem = page.get_by_test_id("problem")
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("data-line", "8")
    expect(problem).to_contain_text("Line 8, column")
    expect(problem).to_contain_text("'dnoe', which does not exist")
    assert page.evaluate("window.__marker") == 1  # checked in place, the page was not reloaded
    page.screenshot(path=str(screenshot_dir / "studio-error.png"), full_page=True)

    page.get_by_test_id("draft-text").fill(FIXED.format(id="returns-desk"))
    expect(page.get_by_test_id("no-problems")).to_be_visible()

    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("preview-banner")).to_contain_text("nothing is recorded")
    page.get_by_test_id("choice-help").click()
    expect(page.get_by_test_id("feedback")).to_contain_text("A warm start.")
    expect(page.get_by_test_id("result")).to_contain_text("Quick and kind.")
    page.screenshot(path=str(screenshot_dir / "studio-preview.png"), full_page=True)

    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/studio/returns-desk/edit$"))
    expect(page.locator(".flash")).to_contain_text("Published returns-desk as version 1.")
    page.goto("/library")
    expect(page.get_by_text("Returns desk")).to_be_visible()
    tab.console.assert_clean()


def test_the_same_without_javascript(open_tab, trainer):
    tab = open_tab(javascript=False)
    page = tab.page
    sign_in(page, trainer)
    page.goto("/studio/new")
    broken = FIXED.format(id="returns-plain").replace("points: 5", "points: lots")
    page.get_by_test_id("draft-text").fill(broken)
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("problem")).to_have_attribute("data-line", "8")
    page.get_by_test_id("draft-text").fill(FIXED.format(id="returns-plain"))
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("no-problems")).to_be_visible()
    page.get_by_test_id("preview").click()
    page.get_by_test_id("jump-to").select_option("done")
    page.get_by_test_id("jump").click()
    expect(page.get_by_test_id("result")).to_contain_text("Quick and kind.")
    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/studio/returns-plain/edit$"))
    expect(page.locator(".flash")).to_contain_text("Published returns-plain as version 1.")
    tab.console.assert_clean()
