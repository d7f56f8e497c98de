"""A recruited seller's sale through the referral ledger, on four phones.

Mei opens a shop; Qiang opens his from the link on Mei's shop page, so Mei
recruited him. A customer buys three of a product from Qiang's shop link and the
operator marks the order paid: Qiang sees 10% pending, Mei 2%, rounded down to the
fen. With the after-sale window at 0 days the operator ships and completes the
order, and Qiang's next look at his earnings finds the commission available; the
operator pays it out; a refund after that claws part of it back, taking Qiang's
balance below zero. ``flask reconcile`` then finds the ledger whole.
"""

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import FITS, add_to_cart_from_shop, record_failures, sign_in
from tests.live_server import flask_command

PRODUCT = "Osmanthus oolong"
PRICE = "41.15"
MEI_SHOP, MEI_SLUG = "Mei's tea corner", "mei-s-tea-corner"
QIANG_SHOP, QIANG_SLUG = "Qiang's home picks", "qiang-s-home-picks"
ORDER_PAGE = re.compile(r"/o/(\d{6}-\d{5})/[^/?#]+$")
#: Three at ¥41.15 is ¥123.45: Qiang's 10% is ¥12.345, Mei's 2% ¥2.469, both
#: rounded down.
TOTAL = "CN¥123.45"
QIANG_EARNS = "CN¥12.34"
MEI_EARNS = "CN¥2.46"
#: One refunded leaves ¥82.30, on which Qiang is owed ¥8.23 and Mei ¥1.646 →
#: ¥1.64; the rest comes back from what is already theirs.
REFUNDED = "CN¥41.15"
QIANG_CLAWED_BACK = "-CN¥4.11"
MEI_CLAWED_BACK = "-CN¥0.82"
MEI_LEFT = "CN¥1.64"
PAYOUT_REFERENCE = "WX4200001234"
#: Nothing on the page is wider than the phone (no sideways scrolling).


def open_shop(page: Page, name: str, email: str, shop: str) -> None:
    """Fill /join (already open, maybe with a recruiter) and open the shop."""
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Mobile number or email").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_label("Shop name").fill(shop)
    page.get_by_role("button", name="Open my shop").tap()
    expect(page).to_have_url(re.compile(r"/me/catalog$"))


def open_earnings(seller: Page) -> None:
    seller.goto("/me")
    seller.get_by_role("navigation", name="My shop").get_by_role(
        "link", name="Earnings"
    ).tap()
    expect(seller).to_have_url(re.compile(r"/me/earnings$"))
    expect(seller.get_by_role("heading", name="Earnings")).to_be_visible()


def balance(page: Page, name: str) -> Locator:
    """The amount shown under the balance called ``name``."""
    term = page.locator("dt").filter(has_text=re.compile(f"^{name}$"))
    return page.locator("dl.balances > div").filter(has=term).locator("dd")


def ledger_line(page: Page, reason: str) -> Locator:
    """The ledger lines whose reason is ``reason``."""
    strong = page.locator("strong").filter(
        has_text=re.compile(f"^{re.escape(reason)}$")
    )
    return page.locator("ul.ledger-lines > li.row").filter(has=strong)


def expect_line(page: Page, reason: str, amount: str, *details: str) -> None:
    """Exactly one ledger line for ``reason``, of ``amount``, naming ``details``."""
    line = ledger_line(page, reason)
    expect(line).to_have_count(1)
    expect(line.locator(".amount")).to_have_text(amount)
    for detail in details:
        expect(line).to_contain_text(detail)


def open_order(operator: Page, number: str) -> Locator:
    """From any back-office page, find the order by its number and open it;
    returns its detail block."""
    operator.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Orders"
    ).tap()
    search = operator.get_by_role("searchbox", name="Search orders")
    search.fill(number)
    search.press("Enter")  # with htmx or without (before its deferred script runs)
    expect(operator).to_have_url(re.compile(rf"q={number}"))
    operator.get_by_role("link", name=number).tap()
    expect(operator).to_have_url(re.compile(r"/admin/orders/\d+$"))
    return operator.locator("#order-detail")


