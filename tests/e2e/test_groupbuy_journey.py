"""A group-buy (拼团) that fills and one that runs out of time, on seven phones.

The operator adds a product and offers it to groups of three below its price.
Fang opens a shop with it. Zhang opens the product from Fang's shop link, starts
a group and copies its invite link, which keeps Fang's ``?r=``; Li and Chen open
that link, see who started it, the seats left and the countdown, and join. The
third seat makes the group a success, and Zhang's order page, left open, says so
by itself (htmx polling). Sun starts a second group and pays for it; nobody
joins, and when its deadline has passed (the test moves it into the past in the
database: the clock every group-buy rule reads) Sun's page says it did not fill
in time and the order is refunded. ``flask reconcile`` then finds the ledger
whole, and no request on any phone failed.
"""

import re
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import update

from storefront.extensions import db
from storefront.groupbuy.models import Group
from storefront.timeutil import utcnow
from tests.e2e.conftest import FITS, record_failures, sign_in
from tests.live_server import flask_command, server_database

PRODUCT = "Yunnan black tea"
PRICE, GROUP_PRICE = "CN¥58.00", "CN¥39.90"
#: The group price plus CN¥10.00 shipping (free only from CN¥99.00).
GROUP_TOTAL = "CN¥49.90"
SHOP, SLUG = "Fang's tea shelf", "fang-s-tea-shelf"
ORDER_PAGE = re.compile(r"/o/(\d{6}-\d{5})/[^/?#]+$")
COUNTDOWN = re.compile(r"^\d+:\d\d:\d\d$")
#: htmx asks for a group's status every 5 seconds.
POLLED_MS = 8_000


def loaded(target: Locator) -> Locator:
    """``target`` once it is on the page and that page has loaded: its deferred
    scripts fetched, so leaving it now aborts no request."""
    target.wait_for()
    target.page.wait_for_load_state()
    return target


def tap(target: Locator) -> None:
    """Tap ``target`` once its page has loaded (a phone user is never faster
    than the page's own scripts; a test is)."""
    loaded(target).tap()


def visit(page: Page, url: str | None = None) -> None:
    """Go to ``url`` (or reload) once the page there now has loaded."""
    page.wait_for_load_state()
    if url is None:
        page.reload()
    else:
        page.goto(url)


def back_office(operator: Page) -> Locator:
    return operator.get_by_role("navigation", name="Back office")


def create_offer(operator: Page) -> None:
    """Add the product and a group offer on it through the back office."""
    tap(operator.get_by_role("link", name="Back office"))
    tap(operator.get_by_role("link", name="Products", exact=True))
    tap(operator.get_by_role("link", name="New product"))
    operator.get_by_label("Name", exact=True).fill(PRODUCT)
    operator.get_by_label("Price", exact=True).fill(PRICE.removeprefix("CN¥"))
    operator.get_by_label("Stock", exact=True).fill("20")
    tap(operator.get_by_role("button", name="Create product"))
    expect(operator.get_by_role("heading", name=PRODUCT)).to_be_visible()

    tap(back_office(operator).get_by_role("link", name="Group-buys"))
    expect(operator).to_have_url(re.compile(r"/admin/groupbuys$"))
    tap(operator.get_by_role("link", name="New offer"))
    expect(operator).to_have_url(re.compile(r"/admin/groupbuys/new$"))
    operator.get_by_label("Product", exact=True).select_option(
        label=f"{PRODUCT} · {PRICE}"
    )
    operator.get_by_label("Group price", exact=True).fill(
        GROUP_PRICE.removeprefix("CN¥")
    )
    operator.get_by_label("Group size", exact=True).fill("3")
    operator.get_by_label("Hours to fill", exact=True).fill("24")
    operator.get_by_label("Most per customer", exact=True).fill("1")
    assert operator.evaluate(FITS), "the offer form is wider than the phone"
    tap(operator.get_by_role("button", name="Create offer"))
    expect(
        operator.get_by_text(f"Group offer saved: {PRODUCT} at {GROUP_PRICE} for 3.")
    ).to_be_visible()
    offer = operator.locator("ul.offers > li.row", has_text=PRODUCT)
    expect(offer).to_have_count(1)
    expect(offer.locator(".badge")).to_have_text("Live")
    expect(offer).to_contain_text("Groups of 3 · 24 h to fill · at most 1 each")


