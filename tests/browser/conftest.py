"""Browser fixtures for the whole team: the real app on a real port, with the demo seeded, driven by Debian's
Chromium through Playwright (never `playwright install`).

    live_server   session: base URL of the app serving a scratch database (same kind as the test database),
                  migrated and seeded with the demo
    live_app      session: the same, with the session factory of its database (to check what was saved)
    browser       session: Chromium
    page          a fresh desktop context and page per test
    phone_page    a fresh phone context (390 x 844, touch) and page per test
    login(page, email)           signs in through the form with the demo password
    shot(page, name)             saves test-artifacts/<name>.png and returns its path

A failing test leaves test-artifacts/FAILED-<test>.png behind.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy.orm import Session, sessionmaker
from tests.helpers import scratch_database, test_database_url

from tenfour import demo, migrate
from tenfour.config import Settings
from tenfour.db import make_engine, make_session_factory, session_scope
from tenfour.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    session_factory: sessionmaker[Session]  # the live database, for tests that check what was saved


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory, mail_server) -> Iterator[LiveApp]:  # type: ignore[no-untyped-def]
    """The real app under uvicorn in a background thread, on a scratch database seeded with the demo. Its email
    goes to the tests' local SMTP server (the `mailbox` fixture reads it)."""
    with scratch_database(test_database_url()) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            demo.seed(db)
        port = _free_port()
        settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("live"), database_url=url,
                            secret_key="browser-test-secret-" + "b" * 32, smtp_host="127.0.0.1",
                            smtp_port=mail_server[1], base_url=f"http://127.0.0.1:{port}")
        app = create_app(settings=settings, session_factory=factory)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="on"))
        thread = threading.Thread(target=server.run, name="live-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30  # a start-up wait, not an assertion about speed
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        try:
            yield LiveApp(f"http://127.0.0.1:{port}", factory)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: LiveApp) -> str:
    """The base URL of the live app, e.g. http://127.0.0.1:41234."""
    return live_app.base_url


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def _page_fixture(browser: Browser, request: pytest.FixtureRequest, live_server: str,
                  **context_options: object) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, **context_options)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{_safe(request.node.name)}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, live_server: str) -> Iterator[Page]:
    yield from _page_fixture(browser, request, live_server, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(browser: Browser, request: pytest.FixtureRequest, live_server: str) -> Iterator[Page]:
    yield from _page_fixture(browser, request, live_server, **PHONE)


def login(page: Page, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    """Sign in through the real form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{_safe(name)}.png"
        page.wait_for_load_state("load")  # images (charts) included
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def demo_login(role: str, clinic: str = "north") -> str:
    """The email of the demo account for a role (and clinic), as `tenfour demo` prints it."""
    return next(x.email for x in demo.LOGINS if x.role == role and clinic in x.clinics.split(","))
