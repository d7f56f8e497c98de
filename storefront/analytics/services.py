"""The numbers behind sales, for one shop or across all of them.

sales = visitors × conversion × average order value × orders per customer, where

- visitors: unique visitors who came through the shop's links (``Visit``);
- buyers: unique phones with at least one sale;
- conversion = buyers / visitors; average order value = sales / orders;
  orders per customer = orders / buyers, so the product is exactly the sales;
- a sale is an order paid for and not wholly refunded (paid, shipped or
  completed), worth what the customer paid for its goods less refunds.

A period is whole days in the shop's time zone. Every ratio is None when its
denominator is 0: the page shows "—", never a division by zero. The queries
read one period's rows through indexes on (shop, day) and (shop, created), so
their cost follows the period's traffic, not the shop's whole history.
"""

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, case, func, select

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.groupbuy.models import Group, GroupOffer, GroupState
from storefront.ledger import services as ledger
from storefront.ledger.models import AccountKind
from storefront.money import currency, to_major
from storefront.orders.models import Order, OrderLine, OrderState
from storefront.phones import masked
from storefront.shops.models import Shop, ShopVisitor, Visit
from storefront.shops.services import customer_code
from storefront.timeutil import day_start, local_day, utcnow

#: The periods offered next to a custom range, in days.
PRESETS = (7, 30, 90)
#: The longest custom range, in days.
MAX_DAYS = 366
#: A customer whose last order is older than this is "lapsed": worth a message.
LAPSED_DAYS = 60
#: States of an order that counts as a sale.
SOLD = (OrderState.PAID, OrderState.SHIPPED, OrderState.COMPLETED)
#: What a sale is worth: the goods paid for, less refunds (shipping is not sales).
SALE = Order.subtotal - Order.refunded
TOP = 5


@dataclass(frozen=True)
class Period:
    """Whole days ``first`` to ``last`` (inclusive) in the shop's time zone."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> "Period":
        today = today or local_day(utcnow())
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1))

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(
            self.first - timedelta(days=self.days), self.first - timedelta(days=1)
        )

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def change(now: float | None, before: float | None) -> float | None:
    """The relative change from ``before`` to ``now`` (0.25 = up 25%), or None
    when there is nothing to compare with."""
    if now is None or not before:
        return None
    return (now - before) / before


@dataclass(frozen=True)
class Counts:
    """Visitors, buyers, orders and sales, and the ratios between them."""

    visitors: int = 0
    buyers: int = 0
    orders: int = 0
    #: Minor units.
    sales: int = 0

    @property
    def conversion(self) -> float | None:
        return ratio(self.buyers, self.visitors)

    @property
    def average_order(self) -> float | None:
        return ratio(self.sales, self.orders)

    @property
    def orders_per_buyer(self) -> float | None:
        return ratio(self.orders, self.buyers)


@dataclass(frozen=True)
class Numbers(Counts):
    """A period's counts, and its repeat buyers."""

    #: Buyers of the period who had bought before, or bought twice in it.
    repeat_buyers: int = 0

    @property
    def repeat_rate(self) -> float | None:
        return ratio(self.repeat_buyers, self.buyers)


@dataclass(frozen=True)
class Day(Counts):
    """One day's counts (visitors unique within the day)."""

    day: date | None = None


@dataclass(frozen=True)
class Report:
    """A period's numbers, the previous period's, and the daily series."""

    period: Period
    now: Numbers
    before: Numbers
    days: list[Day]

    def change(self, measure: str) -> float | None:
        return change(getattr(self.now, measure), getattr(self.before, measure))

    def series(self, measure: str) -> list[float | None]:
        return [getattr(day, measure, None) for day in self.days]


def shop_filter(column, shop_id: int | None) -> ColumnElement[bool]:
    """One shop's rows, or (None) every shop's, house sales excluded."""
    return column == shop_id if shop_id is not None else column.is_not(None)


def sales_in(shop_id: int | None, period: Period) -> Select:
    return select(Order.created_at, Order.phone, SALE).where(
        shop_filter(Order.shop_id, shop_id),
        Order.state.in_(SOLD),
        Order.created_at >= period.start,
        Order.created_at < period.end,
    )


def visits_in(shop_id: int | None, period: Period) -> list[ColumnElement[bool]]:
    return [
        shop_filter(Visit.shop_id, shop_id),
        Visit.day >= period.first,
        Visit.day <= period.last,
    ]


