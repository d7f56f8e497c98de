"""Order rules: placing, stock, every transition, refunds, events, expiry."""

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import events, services
from storefront.orders.models import Order, OrderState, PaymentMethod
from storefront.phones import PhoneError
from storefront.settings import set_setting
from tests import factories

S = OrderState
CUSTOMER = services.Customer("Wang Fang", "138 0013 8000", "1 West Lake Road")


def place(products, key="k1", shop=None, **quantities):
    wanted = {p.id: quantities.get(p.slug, 1) for p in products}
    return services.place_order(wanted, CUSTOMER, PaymentMethod.TRANSFER, shop, key)


@pytest.fixture
def catalog(app):
    with app.app_context():
        yield [
            factories.product(name="Tea", slug="tea", price=1250, stock=5),
            factories.product(name="Nuts", slug="nuts", price=3333, stock=5),
        ]


@pytest.fixture
def operator_user(app, operator):
    with app.app_context():
        return db.session.get(User, operator)


def test_place_order_takes_stock_and_prices(app, catalog):
    tea, nuts = catalog
    order = place(catalog, tea=2)
    db.session.commit()
    assert (order.subtotal, order.shipping, order.total) == (2500 + 3333, 1000, 6833)
    assert [(line.name, line.quantity, line.amount) for line in order.lines] == [
        ("Tea", 2, 2500),
        ("Nuts", 1, 3333),
    ]
    assert order.phone == "+8613800138000" and order.state is S.PENDING_PAYMENT
    db.session.expire_all()
    assert (tea.stock, nuts.stock) == (3, 4)
    assert [e.kind for e in order.events] == ["placed"]
    assert len(order.token) >= 20 and order.number[6] == "-"


def test_free_shipping_from_the_threshold(app, catalog):
    set_setting("FREE_SHIPPING_OVER", 2500)
    assert place(catalog[:1], tea=2).shipping == 0
    assert services.shipping_for(2499) == 1000


def test_checkout_is_idempotent(app, catalog):
    first = place(catalog, key="same")
    again = place(catalog, key="same")
    db.session.commit()
    assert first is again
    assert db.session.query(Order).count() == 1
    db.session.expire_all()
    assert catalog[0].stock == 4


def test_sold_out_names_the_product_and_takes_nothing(app, catalog):
    tea, nuts = catalog
    with pytest.raises(services.SoldOut, match="Nuts"):
        place(catalog, nuts=6)
    db.session.rollback()
    assert db.session.query(Order).count() == 0
    assert (
        db.session.get(Product, tea.id).stock,
        db.session.get(Product, nuts.id).stock,
    ) == (5, 5)


def test_bad_orders_are_refused(app, catalog):
    with pytest.raises(services.OrderError, match="empty"):
        services.place_order({}, CUSTOMER, PaymentMethod.COD, None, "a")
    with pytest.raises(PhoneError):
        bad = services.Customer("A", "12345", "x")
        services.place_order({catalog[0].id: 1}, bad, PaymentMethod.COD, None, "b")
    set_setting("PAYMENT_METHODS", ["transfer"])
    with pytest.raises(services.OrderError, match="payment methods"):
        services.place_order({catalog[0].id: 1}, CUSTOMER, PaymentMethod.COD, None, "c")


def test_the_order_keeps_its_shop_and_binds_the_customer(app, catalog):
    from storefront.shops.services import bound_shop

    with app.test_request_context():
        shop = factories.shop()
        order = place(catalog, shop=shop)
        assert order.shop_id == shop.id
        assert bound_shop("+8613800138000") == shop


ALL_MOVES = {
    S.PAID: lambda o, a: services.mark_paid(o, a),
    S.SHIPPED: lambda o, a: services.ship(o, "SF", "SF123", a),
    S.COMPLETED: lambda o, a: services.complete(o, a),
    S.CANCELLED: lambda o, a: services.cancel(o, a),
    S.REFUNDED: lambda o, a: services.refund_all(o, a),
}
PATHS = {
    S.PENDING_PAYMENT: [],
    S.PAID: [S.PAID],
    S.SHIPPED: [S.PAID, S.SHIPPED],
    S.COMPLETED: [S.PAID, S.SHIPPED, S.COMPLETED],
    S.CANCELLED: [S.CANCELLED],
    S.REFUNDED: [S.PAID, S.REFUNDED],
}


@pytest.mark.parametrize(("start", "target"), list(itertools.product(PATHS, ALL_MOVES)))
def test_every_transition_legal_or_refused(app, catalog, operator_user, start, target):
    order = place(catalog)
    for step in PATHS[start]:
        ALL_MOVES[step](order, operator_user)
    assert order.state is start
    legal = target in services.TRANSITIONS[start]
    if legal:
        ALL_MOVES[target](order, operator_user)
        assert order.state is target
        assert order.events[-1].actor_id == operator_user.id
    else:
        with pytest.raises(services.OrderError):
            ALL_MOVES[target](order, operator_user)
        db.session.rollback()


