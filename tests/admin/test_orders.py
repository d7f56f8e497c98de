"""The operator's order queue and order page: filters and search, every change of
state through HTTP (legal and refused), refunds, and the shipping and payment
settings."""

import re

import pytest
from sqlalchemy import select

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order, OrderEvent, OrderLine, PaymentMethod
from storefront.orders.services import Customer, mark_paid, place_order, ship
from storefront.settings import Setting, get_setting
from storefront.shops.models import Shop
from tests import factories
from tests.admin.test_views import admin_urls
from tests.conftest import EN, login

CUSTOMER = Customer("Wang Fang", "13800138000", "1 West Lake Road, Hangzhou", "Ring")


def place(app, quantities: dict, key: str, customer=CUSTOMER, shop_id=None) -> int:
    """A committed order (waiting for payment); returns its id."""
    with app.app_context():
        shop = db.session.get(Shop, shop_id) if shop_id else None
        order = place_order(quantities, customer, PaymentMethod.TRANSFER, shop, key)
        db.session.commit()
        return order.id


def advance(app, order_id: int, *steps: str) -> None:
    """Move an order along by the services, as the system (no actor)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        for step in steps:
            if step == "paid":
                mark_paid(order, None)
            elif step == "shipped":
                ship(order, "SF", "SF100", None)
        db.session.commit()


def snapshot(app, order_id: int) -> dict:
    """Everything a change may touch: the order, its lines, events and stock."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        return {
            "state": order.state.value,
            "refunded": order.refunded,
            "shipping": (order.carrier, order.tracking_number),
            "lines": [(li.refunded_quantity, li.refunded_amount) for li in order.lines],
            "events": [(e.kind, e.actor_id, e.amount, e.detail) for e in order.events],
            "stock": sorted(db.session.execute(select(Product.id, Product.stock))),
        }


def line_ids(app, order_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(OrderLine.id)
                .where(OrderLine.order_id == order_id)
                .order_by(OrderLine.id)
            )
        )


def stock(app, product_id: int) -> int:
    with app.app_context():
        return db.session.get(Product, product_id).stock


def number(app, order_id: int) -> str:
    with app.app_context():
        return db.session.get(Order, order_id).number


@pytest.fixture
def products(app):
    """Tea (12.50, 10 in stock) and nuts (33.33, 5 in stock); returns their ids."""
    with app.app_context():
        tea = factories.product(name="Green tea", slug="tea", price=1250, stock=10)
        nuts = factories.product(name="Walnuts", slug="nuts", price=3333, stock=5)
        return tea.id, nuts.id


@pytest.fixture
def order(app, products) -> int:
    """Two teas and a bag of walnuts: 25.00 + 33.33 + 10.00 shipping = 68.33."""
    tea, nuts = products
    return place(app, {tea: 2, nuts: 1}, "order-1")


@pytest.fixture
def queue(app, products):
    """One order in each state the queue cares about, by customer name."""
    tea, _nuts = products
    people = {
        "waiting": Customer("Zhao Lei", "13911112222", "2 Road"),
        "paid": Customer("Qian Yu", "13733334444", "3 Road"),
        "shipped": Customer("Sun Li", "13655556666", "4 Road"),
    }
    ids = {
        state: place(app, {tea: 1}, f"queue-{state}", customer)
        for state, customer in people.items()
    }
    advance(app, ids["paid"], "paid")
    advance(app, ids["shipped"], "paid", "shipped")
    return ids


# The queue