def numbers(
    shop_id: int | None, period: Period, sales: list[Row] | None = None
) -> Numbers:
    """The period's numbers; ``sales`` are its rows of ``sales_in`` if already read."""
    visitors = db.session.scalar(
        select(func.count(Visit.visitor.distinct())).where(*visits_in(shop_id, period))
    )
    if sales is None:
        sales = db.session.execute(sales_in(shop_id, period)).all()
    orders = Counter(phone for _at, phone, _sale in sales)
    before = {phone for _shop, phone in bought_before(shop_id, period)}
    return Numbers(
        visitors=visitors,
        buyers=len(orders),
        orders=len(sales),
        sales=sum(sale for _at, _phone, sale in sales),
        repeat_buyers=repeat_buyers(orders, before),
    )


def bought_before(shop_id: int | None, period: Period) -> set[tuple[int, str]]:
    """(shop id, phone) of the period's buyers who had bought there before it."""
    return set(
        db.session.execute(
            select(Order.shop_id, Order.phone)
            .distinct()
            .where(
                shop_filter(Order.shop_id, shop_id),
                Order.state.in_(SOLD),
                Order.created_at < period.start,
                Order.phone.in_(
                    sales_in(shop_id, period).with_only_columns(Order.phone)
                ),
            )
        ).all()
    )


def repeat_buyers(orders: Counter[str], before: set[str]) -> int:
    """Buyers with two orders in the period, or one and an earlier one."""
    return sum(1 for phone, count in orders.items() if count > 1 or phone in before)


def daily(
    shop_id: int | None, period: Period, sales: list[Row] | None = None
) -> list[Day]:
    """One ``Day`` for each day of the period, days without anything included."""
    visitors = dict(
        db.session.execute(
            select(Visit.day, func.count(Visit.visitor.distinct()))
            .where(*visits_in(shop_id, period))
            .group_by(Visit.day)
        ).all()
    )
    if sales is None:
        sales = db.session.execute(sales_in(shop_id, period)).all()
    days = period.each_day()
    starts = [day_start(day) for day in days]  # the day of a moment, by bisection
    orders: dict[date, int] = defaultdict(int)
    amounts: dict[date, int] = defaultdict(int)
    buyers: dict[date, set[str]] = defaultdict(set)
    for at, phone, sale in sales:
        day = days[bisect_right(starts, at) - 1]
        orders[day] += 1
        amounts[day] += sale
        buyers[day].add(phone)
    return [
        Day(visitors.get(day, 0), len(buyers[day]), orders[day], amounts[day], day=day)
        for day in days
    ]


def report(shop_id: int | None, period: Period) -> Report:
    """The dashboard's numbers for one shop (or, with None, all shops)."""
    sales = db.session.execute(sales_in(shop_id, period)).all()
    return Report(
        period,
        numbers(shop_id, period, sales),
        numbers(shop_id, period.previous()),
        daily(shop_id, period, sales),
    )


# What sold, and what brought the visitors


@dataclass(frozen=True)
class ProductSales:
    product: Product
    visitors: int
    units: int
    sales: int


def top_products(shop_id: int, period: Period, limit: int = TOP) -> list[ProductSales]:
    """The shop's best sellers of the period, with how many visitors saw each."""
    units = func.sum(OrderLine.quantity - OrderLine.refunded_quantity)
    amount = func.sum(OrderLine.amount - OrderLine.refunded_amount)
    sold = db.session.execute(
        select(OrderLine.product_id, units, amount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.shop_id == shop_id,
            Order.state.in_(SOLD),
            Order.created_at >= period.start,
            Order.created_at < period.end,
        )
        .group_by(OrderLine.product_id)
        .having(units > 0)
        .order_by(amount.desc(), units.desc(), OrderLine.product_id)
        .limit(limit)
    ).all()
    ids = [product_id for product_id, _units, _amount in sold]
    seen = dict(
        db.session.execute(
            select(Visit.product_id, func.count(Visit.visitor.distinct()))
            .where(*visits_in(shop_id, period), Visit.product_id.in_(ids))
            .group_by(Visit.product_id)
        ).all()
    )
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))
    }
    return [
        ProductSales(products[id], seen.get(id, 0), units, amount)
        for id, units, amount in sold
    ]


@dataclass(frozen=True)
class Source:
    """Where visitors landed or how they came, and the sales that followed."""

    key: str
    visitors: int
    orders: int
    product: Product | None = None

    @property
    def conversion(self) -> float | None:
        return ratio(self.orders, self.visitors)


#: How visitors came: the seller's own links, QR codes (posters), customers' shares.
CHANNELS = ("link", "qr", "customer")


