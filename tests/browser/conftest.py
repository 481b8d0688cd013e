"""Browser tests: the real pages in Debian's Chromium, driven by Playwright (headless).

The app is served on a free port by a thread (werkzeug's server) over a database of its
own (SQLite, the embedded default: the shipped matters and the demo data), so what a
test deploys never reaches the rest of the suite. Any console error or uncaught
exception in a page fails its test; every test saves screenshots under test-artefacts/.
These tests run with the embedded default only (the pages are the same on PostgreSQL).
"""
from __future__ import annotations

import re
import shutil
import threading
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import BACKEND
from tests.integration.helpers import ApiClient


ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"
STATUS_LOGGED = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath) and BACKEND != "sqlite":
            item.add_marker(pytest.mark.skip(reason="browser tests run on the embedded default"))


class Site(NamedTuple):
    base_url: str
    services: object
    api: object  # tests.integration.helpers.ApiClient on the same app: what another client does meanwhile


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The product as ``onewindow serve`` runs it, on a database of its own."""
    from api import create_app
    from engine.config import Settings
    from engine.definitions.catalogue import deploy_catalogue
    from engine.demo import seed
    from engine.store.db import upgrade
    from onewindow.wiring import build_services
    import web

    web.check_installed()
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'onewindow.db'}"
    upgrade(url)
    # Every test signs in through the page as a person does: more than the 10 logins a
    # minute one account is allowed (the limit itself is tested in tests/integration).
    settings = Settings(database_url=url, redis_url=None, demo=True, login_limit="600 per minute")
    services = build_services(settings)
    with services.sessions() as session:
        deploy_catalogue(session, set(services.sources), "system")
        seed(session, date.today())
        session.commit()
    app = create_app(services, settings)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", services, ApiClient(app))
    server.shutdown()


class _Quiet(WSGIRequestHandler):
    """The app logs each request itself (api/request_log.py); werkzeug's own line is noise."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def base_url(site) -> str:
    return site.base_url


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


class Screenshots:
    """Saves ``test-artefacts/<test>-<n>-<what>.png``; the names are listed in the note."""

    def __init__(self, page, test_name: str) -> None:
        self.page, self.count = page, 0
        self.prefix = re.sub(r"[^A-Za-z0-9_]+", "_", test_name).strip("_")

    def __call__(self, what: str, full_page: bool = True) -> Path:
        self.count += 1
        ARTEFACTS.mkdir(exist_ok=True)
        path = ARTEFACTS / f"{self.prefix}-{self.count:02d}-{what}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def page(chromium, base_url, request):
    """A fresh browser context and page, as people of the service area have it (Chinese,
    Beijing time; desktop, or a 390×844 phone for a test marked ``@pytest.mark.phone``);
    console errors and page errors fail the test."""
    screen = PHONE if request.node.get_closest_marker("phone") else DESKTOP
    context = chromium.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", **screen)
    page = context.new_page()
    errors: list[str] = []
    page.answers_expected = set()  # statuses a test provokes on purpose: Chromium logs each as a console error

    def on_console(message) -> None:
        if message.type != "error":
            return
        provoked = STATUS_LOGGED.search(message.text)
        if not (provoked and int(provoked.group(1)) in page.answers_expected):
            errors.append(f"console.{message.type}: {message.text}")
    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    yield page
    context.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def shot(page, request) -> Screenshots:
    return Screenshots(page, request.node.name)


def sign_in(page, username: str, password: str | None = None) -> None:
    """Log in through the login page as a person does."""
    from engine.demo import DEMO_PASSWORD

    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def accessible(page, what: str = "") -> list[dict]:
    """Run axe-core (from npm, web/node_modules) on the page as it is now and fail on any
    serious or critical violation (WCAG 2.1 A/AA rules). The script is evaluated through
    the DevTools protocol, so the page's CSP does not need to admit it. Returns the minor
    and moderate violations, for a test that wants to look."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']})""")
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(f"{v['impact']} {v['id']}: {v['help']} — " + "; ".join(
        node["target"][0] if isinstance(node["target"][0], str) else str(node["target"]) for node in v["nodes"][:5])
        for v in blocking)
    assert not blocking, f"accessibility violations on {what or page.url}:\n{report}"
    return [v for v in result["violations"] if v["impact"] not in BLOCKING_IMPACTS]
