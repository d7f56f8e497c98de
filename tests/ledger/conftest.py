"""A small network for the ledger tests: Mei recruited Qiang, who recruited
Sarah; a customer buys through their shops."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import AccountKind
from storefront.orders import services as orders
from storefront.orders.models import Order, PaymentMethod
from storefront.shops.models import Shop
from storefront.shops.services import set_recruiter
from storefront.timeutil import utcnow
from tests import factories

CUSTOMER = orders.Customer("Wang Fang", "138 0013 8000", "1 West Lake Road")


@dataclass
class Network:
    mei: Shop
    qiang: Shop
    sarah: Shop
    operator: User
    tea: int  #: product ids: ¥12.50, default rate
    nuts: int  #: ¥33.33 at its own 12.5%

    def order(self, shop: Shop | None, phone: str = CUSTOMER.phone, **lines) -> Order:
        """An order through ``shop`` of ``lines`` (product attribute → quantity)."""
        quantities = {getattr(self, name): n for name, n in lines.items()}
        customer = orders.Customer(CUSTOMER.name, phone, CUSTOMER.address)
        key = f"k{db.session.query(Order).count()}"
        order = orders.place_order(
            quantities, customer, PaymentMethod.TRANSFER, shop, key
        )
        db.session.flush()
        return order

    def paid(self, shop: Shop | None, **lines) -> Order:
        order = self.order(shop, **lines)
        orders.mark_paid(order, self.operator)
        return order

    def completed(self, shop: Shop | None, **lines) -> Order:
        order = self.paid(shop, **lines)
        orders.ship(order, "SF", "SF123", self.operator)
        orders.complete(order, self.operator)
        return order


def balances(shop: Shop) -> tuple[int, int, int]:
    """(pending, available, paid out), without settling anything."""
    return tuple(
        ledger.account(shop.id, kind).balance
        for kind in (AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.PAID_OUT)
    )


def after_window(days: int = 7):
    return utcnow() + timedelta(days=days, seconds=1)


def make_network(operator_id: int) -> Network:
    """Make the network's rows (in an app context) and commit them."""
    mei = factories.shop("mei@example.com", "Mei", phone="139 0000 0001")
    qiang = factories.shop("qiang@example.com", "Qiang", phone="139 0000 0002")
    sarah = factories.shop("sarah@example.com", "Sarah", phone="139 0000 0003")
    set_recruiter(qiang, mei)
    set_recruiter(sarah, qiang)
    tea = factories.product(name="Tea", slug="tea", price=1250, stock=100)
    nuts = factories.product(
        name="Nuts", slug="nuts", price=3333, stock=100, commission_bp=1250
    )
    db.session.commit()
    return Network(
        mei, qiang, sarah, db.session.get(User, operator_id), tea.id, nuts.id
    )


@pytest.fixture
def net(app, operator):
    """The network, inside an app context that stays pushed for the test (so
    not for tests that make requests: those would share its session)."""
    with app.app_context():
        yield make_network(operator)