def sources(shop_id: int, period: Period, group_by) -> list[Source]:
    """Visitors of the period by ``group_by`` (a column or expression of
    ``Visit``), with the orders those visitors placed in the shop that period,
    busiest first. Both reads of the visits are index-only; the orders are
    added up here rather than joined row by row in SQL."""
    sold = select(Order.visitor).where(
        Order.shop_id == shop_id,
        Order.state.in_(SOLD),
        Order.created_at >= period.start,
        Order.created_at < period.end,
        Order.visitor.is_not(None),
    )
    orders_of = Counter(db.session.scalars(sold))
    orders: Counter = Counter()
    if orders_of:
        for key, visitor in db.session.execute(
            select(group_by, Visit.visitor)
            .distinct()
            .where(*visits_in(shop_id, period), Visit.visitor.in_(sold))
        ):
            orders[key] += orders_of[visitor]
    found = [
        Source(key, visitors, orders[key])
        for key, visitors in db.session.execute(
            select(group_by, func.count(Visit.visitor.distinct()))
            .where(*visits_in(shop_id, period))
            .group_by(group_by)
        )
    ]
    # Busiest first; the shop page (None) before products on a tie.
    return sorted(found, key=lambda s: (-s.visitors, s.key is not None, s.key or 0))


def landing_pages(shop_id: int, period: Period, limit: int = TOP) -> list[Source]:
    """Which links brought visitors: the shop page (key None) or a product."""
    found = sources(shop_id, period, Visit.product_id)[:limit]
    ids = [source.key for source in found if source.key is not None]
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))
    }
    return [
        Source(source.key, source.visitors, source.orders, products.get(source.key))
        for source in found
    ]


def channels(shop_id: int, period: Period) -> list[Source]:
    """Visitors by how they came (``CHANNELS``), every channel listed."""
    how = case((Visit.sharer.is_not(None), "customer"), else_=Visit.channel)
    found = {source.key: source for source in sources(shop_id, period, how)}
    return [found.get(key, Source(key, 0, 0)) for key in CHANNELS]


# Customers


@dataclass
class Customer:
    """Someone who bought through the shop, known by phone."""

    phone: str
    name: str
    first_order: datetime
    last_order: datetime
    orders: int = 0
    #: Minor units, net of refunds.
    spent: int = 0
    #: Unique visitors and orders that came through this customer's shares.
    brought_visitors: int = 0
    brought_orders: int = 0

    @property
    def masked_phone(self) -> str:
        return masked(self.phone)

    @property
    def is_repeat(self) -> bool:
        return self.orders > 1

    @property
    def is_promoter(self) -> bool:
        return bool(self.brought_visitors or self.brought_orders)

    def is_lapsed(self, now: datetime) -> bool:
        return self.last_order < now - timedelta(days=LAPSED_DAYS)


#: Customer filters: name → who is in it.
SEGMENTS = {
    "all": lambda customer, now: True,
    "first": lambda customer, now: not customer.is_repeat,
    "repeat": lambda customer, now: customer.is_repeat,
    "promoters": lambda customer, now: customer.is_promoter,
    "lapsed": lambda customer, now: customer.is_lapsed(now),
}


@dataclass(frozen=True)
class Customers:
    """A shop's customers, most recent first, and the size of each segment."""

    visitors: int
    people: list[Customer] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)

    def segment(self, name: str) -> list[Customer]:
        keep = SEGMENTS[name]
        return [customer for customer in self.people if keep(customer, self.now)]

    def counts(self) -> dict[str, int]:
        return {name: len(self.segment(name)) for name in SEGMENTS}


def customers(shop_id: int, now: datetime | None = None) -> Customers:
    """Everyone who bought through the shop (never another shop's customers),
    with what their shares brought: visitors who came through a link carrying
    their code, and those visitors' orders (not their own)."""
    people: dict[str, Customer] = {}
    bought: list[tuple[str, str]] = []  # (visitor, phone) of each sale from a visit
    for name, phone, at, sale, visitor in db.session.execute(
        select(Order.customer_name, Order.phone, Order.created_at, SALE, Order.visitor)
        .where(Order.shop_id == shop_id, Order.state.in_(SOLD))
        .order_by(Order.created_at, Order.id)
    ):
        customer = people.setdefault(phone, Customer(phone, name, at, at))
        customer.name, customer.last_order = name, at  # the latest name they gave
        customer.orders += 1
        customer.spent += sale
        if visitor:
            bought.append((visitor, phone))
    if people:
        sharers = {customer_code(phone): people[phone] for phone in people}
        brought_by: dict[str, list[Customer]] = defaultdict(list)  # visitor → sharers
        for code, visitor in db.session.execute(
            select(Visit.sharer, Visit.visitor)
            .distinct()
            .where(Visit.shop_id == shop_id, Visit.sharer.is_not(None))
        ):
            if (sharer := sharers.get(code)) is not None:
                sharer.brought_visitors += 1
                brought_by[visitor].append(sharer)
        for visitor, phone in bought:
            for sharer in brought_by.get(visitor, ()):
                if sharer.phone != phone:
                    sharer.brought_orders += 1
    visitors = db.session.scalar(
        select(func.count()).select_from(ShopVisitor).filter_by(shop_id=shop_id)
    )
    ordered = sorted(people.values(), key=lambda c: c.last_order, reverse=True)
    return Customers(visitors, ordered, now or utcnow())


