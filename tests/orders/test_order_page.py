"""The customer's order page and finding an order again."""

import json

import pytest

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.orders import services
from storefront.orders.models import Order, PaymentMethod
from storefront.settings import Setting, set_setting
from storefront.shops.models import Shop
from storefront.shops.services import customer_code
from tests import factories
from tests.orders import EN

ADDRESS = "Room 301, 8 Garden Road\nXuhui, Shanghai"


@pytest.fixture
def tea(app) -> int:
    with app.app_context():
        return factories.product(name="Green tea", slug="green-tea").id


def place(
    app,
    product_id,
    quantity=2,
    method="transfer",
    key="a-checkout-key-0001",
    shop_id=None,
):
    """An order placed through the service; returns (number, token)."""
    with app.app_context():
        order = services.place_order(
            {product_id: quantity},
            services.Customer("Wang Fang", "139 1234 5678", ADDRESS, "Ring twice"),
            PaymentMethod(method),
            db.session.get(Shop, shop_id) if shop_id else None,
            key,
        )
        db.session.commit()
        return order.number, order.token


def on(app, number: str, act) -> None:
    """Do ``act(order)`` to the order numbered ``number`` and commit."""
    with app.app_context():
        order = db.session.scalar(db.select(Order).filter_by(number=number))
        act(order)
        db.session.commit()