def test_back_office_overview_links_to_the_order_queue(as_operator, queue):
    response = as_operator.get("/admin/", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # One paid order to ship and one waiting for payment
    assert re.search(
        r'<a href="/admin/orders"><strong>2 orders to do</strong></a>:\s*'
        r"1 to ship · 1 waiting for payment",
        page,
    )


def test_queue_shows_what_needs_doing_paid_first(app, as_operator, queue):
    response = as_operator.get("/admin/orders", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    # Orders comes straight after the overview, and is the current tab
    tabs = re.search(r'<nav class="tabs".*?</nav>', page, re.S).group(0)
    assert re.findall(r"<a [^>]*>([^<]+)</a>", tabs)[:2] == ["Overview", "Orders"]
    assert '<a href="/admin/orders" aria-current="page">Orders</a>' in tabs
    assert page.index("Qian Yu") < page.index("Zhao Lei")  # paid, then waiting
    assert "Sun Li" not in page  # shipped: nothing to do
    assert "2 orders" in page
    # one chip per state with its count; "To do" is current
    assert re.search(r'aria-current="page">To do <span id="count-todo">2</span>', page)
    assert '<span id="count-shipped">1</span>' in page
    assert '<span id="count-all">3</span>' in page
    # each row: number, customer, masked phone, total, state, quick actions
    waiting_number = number(app, queue["waiting"])
    assert waiting_number in page and "139****2222" in page
    assert "13911112222" not in page
    assert "¥22.50" in page  # 12.50 + 10.00 shipping
    assert "Mark paid" in page and "Ship…" in page and "Cancel" in page


@pytest.mark.parametrize(
    ("state", "shown", "hidden"),
    [
        ("pending_payment", ["Zhao Lei"], ["Qian Yu", "Sun Li"]),
        ("paid", ["Qian Yu"], ["Zhao Lei", "Sun Li"]),
        ("shipped", ["Sun Li"], ["Zhao Lei", "Qian Yu"]),
        ("completed", [], ["Zhao Lei", "Qian Yu", "Sun Li"]),
        ("all", ["Zhao Lei", "Qian Yu", "Sun Li"], []),
    ],
)
def test_filter_by_state(as_operator, hx, queue, state, shown, hidden):
    response = as_operator.get(f"/admin/orders?state={state}", headers={**hx, **EN})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="order-results">')
    for name in shown:
        assert name in body
    for name in hidden:
        assert name not in body
    if not shown:
        assert "Nothing to do here." in body


@pytest.mark.parametrize("state", ["bogus", "PAID", "todo", "expired"])
def test_unknown_state_filter_is_400(as_operator, queue, state):
    assert as_operator.get(f"/admin/orders?state={state}").status_code == 400


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("139 1111 2222", "Zhao Lei"),  # phone as typed on a phone
        ("+86 137-3333-4444", "Qian Yu"),
        ("6666", "Sun Li"),  # the last digits, in any state when none is chosen
        ("qian", "Qian Yu"),
    ],
)
def test_search_by_phone_or_name(as_operator, hx, queue, query, found):
    response = as_operator.get(
        "/admin/orders", query_string={"q": query}, headers={**hx, **EN}
    )
    body = response.get_data(as_text=True)
    assert found in body and "1 order" in body
    assert "HX-Request" in response.headers["Vary"]


def test_search_by_order_number_full_page_and_fragment(app, as_operator, hx, queue):
    wanted = number(app, queue["shipped"])
    full = as_operator.get(f"/admin/orders?q={wanted}", headers=EN)
    assert full.get_data(as_text=True).startswith("<!doctype html>")
    assert "HX-Request" in full.headers["Vary"]
    fragment = as_operator.get(f"/admin/orders?q={wanted}", headers={**hx, **EN})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="order-results">')
    assert "<nav" not in body.split("pager")[0]  # no tabs, no chips
    assert wanted in body and "1 order" in body and "in every state" in body
    assert "HX-Request" in fragment.headers["Vary"]
    # within a chosen state the search stays in it
    body = as_operator.get(
        f"/admin/orders?state=paid&q={wanted}", headers={**hx, **EN}
    ).get_data(as_text=True)
    assert "0 orders" in body and "No orders match." in body


def test_search_wildcards_are_literal(as_operator, hx, queue):
    body = as_operator.get("/admin/orders?q=%25", headers={**hx, **EN})
    assert "0 orders" in body.get_data(as_text=True)


