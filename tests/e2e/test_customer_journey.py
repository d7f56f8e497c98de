"""A friend's link to a paid, shipped order: customer, operator and seller phones."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import FITS, add_to_cart_from_shop, record_failures, sign_in
from tests.live_server import flask_command

ORDER_PAGE = re.compile(r"/o/(\d{6}-\d{5})/[^/?#]+$")
#: Two of Mei's picks (demo data), as their names end.
PICKS = ["Longjing green tea", "Jasmine tea"]
MOBILE = "13800138000"
#: A note a phone's keyboard cannot break: it must wrap, not widen the page.
NOTE = "https://example.com/" + "a" * 150
MASKED = "138****8000"
TRACKING = "SF1234567890"


def test_customer_buys_from_a_shop_link_and_follows_the_order(
    live_server, phone, artifacts
):
    """A customer opens Mei's shop link, adds two products to the cart and checks
    out by transfer, landing on the order page; the operator finds the order in
    the queue, marks it paid and ships it with a tracking number; the customer's
    page, reloaded, shows that number; Mei sees the order among hers with the
    customer's mobile number masked. No request on the way fails."""
    flask_command(live_server.env, "demo")

    customer = phone().new_page()
    customer_failures = record_failures(customer)
    customer.goto("/s/mei")
    expect(customer.get_by_role("heading", name=re.compile("Mei's"))).to_be_visible()
    add_to_cart_from_shop(customer, "mei", PICKS[0])
    customer.go_back()
    add_to_cart_from_shop(customer, "mei", PICKS[1])
    customer.get_by_role("link", name="View cart").tap()
    expect(customer).to_have_url(re.compile(r"/cart$"))
    lines = customer.locator("li.cart-line")
    expect(lines).to_have_count(2)
    for name in PICKS:
        expect(lines.filter(has_text=name)).to_have_count(1)
    expect(customer.locator("#cart")).to_contain_text("Mei's")  # buying from her
    customer.screenshot(path=artifacts / "customer-journey-cart.png", full_page=True)

    customer.get_by_role("link", name="Check out").tap()
    expect(customer).to_have_url(re.compile(r"/checkout$"))
    customer.get_by_label("Your name").fill("Wang Fang")
    customer.get_by_label("Mobile number").fill(MOBILE)
    customer.get_by_label("Delivery address").fill(
        "Room 1203, 88 Wensan Road, Xihu District, Hangzhou, Zhejiang"
    )
    customer.get_by_label("Note (optional)").fill(NOTE)
    customer.get_by_role("radio", name=re.compile("Pay by transfer")).check()
    customer.screenshot(
        path=artifacts / "customer-journey-checkout.png", full_page=True
    )
    customer.get_by_role("button", name="Place order").tap()
    expect(customer).to_have_url(ORDER_PAGE)
    number = ORDER_PAGE.search(customer.url).group(1)
    expect(customer.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(customer.locator(".state")).to_contain_text("waiting for payment")
    expect(customer.get_by_role("heading", name="How to pay")).to_be_visible()
    order_lines = customer.locator(".order-lines li")
    expect(order_lines).to_have_count(2)
    for name in PICKS:
        expect(order_lines.filter(has_text=name)).to_have_count(1)
    customer.screenshot(path=artifacts / "customer-journey-order.png", full_page=True)
    assert customer.evaluate(FITS), "the order page is wider than the phone"

    operator = phone().new_page()
    operator_failures = record_failures(operator)
    sign_in(operator, live_server.operator_email, live_server.operator_password)
    operator.get_by_role("link", name="Back office").tap()
    operator.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Orders"
    ).tap()
    expect(operator).to_have_url(re.compile(r"/admin/orders$"))
    operator.get_by_role("link", name=number).tap()
    expect(operator).to_have_url(re.compile(r"/admin/orders/\d+$"))
    detail = operator.locator("#order-detail")
    expect(detail.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(detail).to_contain_text("Wang Fang")
    expect(detail).to_contain_text("Mei's")  # the shop credited with the sale
    expect(detail).to_contain_text(NOTE)
    assert operator.evaluate(FITS), "the order with a long note is wider than the phone"
    detail.get_by_role("button", name="Mark paid").tap()
    expect(operator.locator("#order-detail .badge")).to_have_text("Paid")
    detail = operator.locator("#order-detail")
    detail.get_by_label("Carrier").fill("SF Express")
    detail.get_by_label("Tracking number").fill(TRACKING)
    detail.get_by_role("button", name="Ship", exact=True).tap()
    expect(operator.locator("#order-detail .badge")).to_have_text("Shipped")
    expect(operator.locator("#order-detail")).to_contain_text(TRACKING)
    operator.screenshot(path=artifacts / "customer-journey-admin.png", full_page=True)

    customer.reload()
    expect(customer.locator(".state")).to_contain_text("shipped")
    expect(customer.locator(".parcel .tracking")).to_have_text(TRACKING)
    expect(customer.locator(".parcel")).to_contain_text("SF Express")
    expect(customer.locator(".timeline")).to_contain_text("Payment received")
    customer.screenshot(path=artifacts / "customer-journey-shipped.png", full_page=True)

    seller = phone().new_page()
    seller_failures = record_failures(seller)
    sign_in(seller, "mei@example.com", "seller-demo")
    seller.goto("/me")
    seller.get_by_role("navigation", name="My shop").get_by_role(
        "link", name="Orders"
    ).tap()
    expect(seller).to_have_url(re.compile(r"/me/orders$"))
    row = seller.locator("ul.seller-orders li.row", has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(MASKED)
    expect(row).to_contain_text("Wang Fang")
    expect(seller.locator("main")).not_to_contain_text(MOBILE)
    expect(seller.locator("main")).not_to_contain_text("Wensan Road")
    seller.screenshot(path=artifacts / "customer-journey-seller.png", full_page=True)

    assert not customer_failures
    assert not operator_failures
    assert not seller_failures
