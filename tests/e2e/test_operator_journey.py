"""An operator's first product, made on a phone, then seen by a customer's phone."""

import re

from PIL import Image
from playwright.sync_api import Locator, expect

from tests.e2e.conftest import record_failures

#: A photo counts as shown once the browser has fetched and decoded it.
DECODED = "img => img.complete && img.naturalWidth > 0"


def expect_photo_shown(image: Locator) -> None:
    """The <img> is on screen and decoded, from one of the uploaded sizes."""
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    image.page.wait_for_function(DECODED, arg=image.element_handle())
    assert "/media/" in image.evaluate("img => img.currentSrc")


def test_operator_creates_a_product_with_a_photo_on_a_phone(
    live_server, phone, tmp_path, artifacts
):
    """On a phone, a new operator signs in, opens the back office, creates a
    product, uploads a photo and sees it; then an anonymous phone finds the product
    in the shop with its photo loaded, and opens its page. Proves the whole path
    through a real gunicorn: sign-in, CSRF, forms, upload, resizing, media serving,
    and that no request on the way fails."""
    photo = tmp_path / "jasmine.png"
    Image.new("RGB", (1200, 900), (60, 140, 90)).save(photo)
    name = "Jasmine green tea"

    operator = phone().new_page()
    operator_failures = record_failures(operator)
    operator.goto("/login")
    operator.get_by_label("Email or mobile number").fill(live_server.operator_email)
    operator.get_by_label("Password").fill(live_server.operator_password)
    operator.get_by_role("button", name="Sign in").tap()
    expect(operator).to_have_url(re.compile(r"/admin/$"))
    expect(operator.get_by_role("heading", name="Overview")).to_be_visible()
    operator.get_by_role("link", name="Back office").tap()
    operator.get_by_role("link", name="Products", exact=True).tap()
    operator.get_by_role("link", name="New product").tap()
    expect(operator.get_by_role("heading", name="New product")).to_be_visible()
    operator.get_by_label("Name", exact=True).fill(name)
    operator.get_by_label("Price", exact=True).fill("12.50")
    operator.get_by_label("Stock", exact=True).fill("20")
    operator.get_by_label("Description").fill("Spring harvest, scented twice.")
    operator.get_by_role("button", name="Create product").tap()
    expect(operator).to_have_url(re.compile(r"/admin/products/\d+$"))
    expect(operator.get_by_role("heading", name=name)).to_be_visible()
    expect(operator.get_by_text("No photos yet.")).to_be_visible()
    operator.get_by_label("Photo", exact=True).set_input_files(photo)
    operator.get_by_role("button", name="Upload photo").tap()
    expect(operator.get_by_text("No photos yet.")).to_be_hidden()
    expect_photo_shown(operator.get_by_role("img", name="Photo 1"))
    operator.screenshot(path=artifacts / "operator-journey-admin.png", full_page=True)
    assert not operator_failures

    customer = phone().new_page()
    customer_failures = record_failures(customer)
    customer.goto("/")
    card = customer.locator("li.card", has_text=name)
    expect(card.locator("span.name")).to_have_text(name)
    expect_photo_shown(card.locator("img"))
    card.get_by_role("link").tap()
    expect(customer).to_have_url(re.compile(r"/p/jasmine-green-tea$"))
    expect(customer.get_by_role("heading", name=name)).to_be_visible()
    expect(customer.locator(".price")).to_contain_text("12.50")
    expect_photo_shown(customer.locator(".gallery img").first)
    customer.screenshot(path=artifacts / "operator-journey.png", full_page=True)
    assert not customer_failures
