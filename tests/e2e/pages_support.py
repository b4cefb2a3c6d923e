"""Playwright with Debian's Chromium for the page tests: the browser, pages that record their
JavaScript errors, sign-in and screenshots.

`playwright install` cannot download browsers here, so the tests drive the system's
Chromium (`/usr/bin/chromium`, or `RESCUE_CHROMIUM`); without it, or without the
`playwright` package, the page tests are skipped (and fail under CI, like PostgreSQL).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.live import LiveServer, seed
from tests.support import free_port, sqlite_url_for

CHROMIUM = os.environ.get("RESCUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# What the browser itself logs as console errors about the network: an HTTP error answer
# (a 422 the page shows next to the fields, a 409 on replay) or a request made while the
# test holds the context offline. These are not errors of the page's code.
NETWORK_NOISE = [
    re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d"),
    re.compile(r"^Failed to load resource: net::ERR_INTERNET_DISCONNECTED"),
    re.compile(r"^WebSocket connection to '.*' failed"),
]


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed: pip install -e '.[test]'")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _skip_or_fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """JavaScript errors of the pages of a test: uncaught exceptions and console errors."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any, name: str) -> Any:
        page.on("pageerror", lambda error: self.items.append(f"{name}: uncaught {error}"))

        def console(message: Any) -> None:
            if message.type == "error" and not any(p.search(message.text) for p in NETWORK_NOISE):
                self.items.append(f"{name}: console error {message.text}")

        page.on("console", console)
        return page

    def assert_none(self) -> None:
        assert self.items == [], "JavaScript errors:\n" + "\n".join(self.items)


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    errors = PageErrors()
    yield errors
    errors.assert_none()


def open_page(context: Any, url: str, errors: PageErrors, name: str) -> Any:
    page = errors.watch(context.new_page(), name)
    page.goto(url)
    return page


def sign_in(page: Any, token: str) -> None:
    from playwright.sync_api import expect

    form = page.locator("#signin")
    expect(form).to_be_visible(timeout=10_000)
    form.locator("input[name=token]").fill(token)
    form.locator("input[name=token]").press("Enter")
    expect(page.locator("#app")).to_be_visible(timeout=10_000)
    wait_ready(page)


def wait_ready(page: Any) -> None:
    """Waits until the page's script has wired every control (it marks the body)."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=10_000)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def seeded_server(where: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A real server on a SQLite store in `where` with the demo network and a token per user."""
    url, key = sqlite_url_for(where / "rescue.db"), new_key()
    tokens = seed(Settings(db=url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=url, key=key, port=free_port(), log_path=where / "server.log")
    live.start()
    try:
        yield live, tokens
    finally:
        live.stop()
