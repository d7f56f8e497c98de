"""A friend who comes back to a shop link is answered from the kept page (in front
of Flask, gzip pieced together from parts): the phone shows it and works with it
exactly as with Flask's."""

import re

from playwright.sync_api import Page, Response, expect

from tests.e2e.conftest import FITS, add_to_cart_from_shop, record_failures
from tests.live_server import flask_command

#: Flask answers Chromium in zstd or brotli; only a kept page answers in gzip.
KEPT = "gzip"
#: A phone's browser, not headless Chromium's own agent: a bot's visits do not
#: count, and a visit not counted is never answered from a kept page.
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)


def reload_until_kept(page: Page) -> Response:
    """Reload until a kept page answers. Each of the two workers answers the
    returning visitor through Flask once (counting the visit, remembering the
    visitor) after the session settles on the second view, so the fifth view
    is kept at the latest."""
    for _ in range(5):
        response = page.reload()
        assert response.ok
        if response.headers.get("content-encoding") == KEPT:
            return response
    raise AssertionError("no view of the shop page was answered from a kept page")


def test_a_returning_friend_gets_the_kept_shop_page(live_server, phone, artifacts):
    """Mei's friend opens her shop link again and again: the kept page shows her
    face, notes and products and fits the phone; its share button loads the share
    panel; its form token works (language switch); a product added to the cart
    shows on the kept page's badge."""
    flask_command(live_server.env, "demo")
    friend = phone(user_agent=ANDROID).new_page()
    failures = record_failures(friend)
    # Routed requests skip the browser's cache: every view is a whole answer
    # (a reload would otherwise be a 304 from the kept page).
    friend.route(re.compile(r"/s/mei$"), lambda route: route.continue_())
    first = friend.goto("/s/mei")
    assert first.headers.get("content-encoding") != KEPT

    reload_until_kept(friend)
    expect(friend.get_by_role("heading", name=re.compile("Mei's"))).to_be_visible()
    expect(friend.locator("li.card").first).to_be_visible()
    expect(friend.locator("li.card .note-excerpt").first).to_be_visible()
    assert friend.evaluate(FITS), "the kept shop page is wider than the phone"
    friend.screenshot(path=artifacts / "kept-page-journey.png", full_page=True)

    friend.get_by_role("link", name="Share").first.tap()
    expect(friend.locator("[data-share-link]")).to_have_value(
        f"{live_server.url}/s/mei"
    )

    friend.get_by_role("button", name="中文").tap()  # posts the kept page's token
    expect(friend.locator("html")).to_have_attribute("lang", "zh-CN")
    reload_until_kept(friend)
    expect(friend.get_by_role("link", name=re.compile("购物车"))).to_be_visible()
    friend.get_by_role("button", name="English").tap()

    add_to_cart_from_shop(friend, "mei", "Longjing green tea")
    friend.goto("/s/mei")
    reload_until_kept(friend)
    expect(friend.locator("#cart-badge")).to_have_text("1")
    # Photos still loading when the phone moved on are cut short by the browser.
    assert [f for f in failures if not f.startswith("net::ERR_ABORTED")] == []
