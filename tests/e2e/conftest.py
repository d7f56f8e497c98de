"""Playwright on Debian's Chromium, with phone-sized visitors of the live server,
and the steps several journeys take."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import require
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, PHONE

TIMEOUT_MS = 10_000
#: True when the page is no wider than the phone (nothing scrolls sideways).
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, shared by the run. Without it these tests are skipped on
    a developer's machine but fail in CI (CI set), where it must be installed."""
    require(
        Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server):
    """Opens a new phone (browser context) on the live server each call: its own
    cookies, relative URLs, bounded waits, any other Playwright context options.
    All are closed after the test, before the server stops."""
    contexts = []

    def open_phone(**options):
        context = browser.new_context(**PHONE, **options, base_url=live_server.url)
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


def record_failures(page: Page) -> list[str]:
    """Collect every failed request and error answer the page gets (the browser's
    own favicon probe aside), and every other error the browser logs, such as
    something the Content-Security-Policy refused."""
    failures: list[str] = []

    def on_console(message):
        # An error answer is logged too: it is counted once, from the response.
        if message.type == "error" and not message.text.startswith("Failed to load"):
            failures.append(message.text)

    page.on("console", on_console)

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            failures.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    page.on(
        "requestfailed",
        lambda request: failures.append(f"{request.failure} {request.url}"),
    )
    return failures


def sign_in(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email or mobile number").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").tap()
    expect(page).not_to_have_url(re.compile(r"/login"))


def add_to_cart_from_shop(customer: Page, slug: str, name: str) -> None:
    """From the shop page at /s/<slug>, open the product and add one to the
    cart."""
    customer.locator("li.card", has_text=name).get_by_role("link").tap()
    expect(customer).to_have_url(re.compile(rf"/s/{slug}/p/[\w-]+$"))
    expect(customer.get_by_role("heading", name=re.compile(name))).to_be_visible()
    expect(customer.locator("blockquote.note")).to_be_visible()  # the seller's words
    customer.get_by_role("button", name="Add to cart").tap()
    expect(customer.locator("#add-to-cart .added")).to_contain_text("Added")
