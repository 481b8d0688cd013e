"""axe-core (from npm) on the pages no other browser test checks: the login page and the
analyst's workbench — no serious or critical violation on any of them. The portal, the
clerk's workbench and the dashboard are checked by their own tests on every page."""
from __future__ import annotations

import pytest

from tests.browser.conftest import accessible, sign_in

ANALYST_PAGES = [
    ("/analyst/matters", "table tbody tr"),
    ("/analyst/matters/elderly_subsidy", "#versions tbody tr"),
    ("/analyst/modeller/elderly_subsidy", "body[data-opened-ms]"),
    ("/analyst/new", "form"),
    ("/analyst/import", "form"),
    ("/analyst/incidents", "main"),
]


def test_the_login_page_is_accessible(page, shot):
    page.goto("/login")
    accessible(page, "login")
    shot("login")


@pytest.mark.parametrize(("path", "drawn"), ANALYST_PAGES, ids=[path for path, _ in ANALYST_PAGES])
def test_every_analyst_page_is_accessible(page, shot, path, drawn):
    sign_in(page, "analyst")
    page.goto(path)
    page.wait_for_selector(drawn)
    accessible(page, path)
    shot("page")


def test_an_address_that_is_no_page_answers_with_a_page_in_chinese(page, shot):
    """Not the API's problem+json: a person who mistypes an address reads Chinese (and so does
    one whose link carries a character no page takes)."""
    page.answers_expected |= {404, 422}
    page.goto("/portal/no-such-page")
    assert page.locator("h1").inner_text() == "页面不存在"
    assert "未找到" in page.locator("#page-error").inner_text()
    accessible(page, "404 page")
    shot("no_such_page")
    page.goto("/portal?q=%00")
    assert page.locator("h1").inner_text() == "无法打开这个页面"
    assert "填写的内容有误" in page.locator("#page-error").inner_text()