def test_recruited_sellers_commission_is_held_paid_out_and_clawed_back(
    live_server, phone, artifacts
):
    """Through the real pages only: a sale in Qiang's shop earns him and his
    recruiter Mei pending commission once paid, Qiang's becomes available when
    the after-sale window has passed, is paid out, and is partly clawed back by
    a refund; every amount is the rule's, no request fails, the earnings and
    payout pages fit a phone, and the ledger reconciles at the end."""
    operator = phone().new_page()
    operator_failures = record_failures(operator)
    sign_in(operator, live_server.operator_email, live_server.operator_password)
    operator.get_by_role("link", name="Back office").tap()
    operator.get_by_role("link", name="Products", exact=True).tap()
    operator.get_by_role("link", name="New product").tap()
    operator.get_by_label("Name", exact=True).fill(PRODUCT)
    operator.get_by_label("Price", exact=True).fill(PRICE)
    operator.get_by_label("Stock", exact=True).fill("20")
    operator.get_by_role("button", name="Create product").tap()
    expect(operator.get_by_role("heading", name=PRODUCT)).to_be_visible()

    # Mei opens her shop; Qiang, sent its link, opens his from it.
    mei = phone().new_page()
    mei_failures = record_failures(mei)
    mei.goto("/join")
    open_shop(mei, "Li Mei", "mei@example.com", MEI_SHOP)
    qiang = phone().new_page()
    qiang_failures = record_failures(qiang)
    qiang.goto(f"/s/{MEI_SLUG}")
    expect(qiang.get_by_role("heading", name=MEI_SHOP)).to_be_visible()
    qiang.get_by_role("link", name="Open your own shop — it's free").tap()
    expect(qiang).to_have_url(re.compile(rf"/join\?ref={MEI_SLUG}$"))
    expect(qiang.get_by_text(f"Invited by {MEI_SHOP}")).to_be_visible()
    open_shop(qiang, "Wang Qiang", "qiang@example.com", QIANG_SHOP)
    pick = qiang.locator("#catalog-results li", has_text=PRODUCT)
    pick.get_by_role("button", name=re.compile("^Add")).tap()
    expect(pick.get_by_text("In your shop")).to_be_visible()
    qiang.get_by_role("link", name="My products").first.tap()
    qiang.wait_for_load_state()  # htmx (a deferred script) is ready to save in place
    item = qiang.locator("#curation li.item", has_text=PRODUCT)
    item.get_by_label("Your note").fill("Honeyed, for slow afternoons.")
    item.get_by_role("button", name="Save note").tap()
    expect(qiang.locator("#curation li.item").get_by_text("Saved.")).to_be_visible()

    operator.get_by_role("link", name="Sellers").tap()
    row = operator.locator("li.row", has_text=QIANG_SHOP)
    expect(row).to_contain_text(f"Recruited by {MEI_SHOP}")

    # The customer buys three from Qiang's link, paying by transfer.
    customer = phone().new_page()
    customer_failures = record_failures(customer)
    customer.goto(f"/s/{QIANG_SLUG}")
    add_to_cart_from_shop(customer, QIANG_SLUG, PRODUCT)
    customer.get_by_role("link", name="View cart").tap()
    for quantity in ("2", "3"):
        customer.get_by_role("button", name=f"One more {PRODUCT}").tap()
        expect(customer.get_by_label(f"Quantity of {PRODUCT}")).to_have_value(quantity)
    expect(customer.locator("li.cart-line .line-total")).to_have_text(TOTAL)
    expect(customer.locator("#cart")).to_contain_text(QIANG_SHOP)
    customer.get_by_role("link", name="Check out").tap()
    customer.get_by_label("Your name").fill("Zhang Wei")
    customer.get_by_label("Mobile number").fill("13700137000")
    customer.get_by_label("Delivery address").fill(
        "Room 502, 18 Jiefang Road, Shangcheng District, Hangzhou"
    )
    customer.get_by_role("radio", name=re.compile("Pay by transfer")).check()
    customer.get_by_role("button", name="Place order").tap()
    expect(customer).to_have_url(ORDER_PAGE)
    number = ORDER_PAGE.search(customer.url).group(1)
    expect(customer.locator(".state")).to_contain_text("waiting for payment")

    # Paid: both sellers' commission is pending.
    detail = open_order(operator, number)
    expect(detail).to_contain_text(f"via {QIANG_SHOP}")
    detail.get_by_role("button", name="Mark paid").tap()
    expect(operator.locator("#order-detail .badge")).to_have_text("Paid")
    owed = operator.locator("#order-detail h2:text-is('Commission') + ul > li")
    expect(owed.filter(has_text=QIANG_SHOP).locator(".amount")).to_have_text(
        QIANG_EARNS
    )
    expect(owed.filter(has_text=f"{MEI_SHOP} · recruiter")).to_contain_text(MEI_EARNS)

    open_earnings(qiang)
    expect(balance(qiang, "Pending")).to_have_text(QIANG_EARNS)
    expect(balance(qiang, "Available")).to_have_text("CN¥0.00")
    expect_line(
        qiang,
        "Commission (pending)",
        f"+{QIANG_EARNS}",
        f"Order {number}",
        f"{PRODUCT} × 3",
        f"10% of {TOTAL}",
    )
    open_earnings(mei)
    expect(balance(mei, "Pending")).to_have_text(MEI_EARNS)
    expect_line(
        mei,
        "Commission (pending)",
        f"+{MEI_EARNS}",
        f"Order {number}",
        f"2% of {TOTAL}: sold by {QIANG_SHOP}, whom you recruited",
    )
    assert mei.evaluate(FITS), "Mei's earnings are wider than her phone"

    # No after-sale window: completing the order lets the commission go.
    operator.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Payouts"
    ).tap()
    operator.get_by_role("link", name="Commission settings").tap()
    expect(operator.get_by_label("Commission rate (%)")).to_have_value("10")
    expect(operator.get_by_label("Recruiter's rate (%)")).to_have_value("2")
    operator.get_by_label("After-sale window (days)").fill("0")
    operator.get_by_label("Minimum payout").fill("1.00")
    operator.get_by_role("button", name="Save").tap()
    expect(operator.get_by_text("Commission settings saved.")).to_be_visible()
    expect(operator.get_by_label("After-sale window (days)")).to_have_value("0")
    detail = open_order(operator, number)
    detail.get_by_label("Carrier").fill("SF Express")
    detail.get_by_label("Tracking number").fill("SF7700112233")
    detail.get_by_role("button", name="Ship", exact=True).tap()
    expect(operator.locator("#order-detail .badge")).to_have_text("Shipped")
    operator.locator("#order-detail").get_by_role("button", name="Complete").tap()
    expect(operator.locator("#order-detail .badge")).to_have_text("Completed")

    qiang.reload()  # reading the balances releases what has fallen due
    expect(balance(qiang, "Pending")).to_have_text("CN¥0.00")
    expect(balance(qiang, "Available")).to_have_text(QIANG_EARNS)
    expect_line(qiang, "After-sale window passed: available", f"+{QIANG_EARNS}", number)
    expect(qiang.get_by_text("available 0 days after")).to_be_visible()

    # The operator pays Qiang what is available.
    operator.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Payouts"
    ).tap()
    expect(
        operator.get_by_role("link", name="Ready to pay (from CN¥1.00)")
    ).to_be_visible()
    owed = operator.locator("ul.rows > li.row", has_text=QIANG_SHOP)
    expect(owed.locator(".amount")).to_have_text(QIANG_EARNS)
    owed.get_by_role("link", name=QIANG_SHOP).tap()
    expect(operator).to_have_url(re.compile(r"/admin/payouts/\d+$"))
    expect(operator.get_by_role("heading", name=QIANG_SHOP)).to_be_visible()
    tabs = operator.get_by_role("navigation", name="Back office")
    expect(tabs.locator("[aria-current=page]")).to_have_text("Payouts")
    expect(balance(operator, "Available")).to_have_text(QIANG_EARNS)
    expect(operator.get_by_label("Amount")).to_have_value(
        QIANG_EARNS.removeprefix("CN¥")
    )
    operator.get_by_label("Paid by").fill("WeChat Pay")
    operator.get_by_label("Reference").fill(PAYOUT_REFERENCE)
    assert operator.evaluate(FITS), "the payout page is wider than the phone"
    operator.screenshot(path=artifacts / "ledger-journey-payout.png", full_page=True)
    operator.get_by_role("button", name="Record payout").tap()
    expect(operator.get_by_text(f"Payout of {QIANG_EARNS} recorded.")).to_be_visible()
    expect(balance(operator, "Available")).to_have_text("CN¥0.00")
    expect(balance(operator, "Paid out")).to_have_text(QIANG_EARNS)
    history = operator.get_by_role("region", name="Payouts", exact=True).locator(
        "li.row"
    )
    expect(history).to_have_count(1)
    expect(history).to_contain_text(f"WeChat Pay · {PAYOUT_REFERENCE}")
    expect(history.locator(".amount")).to_have_text(QIANG_EARNS)

    qiang.reload()
    expect(balance(qiang, "Available")).to_have_text("CN¥0.00")
    expect(balance(qiang, "Paid out")).to_have_text(QIANG_EARNS)
    expect_line(
        qiang, "Paid out", f"+{QIANG_EARNS}", f"WeChat Pay · {PAYOUT_REFERENCE}"
    )

    # A refund after the payout takes back what the refunded item earned.
    detail = open_order(operator, number)
    detail.get_by_label(re.compile(f"^{PRODUCT}: how many to refund")).fill("1")
    detail.get_by_role("button", name="Refund these items").tap()
    expect(
        operator.get_by_text(f"Refunded {REFUNDED} on order {number}.")
    ).to_be_visible()
    expect(operator.locator("#order-detail small.refunded")).to_have_text(
        f"1 refunded, {REFUNDED}"
    )

    qiang.reload()
    expect_line(
        qiang, "Refund after settlement: clawed back", QIANG_CLAWED_BACK, number
    )
    expect(balance(qiang, "Available")).to_have_text(QIANG_CLAWED_BACK)
    expect(balance(qiang, "Available")).to_have_class("negative")
    expect(qiang.get_by_text("taken from your next payout")).to_be_visible()
    expect(balance(qiang, "Paid out")).to_have_text(QIANG_EARNS)
    assert qiang.evaluate(FITS), "Qiang's earnings are wider than his phone"
    qiang.screenshot(path=artifacts / "ledger-journey-earnings.png", full_page=True)
    mei.reload()
    expect_line(mei, "Refund after settlement: clawed back", MEI_CLAWED_BACK, number)
    expect(balance(mei, "Available")).to_have_text(MEI_LEFT)

    assert "The ledger reconciles" in flask_command(live_server.env, "reconcile")
    assert not operator_failures
    assert not mei_failures
    assert not qiang_failures
    assert not customer_failures
