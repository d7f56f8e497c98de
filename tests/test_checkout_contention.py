"""Two hundred customers check out the last ten units at the same moment.

Every buyer is a stranger on a phone with one unit in the cart and the checkout
form already open; behind a barrier they all submit at once, to four gunicorn
processes. The conditional stock update must hand out exactly ten orders and turn
everyone else away with a "sold out" answer: never an oversold unit, a negative
stock, a 500 or a "database is locked", on SQLite and on PostgreSQL alike.
"""

import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import quote

import pytest

from tests.live_server import HttpSession, LiveServer, ServerOptions

BUYERS = 200
STOCK = 10
#: Threads that fill carts before the barrier (the server's 16 threads are the
#: limit anyway); every buyer gets its own thread for the rush itself.
PREPARERS = 32
#: Generous: on SQLite the 200 checkouts queue for one write lock.
REQUEST_TIMEOUT = 45.0
RUSH_TIMEOUT = 50.0
SERVER = ServerOptions(
    workers=4,
    threads=4,
    # All buyers come from 127.0.0.1, which per-address rate limits would take for
    # one customer: this test is about stock, not about throttling.
    settings={"STOREFRONT_RATELIMIT_ENABLED": "false"},
)
EDIT_URL = re.compile(r"/admin/products/(\d+)$")
ORDER_URL = re.compile(r"/o/([^/]+)/([^/?#]+)$")
VALUE = re.compile(r'\bvalue="([^"]*)"')
COUNT = re.compile(r'<p class="count">\s*([^<·]*)')
LISTED_ORDER = re.compile(r'<a href="/admin/orders/\d+"><strong>([^<]+)</strong>')
STOCK_INPUT = re.compile(r'name="stock"[^>]*\bvalue="([^"]*)"')


def create_product(operator: HttpSession, name: str, slug: str) -> int:
    """The operator puts ``STOCK`` units on sale; returns the product's id."""
    operator.get("/admin/products/new")
    response = operator.post(
        "/admin/products/new",
        {
            "name": name,
            "slug": slug,
            "description": "Ten only.",
            "price": "12.50",
            "compare_at_price": "",
            "stock": str(STOCK),
            "category_id": "0",
            "active": "y",
            "commission_bp": "",
        },
    )
    assert response.status == 302, response.text[:500]
    return int(EDIT_URL.search(response.headers["Location"]).group(1))


def hidden_value(html: str, name: str) -> str:
    """The value of the form's ``<input name=name>``, whatever the attribute
    order."""
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"the checkout page has no {name} input"
    value = VALUE.search(tag.group(0))
    assert value and value.group(1), f"{name} without a value: {tag.group(0)}"
    return value.group(1)


def buyer_ready(server: LiveServer, slug: str, product_id: int, n: int) -> dict:
    """A new visitor opens the product, puts one in the cart and opens the
    checkout form; returns what it will submit."""
    buyer = HttpSession(server.url, timeout=REQUEST_TIMEOUT)
    assert buyer.get(f"/p/{slug}").status == 200
    added = buyer.post("/cart/add", {"product_id": str(product_id), "quantity": "1"})
    assert added.status in (200, 302), f"cart/add {added.status}: {added.text[:300]}"
    form = buyer.get("/checkout")
    assert form.status == 200, f"GET /checkout {form.status}: {form.text[:300]}"
    return {
        "buyer": buyer,
        "fields": {
            "name": f"Buyer {n:03d}",
            "phone": f"1390000{n:04d}",
            "address": f"{n} Nanjing Road, Shanghai",
            "note": "",
            "payment_method": "transfer",
            # the one-time key, and the total the buyer was shown
            "checkout_key": hidden_value(form.text, "checkout_key"),
            "total": hidden_value(form.text, "total"),
        },
    }


