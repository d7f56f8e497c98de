"""The cart in the session: adding, changing, removing, prices read afresh."""

import pytest

from tests import factories
from tests.orders import EN, PHONE_UA, add, cart_of, change


def test_the_product_page_offers_add_to_cart_while_available(app, client, tea):
    page = client.get("/p/green-tea", headers=EN).get_data(as_text=True)
    assert 'action="/cart/add"' in page and f'value="{tea}"' in page
    change(app, tea, stock=0)
    page = client.get("/p/green-tea", headers=EN).get_data(as_text=True)
    assert 'action="/cart/add"' not in page and "Sold out" in page


def test_add_with_htmx_answers_the_button_region_and_the_badge(client, tea, hx):
    response = add(client, tea, 2, headers={**hx, **EN})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="add-to-cart"' in html
    assert "Added" in html and 'href="/cart"' in html
    assert (
        '<span id="cart-badge" class="cart-badge" hx-swap-oob="true">2</span>' in html
    )
    assert "HX-Request" in response.headers["Vary"]
    assert cart_of(client) == {str(tea): 2}


def test_add_without_javascript_goes_to_the_cart(client, tea):
    response = add(client, tea)
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    add(client, tea, 2)
    assert cart_of(client) == {str(tea): 3}
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Green tea" in page and "CN¥37.50" in page  # 3 × 12.50
    assert '<span id="cart-badge" class="cart-badge">3</span>' in page


@pytest.mark.parametrize("quantity", ["0", "-1", "100", "abc", "1.5", ""])
def test_bad_quantities_are_refused_and_change_nothing(client, tea, hx, quantity):
    add(client, tea, 1)
    for headers in ({**hx, **EN}, EN):
        response = add(client, tea, quantity, headers=headers)
        assert response.status_code == 422
        assert "Enter a quantity from 1 to 99." in response.get_data(as_text=True)
    assert cart_of(client) == {str(tea): 1}


def test_more_than_the_stock_is_refused_with_a_message(client, nuts, hx):
    response = add(client, nuts, 4, headers={**hx, **EN})
    assert response.status_code == 422
    assert "Only 3 left." in response.get_data(as_text=True)
    assert cart_of(client) is None
    add(client, nuts, 2)
    response = add(client, nuts, 2, headers={**hx, **EN})
    assert response.status_code == 422
    assert "Only 3 left, and 2 are in your cart already." in response.get_data(
        as_text=True
    )
    assert cart_of(client) == {str(nuts): 2}


def test_a_sold_out_product_cannot_be_added(app, client, tea):
    change(app, tea, stock=0)
    response = add(client, tea)
    assert response.status_code == 422
    assert "Sorry, Green tea is sold out." in response.get_data(as_text=True)
    assert cart_of(client) is None


@pytest.mark.parametrize("product_id", ["9999", "abc", ""])
def test_an_unknown_product_is_404(client, tea, product_id):
    add(client, tea)
    assert add(client, product_id).status_code == 404
    assert cart_of(client) == {str(tea): 1}


def test_a_product_off_sale_cannot_be_added(app, client, tea):
    change(app, tea, active=False)
    assert add(client, tea).status_code == 404
    assert cart_of(client) is None