def test_the_order_page(app, client, tea):
    with app.app_context():
        set_setting("PAYMENT_INSTRUCTIONS", "Alipay: 138 0013 8000\n<Li Mei>")
        db.session.commit()
    number, token = place(app, tea)
    response = client.get(f"/o/{number}/{token}", headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Order {number}" in page and "waiting for payment" in page
    assert "Green tea" in page and "CN¥12.50 × 2" in page
    assert "CN¥25.00" in page and "CN¥10.00" in page and "CN¥35.00" in page
    assert "How to pay" in page and f"mention order number {number}" in page
    assert (
        '<pre class="instructions">Alipay: 138 0013 8000\n&lt;Li Mei&gt;</pre>' in page
    )
    assert "139****5678" in page and "+8613912345678" not in page
    assert "Room 301" in page and "Ring twice" in page
    assert "Order placed" in page and "<time datetime=" in page
    assert "pay-qr" not in page  # no QR setting on this install
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "private" in response.headers["Cache-Control"]
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_the_payment_qr_when_the_operator_set_one(app, client, tea):
    with app.app_context():
        db.session.add(Setting(name="PAYMENT_QR", value=json.dumps("qr-pay.webp")))
        db.session.commit()
    number, token = place(app, tea)
    page = client.get(f"/o/{number}/{token}").get_data(as_text=True)
    assert 'class="pay-qr" src="/media/qr-pay.webp"' in page


def test_cash_on_delivery_has_no_payment_instructions(app, client, tea):
    number, token = place(app, tea, method="cod")
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    assert "How to pay" not in page
    assert "Cash on delivery: please have CN¥35.00 ready" in page


def test_paid_shipped_and_refunded_orders(app, client, tea, operator):
    number, token = place(app, tea)

    def paid_and_shipped(order):
        services.mark_paid(order, None)
        services.ship(order, "SF Express", "SF1234567", db.session.get(User, operator))

    on(app, number, paid_and_shipped)
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    assert "How to pay" not in page
    assert (
        "SF Express" in page and '<strong class="tracking">SF1234567</strong>' in page
    )
    assert "Payment received" in page and "Shipped: SF Express SF1234567" in page
    assert "<strong>shipped</strong>" in page

    on(app, number, lambda o: services.refund(o, {o.lines[0].id: 1}, None))
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    assert "1 refunded: CN¥12.50" in page and "−CN¥12.50" in page
    assert "Refunded CN¥12.50" in page


def test_an_expired_order_says_why(app, client, tea):
    number, token = place(app, tea)
    on(app, number, lambda o: services.cancel(o, None, reason="expired"))
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    assert "<strong>cancelled</strong>" in page
    assert "Cancelled: not paid in time" in page and "How to pay" not in page


def test_guessing_the_address_finds_nothing(app, client, tea):
    number, token = place(app, tea, key="first-checkout-key-01")
    other_number, other_token = place(app, tea, key="second-checkout-key-02")
    wrong_token = client.get(f"/o/{number}/{token[:-1]}x")
    unknown = client.get(f"/o/990101-12345/{token}")
    assert wrong_token.status_code == unknown.status_code == 404
    # One answer for both (but for the language switch's way back here).
    assert wrong_token.get_data(as_text=True).replace(
        f"/o/{number}/{token[:-1]}x", "/o/990101-12345/" + token
    ) == unknown.get_data(as_text=True)
    assert client.get(f"/o/{number}/{other_token}").status_code == 404
    assert client.get(f"/o/{other_number}/{token}").status_code == 404
    assert client.get(f"/o/{number}/").status_code == 404
    assert client.get(f"/o/{number}/tøken-ünicode").status_code == 404
    assert client.get(f"/o/{number}/{token}").status_code == 200


def test_share_and_open_a_shop_from_a_shop_order(app, client, tea):
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea").id
    number, token = place(app, tea, shop_id=shop)
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    # The share carries the customer's sharing code (tests/shops/test_sharing.py).
    assert f'href="/s/mei-tea/share?by={wang_code(app)}"' in page
    assert 'href="/join?ref=mei-tea"' in page


def test_share_and_open_a_shop_from_a_house_order(app, client, tea):
    number, token = place(app, tea)
    page = client.get(f"/o/{number}/{token}", headers=EN).get_data(as_text=True)
    assert f'href="/p/green-tea/share?by={wang_code(app)}"' in page
    assert 'href="/join"' in page


def wang_code(app) -> str:
    """The sharing code of the phone ``place`` orders with."""
    with app.app_context():
        return customer_code("+8613912345678")


# Finding an order again


def test_the_footer_links_to_the_lookup(client):
    page = client.get("/", headers=EN).get_data(as_text=True)
    assert 'href="/o/lookup"' in page and "Find my order" in page
    assert client.get("/o/lookup").status_code == 200


@pytest.mark.parametrize(
    ("typed_number", "typed_phone"),
    [
        (None, "139 1234 5678"),
        (None, "+86 139-1234-5678"),
        ("nohyphen", "13912345678"),
    ],
)
def test_lookup_with_the_right_pair(app, client, tea, typed_number, typed_phone):
    number, token = place(app, tea)
    if typed_number == "nohyphen":
        typed_number = number.replace("-", "")
    response = client.post(
        "/o/lookup", data={"number": typed_number or number, "phone": typed_phone}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/o/{number}/{token}"


def test_lookup_with_a_wrong_pair_says_one_thing(app, client, tea):
    number, token = place(app, tea)
    message = "We found no order with that number and mobile number."
    for data in (
        {"number": number, "phone": "138 0013 8000"},  # someone else's phone
        {"number": "990101-12345", "phone": "139 1234 5678"},  # wrong number
        {"number": number, "phone": "not a phone"},
        {"number": "x", "phone": "139 1234 5678"},
    ):
        response = client.post("/o/lookup", data=data, headers=EN)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert page.count(message) == 1 and token not in page


def test_lookup_is_rate_limited(app, client, tea):
    place(app, tea)
    for _ in range(10):
        response = client.post(
            "/o/lookup", data={"number": "990101-12345", "phone": "139 1234 5678"}
        )
        assert response.status_code == 422
    response = client.post(
        "/o/lookup", data={"number": "990101-12345", "phone": "139 1234 5678"}
    )
    assert response.status_code == 429


def test_lookup_needs_the_csrf_token(app, client, tea):
    number, _token = place(app, tea)
    response = client.post(
        "/o/lookup", data={"number": number, "phone": "139 1234 5678"}, csrf=False
    )
    assert response.status_code == 400