# The order page


def test_order_page_has_everything_to_ship_it(app, as_operator, order, products):
    with app.app_context():
        shop_id = factories.shop(email="mei@example.com", name="Mei's Tea").id
    shop_order = place(app, {products[0]: 1}, "from-shop", shop_id=shop_id)
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert f"Order {number(app, order)}" in page
    assert "Wang Fang" in page and "1 West Lake Road, Hangzhou" in page
    assert 'href="tel:+8613800138000"' in page and "138 0013 8000" in page
    assert "Ring" in page  # the note
    assert "Green tea × 2" in page and "Walnuts × 1" in page
    for amount in ("¥12.50", "¥25.00", "¥33.33", "¥58.33", "¥10.00", "¥68.33"):
        assert amount in page
    assert "Pay by transfer" in page and "House sale" in page
    assert "Placed" in page and "the customer" in page  # the history
    assert "Mark paid" in page and "Cancel order" in page
    assert "Refund" not in page and "Tracking number" not in page  # not yet
    page = as_operator.get(f"/admin/orders/{shop_order}", headers=EN)
    assert "via Mei&#39;s Tea" in page.get_data(as_text=True)


def test_unknown_order_is_404_everywhere(app, as_operator):
    urls = [(u, m) for u, m in admin_urls(app) if u.startswith("/admin/orders/")]
    assert len(urls) == 6
    for url, method in urls:
        assert getattr(as_operator, method)(url).status_code == 404, url
        huge = url.replace("/1", "/99999999999", 1)  # past an SQL integer
        assert getattr(as_operator, method)(huge).status_code == 404, huge


def test_sellers_and_visitors_cannot_touch_orders(app, client, order):
    before = snapshot(app, order)
    assert client.get("/admin/orders").status_code == 302
    assert client.post(f"/admin/orders/{order}/paid").status_code == 302
    with app.app_context():
        factories.shop(email="mei@example.com")
    assert login(client, "mei@example.com").status_code == 302
    assert client.get("/admin/orders").status_code == 403
    assert client.get(f"/admin/orders/{order}").status_code == 403
    assert client.post(f"/admin/orders/{order}/paid").status_code == 403
    assert snapshot(app, order) == before


# Changing state