def search(people: list[Customer], query: str) -> list[Customer]:
    """Customers whose name contains ``query``, or whose phone ends with its
    digits (what a seller remembers of a number)."""
    if not query:
        return people
    digits = "".join(ch for ch in query if ch.isdigit())
    folded = query.casefold()
    return [
        customer
        for customer in people
        if folded in customer.name.casefold()
        or (len(digits) >= 3 and customer.phone.endswith(digits))
    ]


#: The customers spreadsheet's header (the phone masked, as on the page).
CUSTOMER_COLUMNS = [
    "name",
    "phone",
    "first_order",
    "last_order",
    "orders",
    "spent",
    "brought_visitors",
    "brought_orders",
]


def customer_rows(people: list[Customer]) -> list[list]:
    return [
        [
            c.name,
            c.masked_phone,
            local_day(c.first_order).isoformat(),
            local_day(c.last_order).isoformat(),
            c.orders,
            to_major(c.spent, currency()),
            c.brought_visitors,
            c.brought_orders,
        ]
        for c in people
    ]


# Across all shops, for the operator


@dataclass(frozen=True)
class ShopNumbers:
    shop: Shop
    numbers: Numbers
    #: Commission earned and not yet paid out (pending + available), minor units.
    owed: int


def leaderboard(period: Period) -> list[ShopNumbers]:
    """Every shop with visitors or sales in the period, best sales first."""
    visitors = dict(
        db.session.execute(
            select(Visit.shop_id, func.count(Visit.visitor.distinct()))
            .where(*visits_in(None, period))
            .group_by(Visit.shop_id)
        ).all()
    )
    orders: dict[int, Counter[str]] = defaultdict(Counter)
    sales: dict[int, int] = defaultdict(int)
    for shop_id, phone, sale in db.session.execute(
        sales_in(None, period).with_only_columns(Order.shop_id, Order.phone, SALE)
    ):
        orders[shop_id][phone] += 1
        sales[shop_id] += sale
    ids = set(visitors) | set(orders)
    before: dict[int, set[str]] = defaultdict(set)
    for shop_id, phone in bought_before(None, period):
        before[shop_id].add(phone)
    owed = ledger.balances_of(list(ids))
    board = [
        ShopNumbers(
            shop,
            Numbers(
                visitors=visitors.get(shop.id, 0),
                buyers=len(orders[shop.id]),
                orders=orders[shop.id].total(),
                sales=sales[shop.id],
                repeat_buyers=repeat_buyers(orders[shop.id], before[shop.id]),
            ),
            owed[shop.id][AccountKind.PENDING] + owed[shop.id][AccountKind.AVAILABLE],
        )
        for shop in db.session.scalars(select(Shop).where(Shop.id.in_(ids)))
    ]
    board.sort(key=lambda row: (-row.numbers.sales, -row.numbers.visitors, row.shop.id))
    return board


@dataclass(frozen=True)
class OfferResults:
    offer: GroupOffer
    succeeded: int
    failed: int
    open: int

    @property
    def success_rate(self) -> float | None:
        """Of the groups that ended, the share that filled."""
        return ratio(self.succeeded, self.succeeded + self.failed)


def group_results(period: Period) -> list[OfferResults]:
    """Groups opened in the period, by offer and how they ended."""
    counts: dict[int, dict[GroupState, int]] = defaultdict(lambda: defaultdict(int))
    for offer_id, state, count in db.session.execute(
        select(Group.offer_id, Group.state, func.count())
        .where(Group.opened_at >= period.start, Group.opened_at < period.end)
        .group_by(Group.offer_id, Group.state)
    ):
        counts[offer_id][state] += count
    offers = db.session.scalars(
        select(GroupOffer).where(GroupOffer.id.in_(counts)).order_by(GroupOffer.id)
    )
    return [
        OfferResults(
            offer,
            counts[offer.id][GroupState.SUCCEEDED],
            counts[offer.id][GroupState.FAILED],
            counts[offer.id][GroupState.OPEN],
        )
        for offer in offers
    ]
