"""The seller's orders at /me/orders: only their shop's, newest first, paged,
and never the customer's full number or address."""

import re

import pytest

from storefront.extensions import db
from storefront.orders.models import Order, PaymentMethod
from storefront.orders.services import Customer, mark_paid, place_order, refund
from storefront.shops.models import Shop
from tests import factories
from tests.conftest import EN, login

FRIEND = Customer("Wang Fang", "138 1234 5678", "8 Secret Lane, Room 301")
STRANGER = Customer("Zhou Min", "139 8765 4321", "9 Other Street")


def place(app, product_id: int, key: str, shop_id=None, customer=FRIEND) -> str:
    """A committed order for one unit; returns its number."""
    with app.app_context():
        shop = db.session.get(Shop, shop_id) if shop_id else None
        order = place_order(
            {product_id: 1}, customer, PaymentMethod.TRANSFER, shop, key
        )
        db.session.commit()
        return order.number


@pytest.fixture
def tea(app) -> int:
    with app.app_context():
        return factories.product(name="Green tea", price=1250, stock=100).id


@pytest.fixture
def shops(app) -> dict[str, int]:
    """Mei's shop (the signed-in seller's) and Bo's (another seller's)."""
    with app.app_context():
        mei = factories.shop(email="mei@example.com", name="Mei's Tea").id
        bo = factories.shop(email="bo@example.com", name="Bo's Nuts").id
        return {"mei": mei, "bo": bo}


@pytest.fixture
def as_mei(client, shops):
    assert login(client, "mei@example.com").status_code == 302
    return client


def test_a_seller_sees_only_their_shops_orders(app, as_mei, shops, tea):
    mine = place(app, tea, "a", shops["mei"])
    theirs = place(app, tea, "b", shops["bo"], STRANGER)
    house = place(app, tea, "c", None, STRANGER)
    response = as_mei.get("/me/orders", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert '<a href="/me/orders" aria-current="page">Orders</a>' in page
    assert mine in page and "1 order from your shop" in page
    assert theirs not in page and house not in page and "Zhou Min" not in page
    assert "Wang Fang" in page and "Green tea × 1" in page
    assert "Waiting for payment" in page and "¥22.50" in page


def test_the_customers_number_is_masked_and_the_address_hidden(app, as_mei, shops, tea):
    place(app, tea, "a", shops["mei"])
    page = as_mei.get("/me/orders", headers=EN).get_data(as_text=True)
    assert "138****5678" in page
    digits = re.sub(r"\D", "", page)
    assert "13812345678" not in digits  # in no format at all
    assert "Secret Lane" not in page and "301" not in page


def test_newest_first_with_refunds(app, as_mei, shops, tea):
    first = place(app, tea, "a", shops["mei"])
    second = place(app, tea, "b", shops["mei"])
    with app.app_context():
        order = db.session.scalar(db.select(Order).filter_by(number=first))
        mark_paid(order, None)
        refund(order, {order.lines[0].id: 1}, None)
        db.session.commit()
    page = as_mei.get("/me/orders", headers=EN).get_data(as_text=True)
    assert page.index(second) < page.index(first)
    assert "Refunded" in page and "Refunded CN¥22.50" in page


def test_thirty_a_page_and_htmx_loads_the_next_rows(app, as_mei, hx, shops, tea):
    numbers = [place(app, tea, f"k{i}", shops["mei"]) for i in range(31)]
    page = as_mei.get("/me/orders", headers=EN).get_data(as_text=True)
    assert "31 orders from your shop" in page
    assert sum(number in page for number in numbers) == 30
    assert numbers[0] not in page  # the oldest is on page 2
    assert 'hx-get="/me/orders?page=2"' in page and "More orders" in page
    more = as_mei.get("/me/orders?page=2", headers={**hx, **EN})
    assert more.status_code == 200
    assert "HX-Request" in more.headers["Vary"]
    rows = more.get_data(as_text=True)
    assert rows.lstrip().startswith('<li class="row')
    assert numbers[0] in rows and "<nav" not in rows and "More orders" not in rows
    # without JavaScript the same link is a whole page
    full = as_mei.get("/me/orders?page=2", headers=EN).get_data(as_text=True)
    assert full.startswith("<!doctype html>") and numbers[0] in full
    assert "Newest orders" in full


def test_no_orders_yet(as_mei):
    page = as_mei.get("/me/orders", headers=EN).get_data(as_text=True)
    assert "No orders yet." in page


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/me/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_an_operator_or_a_seller_without_a_shop_is_refused(app, client, operator):
    assert login(client, "op@example.com").status_code == 302
    assert client.get("/me/orders").status_code == 403
    with app.app_context():
        factories.user_row(role="seller", email="noshop@example.com")
    client.post("/logout")
    assert login(client, "noshop@example.com").status_code == 302
    assert client.get("/me/orders").status_code == 403


def csv_rows(response) -> list[list[str]]:
    import csv
    import io

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    )


def test_a_seller_takes_every_order_of_their_shop_as_csv(app, as_mei, shops, tea):
    first = place(app, tea, "a", shops["mei"])
    place(app, tea, "b", shops["bo"], STRANGER)
    evil = Customer("=HYPERLINK(1)", "138 0000 1111", "x")
    second = place(app, tea, "c", shops["mei"], evil)
    page = as_mei.get("/me/orders", headers=EN).get_data(as_text=True)
    assert 'href="/me/orders.csv" download' in page
    response = as_mei.get("/me/orders.csv", headers=EN)
    assert 'filename="orders-' in response.headers["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:3] == ["number", "placed", "state"]
    assert [row[0] for row in rows] == [first, second]  # oldest first, Bo's not
    assert rows[0][3] == "Green tea × 1" and rows[0][4] == "12.50"
    assert rows[0][2] == "waiting for payment"
    assert rows[0][9] == "138****5678"  # masked, as on the page
    assert rows[1][8] == "'=HYPERLINK(1)"  # a formula stays text
    assert "Secret Lane" not in response.get_data(as_text=True)


def test_the_orders_csv_is_the_sellers_only(app, client, operator):
    assert client.get("/me/orders.csv").status_code == 302  # sign in first
    assert login(client, "op@example.com").status_code == 302
    assert client.get("/me/orders.csv").status_code == 403