@pytest.mark.parametrize("live_server", [SERVER], ids=["4-workers"], indirect=True)
def test_two_hundred_buyers_rush_ten_units(live_server):
    """200 buyers submit checkout for the same product, 10 in stock, at once:
    exactly 10 are sent to their order page and the other 190 get a 4xx saying it
    sold out; the log holds no error; the product's stock is 0 (the back office
    says so too); exactly 10 orders of one unit each exist; and resubmitting a
    placed order's form finds the same order without taking more stock."""
    started = time.monotonic()
    name = f"Rush lamp {secrets.token_hex(3)}"
    slug = name.lower().replace(" ", "-")
    operator = live_server.session()
    operator.login(live_server.operator_email, live_server.operator_password)
    product_id = create_product(operator, name, slug)

    with ThreadPoolExecutor(max_workers=PREPARERS) as pool:
        buyers = list(
            pool.map(
                lambda n: buyer_ready(live_server, slug, product_id, n),
                range(BUYERS),
                timeout=RUSH_TIMEOUT,
            )
        )
    prepared = time.monotonic()

    start = threading.Barrier(BUYERS, timeout=RUSH_TIMEOUT)

    def check_out(buyer: dict):
        start.wait()  # every buyer taps "Place order" at the same moment
        sent = time.monotonic()
        response = buyer["buyer"].post("/checkout", buyer["fields"])
        return response, time.monotonic() - sent

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        futures = [pool.submit(check_out, buyer) for buyer in buyers]
        _, pending = wait(futures, timeout=RUSH_TIMEOUT + REQUEST_TIMEOUT)
        assert not pending, f"{len(pending)} checkouts never answered"
    results = [future.result() for future in futures]
    rushed = time.monotonic()

    served = live_server.served_by("POST", "/checkout")
    placed = [r for r, _ in results if r.status == 302]
    refused = [r for r, _ in results if r.status != 302]
    summary = (
        f"{len(placed)} orders, {len(refused)} refused "
        f"({sorted({r.status for r in refused})}); slowest answer "
        f"{max(t for _, t in results):.2f} s; carts {prepared - started:.1f} s, "
        f"rush {rushed - prepared:.1f} s; checkouts per worker "
        f"{sorted(len(statuses) for statuses in served.values())}"
    )
    print(summary)
    unexpected = [
        (r.status, r.text[:300])
        for r in refused
        if not (400 <= r.status < 500 and "sold out" in r.text and name in r.text)
    ]
    assert not unexpected, (
        f"{summary}\n{len(unexpected)} unexpected answers, e.g. {unexpected[:3]}\n"
        f"{live_server.log_excerpt()}"
    )
    assert len(placed) == STOCK, f"{summary}\n{live_server.log_excerpt()}"
    locations = {r.headers["Location"] for r in placed}
    assert len(locations) == STOCK, "two buyers were sent to the same order"
    assert all(ORDER_URL.search(location) for location in locations), locations
    log = live_server.log()
    assert "database is locked" not in log
    assert "Traceback" not in log, live_server.log_excerpt()
    assert len(served) >= 3, f"the rush should spread over the workers: {summary}"

    # The database: no unit sold twice, none lost.
    [(stock,)] = live_server.query(
        "SELECT stock FROM product WHERE id = :id", id=product_id
    )
    assert stock == 0
    orders = live_server.query(
        "SELECT o.id, SUM(l.quantity) FROM orders o JOIN order_line l "
        "ON l.order_id = o.id WHERE l.product_id = :id GROUP BY o.id",
        id=product_id,
    )
    assert len(orders) == STOCK and all(quantity == 1 for _, quantity in orders)
    assert live_server.query("SELECT COUNT(*) FROM orders") == [(STOCK,)]

    # What people see: an order page, the operator's stock and order queue.
    outcomes = list(zip(buyers, [r for r, _ in results], strict=True))
    winner, won = next((b, r) for b, r in outcomes if r.status == 302)
    location = won.headers["Location"]
    page = winner["buyer"].get(location.removeprefix(live_server.url))
    assert page.status == 200 and name in page.text
    again = winner["buyer"].post("/checkout", winner["fields"])  # a double tap
    assert (again.status, again.headers["Location"]) == (302, location)
    loser = next(b for b, r in outcomes if r.status != 302)
    retry = loser["buyer"].post("/checkout", loser["fields"])
    assert 400 <= retry.status < 500 and "sold out" in retry.text
    assert live_server.query("SELECT COUNT(*) FROM orders") == [(STOCK,)]
    listing = operator.get(f"/admin/products?q={quote(name)}")
    assert STOCK_INPUT.findall(listing.text) == ["0"]
    queue = operator.get("/admin/orders?state=all&q=Buyer")
    assert queue.status == 200
    assert COUNT.search(queue.text).group(1).strip() == f"{STOCK} orders"
    numbers = {ORDER_URL.search(location).group(1) for location in locations}
    assert set(LISTED_ORDER.findall(queue.text)) == numbers
