"""A tea offer for groups of three, and customers to fill them."""

from datetime import timedelta

import pytest

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.orders import services as orders
from storefront.orders.models import PaymentMethod
from storefront.timeutil import utcnow
from tests import factories

#: Customers by first name: phone numbers that differ.
PHONES = {
    name: f"138 0000 00{n:02d}"
    for n, name in enumerate(["Ann", "Bo", "Cai", "Dan", "Eve", "Fei"], start=10)
}


def seat(name: str, key: str | None = None, quantity: int = 1) -> groups.Seat:
    """What customer ``name`` fills in to take a seat."""
    return groups.Seat(
        orders.Customer(f"{name} Li", PHONES[name], "1 West Lake Road"),
        quantity,
        PaymentMethod.TRANSFER,
        key or f"key-{name}-{utcnow().timestamp()}",
    )


def make_offer(product=None, **changes) -> groups.GroupOffer:
    """A committed offer: by default tea (¥12.50, 20 in stock) at ¥9.90 for
    groups of 3 within 24 hours, 2 each; ``changes`` set other values."""
    tea = product or factories.product(name="Tea", slug="tea", price=1250, stock=20)
    now = utcnow()
    data = groups.OfferData(
        product_id=tea.id,
        group_price=990,
        size=3,
        window_hours=24,
        per_customer=2,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        active=True,
    )
    for name, value in changes.items():
        setattr(data, name, value)
    offer = groups.save_offer(data)
    db.session.commit()
    return offer


@pytest.fixture
def offer(app, operator):
    """The offer, in an app context that stays pushed for the test."""
    with app.app_context():
        yield make_offer()


@pytest.fixture
def operator_user(app, operator):
    with app.app_context():
        return db.session.get(User, operator)