def open_shop_with_product(seller: Page) -> None:
    """Fang signs up with a shop and adds the product to it, with a note."""
    visit(seller, "/join")
    seller.get_by_label("Your name").fill("Zhou Fang")
    seller.get_by_label("Mobile number or email").fill("fang@example.com")
    seller.get_by_label("Password").fill("a long enough password")
    seller.get_by_label("Shop name").fill(SHOP)
    tap(seller.get_by_role("button", name="Open my shop"))
    expect(seller).to_have_url(re.compile(r"/me/catalog$"))
    pick = seller.locator("#catalog-results li", has_text=PRODUCT)
    tap(pick.get_by_role("button", name=re.compile("^Add")))
    expect(pick.get_by_text("In your shop")).to_be_visible()


def fill_seat(customer: Page, name: str, mobile: str, address: str, pay: str) -> None:
    """The seat form: delivery details and how to pay."""
    customer.get_by_label("Your name").fill(name)
    customer.get_by_label("Mobile number").fill(mobile)
    customer.get_by_label("Delivery address").fill(address)
    customer.get_by_role("radio", name=re.compile(pay)).check()


def group_panel(customer: Page) -> Locator:
    """The order page's group-buy panel."""
    return customer.get_by_role("region", name="Your group-buy")


def order_number(customer: Page) -> str:
    expect(customer).to_have_url(ORDER_PAGE)
    return ORDER_PAGE.search(customer.url).group(1)


def start_group(customer: Page, name: str, mobile: str) -> str:
    """From the product page, start a group paying by transfer; the order's
    number."""
    offer = customer.get_by_role("region", name="Group-buy")
    expect(offer.locator(".price")).to_contain_text(GROUP_PRICE)
    expect(offer.locator(".price s")).to_have_text(PRICE)
    expect(offer).to_contain_text("Groups of 3 · 24 hours to fill")
    tap(offer.get_by_role("link", name=f"Start a group at {GROUP_PRICE}"))
    expect(customer.get_by_role("heading", name="Start a group")).to_be_visible()
    expect(customer.locator("#seat-total")).to_contain_text(GROUP_TOTAL)
    fill_seat(
        customer, name, mobile, "Room 301, 9 Wenhui Road, Hangzhou", "Pay by transfer"
    )
    tap(customer.get_by_role("button", name="Start the group"))
    number = order_number(customer)
    expect(customer.get_by_text("Thank you! Your order is placed.")).to_be_visible()
    expect(customer.locator(".state")).to_contain_text("waiting for payment")
    panel = group_panel(customer)
    expect(panel.locator("#group-status")).to_contain_text("2 seats left")
    expect(panel.locator("#group-status")).to_contain_text(
        f"Started by {name.split()[0]}"
    )
    expect(panel.get_by_role("timer")).to_have_text(COUNTDOWN)
    return number


def join_group(friend: Page, invite: str, name: str, mobile: str, seats: str) -> None:
    """Open the invite link, see the group as it stands (``seats`` left), and
    join it, paying cash on delivery."""
    visit(friend, invite)
    expect(friend.get_by_role("heading", name=PRODUCT)).to_be_visible()
    expect(friend.locator(".seller")).to_contain_text(SHOP)
    status = friend.locator("#group-status")
    expect(status).to_contain_text("Started by Zhang")
    expect(status).to_contain_text(seats)
    expect(status.get_by_role("timer")).to_have_text(COUNTDOWN)
    expect(friend.locator(".price strong").first).to_have_text(GROUP_PRICE)
    tap(status.get_by_role("link", name=f"Join this group at {GROUP_PRICE}"))
    expect(friend.get_by_role("heading", name="Join the group")).to_be_visible()
    expect(friend.get_by_text("Started by Zhang")).to_be_visible()
    fill_seat(
        friend,
        name,
        mobile,
        "Flat 12, 40 Tianmushan Road, Hangzhou",
        "Cash on delivery",
    )
    tap(friend.get_by_role("button", name="Join the group"))
    order_number(friend)
    expect(friend.get_by_text("Thank you! Your order is placed.")).to_be_visible()


