"""Two shops' fortnight, built by hand so that every number the analytics show
can be worked out on paper (tests/analytics/test_services.py does, line by line).

The shop's days are Asia/Shanghai's (UTC+8); ``local()`` turns a local time into
the naive UTC that the database stores. "Today" is Tuesday 2026-03-10, so
``WEEK`` is 03-04..03-10 and the week before it 02-25..03-03.

Products (100 in stock each, the default 10% commission):
tea ¥12.50, nuts ¥30.00, honey ¥50.00, jam ¥8.00.

Orders: label, customer, lines, state, local time, what the sale is worth.

Shop A (Mei)::

    a0   Gao    tea×1               completed  2025-12-01 10:00   1250
    a1   Ann    tea×2               paid       03-02 00:30 *      2500  week before
    a2   Fei    nuts×1              paid       03-01 23:59 **     3000  week before
    a3   Annie  tea×1               shipped    03-05 10:00        1250  (Ann, new name)
    a4   Bo     nuts×1              paid       03-06 09:00        3000
    a5   Bo     honey×1             completed  03-10 23:59        5000  last minute
    a6   Cai    tea×2 nuts×1 jam×1  paid       03-07 11:00        4250  6300 less a
                                                                        refund of tea×1
                                                                        (1250) and jam
                                                                        (800)
    a7   Dan    honey×1             refunded   03-05 12:00        —     all refunded
    a8   Dan    tea×1               cancelled  03-06 12:00        —
    a9   Dan    tea×1               pending    03-09 12:00        —     not paid
    a10  Eve    tea×1               paid       03-04 00:00        1250  first minute
    a11  Eve    tea×1               paid       03-11 00:00        1250  a minute late

    *  2026-03-01 16:30 UTC       ** 2026-03-01 15:59 UTC

Shop B (Qiang)::

    b1   Ann    honey×2             paid       03-06 15:00       10000  ("Ann Wang")
    b2   Hui    jam×3               completed  03-09 08:00        2400
    b3   Hui    jam×1               paid       02-20 10:00         800  before both

House sales (no shop)::

    h1   Cai    tea×1               paid       03-01 10:00        1250
    h2   Eve    nuts×1              paid       03-08 10:00        3000

Visits (visitor, local day, page, channel, sharer)::

    A  ann     03-03  shop   link  ann   (Ann opens her own share)
    A  ann     03-04, 03-05, 03-06  shop  link
    A  bo      03-06  nuts   qr          A  bo      03-10  honey  qr
    A  cai     03-07  shop   link  ann   A  dan     03-05  honey  link
    A  eve     03-04  tea    qr    ann   A  idle1   03-08  shop   link
    A  idle2   03-08  shop   link  bo    A  idle3   03-08  tea    qr
    A  prev1   03-02  shop   link        A  fei     03-01  nuts   link
    A  after1  03-11  shop   link
    B  ann-b   03-06  honey  link        B  hui     03-09  jam    qr    ann
    B  bo      03-07  shop   link

Orders remember their browser: a1, a3 ann; a2 fei; a4, a5 bo; a6 cai;
a7–a9 dan; a10, a11 eve; b1 ann-b; b2 hui; h2 eve; the rest none.

Shop C (Lan) has nothing at all.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import Order, PaymentMethod
from storefront.shops.models import Shop, Visit
from storefront.shops.services import customer_code
from tests import factories

#: The shop's offset from UTC (Asia/Shanghai keeps no summer time).
OFFSET = timedelta(hours=8)
TODAY = date(2026, 3, 10)
#: Customers: phone numbers as typed, and names.
PHONES = {
    "ann": "138 0000 0010",
    "bo": "138 0000 0011",
    "cai": "138 0000 0012",
    "dan": "138 0000 0013",
    "eve": "138 0000 0014",
    "gao": "138 0000 0015",
    "fei": "138 1234 5678",
    "hui": "138 0000 0020",
}
NAMES = {
    "ann": "Ann Li",
    "bo": "Bo Chen",
    "cai": "Cai Wu",
    "dan": "Dan Ma",
    "eve": "Eve Sun",
    "gao": "Gao Yu",
    "fei": "Fei Zhang",
    "hui": "Hui Lin",
}


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0):
    """The naive UTC moment of a time on the shop's clock."""
    return datetime(year, month, day, hour, minute) - OFFSET


def e164(who: str) -> str:
    return "+86" + PHONES[who].replace(" ", "")


@dataclass
class Data:
    """Ids of the rows (objects expire when the context ends)."""

    a: int
    b: int
    c: int
    operator: int
    tea: int
    nuts: int
    honey: int
    jam: int
    #: Order ids by label (a0 … h2).
    orders: dict[str, int]

    def shop(self, name: str) -> Shop:
        return db.session.get(Shop, getattr(self, name))

    def product(self, name: str) -> Product:
        return db.session.get(Product, getattr(self, name))

    def order(self, label: str) -> Order:
        return db.session.get(Order, self.orders[label])


