"""Real-browser fixtures: the tiny demo ledger served over HTTP, headless Chromium.

The browser is Debian's `chromium` (QMS_CHROMIUM, else `chromium` on PATH), driven by
Playwright's Python client through `executable_path`: no browser is downloaded.
Chinese needs `fonts-noto-cjk` beside it, else it renders as boxes. Without Chromium
or Playwright the tests skip with the reason, except when CI is set: then they fail.

- `live_server`: the tiny demo (built once per session, the way `qms demo --size tiny`
  builds it, with cheap password hashing) served by `web.app.create_app` on a free
  port of 127.0.0.1, in a thread of the test process.
- `browser`: one headless Chromium per session; `context` and `page` are new for each
  test (`page_in(locale)` opens more, e.g. one per language).
- `page_log`: the console messages, page errors and Content-Security-Policy
  violations of every page the test opened; a violation the test did not expect
  fails it.
- `shot(name)`: a PNG screenshot under tests/browser/output/<test>/NN-name.png.
- `axe_check(page)`: axe-core finds no WCAG 2.1 A or AA violation on the page.

Every test in this folder is marked `browser` and put in one xdist group, so that a
parallel run starts one server and one browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from ledger.cli.context import ensure_service_key, make_instance_folder
from ledger.clock import FixedClock
from ledger.service import Service
from ledger.servicekey.keyfile import KeyFile
from ledger.settings import LedgerSettings
from ledger.store import EventStore, create_engine_for, migrate
from projections.runner import InlineProjector
from projections.tables import create_all
from web.app import STORE_EXTENSION, create_app
from web.demo import DemoSummary, demo_password, demo_start, fill_demo

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
    )
    from playwright.sync_api._generated import EventContextManager

HERE = Path(__file__).parent
OUTPUT = HERE / "output"
ORIGIN = "browser.test.example/ledger"
# The demo's passwords are hashed fast; each stored hash names its own cost.
CHEAP_SCRYPT = 2**10
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Chromium reaches out to nothing but the test server: no updates, sync or reports.
QUIET_CHROMIUM = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-sync",
    "--disable-quic",
    "--disable-gpu",
    "--no-first-run",
]
CSP_MARK = "qms-csp-violation "
# Reports every CSP violation of the page to the console (run before the page's own
# scripts; Playwright injects it, so the page's CSP does not apply to it).
CSP_LISTENER = (
    "document.addEventListener('securitypolicyviolation', (e) => {"
    f"  console.error({json.dumps(CSP_MARK)} + JSON.stringify({{"
    "    directive: e.effectiveDirective, blocked: e.blockedURI,"
    "    source: e.sourceFile, line: e.lineNumber, sample: e.sample}));"
    "});"
)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this folder `browser` and keep them on one xdist worker."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable: QMS_CHROMIUM, else `chromium` on PATH."""
    configured = os.environ.get("QMS_CHROMIUM")
    found = configured or shutil.which("chromium")
    if not found or not os.access(found, os.X_OK):
        _missing(
            f"no Chromium at QMS_CHROMIUM={configured}"
            if configured
            else "no `chromium` on PATH (apt-get install chromium fonts-noto-cjk)"
        )
    assert found is not None
    return found