def open_order(operator: Page, number: str) -> Locator:
    """From any back-office page, find the order by its number and open it;
    returns its detail block."""
    tap(back_office(operator).get_by_role("link", name="Orders"))
    search = operator.get_by_role("searchbox", name="Search orders")
    loaded(search)
    search.fill(number)
    search.press("Enter")
    expect(operator).to_have_url(re.compile(rf"q={number}"))
    tap(operator.get_by_role("link", name=number))
    expect(operator).to_have_url(re.compile(r"/admin/orders/\d+$"))
    return operator.locator("#order-detail")


def move_deadline_past(live_server, monkeypatch, code: str) -> None:
    """The clock: the group's deadline passed a minute ago."""
    with server_database(live_server, monkeypatch):
        moved = db.session.execute(
            update(Group)
            .where(Group.code == code)
            .values(deadline=utcnow() - timedelta(minutes=1))
        )
        assert moved.rowcount == 1
        db.session.commit()


def test_group_fills_on_three_phones_and_an_unfilled_one_is_refunded(
    live_server, phone, artifacts, monkeypatch
):
    """Through the real pages: an operator's offer, a group started from a
    seller's link whose invite keeps the seller's ``?r=``, joined by two friends
    from that link until it succeeds (the leader's open page updating itself),
    and a paid group that runs out of time refunded; the ledger reconciles and
    no request fails."""
    failures: dict[str, list[str]] = {}

    def new_phone(who: str) -> Page:
        page = phone().new_page()
        failures[who] = record_failures(page)
        return page

    operator = new_phone("operator")
    sign_in(operator, live_server.operator_email, live_server.operator_password)
    create_offer(operator)
    open_shop_with_product(new_phone("seller"))

    # Zhang opens the product from Fang's shop and starts a group.
    zhang = new_phone("zhang")
    visit(zhang, f"/s/{SLUG}")
    expect(zhang.get_by_role("heading", name=SHOP)).to_be_visible()
    tap(zhang.locator("li.card", has_text=PRODUCT).get_by_role("link"))
    expect(zhang).to_have_url(re.compile(rf"/s/{SLUG}/p/[\w-]+$"))
    product_url = zhang.url
    expect(zhang.get_by_role("region", name="Group-buy")).to_contain_text(
        "No open groups right now"
    )
    zhang_number = start_group(zhang, "Zhang Wei", "13700137001")
    share = group_panel(zhang).locator("[data-share-link]")
    expect(share).to_be_visible()
    invite = share.input_value()
    assert re.fullmatch(
        rf"{re.escape(live_server.url)}/g/([\w-]+)\?r={SLUG}&by=[a-z2-7]{{10}}", invite
    ), invite
    expect(group_panel(zhang).locator(".share-qr svg")).to_be_visible()
    assert zhang.evaluate(FITS), "the leader's order page is wider than the phone"
    zhang.screenshot(path=artifacts / "groupbuy-journey-leader.png", full_page=True)

    # Li joins from the invite link; Chen's seat is the last.
    li = new_phone("li")
    join_group(li, invite, "Li Na", "13700137002", "2 seats left")
    expect(group_panel(li).locator("#group-status")).to_contain_text("1 seat left")
    expect(group_panel(li)).not_to_contain_text("Join this group")
    chen = new_phone("chen")
    join_group(chen, invite, "Chen Jie", "13700137003", "1 seat left")
    chen.screenshot(path=artifacts / "groupbuy-journey-joined.png", full_page=True)

    # All three see it succeed: Zhang's page, left open, by itself.
    for member in (zhang, li, chen):
        status = group_panel(member).locator("#group-status")
        expect(status).to_contain_text("Succeeded", timeout=POLLED_MS)
        expect(status).to_contain_text("The group filled in time")
        expect(status.locator(".seat")).to_have_count(3)
        expect(status.locator(".seat.free")).to_have_count(0)
    expect(zhang.locator(".state")).to_contain_text("waiting for payment")
    visit(li)
    expect(group_panel(li).locator("#group-status")).to_contain_text("Succeeded")
    expect(group_panel(li).locator("[data-share-link]")).to_have_count(0)
    visit(chen, invite)
    expect(chen.locator("#group-status")).to_contain_text("Succeeded")
    expect(chen.get_by_role("link", name=re.compile("^Join this group"))).to_have_count(
        0
    )

    detail = open_order(operator, zhang_number)
    expect(detail).to_contain_text(f"via {SHOP}")
    group_info = operator.get_by_role("region", name="Group-buy")
    expect(group_info).to_contain_text("Succeeded")
    expect(group_info).to_contain_text("Leader")
    expect(group_info).to_contain_text("3 of 3 seats taken")

    # Sun starts a second group and pays; nobody joins.
    sun = new_phone("sun")
    visit(sun, product_url)
    expect(sun.get_by_role("region", name="Group-buy")).to_contain_text(
        "No open groups right now"
    )
    sun_number = start_group(sun, "Sun Li", "13700137004")
    sun_invite = group_panel(sun).locator("[data-share-link]").input_value()
    code = re.search(r"/g/([\w-]+)\?", sun_invite).group(1)
    assert sun_invite != invite

    detail = open_order(operator, sun_number)
    expect(operator.get_by_role("region", name="Group-buy")).to_contain_text(
        "Waiting for the group: it ships once 2 more people join."
    )
    tap(detail.get_by_role("button", name="Mark paid"))
    expect(operator.locator("#order-detail .badge").first).to_have_text("Paid")

    # Its deadline passes: Sun's open page says so, the next look fails it.
    move_deadline_past(live_server, monkeypatch, code)
    status = group_panel(sun).locator("#group-status")
    expect(status).to_contain_text("Not filled in time", timeout=POLLED_MS)
    visit(sun)
    status = group_panel(sun).locator("#group-status")
    expect(status).to_contain_text("Not filled in time")
    expect(status).to_contain_text("its orders are cancelled and any payment refunded")
    expect(group_panel(sun).locator("[data-share-link]")).to_have_count(0)
    expect(sun.locator(".state")).to_contain_text("refunded")
    timeline = sun.locator(".timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(1)).to_contain_text("Payment received")
    expect(timeline.nth(2)).to_contain_text(f"Refunded {GROUP_TOTAL}")
    expect(sun.locator(".totals .refunded dd")).to_have_text(f"−{GROUP_TOTAL}")
    assert sun.evaluate(FITS), "the refunded order page is wider than the phone"
    sun.screenshot(path=artifacts / "groupbuy-journey-failed.png", full_page=True)

    # Anyone opening its invite sees it ended, and can start a new group.
    visit(chen, sun_invite)
    expect(chen.locator("#group-status")).to_contain_text("Not filled in time")
    expect(chen.get_by_role("link", name="Start a new group")).to_be_visible()

    detail = open_order(operator, sun_number)
    expect(operator.locator("#order-detail .badge").first).to_have_text("Refunded")
    expect(operator.get_by_role("region", name="Group-buy")).to_contain_text("Failed")

    assert "The ledger reconciles" in flask_command(live_server.env, "reconcile")
    for who, failed in failures.items():
        assert not failed, f"{who}'s phone: {failed}"