def make_data(operator_id: int) -> Data:
    """Make the rows above (in an app context) and commit them."""
    actor = db.session.get(User, operator_id)
    a = factories.shop("mei@example.com", "Mei")
    b = factories.shop("qiang@example.com", "Qiang")
    c = factories.shop("lan@example.com", "Lan")
    made = {
        name: factories.product(name=name.title(), slug=name, price=price, stock=100)
        for name, price in [
            ("tea", 1250),
            ("nuts", 3000),
            ("honey", 5000),
            ("jam", 800),
        ]
    }
    ids: dict[str, int] = {}

    def place(label, shop, who, at, visitor=None, name=None, **lines) -> Order:
        customer = orders.Customer(
            name or NAMES[who], PHONES[who], "1 West Lake Road", visitor=visitor
        )
        quantities = {made[product].id: n for product, n in lines.items()}
        order = orders.place_order(
            quantities, customer, PaymentMethod.TRANSFER, shop, f"key-{label}"
        )
        order.created_at = at
        db.session.flush()
        ids[label] = order.id
        return order

    def paid(*args, **kwargs) -> Order:
        order = place(*args, **kwargs)
        orders.mark_paid(order, actor)
        return order

    def completed(*args, **kwargs) -> Order:
        order = paid(*args, **kwargs)
        orders.ship(order, "SF", "SF1", actor)
        orders.complete(order, actor)
        return order

    completed("a0", a, "gao", local(2025, 12, 1, 10), tea=1)
    paid("a1", a, "ann", datetime(2026, 3, 1, 16, 30), "ann", tea=2)
    paid("a2", a, "fei", datetime(2026, 3, 1, 15, 59), "fei", nuts=1)
    a3 = paid("a3", a, "ann", local(2026, 3, 5, 10), "ann", "Annie Li", tea=1)
    orders.ship(a3, "SF", "SF3", actor)
    paid("a4", a, "bo", local(2026, 3, 6, 9), "bo", nuts=1)
    completed("a5", a, "bo", local(2026, 3, 10, 23, 59), "bo", honey=1)
    a6 = paid("a6", a, "cai", local(2026, 3, 7, 11), "cai", tea=2, nuts=1, jam=1)
    line = {line.name: line.id for line in a6.lines}
    orders.refund(a6, {line["Tea"]: 1, line["Jam"]: 1}, actor)
    orders.refund_all(paid("a7", a, "dan", local(2026, 3, 5), "dan", honey=1), actor)
    orders.cancel(place("a8", a, "dan", local(2026, 3, 6), "dan", tea=1), actor)
    place("a9", a, "dan", local(2026, 3, 9), "dan", tea=1)
    paid("a10", a, "eve", local(2026, 3, 4, 0, 0), "eve", tea=1)
    paid("a11", a, "eve", local(2026, 3, 11, 0, 0), "eve", tea=1)
    paid("b1", b, "ann", local(2026, 3, 6, 15), "ann-b", "Ann Wang", honey=2)
    completed("b2", b, "hui", local(2026, 3, 9, 8), "hui", jam=3)
    paid("b3", b, "hui", local(2026, 2, 20, 10), jam=1)
    paid("h1", None, "cai", local(2026, 3, 1, 10), tea=1)
    paid("h2", None, "eve", local(2026, 3, 8, 10), "eve", nuts=1)

    ann = customer_code(e164("ann"))
    bo = customer_code(e164("bo"))
    for shop, visitor, day, product, channel, sharer in [
        (a, "ann", date(2026, 3, 3), None, "link", ann),
        (a, "ann", date(2026, 3, 4), None, "link", None),
        (a, "ann", date(2026, 3, 5), None, "link", None),
        (a, "ann", date(2026, 3, 6), None, "link", None),
        (a, "bo", date(2026, 3, 6), "nuts", "qr", None),
        (a, "bo", date(2026, 3, 10), "honey", "qr", None),
        (a, "cai", date(2026, 3, 7), None, "link", ann),
        (a, "dan", date(2026, 3, 5), "honey", "link", None),
        (a, "eve", date(2026, 3, 4), "tea", "qr", ann),
        (a, "idle1", date(2026, 3, 8), None, "link", None),
        (a, "idle2", date(2026, 3, 8), None, "link", bo),
        (a, "idle3", date(2026, 3, 8), "tea", "qr", None),
        (a, "prev1", date(2026, 3, 2), None, "link", None),
        (a, "fei", date(2026, 3, 1), "nuts", "link", None),
        (a, "after1", date(2026, 3, 11), None, "link", None),
        (b, "ann-b", date(2026, 3, 6), "honey", "link", None),
        (b, "hui", date(2026, 3, 9), "jam", "qr", ann),
        (b, "bo", date(2026, 3, 7), None, "link", None),
    ]:
        product_id = made[product].id if product else None
        add_visit(shop.id, visitor, day, product_id, channel, sharer)
    db.session.commit()
    return Data(a.id, b.id, c.id, operator_id, *(made[n].id for n in made), orders=ids)


def add_visit(
    shop_id: int,
    visitor: str,
    day: date,
    product_id: int | None = None,
    channel: str = "link",
    sharer: str | None = None,
) -> Visit:
    """A visit row as ``record_visit`` writes it, for a chosen day (flushed)."""
    return factories.visit(shop_id, visitor, day, product_id, channel, sharer)


@pytest.fixture
def data(app, operator):
    """The rows, in an app context that stays pushed for the test (so not for
    tests that make requests: those would share its session)."""
    with app.app_context():
        yield make_data(operator)