def test_ship_needs_a_tracking_number(app, catalog, operator_user):
    order = place(catalog)
    services.mark_paid(order, operator_user)
    with pytest.raises(services.OrderError, match="tracking"):
        services.ship(order, "SF", "  ", operator_user)
    assert order.state is S.PAID


def test_cancel_returns_stock(app, catalog, operator_user):
    order = place(catalog, tea=3)
    db.session.commit()
    services.cancel(order, operator_user)
    db.session.commit()
    db.session.expire_all()
    assert [p.stock for p in catalog] == [5, 5]


def test_partial_refunds_sum_to_the_total(app, catalog, operator_user):
    tea, nuts = catalog
    order = place(catalog, tea=3, nuts=3)  # odd amounts: 3 × 33.33
    services.mark_paid(order, operator_user)
    lines = {line.name: line for line in order.lines}
    first = services.refund(order, {lines["Nuts"].id: 1}, operator_user)
    assert first == 3333 and order.state is S.PAID
    second = services.refund(
        order, {lines["Nuts"].id: 1, lines["Tea"].id: 2}, operator_user
    )
    assert order.state is S.PAID
    with pytest.raises(services.OrderError, match="At most 1"):
        services.refund(order, {lines["Tea"].id: 2}, operator_user)
    rest = services.refund_all(order, operator_user)
    assert order.state is S.REFUNDED
    assert first + second + rest == order.total == order.refunded
    assert all(line.refunded_amount == line.amount for line in order.lines)
    db.session.commit()
    db.session.expire_all()
    assert [p.stock for p in catalog] == [5, 5]  # all stock back


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=7))
# Each example rolls back, so sharing the function's app between examples is safe.
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_refunding_a_line_piece_by_piece_never_loses_a_fen(app_for_hypothesis, pieces):
    """Whatever the order of partial refunds, the line's refunds add up to what
    was paid for it, exactly."""
    app = app_for_hypothesis
    with app.app_context():
        product = db.session.scalar(select(Product))
        product.stock = 100
        quantity = sum(pieces)
        key = f"h{db.session.query(Order).count()}"
        order = services.place_order(
            {product.id: quantity}, CUSTOMER, PaymentMethod.TRANSFER, None, key
        )
        services.mark_paid(order, None)
        line = order.lines[0]
        for piece in pieces:
            services.refund(order, {line.id: piece}, None)
        assert line.refunded_amount == line.amount
        assert order.refunded == order.total
        db.session.rollback()


@pytest.fixture
def app_for_hypothesis(app):
    with app.app_context():
        factories.product(name="Odd", slug="odd", price=3337, stock=100)
    return app


def test_refund_refuses_bad_requests(app, catalog, operator_user):
    order = place(catalog)
    with pytest.raises(services.OrderError, match="paid order"):
        services.refund_all(order, operator_user)
    services.mark_paid(order, operator_user)
    with pytest.raises(services.OrderError, match="not part"):
        services.refund(order, {999: 1}, operator_user)
    with pytest.raises(services.OrderError, match="At most"):
        services.refund(order, {order.lines[0].id: -1}, operator_user)
    with pytest.raises(services.OrderError, match="Choose what"):
        services.refund(order, {order.lines[0].id: 0}, operator_user)
    assert order.refunded == 0


def test_events_reach_subscribers_with_amounts_per_line(app, catalog, operator_user):
    seen = []
    events.subscribe(seen.append)
    try:
        order = place(catalog, tea=2)
        services.mark_paid(order, operator_user)
        services.refund(order, {order.lines[0].id: 1}, operator_user)
        services.ship(order, "SF", "1", operator_user)
        services.complete(order, operator_user)
    finally:
        events.subscribers.remove(seen.append)
    tea, nuts = order.lines
    assert [(e.kind, e.amounts, e.sequence) for e in seen] == [
        ("paid", {tea.id: 2500, nuts.id: 3333}, 0),
        ("refunded", {tea.id: 1250}, 1),
        ("completed", {}, 0),
    ]


def test_sweep_cancels_stale_unpaid_orders_only(app, runner, catalog, operator_user):
    stale, fresh, paid = (place(catalog, key=k) for k in ("s", "f", "p"))
    services.mark_paid(paid, operator_user)
    for order in (stale, paid):
        order.created_at -= timedelta(hours=49)
    db.session.commit()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "expired unpaid orders: 1" in result.output
    assert runner.invoke(args=["sweep"]).output.strip().endswith(": 0")  # idempotent
    db.session.expire_all()
    assert (stale.state, fresh.state, paid.state) == (
        S.CANCELLED,
        S.PENDING_PAYMENT,
        S.PAID,
    )
    assert stale.events[-1].detail == "expired"
    assert [p.stock for p in catalog] == [3, 3]