@pytest.fixture(scope="session")
def playwright(chromium_path: str) -> Iterator[Playwright]:
    """Playwright's driver, started once per session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the `playwright` package is not installed (pip install -e '.[dev]')")
        raise  # pragma: no cover - _missing skips or fails
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    """One headless Chromium for the session (never downloaded: Debian's own)."""
    launched = playwright.chromium.launch(
        executable_path=chromium_path, headless=True, args=QUIET_CHROMIUM
    )
    try:
        yield launched
    finally:
        launched.close()


@dataclass(frozen=True)
class LiveServer:
    """The application on the tiny demo ledger, reachable over HTTP."""

    url: str
    app: Flask
    settings: LedgerSettings
    demo: DemoSummary

    def password(self, user_id: str) -> str:
        """The demo password of `user_id`."""
        return demo_password(user_id, self.demo.seed)


def build_demo(settings: LedgerSettings) -> DemoSummary:
    """Fill a new ledger in `settings`' instance as `qms demo --size tiny` does."""
    make_instance_folder(settings)
    ensure_service_key(settings)
    engine = create_engine_for(settings.database_url)
    try:
        migrate(engine)
        create_all(engine)
        clock = FixedClock(demo_start("tiny"))
        key = KeyFile(settings.signing_key_file).load()
        store = EventStore(engine, key, settings.origin, clock=clock)
        store.initialize()
        service = Service(
            store, projectors=[InlineProjector()], clock=clock, scrypt_n=CHEAP_SCRYPT
        )
        return fill_demo(service, store, seed=1, size="tiny", clock=clock)
    finally:
        engine.dispose()


@contextmanager
def serve_demo(folder: Path) -> Iterator[LiveServer]:
    """The app from `create_app` on a new tiny demo in `folder`, on a free local port."""
    instance = folder / "instance"
    environ = {
        "QMS_INSTANCE": str(instance),
        "QMS_DATABASE_URL": f"sqlite:///{instance / 'qms.sqlite3'}",
        "QMS_ORIGIN": ORIGIN,
    }
    settings = LedgerSettings.from_env(environ)
    demo = build_demo(settings)
    app = create_app(settings)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="browser-test-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, settings, demo)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions[STORE_EXTENSION].engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The tiny demo served for every test that only reads it (nothing may change it)."""
    with serve_demo(tmp_path_factory.mktemp("browser")) as server:
        yield server


@pytest.fixture
def own_live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A tiny demo of the test's own, for a test that records something."""
    with serve_demo(tmp_path) as server:
        yield server


@dataclass
class PageLog:
    """What the pages of one test said: console messages, errors, CSP violations."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    violations_expected: bool = False

    def watch(self, page: Page) -> None:
        """Record what `page` reports from now on (its CSP violations included)."""
        page.add_init_script(CSP_LISTENER)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def expect_violation(self, page: Page) -> EventContextManager[ConsoleMessage]:
        """`with page_log.expect_violation(page): ...` waits for a CSP violation there.

        The test then expects violations: they no longer fail it.
        """
        self.violations_expected = True
        return page.expect_console_message(lambda m: m.text.startswith(CSP_MARK))

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if text.startswith(CSP_MARK):
            self.csp_violations.append(json.loads(text.removeprefix(CSP_MARK)))
        else:
            self.console.append(f"{message.type}: {text}")


@pytest.fixture
def page_log() -> PageLog:
    """The log of the test's pages; `page` and `page_in` feed it."""
    return PageLog()


PageFactory = Callable[..., "Page"]


@pytest.fixture
def page_in(
    browser: Browser, live_server: LiveServer, page_log: PageLog
) -> Iterator[PageFactory]:
    """Open pages in a new browser context per call: `page_in("en")`, `page_in("zh-CN")`.

    `server=` opens them on another live server (`own_live_server`) than the shared one;
    `storage_state=` starts them with the cookies of an earlier context (signed in).

    Relative URLs go to the live server. A CSP violation that the test did not
    expect (`page_log.violations_expected`) fails it.
    """
    contexts: list[BrowserContext] = []

    def open_page(
        locale: str = "zh-CN",
        server: LiveServer | None = None,
        storage_state: Any = None,
    ) -> Page:
        context = browser.new_context(
            base_url=(server or live_server).url,
            locale=locale,
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 800},
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page_log.watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    if page_log.csp_violations and not page_log.violations_expected:
        pytest.fail(f"Content-Security-Policy violations: {page_log.csp_violations}")


@pytest.fixture
def page(page_in: PageFactory) -> Page:
    """A page in a new browser context, in Chinese (the default language)."""
    return page_in("zh-CN")


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """tests/browser/output/<test name>/, emptied for this run of the test."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    folder = OUTPUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


Shot = Callable[..., Path]


@pytest.fixture
def shot(request: pytest.FixtureRequest, output_dir: Path) -> Shot:
    """`shot(name)` saves a full-page PNG of `page` (or `of=`) as NN-name.png.

    `page` is opened only for a shot without `of=`.
    """
    taken: list[Path] = []

    def take(name: str, of: Page | None = None) -> Path:
        slug = re.sub(r"[^\w.-]+", "-", name).strip("-")
        path = output_dir / f"{len(taken) + 1:02d}-{slug}.png"
        shown = of if of is not None else request.getfixturevalue("page")
        shown.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


AxeCheck = Callable[["Page"], None]


@pytest.fixture(scope="session")
def axe_check() -> AxeCheck:
    """`axe_check(page)` asserts that axe-core finds no WCAG 2.1 A/AA violation."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        _missing("the `axe-playwright-python` package is not installed")
        raise  # pragma: no cover - _missing skips or fails
    axe = Axe()
    options = {
        "runOnly": {"type": "tag", "values": WCAG_21_AA},
        "resultTypes": ["violations"],
    }

    def check(page: Page) -> None:
        results = axe.run(page, options=options)
        assert results.violations_count == 0, f"{page.url}: {results.generate_report()}"

    return check
