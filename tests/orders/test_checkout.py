"""Checkout through HTTP: the order, its stock, idempotency, bad input, attribution."""

import re

import pytest

from storefront.extensions import db
from storefront.settings import set_setting
from tests import factories
from tests.orders import (
    CUSTOMER,
    EN,
    KEY,
    PHONE_UA,
    add,
    cart_of,
    change,
    checkout,
    order_count,
    orders,
    stock,
)

ORDER_PAGE = re.compile(r"^/o/(\d{6}-\d{5})/([A-Za-z0-9_-]{20,})$")


def test_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get("/checkout", headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Your cart is empty." in page


def test_the_checkout_page(client, tea):
    add(client, tea, 2)
    response = client.get("/checkout", headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Green tea × 2" in page and "CN¥25.00" in page
    assert "CN¥10.00" in page and "CN¥35.00" in page  # shipping, total
    assert "Free shipping from CN¥99.00" in page
    assert "Pay by transfer" in page and "Cash on delivery" in page
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', page)[1]
    assert len(key) >= 20
    again = client.get("/checkout").get_data(as_text=True)
    assert key not in again  # a new form, a new key


def test_only_the_offered_payment_methods_are_shown(app, client, tea):
    with app.app_context():
        set_setting("PAYMENT_METHODS", ["cod"])
        db.session.commit()
    add(client, tea)
    page = client.get("/checkout", headers=EN).get_data(as_text=True)
    assert "Cash on delivery" in page and "Pay by transfer" not in page


def test_checkout_places_the_order(app, client, tea, nuts):
    add(client, tea, 2)
    add(client, nuts, 1)
    response = checkout(client, note="Ring twice")
    assert response.status_code == 302
    match = ORDER_PAGE.match(response.headers["Location"])
    assert match
    [order] = orders(app)
    assert (order.number, order.token) == match.groups()
    assert [
        (line.name, line.unit_price, line.quantity, line.amount) for line in order.lines
    ] == [
        ("Green tea", 1250, 2, 2500),
        ("Walnuts", 3000, 1, 3000),
    ]
    assert (order.subtotal, order.shipping, order.total) == (5500, 1000, 6500)
    assert order.phone == "+8613912345678" and order.customer_name == "Wang Fang"
    assert order.note == "Ring twice" and order.payment_method.value == "transfer"
    assert order.shop_id is None  # a house sale
    assert (stock(app, tea), stock(app, nuts)) == (8, 2)
    assert cart_of(client) is None
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Thank you! Your order is placed." in page and order.number in page
    assert '<span id="cart-badge" class="cart-badge"></span>' in page


def test_free_shipping_from_the_threshold(app, client, tea):
    add(client, tea, 8)  # 100.00 ≥ 99.00
    checkout(client)
    [order] = orders(app)
    assert (order.subtotal, order.shipping, order.total) == (10000, 0, 10000)


def test_htmx_is_sent_to_the_order_page_with_hx_redirect(app, client, tea, hx):
    add(client, tea)
    response = checkout(client, headers=hx)
    assert response.status_code == 200
    assert ORDER_PAGE.match(response.headers["HX-Redirect"])
    assert order_count(app) == 1


def test_the_same_form_twice_makes_one_order(app, client, tea):
    add(client, tea, 3)
    first = checkout(client, total="4750")
    add(client, tea, 1)  # even with something new in the cart meanwhile
    second = checkout(client, total="4750")  # a double tap, or Back and submit
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert order_count(app) == 1
    assert stock(app, tea) == 7  # taken once


def test_the_same_form_twice_after_the_cart_emptied(app, client, tea):
    add(client, tea, 3)
    first = checkout(client)
    assert cart_of(client) is None
    second = checkout(client)
    assert second.headers["Location"] == first.headers["Location"]
    assert order_count(app) == 1 and stock(app, tea) == 7


def test_a_new_form_makes_a_new_order(app, client, tea):
    add(client, tea)
    checkout(client, key="first-checkout-form-key")
    add(client, tea)
    checkout(client, key="second-checkout-form-key")
    assert order_count(app) == 2 and stock(app, tea) == 8


def test_sold_out_since_the_cart_is_refused_and_writes_nothing(app, client, tea):
    add(client, tea, 2)
    change(app, tea, stock=0)
    response = checkout(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Sorry, Green tea has just sold out (or not enough are left)." in page
    assert 'name="name"' in page and 'value="Wang Fang"' in page  # form kept
    assert order_count(app) == 0 and stock(app, tea) == 0
    assert cart_of(client) == {str(tea): 2}


def test_one_line_short_returns_the_stock_of_the_others(app, client, tea, nuts):
    add(client, tea, 2)
    add(client, nuts, 3)
    change(app, nuts, stock=2)  # tea is taken first, then walnuts fail
    response = checkout(client)
    assert response.status_code == 409
    assert "Walnuts has just sold out" in response.get_data(as_text=True)
    assert order_count(app) == 0
    assert (stock(app, tea), stock(app, nuts)) == (10, 2)


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12", "Enter a mobile number such as 138 1234 5678."),
        ("not a phone", "Enter a mobile number such as 138 1234 5678."),
        ("139 1234 567", "Enter a mobile number such as 138 1234 5678."),
        ("+1 555 0100", "Enter a mobile number such as 138 1234 5678."),
        ("1" * 31, "Field cannot be longer than 30 characters."),
        ("", "This field is required."),
    ],
)
def test_bad_phone_numbers_are_422_and_write_nothing(app, client, tea, phone, message):
    add(client, tea)
    response = checkout(client, phone=phone)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert order_count(app) == 0 and stock(app, tea) == 10
    assert cart_of(client) == {str(tea): 1}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 81}, "Field cannot be longer than 80 characters."),
        ({"address": "  "}, "This field is required."),
        ({"note": "x" * 501}, "Field cannot be longer than 500 characters."),
        ({"payment_method": ""}, "Choose how you will pay."),
        ({"payment_method": "bitcoin"}, "Not a valid choice."),
    ],
)
def test_bad_input_is_422_and_writes_nothing(app, client, tea, changes, message):
    add(client, tea)
    response = checkout(client, **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert order_count(app) == 0 and stock(app, tea) == 10


def test_a_payment_method_not_offered_is_refused(app, client, tea):
    with app.app_context():
        set_setting("PAYMENT_METHODS", ["cod"])
        db.session.commit()
    add(client, tea)
    assert checkout(client, payment_method="transfer").status_code == 422
    assert order_count(app) == 0
    assert checkout(client, payment_method="cod").status_code == 302
    assert orders(app)[0].payment_method.value == "cod"


def test_a_malformed_key_gets_a_fresh_one(app, client, tea):
    add(client, tea)
    response = checkout(client, key="short")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and order_count(app) == 0
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', page)[1]
    assert key != "short" and checkout(client, key=key).status_code == 302


def test_a_total_changed_since_the_page_is_pointed_out(app, client, tea):
    add(client, tea, 2)
    page = client.get("/checkout").get_data(as_text=True)
    shown = re.search(r'name="total" type="hidden" value="(\d+)"', page)[1]
    assert shown == "3500"
    change(app, tea, price=1500)
    response = checkout(client, total=shown)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and order_count(app) == 0
    assert "Prices or availability in your cart have changed." in page
    assert 'name="total" type="hidden" value="4000"' in page and "CN¥40.00" in page
    assert checkout(client, total="4000").status_code == 302
    assert orders(app)[0].total == 4000


def test_an_emptied_cart_at_submit_goes_back_to_the_cart(app, client, tea):
    add(client, tea)
    client.post("/cart/remove", data={"product_id": tea})
    response = checkout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert order_count(app) == 0


def test_the_order_snapshots_the_shop_that_brought_the_customer(app, client, tea):
    with app.app_context():
        mei = factories.shop("mei@example.com", "Mei Tea").id
        factories.shop("wang@example.com", "Wang Nuts")
    client.get("/s/mei-tea", headers=PHONE_UA)
    add(client, tea)
    page = client.get("/checkout", headers=EN).get_data(as_text=True)
    assert "You're buying from Mei Tea" in page
    checkout(client)
    assert orders(app)[0].shop_id == mei
    client.get("/s/wang-nuts", headers=PHONE_UA)  # a later click elsewhere
    assert orders(app)[0].shop_id == mei  # the placed order keeps its shop


def test_the_bound_shop_counts_without_a_cookie(app, client, tea):
    """The customer's phone is bound to the first shop; a later visit with no
    referral cookie is still that shop's sale."""
    with app.app_context():
        mei = factories.shop("mei@example.com", "Mei Tea").id
    client.get("/s/mei-tea", headers=PHONE_UA)
    add(client, tea)
    checkout(client, key="first-checkout-form-key")
    other = app.test_client()  # another phone, no cookie, same number
    add(other, tea)
    checkout(other, key="second-checkout-form-key")
    assert [order.shop_id for order in orders(app)] == [mei, mei]


def test_checkout_needs_the_csrf_token(app, client, tea):
    add(client, tea)
    data = {**CUSTOMER, "checkout_key": KEY}
    response = client.post("/checkout", data=data, csrf=False)
    assert response.status_code == 400
    assert order_count(app) == 0 and stock(app, tea) == 10


def test_checkout_is_rate_limited(app, client, tea):
    app.config["CHECKOUT_RATE_LIMIT"] = "2 per minute"
    add(client, tea)
    for _ in range(2):
        assert checkout(client, phone="12").status_code == 422
    assert checkout(client).status_code == 429
    assert order_count(app) == 0
    assert client.get("/checkout").status_code == 200  # only posts count