def test_paid_shipped_completed_by_the_operator(app, as_operator, operator, order):
    response = as_operator.post(f"/admin/orders/{order}/paid", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/orders/{order}"
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert f"Order {number(app, order)} is paid." in page  # the flash
    assert "Tracking number" in page and "Refund everything" in page

    response = as_operator.post(
        f"/admin/orders/{order}/ship",
        data={"carrier": " SF Express ", "tracking_number": " SF1234567890 "},
    )
    assert response.status_code == 302
    response = as_operator.post(f"/admin/orders/{order}/complete")
    assert response.status_code == 302

    after = snapshot(app, order)
    assert after["state"] == "completed"
    assert after["shipping"] == ("SF Express", "SF1234567890")
    assert [(kind, actor) for kind, actor, *_ in after["events"]] == [
        ("placed", None),
        ("paid", operator),
        ("shipped", operator),
        ("completed", operator),
    ]
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert "SF Express SF1234567890" in page  # in the history
    assert page.count("Someone") == 3  # the operator, on each step


def test_quick_actions_answer_htmx_with_the_row_and_counts(app, as_operator, hx, queue):
    waiting = queue["waiting"]
    row = {**hx, **EN, "HX-Target": f"order-{waiting}"}
    response = as_operator.post(f"/admin/orders/{waiting}/paid", headers=row)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li class="row" id="order-{waiting}">')
    assert f"Order {number(app, waiting)} is paid." in body
    assert "Ship…" in body and "Mark paid" not in body
    # the chips' numbers follow, out of band
    assert '<span id="count-paid" hx-swap-oob="true">2</span>' in body
    assert '<span id="count-pending_payment" hx-swap-oob="true">0</span>' in body
    assert {"HX-Request", "HX-Target"} <= set(response.headers["Vary"].split(", "))

    response = as_operator.post(
        f"/admin/orders/{waiting}/ship",
        data={"carrier": "ZTO", "tracking_number": "ZT42"},
        headers=row,
    )
    assert response.status_code == 200
    assert "Complete" in response.get_data(as_text=True)
    response = as_operator.post(f"/admin/orders/{waiting}/complete", headers=row)
    assert response.status_code == 200
    assert snapshot(app, waiting)["state"] == "completed"


def test_actions_on_the_order_page_answer_htmx_with_its_block(
    app, as_operator, hx, order
):
    headers = {**hx, **EN, "HX-Target": "order-detail"}
    response = as_operator.post(f"/admin/orders/{order}/paid", headers=headers)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="order-detail">')
    assert "is paid." in body and "Tracking number" in body
    assert "HX-Request" in response.headers["Vary"]


ILLEGAL = [
    # (steps first, action, form, message)
    (
        [],
        "ship",
        {"carrier": "SF", "tracking_number": "SF1"},
        "An order that is waiting for payment cannot become shipped.",
    ),
    ([], "complete", {}, "An order that is waiting for payment cannot become"),
    (["paid"], "paid", {}, "An order that is paid cannot become paid."),
    (["paid"], "cancel", {}, "An order that is paid cannot become cancelled."),
    (["paid"], "complete", {}, "An order that is paid cannot become completed."),
    (["paid", "shipped"], "cancel", {}, "An order that is shipped cannot become"),
    (["cancel"], "complete", {}, "An order that is cancelled cannot become completed"),
    (["cancel"], "paid", {}, "An order that is cancelled cannot become paid."),
    ([], "refund", {"everything": "1"}, "Only a paid order can be refunded."),
    (["cancel"], "refund", {"everything": "1"}, "Only a paid order can be refunded."),
]


@pytest.mark.parametrize(("steps", "action", "data", "message"), ILLEGAL)
@pytest.mark.parametrize("how", ["plain", "row", "page"])
def test_illegal_changes_are_422_and_change_nothing(
    app, as_operator, hx, order, steps, action, data, message, how
):
    for step in steps:  # get there through HTTP, as the operator would
        form = {"tracking_number": "SF1"} if step == "shipped" else {}
        verb = {"shipped": "ship"}.get(step, step)
        response = as_operator.post(f"/admin/orders/{order}/{verb}", data=form)
        assert response.status_code == 302
    before = snapshot(app, order)
    headers = {
        "plain": EN,
        "row": {**hx, **EN, "HX-Target": f"order-{order}"},
        "page": {**hx, **EN, "HX-Target": "order-detail"},
    }[how]
    response = as_operator.post(
        f"/admin/orders/{order}/{action}", data=data, headers=headers
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    start = {
        "plain": "<!doctype html>",
        "row": '<li class="row',
        "page": '<section id="order-detail">',
    }[how]
    assert body.lstrip().startswith(start)
    assert snapshot(app, order) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"carrier": "SF"}, "Enter the tracking number."),
        ({"carrier": "SF", "tracking_number": "   "}, "Enter the tracking number."),
        (
            {"carrier": "x" * 41, "tracking_number": "SF1"},
            "Field cannot be longer than 40 characters.",
        ),
        ({"tracking_number": "9" * 61}, "Field cannot be longer than 60 characters."),
    ],
)
def test_ship_needs_a_tracking_number(app, as_operator, hx, order, data, message):
    as_operator.post(f"/admin/orders/{order}/paid")
    before = snapshot(app, order)
    response = as_operator.post(
        f"/admin/orders/{order}/ship",
        data=data,
        headers={**hx, **EN, "HX-Target": f"order-{order}"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "<details open>" in body  # the form stays open, as typed
    assert f'value="{data.get("carrier", "")}"' in body
    assert snapshot(app, order) == before


def test_cancel_returns_the_stock_and_keeps_the_reason(
    app, as_operator, operator, order, products
):
    tea, nuts = products
    assert (stock(app, tea), stock(app, nuts)) == (8, 4)
    response = as_operator.post(
        f"/admin/orders/{order}/cancel", data={"reason": "Customer changed mind"}
    )
    assert response.status_code == 302
    assert (stock(app, tea), stock(app, nuts)) == (10, 5)
    after = snapshot(app, order)
    assert after["state"] == "cancelled"
    assert after["events"][-1] == ("cancelled", operator, None, "Customer changed mind")
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert "Customer changed mind" in page
    assert "Mark paid" not in page and "Refund" not in page


def test_without_csrf_nothing_changes(app, as_operator, order):
    before = snapshot(app, order)
    for action in ("paid", "cancel", "ship", "complete", "refund"):
        response = as_operator.post(
            f"/admin/orders/{order}/{action}", data={}, csrf=False
        )
        assert response.status_code == 400, action
    assert snapshot(app, order) == before


# Refunds


def test_refund_chosen_lines_then_the_rest(app, as_operator, operator, order, products):
    tea, nuts = products
    as_operator.post(f"/admin/orders/{order}/paid")
    tea_line, nuts_line = line_ids(app, order)
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert f'name="line-{tea_line}"' in page and 'max="2"' in page

    response = as_operator.post(
        f"/admin/orders/{order}/refund",
        data={f"line-{tea_line}": "1", f"line-{nuts_line}": "0"},
    )
    assert response.status_code == 302
    first = snapshot(app, order)
    assert first["state"] == "paid" and first["refunded"] == 1250
    assert first["lines"] == [(1, 1250), (0, 0)]
    assert stock(app, tea) == 9
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert "Refunded CN¥12.50 on order" in page
    assert "1 refunded, CN¥12.50" in page and 'max="1"' in page

    # the rest: the other tea and the walnuts, and the postage with them
    response = as_operator.post(
        f"/admin/orders/{order}/refund",
        data={f"line-{tea_line}": "1", f"line-{nuts_line}": "1"},
        headers=EN,
    )
    assert response.status_code == 302
    after = snapshot(app, order)
    assert after["state"] == "refunded"
    assert after["refunded"] == 6833  # the whole total
    assert after["lines"] == [(2, 2500), (1, 3333)]
    refunds = [e for e in after["events"] if e[0] == "refunded"]
    assert [(actor, amount, detail) for _k, actor, amount, detail in refunds] == [
        (operator, 1250, "part"),
        (operator, 1250 + 3333 + 1000, "all"),
    ]
    assert sum(amount for _k, _a, amount, _d in refunds) == 6833
    assert (stock(app, tea), stock(app, nuts)) == (10, 5)
    page = as_operator.get(f"/admin/orders/{order}", headers=EN).get_data(as_text=True)
    assert "Refund these items" not in page


def test_refund_everything_after_shipping(app, as_operator, hx, order, products):
    as_operator.post(f"/admin/orders/{order}/paid")
    as_operator.post(f"/admin/orders/{order}/ship", data={"tracking_number": "SF9"})
    response = as_operator.post(
        f"/admin/orders/{order}/refund",
        data={"everything": "1"},
        headers={**hx, **EN, "HX-Target": "order-detail"},
    )
    assert response.status_code == 200
    assert "Refunded CN¥68.33 on order" in response.get_data(as_text=True)
    after = snapshot(app, order)
    assert (after["state"], after["refunded"]) == ("refunded", 6833)
    assert (stock(app, products[0]), stock(app, products[1])) == (10, 5)


@pytest.mark.parametrize(
    ("tea", "nuts", "message"),
    [
        ("-1", "0", "Enter how many of Green tea to refund as a whole number"),
        ("abc", "0", "Enter how many of Green tea to refund as a whole number"),
        ("1.5", "0", "Enter how many of Green tea to refund as a whole number"),
        ("０", "0", "Enter how many of Green tea to refund as a whole number"),
        ("0", "2", "At most 1 of Walnuts can be refunded."),
        ("3", "0", "At most 2 of Green tea can be refunded."),
        ("1", "99999999999999", "At most 1 of Walnuts can be refunded."),
        ("0", "0", "Choose what to refund."),
        ("", "", "Choose what to refund."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_refund_is_422_and_writes_nothing(
    app, as_operator, hx, order, tea, nuts, message, htmx
):
    as_operator.post(f"/admin/orders/{order}/paid")
    tea_line, nuts_line = line_ids(app, order)
    before = snapshot(app, order)
    headers = {**hx, **EN, "HX-Target": "order-detail"} if htmx else EN
    response = as_operator.post(
        f"/admin/orders/{order}/refund",
        data={f"line-{tea_line}": tea, f"line-{nuts_line}": nuts},
        headers=headers,
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert f'value="{tea}"' in body  # what was typed stays, to correct it
    assert snapshot(app, order) == before


def test_refund_of_another_orders_line_is_refused(app, as_operator, order, products):
    other = place(app, {products[0]: 1}, "other")
    as_operator.post(f"/admin/orders/{order}/paid")
    as_operator.post(f"/admin/orders/{other}/paid")
    before = snapshot(app, order)
    (other_line,) = line_ids(app, other)
    response = as_operator.post(
        f"/admin/orders/{order}/refund", data={f"line-{other_line}": "1"}, headers=EN
    )
    assert response.status_code == 422
    assert "That line is not part of this order." in response.get_data(as_text=True)
    assert snapshot(app, order) == before


def test_every_event_names_the_operator(app, as_operator, operator, order):
    tea_line, _nuts_line = line_ids(app, order)
    as_operator.post(f"/admin/orders/{order}/paid")
    as_operator.post(f"/admin/orders/{order}/refund", data={f"line-{tea_line}": "1"})
    as_operator.post(f"/admin/orders/{order}/ship", data={"tracking_number": "A1"})
    as_operator.post(f"/admin/orders/{order}/complete")
    as_operator.post(f"/admin/orders/{order}/refund", data={"everything": "1"})
    with app.app_context():
        events = db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order)
        ).all()
        kinds = [(e.kind, e.actor_id) for e in events]
    assert kinds == [("placed", None)] + [
        (kind, operator)
        for kind in ("paid", "refunded", "shipped", "completed", "refunded")
    ]


# Settings: shipping and payment


SETTINGS = {
    "shipping_fee": "8",
    "free_shipping_over": "88.80",
    "payment_methods": ["", "cod"],
    "payment_instructions": "  Alipay 138 0013 8000, Wang.  ",
}


def test_shipping_and_payment_settings_are_saved(app, as_operator, products):
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert 'name="shipping_fee"' in page and 'value="10.00"' in page
    assert 'value="99.00"' in page
    assert (
        len(re.findall(r'type="checkbox" name="payment_methods" [^>]*checked', page))
        == 2
    )
    response = as_operator.post("/admin/settings", data=SETTINGS)
    assert response.status_code == 302
    with app.app_context():
        assert get_setting("SHIPPING_FEE") == 800
        assert get_setting("FREE_SHIPPING_OVER") == 8880
        assert get_setting("PAYMENT_METHODS") == ["cod"]
        assert get_setting("PAYMENT_INSTRUCTIONS") == "Alipay 138 0013 8000, Wang."
        assert get_setting("SIGNUP_APPROVAL") is False
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert 'value="8.00"' in page and 'value="88.80"' in page
    assert 'value="transfer">' in page and 'value="cod" checked>' in page
    assert "Alipay 138 0013 8000, Wang." in page
    # checkout prices with them: 12.50 × 2 is under 88.80, so 8.00 shipping
    with app.app_context():
        from storefront.orders.services import price_cart

        assert price_cart({products[0]: 2}).shipping == 800
        assert price_cart({products[0]: 8}).shipping == 0


def test_both_payment_methods_in_a_fixed_order(app, as_operator):
    data = {**SETTINGS, "payment_methods": ["", "cod", "transfer", "cod"]}
    assert as_operator.post("/admin/settings", data=data).status_code == 302
    with app.app_context():
        assert get_setting("PAYMENT_METHODS") == ["transfer", "cod"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payment_methods": [""]}, "Offer at least one payment method."),
        (
            {"payment_methods": ["", "card"]},
            "Choose transfer, cash on delivery or both.",
        ),
        ({"shipping_fee": ""}, "Enter the shipping fee (0 for none)."),
        ({"shipping_fee": "ten"}, "Enter an amount such as 12.50."),
        ({"shipping_fee": "-1"}, "Enter an amount such as 12.50."),
        ({"free_shipping_over": ""}, "Enter the order amount that ships free."),
        ({"free_shipping_over": "9.999"}, "Enter an amount such as 12.50."),
        (
            {"payment_instructions": "x" * 1001},
            "Field cannot be longer than 1000 characters.",
        ),
    ],
)
def test_bad_settings_are_422_and_save_nothing(app, as_operator, changes, message):
    response = as_operator.post(
        "/admin/settings", data={**SETTINGS, **changes}, headers=EN
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert body.count(message) == 1
    with app.app_context():
        assert db.session.query(Setting).count() == 0


def test_a_page_without_the_new_fields_keeps_them(app, as_operator):
    """A settings page loaded before these settings existed still saves what it
    shows, and leaves the rest alone."""
    assert as_operator.post("/admin/settings", data=SETTINGS).status_code == 302
    response = as_operator.post("/admin/settings", data={"signup_approval": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert get_setting("SIGNUP_APPROVAL") is True
        assert get_setting("SHIPPING_FEE") == 800
        assert get_setting("PAYMENT_METHODS") == ["cod"]


# The payment QR code


def qr_files(app) -> list[str]:
    from pathlib import Path

    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in folder.glob("*.webp")) if folder.exists() else []


def test_payment_qr_upload_replace_and_remove(app, as_operator):
    from io import BytesIO

    upload = {"qr": (BytesIO(factories.image_bytes(900, 900)), "qr.png")}
    response = as_operator.post("/admin/settings/payment-qr", data=upload)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/settings"
    with app.app_context():
        first = get_setting("PAYMENT_QR")
    assert re.fullmatch(r"[0-9a-f]{24}-480\.webp", first)
    assert qr_files(app) == [first]
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert f'src="/media/{first}"' in page and "The payment QR code is saved." in page
    # the customer's order page finds it where the catalog serves photos
    assert as_operator.get(f"/media/{first}").status_code == 200

    upload = {"qr": (BytesIO(factories.image_bytes(300, 400)), "qr2.jpg")}
    response = as_operator.post("/admin/settings/payment-qr", data=upload)
    assert response.status_code == 302
    with app.app_context():
        second = get_setting("PAYMENT_QR")
    assert second.endswith("-300.webp") and qr_files(app) == [second]

    response = as_operator.post("/admin/settings/payment-qr", data={"remove": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert get_setting("PAYMENT_QR") == ""
    assert qr_files(app) == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"%PDF-1.4 not a picture", "qr.png"), "not an image we can read"),
        (None, "Choose a picture of your payment QR code."),
    ],
)
def test_bad_payment_qr_is_422_and_changes_nothing(app, as_operator, upload, message):
    from io import BytesIO

    data = {"qr": (BytesIO(upload[0]), upload[1])} if upload else {}
    response = as_operator.post("/admin/settings/payment-qr", data=data, headers=EN)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and 'name="shipping_fee"' in body
    with app.app_context():
        assert db.session.query(Setting).count() == 0
    assert qr_files(app) == []