def test_update_with_htmx_answers_the_cart_block_and_the_badge(client, tea, nuts, hx):
    add(client, tea)
    add(client, nuts)
    response = client.post(
        "/cart/update", data={"product_id": tea, "quantity": 4}, headers={**hx, **EN}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="cart"')
    assert (
        '<span id="cart-badge" class="cart-badge" hx-swap-oob="true">5</span>' in html
    )
    assert "CN¥80.00" in html  # 4 × 12.50 + 30.00
    assert "HX-Request" in response.headers["Vary"]
    assert cart_of(client) == {str(tea): 4, str(nuts): 1}

    response = client.post(
        "/cart/update", data={"product_id": tea, "quantity": 0}, headers=hx
    )
    assert response.status_code == 200 and "Green tea" not in response.get_data(
        as_text=True
    )
    assert cart_of(client) == {str(nuts): 1}


def test_update_and_remove_without_javascript_go_back_to_the_cart(client, tea, nuts):
    add(client, tea)
    add(client, nuts)
    response = client.post("/cart/update", data={"product_id": tea, "quantity": 3})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert "HX-Request" in response.headers["Vary"]
    response = client.post("/cart/remove", data={"product_id": nuts})
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert cart_of(client) == {str(tea): 3}
    client.post("/cart/remove", data={"product_id": tea})
    assert cart_of(client) is None
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Your cart is empty." in page


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", "Enter a quantity from 0 to 99."),
        ("100", "Enter a quantity from 0 to 99."),
        ("two", "Enter a quantity from 0 to 99."),
        ("11", "Only 10 left."),
    ],
)
def test_bad_updates_are_422_with_the_cart_unchanged(
    client, tea, hx, quantity, message
):
    add(client, tea, 2)
    for headers in ({**hx, **EN}, EN):
        response = client.post(
            "/cart/update",
            data={"product_id": tea, "quantity": quantity},
            headers=headers,
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert cart_of(client) == {str(tea): 2}


def test_remove_with_htmx(client, tea, hx):
    add(client, tea, 2)
    response = client.post("/cart/remove", data={"product_id": tea}, headers=hx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="cart"' in html
    assert '<span id="cart-badge" class="cart-badge" hx-swap-oob="true"></span>' in html
    assert cart_of(client) is None


def test_the_cart_block_alone_for_htmx(client, tea, hx):
    add(client, tea)
    full = client.get("/cart")
    part = client.get("/cart", headers=hx)
    assert "<html" in full.get_data(as_text=True)
    html = part.get_data(as_text=True)
    assert "<html" not in html and 'id="cart"' in html and "hx-swap-oob" not in html
    assert "HX-Request" in part.headers["Vary"]


def test_prices_are_read_afresh(app, client, tea):
    add(client, tea, 2)
    assert "CN¥25.00" in client.get("/cart", headers=EN).get_data(as_text=True)
    change(app, tea, price=1000)
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "CN¥10.00 each" in page and "CN¥20.00" in page and "CN¥25.00" not in page
    assert cart_of(client) == {str(tea): 2}  # no price in the session


def test_shipping_and_the_free_shipping_hint(app, client, tea):
    add(client, tea, 2)  # 25.00: under the 99.00 threshold
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "CN¥10.00" in page and "CN¥35.00" in page
    assert "Free shipping from CN¥99.00: add CN¥74.00 more." in page
    add(client, tea, 6)  # 100.00
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Free</dd>" in page and "Free shipping from" not in page


def test_products_gone_from_sale_leave_the_cart_with_a_notice(app, client, tea, nuts):
    add(client, tea)
    add(client, nuts)
    change(app, nuts, active=False)
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Walnuts is no longer on sale and has left your cart." in page
    assert cart_of(client) == {str(tea): 1}
    assert '<span id="cart-badge" class="cart-badge">1</span>' in page


def test_a_line_above_the_stock_left_says_so(app, client, tea):
    add(client, tea, 5)
    change(app, tea, stock=3)
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "Only 3 left" in page


def test_the_badge_shows_on_every_page(client, tea):
    assert '<span id="cart-badge" class="cart-badge"></span>' in client.get(
        "/"
    ).get_data(as_text=True)
    add(client, tea, 2)
    assert '<span id="cart-badge" class="cart-badge">2</span>' in client.get(
        "/p/green-tea"
    ).get_data(as_text=True)


def test_a_tampered_session_cart_is_ignored(client, tea):
    with client.session_transaction() as session:
        session["cart"] = {"x": 1, str(tea): "many", "7": -2, "²": 1, "8": True}
    response = client.get("/cart", headers=EN)
    assert response.status_code == 200
    assert "Your cart is empty." in response.get_data(as_text=True)


def test_the_attributed_shop_travels_with_the_cart(app, client, tea):
    with app.app_context():
        factories.shop("mei@example.com", "Mei Tea")
    client.get("/s/mei-tea", headers=PHONE_UA)
    add(client, tea)
    page = client.get("/cart", headers=EN).get_data(as_text=True)
    assert "You're buying from Mei Tea" in page


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/cart/add", {"quantity": 1}),
        ("/cart/update", {"quantity": 2}),
        ("/cart/remove", {}),
    ],
)
def test_cart_posts_need_the_csrf_token(client, tea, url, data):
    add(client, tea)
    response = client.post(url, data={"product_id": tea, **data}, csrf=False)
    assert response.status_code == 400
    assert cart_of(client) == {str(tea): 1}


def test_a_full_cart_takes_no_new_products(client, monkeypatch, tea, nuts):
    monkeypatch.setattr("storefront.orders.services.MAX_CART_LINES", 1)
    add(client, tea)
    response = add(client, nuts)
    assert response.status_code == 422
    assert "Your cart is full" in response.get_data(as_text=True)
    assert add(client, tea).status_code == 302  # more of the same is fine
