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


@pytest.mark.parametrize(("path", "drawn"), ANALYST_PAGES)
def test_every_analyst_page_is_accessible(page, shot, path, drawn):
    sign_in(page, "analyst")
    page.goto(path)
    page.wait_for_selector(drawn)
    accessible(page, path)
    shot(path.strip("/").replace("/", "_"))
