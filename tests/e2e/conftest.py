"""Playwright on Debian's Chromium, with phone-sized visitors of the live server."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
#: A mid-size phone held upright (an iPhone 12-14's CSS viewport).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
}
TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, shared by the run. Without it these tests are skipped on
    a developer's machine but fail in CI (CI set), where it must be installed."""
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server):
    """Opens a new phone (browser context) on the live server each call: its own
    cookies, relative URLs, bounded waits. All are closed after the test, before
    the server stops."""
    contexts = []

    def open_phone():
        context = browser.new_context(**PHONE, base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """The gitignored folder where tests leave screenshots for humans."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
