"""A real browser for the console and GraphiQL tests: Debian's Chromium, driven by Playwright
(its own browser download does not work here, so `executable_path` points at the system one),
against a real `kai serve`.

Every page is watched: a request to anywhere but the server under test is refused and fails
the test (the console and GraphiQL must work with no internet), and so does an uncaught
script error. Each test saves screenshots (`shoot`) into KAI_TEST_SCREENSHOTS, default
a folder under the system's temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import clean_env, kai_serve

# As FACTS.md found for Chromium run as root on a machine with no internet: without the
# background-networking flags it tries Google's hosts at every start.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Names for pages on "other origins" in one machine (tests/test_cors.py): *.test is
    # loopback, yet not by name, so kAI treats such pages as any other site's.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]
SCREENSHOTS = Path(
    os.environ.get("KAI_TEST_SCREENSHOTS") or Path(tempfile.gettempdir()) / "kai-screenshots"
)


def chromium_path() -> str:
    path = os.environ.get("KAI_TEST_CHROMIUM") or shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: .ci/run installs Debian's chromium")
        pytest.skip("no `chromium` on PATH (apt-get install chromium)")
    return path


@dataclass
class PageWatch:
    """What a page did that a test must not let pass: requests that left the server under
    test, and uncaught script errors."""

    origins: tuple[str, ...]
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def allowed(self, url: str) -> bool:
        return url.startswith(("data:", "blob:", "about:")) or any(
            url.startswith(origin) for origin in self.origins
        )

    def check(self) -> None:
        assert not self.outside, f"requests left the machine: {self.outside}"
        assert not self.errors, f"uncaught script errors: {self.errors}"


def watch(context: object, *origins: str) -> PageWatch:
    """Refuses, and records, every request of `context` (a Playwright BrowserContext) that
    goes anywhere but `origins` (http and ws URLs of the servers under test)."""
    from playwright.sync_api import BrowserContext, Page, Route

    assert isinstance(context, BrowserContext)
    websocket_origins = tuple(re.sub(r"^http", "ws", origin) for origin in origins)
    page_watch = PageWatch(origins=(*origins, *websocket_origins))

    def route(route: Route) -> None:
        url = route.request.url
        if page_watch.allowed(url):
            route.continue_()
        else:
            page_watch.outside.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", route)

    def on_page(page: Page) -> None:
        page.on("pageerror", lambda error: page_watch.errors.append(str(error)))

    context.on("page", on_page)
    return page_watch


def shoot(page: object, name: str) -> Path:
    """Saves a screenshot of `page` as <name>.png in SCREENSHOTS; returns its path."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# axe-core (a dev dependency of console/): the accessibility rules of WCAG 2.x A and AA.
AXE = Path(__file__).resolve().parents[2] / "console" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on `page` as it is now, one line each
    ("rule: what, where"). Evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern (a <script> tag would be refused)."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("console/node_modules has no axe-core: .ci/run runs npm ci there")
        pytest.skip("run `npm ci` in console/ for axe-core")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async (rules) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: rules}});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target).join(", ")}`);
        }""",
        AXE_RULES,
    )
    return list(found)


def overflows_horizontally(page: Any) -> bool:
    """True when the page is wider than its window (a phone's reader must scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"))


@contextmanager
def third_party_pages(html: str) -> Iterator[int]:
    """Serves `html` at every path on a free loopback port (a site other than kAI, once
    reached by a *.test name); yields the port."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module (each test opens its own context: no shared storage)."""
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    from tests.support.console import UI_TIMEOUT_MS

    # expect()'s own default is 5 s: too short on a busy two-core machine for what waits on
    # the server (a query's answer, a live event). Locator waits already default to 30 s.
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def serving(tmp_path_factory: pytest.TempPathFactory, **settings: str) -> Iterator[str]:
    """A real `kai serve` in development (SQLite, local files, in-process tasks), its
    console at / and GraphiQL at /graphql, with `settings` (KAI_* variables) besides;
    yields its base URL."""
    data = tmp_path_factory.mktemp("kai-browser")
    env = clean_env(KAI_ENV="development", KAI_DATA_DIR=str(data), **settings)
    with kai_serve(env) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`serving()` for a test module; yields its base URL."""
    with serving(tmp_path_factory) as url:
        yield url
