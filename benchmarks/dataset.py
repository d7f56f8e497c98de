"""A benchmark dataset: sellers, shops, a catalog, orders and visits at chosen sizes.

    python -m benchmarks.dataset --database sqlite:////tmp/bench.db \\
        --shops 1000 --products 10000 --orders 100000 --visits 1000000 \\
        [--groups 0] [--seed 1]
    python -m benchmarks.dataset --database sqlite:////tmp/bench.db \\
        --add-history 99000

The tables come from the models (``db.create_all``, with their real indexes) and
are filled by bulk inserts. The data has the shape the pages read:

- shop sizes follow a Zipf law, in visits and in orders alike: a few big shops
  and a long tail;
- a visitor comes back on a few distinct days, to the shop page or a product;
  some come by QR code, some through a customer's share (``Visit.sharer``);
- most orders come from one of the shop's visitors (``Order.visitor``) on the
  day of that visit; customers come back (repeat buyers); states are mixed and
  every amount obeys the check constraints; a few orders are house sales;
- everything happened in the last 365 days and is inserted in time order, as a
  live shop would have written it.

Two things are there for load tests that buy: product 1 never runs out
(``BOTTOMLESS`` stock) and shop 1 shows ``SHOWCASE`` products (all the active
catalog when it is smaller). ``--groups N`` adds a live group-buy offer on
product 1 with N open groups of ``MAX_SIZE``, each opened by its leader's order
within the last hour (house sales: no shop's numbers change), so that joins
have seats to take.

``--add-history N`` appends N orders dated in the year before that history to a
generated database: the same shops in the same proportions, their customers
coming back as before. The 30-day dashboard does not show them; they only make
the tables longer, which is what a test of "cost must not grow with history"
needs.

The ledger, order events, bindings and images stay empty. Share codes are HMACs
of the secret key, so whatever serves this database must use ``SECRET_KEY``
below (``bench_app`` does).
"""

import argparse
import base64
import hashlib
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Table, func, insert, inspect, select, text

from storefront import create_app
from storefront.accounts.models import Role, User
from storefront.accounts.services import hash_password
from storefront.catalog.models import Category, Product
from storefront.extensions import db
from storefront.groupbuy.models import (
    MAX_SIZE,
    Group,
    GroupMember,
    GroupOffer,
    GroupState,
)
from storefront.orders.models import (
    Order,
    OrderLine,
    OrderState,
    PaymentMethod,
)
from storefront.shops.models import Shop, ShopProduct, ShopStatus, Visit
from storefront.shops.services import customer_code, remember_visitors
from storefront.timeutil import day_start, local_day, utcnow

#: The secret key of any app serving the dataset: share codes are HMACs of it.
SECRET_KEY = "benchmark-secret-key"
#: Every generated user's password (one hash for all: hashing is slow on purpose).
PASSWORD = "benchmark password"
OPERATOR_EMAIL = "operator@bench.example.com"
#: How far back the history goes.
DAYS = 365
#: Product 1's stock: load tests may check it out for ever.
BOTTOMLESS = 1_000_000_000
#: How many products shop 1 shows (a full shop page).
SHOWCASE = 60
#: Rows per INSERT batch.
CHUNK = 20_000
#: Zipf exponent of shop sizes: the biggest of 1,000 shops gets ~9% of everything.
SKEW = 0.9
#: Share of orders that are house sales (no shop).
HOUSE_SHARE = 0.05
#: Chance that an order comes from an earlier customer of the same shop.
REPEAT = 0.35
#: Chance that a shop order comes from one of the shop's visitors (else no id).
FROM_VISIT = 0.75
#: Share of a shop's customers whose shares bring visitors, and of visitors who
#: come through one of those shares, or by QR code.
PROMOTERS = 0.1
SHARED = 0.12
QR = 0.1
#: Days a visitor comes back on (weights): most come once.
RETURNS = ([1, 2, 3, 4, 5, 6, 8, 10], [50, 20, 10, 7, 5, 4, 2, 2])
STATES = (
    [
        OrderState.COMPLETED,
        OrderState.SHIPPED,
        OrderState.PAID,
        OrderState.PENDING_PAYMENT,
        OrderState.CANCELLED,
        OrderState.REFUNDED,
    ],
    [62, 8, 7, 4, 12, 7],
)
SHIPPING_FEE, FREE_SHIPPING_OVER = 1000, 9900  # the defaults in storefront.config
MOBILE_PREFIXES = ("138", "139", "136", "135", "150", "151", "158", "186", "188")
CUSTOMER_NAMES = [
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨敏",
    "赵磊",
    "黄丽",
    "周杰",
    "吴霞",
    "徐明",
    "孙燕",
    "Amy Chen",
    "Lucy Wang",
    "Tom Li",
]
CATEGORIES = [
    "茶叶",
    "零食",
    "美妆",
    "母婴",
    "家居",
    "水果",
    "粮油",
    "酒水",
    "个护",
    "服饰",
    "数码",
    "宠物",
]
NOTES = ("自己天天在用，回购三次了。", "朋友都说好吃。", "性价比很高，推荐！", "")


@dataclass(frozen=True)
class Sizes:
    """How many of each, and how unequal the shops are (0 = all alike)."""

    shops: int = 1_000
    products: int = 10_000
    orders: int = 100_000
    visits: int = 1_000_000
    skew: float = SKEW
    #: Open group-buys on product 1 (none unless asked for).
    groups: int = 0


def bench_app(database: str, **config) -> Flask:
    """The app on the benchmark database, with the dataset's secret key."""
    return create_app({"DATABASE_URL": database, "SECRET_KEY": SECRET_KEY, **config})


def apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def chunked(rows: Iterable[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(table: Table, rows: Iterable[dict]) -> int:
    """Insert ``rows`` in batches (executemany), in one transaction."""
    count = 0
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
        for chunk in chunked(rows):
            connection.execute(insert(table), chunk)
            count += len(chunk)
    return count


def load_orders(made: "Generator", orders: list[tuple], first_id: int = 1) -> int:
    """Insert the orders (ids from ``first_id`` on) and their lines, a batch of
    orders at a time."""
    count, lines = 0, []
    with db.engine.begin() as connection:
        # When a batch is full, ``lines`` holds exactly that batch's lines.
        for chunk in chunked(made.order_rows(orders, lines, first_id)):
            connection.execute(insert(Order.__table__), chunk)
            connection.execute(insert(OrderLine.__table__), lines)
            count += len(chunk) + len(lines)
            lines.clear()
    return count


class Generator:
    """Makes the rows from a seed (the history ends at the moment it runs, so
    runs at different times differ a little)."""

    def __init__(self, sizes: Sizes, seed: int):
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.salt = seed.to_bytes(8, "big", signed=True)
        self.now = utcnow()
        today = local_day(self.now)
        #: Day offset (0 = today) → the day, and the moment it began (naive UTC).
        self.days = [today - timedelta(days=n) for n in range(DAYS)]
        self.starts = [day_start(day) for day in self.days]
        self.phones = 0
        self.visitors = 0
        self.prices: dict[int, tuple[str, int]] = {}
        self.active: list[int] = []
        self.picks: dict[int, list[int]] = {}
        self.category_count = max(1, min(len(CATEGORIES), sizes.products // 50))

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(seconds=int(days * 86400))

    def before_history(self) -> datetime:
        """A moment in the year before the history (366 to 730 days ago)."""
        return self.ago(DAYS + 1 + self.rng.random() * (DAYS - 1))

    def categories(self) -> Iterator[dict]:
        for n in range(1, self.category_count + 1):
            yield {"id": n, "slug": f"category-{n}", "name": CATEGORIES[n - 1]}

    def products(self) -> Iterator[dict]:
        rng, categories = self.rng, self.category_count
        for n in range(1, self.sizes.products + 1):
            price = rng.randrange(590, 29_900, 100)
            name = f"{CATEGORIES[n % categories]} {n}"
            first = n == 1
            active = first or rng.random() < 0.95
            stock = 0 if rng.random() < 0.05 else rng.randint(1, 500)
            self.prices[n] = (name, price)
            if active:
                self.active.append(n)
            created = self.ago(DAYS + rng.random() * DAYS)
            yield {
                "id": n,
                "slug": f"product-{n:05d}",
                "name": name,
                "description": "",
                "price": price,
                "compare_at_price": price + rng.randrange(500, 5_000, 100)
                if rng.random() < 0.2
                else None,
                "stock": BOTTOMLESS if first else stock,
                "category_id": n % categories + 1,
                "active": active,
                "commission_bp": rng.choice((500, 1500, 2000))
                if rng.random() < 0.1
                else None,
                "created_at": created,
                "updated_at": created,
            }

    def users(self) -> Iterator[dict]:
        """The operator (id 1), then the seller of shop n (id n + 1)."""
        password_hash = hash_password(PASSWORD)
        for n in range(self.sizes.shops + 1):
            seller = n > 0
            yield {
                "id": n + 1,
                "email": f"seller-{n:05d}@bench.example.com"
                if seller
                else OPERATOR_EMAIL,
                "phone": None,
                "name": CUSTOMER_NAMES[n % len(CUSTOMER_NAMES)]
                if seller
                else "Operator",
                "password_hash": password_hash,
                "role": Role.SELLER if seller else Role.OPERATOR,
                "session_token": f"bench-{n}-{self.rng.getrandbits(96):024x}",
                "active": True,
                "created_at": self.ago(DAYS + 30),
            }

    def shops(self) -> Iterator[dict]:
        rng = self.rng
        for n in range(1, self.sizes.shops + 1):
            yield {
                "id": n,
                "owner_id": n + 1,
                "slug": f"shop-{n:05d}",
                "name": f"{CUSTOMER_NAMES[n % len(CUSTOMER_NAMES)]}的小店 {n}",
                "bio": "",
                "contact": "",
                "recruiter_id": rng.randint(1, n - 1)
                if n > 1 and rng.random() < 0.3
                else None,
                "status": ShopStatus.ACTIVE,
                "created_at": self.ago(DAYS + rng.random() * 30),
            }

    def shop_products(self) -> Iterator[dict]:
        """20–60 products per shop, ``SHOWCASE`` in shop 1 (fewer when the catalog
        is smaller)."""
        rng = self.rng
        for shop in range(1, self.sizes.shops + 1):
            count = SHOWCASE if shop == 1 else rng.randint(20, 60)
            picked = rng.sample(self.active, min(count, len(self.active)))
            self.picks[shop] = picked
            for position, product in enumerate(picked):
                yield {
                    "shop_id": shop,
                    "product_id": product,
                    "position": position,
                    "note": rng.choice(NOTES),
                    "featured": position < 3 and rng.random() < 0.5,
                }

    def new_phone(self) -> str:
        """A valid, unique Chinese mobile number (E.164)."""
        self.phones += 1
        n = self.phones
        digits = (n * 7_919 + 1_234_567) % 100_000_000  # a bijection: spread out
        return f"+86{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{digits:08d}"

    def new_visitor(self) -> str:
        """A visitor id like a browser cookie's (16 URL-safe characters)."""
        self.visitors += 1
        digest = hashlib.blake2b(
            self.visitors.to_bytes(8, "big"), digest_size=12, salt=self.salt
        ).digest()
        return base64.urlsafe_b64encode(digest).decode()

    def shop_visits(self, shop: int, count: int, codes: list[str]) -> list[tuple]:
        """``count`` visits of ``shop``: (day offset, shop, product, visitor,
        channel, sharer). A visitor's visits fall on distinct days, which keeps
        ``Visit.once`` unique."""
        rng, picks, visits = self.rng, self.picks[shop], []
        while len(visits) < count:
            visitor = self.new_visitor()
            sharer = rng.choice(codes) if codes and rng.random() < SHARED else None
            channel = "qr" if sharer is None and rng.random() < QR else "link"
            returns = min(rng.choices(*RETURNS)[0], count - len(visits))
            for offset in rng.sample(range(DAYS), returns):
                product = rng.choice(picks) if picks and rng.random() < 0.65 else None
                visits.append((offset, shop, product, visitor, channel, sharer))
        return visits

    def customers(self, count: int, known: Iterable[str] = ()) -> list[str]:
        """The phones of ``count`` orders: earlier customers (and those of the
        ``known`` orders) come back, the more they bought the likelier; the rest
        are new."""
        phones = list(known)
        for _ in range(count):
            if phones and self.rng.random() < REPEAT:
                phones.append(self.rng.choice(phones))
            else:
                phones.append(self.new_phone())
        return phones[len(phones) - count :]

    def traffic(self) -> tuple[list[tuple], list[tuple]]:
        """Every visit, and every order as (created_at, shop, phone, visitor),
        each in time order."""
        rng, sizes = self.rng, self.sizes
        ranks = list(range(1, sizes.shops + 1))
        rng.shuffle(ranks)  # shop ids say nothing about size
        weights = [rank**-sizes.skew for rank in ranks]
        house = round(sizes.orders * HOUSE_SHARE)
        visit_counts = apportion(sizes.visits, weights)
        order_counts = apportion(sizes.orders - house, weights)
        visits: list[tuple] = []
        orders: list[tuple] = []
        for shop in range(1, sizes.shops + 1):
            phones = self.customers(order_counts[shop - 1])
            buyers = sorted(set(phones))
            promoters = rng.sample(buyers, math.ceil(len(buyers) * PROMOTERS))
            codes = [customer_code(phone) for phone in promoters]
            seen = self.shop_visits(shop, visit_counts[shop - 1], codes)
            visits.extend(seen)
            for phone in phones:
                if seen and rng.random() < FROM_VISIT:
                    offset, _shop, _product, visitor, _channel, _by = rng.choice(seen)
                    at = self.starts[offset] + timedelta(seconds=rng.randrange(86400))
                    at = min(at, self.now - timedelta(seconds=rng.randrange(1, 600)))
                else:
                    at, visitor = self.ago(rng.random() * DAYS), None
                orders.append((at, shop, phone, visitor))
        for _ in range(house):
            orders.append((self.ago(rng.random() * DAYS), None, self.new_phone(), None))
        rng.shuffle(visits)  # a day's visits interleave across shops
        visits.sort(key=lambda visit: -visit[0])
        orders.sort(key=lambda order: order[0])
        return visits, orders

    def visit_rows(self, visits: list[tuple]) -> Iterator[dict]:
        for offset, shop, product, visitor, channel, sharer in visits:
            day = self.days[offset]
            yield {
                "shop_id": shop,
                "product_id": product,
                "visitor": visitor,
                "day": day,
                "once": f"{shop}:{product or 0}:{visitor}:{day}",
                "channel": channel,
                "sharer": sharer,
            }

    def state(self, at: datetime) -> OrderState:
        """A state, as the order's age allows: unpaid orders expire after two
        days, paid ones ship after three and shipped ones complete after 14."""
        state = self.rng.choices(*STATES)[0]
        age = self.now - at
        if state is OrderState.PENDING_PAYMENT and age > timedelta(days=2):
            return OrderState.CANCELLED
        if state is OrderState.PAID and age > timedelta(days=3):
            state = OrderState.SHIPPED
        if state is OrderState.SHIPPED and age > timedelta(days=14):
            return OrderState.COMPLETED
        return state

    def order_rows(
        self, orders: list[tuple], lines: list[dict], first_id: int = 1
    ) -> Iterator[dict]:
        """The orders, with ids from ``first_id`` on in the order given; their
        lines are appended to ``lines``."""
        rng = self.rng
        for id, (at, shop, phone, visitor) in enumerate(orders, start=first_id):
            state = self.state(at)
            pool = self.picks.get(shop) or self.active
            count = min(rng.choices((1, 2, 3), (70, 22, 8))[0], len(pool))
            mine = [
                line_row(id, product, self.prices[product], quantity)
                for product in rng.sample(pool, count)
                for quantity in [rng.choices((1, 2, 3), (75, 18, 7))[0]]
            ]
            subtotal = sum(line["amount"] for line in mine)
            shipping = shipping_for(subtotal)
            refunded = 0
            if state is OrderState.REFUNDED:  # all of it, postage too
                refunded = subtotal + shipping
                for line in mine:
                    line["refunded_quantity"] = line["quantity"]
                    line["refunded_amount"] = line["amount"]
            elif state is OrderState.COMPLETED and len(mine) > 1 and rng.random() < 0.1:
                first = mine[0]  # one line sent back
                first["refunded_quantity"] = first["quantity"]
                refunded = first["refunded_amount"] = first["amount"]
            lines.extend(mine)
            yield self.order_row(
                id, at, shop, phone, visitor, state, subtotal, shipping, refunded
            )

    def order_row(
        self,
        id: int,
        at: datetime,
        shop: int | None,
        phone: str,
        visitor: str | None,
        state: OrderState,
        subtotal: int,
        shipping: int,
        refunded: int = 0,
        group_hold: bool = False,
    ) -> dict:
        sent = state in (OrderState.SHIPPED, OrderState.COMPLETED)
        return {
            "id": id,
            "number": f"{at:%y%m%d}-{id:06d}",
            "token": f"{self.rng.getrandbits(128):032x}",
            "checkout_key": f"bench-{id}",
            "shop_id": shop,
            "customer_name": CUSTOMER_NAMES[int(phone[-6:]) % len(CUSTOMER_NAMES)],
            "phone": phone,
            "address": f"上海市浦东新区世纪大道 {id % 2000 + 1} 号",
            "visitor": visitor,
            "note": "",
            "payment_method": PaymentMethod.TRANSFER
            if self.rng.random() < 0.8
            else PaymentMethod.COD,
            "state": state,
            "subtotal": subtotal,
            "shipping": shipping,
            "total": subtotal + shipping,
            "refunded": refunded,
            "group_hold": group_hold,
            "carrier": "顺丰速运" if sent else "",
            "tracking_number": f"SF{id:012d}" if sent else "",
            "created_at": at,
        }

    def group_buys(self, first_order: int) -> dict[Table, list[dict]]:
        """A live offer on product 1 and ``sizes.groups`` open groups on it of
        ``MAX_SIZE`` seats, each opened within the last hour by a leader whose
        (unpaid, house) order has the ids from ``first_order`` on. Rows by
        table, in the order to insert them."""
        rng, (name, price) = self.rng, self.prices[1]
        group_price = max(price * 4 // 5 // 100 * 100, 1)
        shipping = shipping_for(group_price)
        tables: dict[Table, list[dict]] = {
            table: []
            for table in (
                GroupOffer.__table__,
                Order.__table__,
                OrderLine.__table__,
                Group.__table__,
                GroupMember.__table__,
            )
        }
        tables[GroupOffer.__table__].append(
            {
                "id": 1,
                "product_id": 1,
                "group_price": group_price,
                "size": MAX_SIZE,
                "window_hours": 168,
                "per_customer": 1,
                "starts_at": self.ago(1),
                "ends_at": self.now + timedelta(days=30),
                "active": True,
                "created_at": self.ago(1),
            }
        )
        opened = sorted(self.ago(rng.random() / 24) for _ in range(self.sizes.groups))
        for n, at in enumerate(opened, start=1):
            order_id, phone = first_order + n - 1, self.new_phone()
            tables[Order.__table__].append(
                self.order_row(
                    order_id,
                    at,
                    None,
                    phone,
                    None,
                    OrderState.PENDING_PAYMENT,
                    group_price,
                    shipping,
                    group_hold=True,
                )
            )
            tables[OrderLine.__table__].append(
                line_row(order_id, 1, (name, group_price), 1)
            )
            tables[Group.__table__].append(
                {
                    "id": n,
                    "code": f"bench{n:06d}",
                    "offer_id": 1,
                    "shop_id": None,
                    "size": MAX_SIZE,
                    "group_price": group_price,
                    "seats_taken": 1,
                    "state": GroupState.OPEN,
                    "opened_at": at,
                    "deadline": at + timedelta(hours=168),
                }
            )
            tables[GroupMember.__table__].append(
                {
                    "group_id": n,
                    "order_id": order_id,
                    "phone": phone,
                    "leader": True,
                    "joined_at": at,
                }
            )
        return tables

    def older_orders(
        self, count: int, weights: dict[int, float], known: dict[int, list[str]]
    ) -> list[tuple]:
        """``count`` orders as ``traffic`` plans them, in the year before its
        history: shops get shares as their ``weights``, a few are house sales,
        and each shop's ``known`` customers (one phone per order) come back."""
        house = round(count * HOUSE_SHARE)
        shops = sorted(weights)
        counts = apportion(count - house, [weights[shop] for shop in shops])
        orders: list[tuple] = []
        for shop, shop_orders in zip(shops, counts, strict=True):
            for phone in self.customers(shop_orders, known.get(shop, ())):
                orders.append((self.before_history(), shop, phone, None))
        for _ in range(house):
            orders.append((self.before_history(), None, self.new_phone(), None))
        orders.sort(key=lambda order: order[0])
        return orders

    def read_catalog(self) -> None:
        """What ``products`` and ``shop_products`` would have made, from the
        database (in an app context), and how many phones are taken."""
        for id, name, price, active in db.session.execute(
            select(Product.id, Product.name, Product.price, Product.active)
        ):
            self.prices[id] = (name, price)
            if active:
                self.active.append(id)
        for shop, product in db.session.execute(
            select(ShopProduct.shop_id, ShopProduct.product_id).order_by(
                ShopProduct.shop_id, ShopProduct.position
            )
        ):
            self.picks.setdefault(shop, []).append(product)
        self.phones = db.session.scalar(select(func.count(Order.phone.distinct())))


def line_row(order: int, product: int, priced: tuple[str, int], quantity: int) -> dict:
    """An order line of ``quantity`` at the (name, unit price) ``priced``."""
    name, price = priced
    return {
        "order_id": order,
        "product_id": product,
        "name": name,
        "unit_price": price,
        "quantity": quantity,
        "amount": price * quantity,
        "refunded_quantity": 0,
        "refunded_amount": 0,
    }


def shipping_for(subtotal: int) -> int:
    return 0 if subtotal >= FREE_SHIPPING_OVER else SHIPPING_FEE


@contextmanager
def step(name: str, log: Callable[[str], None], timings: dict[str, float]):
    """Time one part of the generation and say how long it took."""
    started = time.perf_counter()
    counted: dict[str, int] = {}
    yield counted
    seconds = timings[name] = time.perf_counter() - started
    rows = f"{counted['rows']:>10,} rows in " if "rows" in counted else " " * 19
    log(f"  {name:<14}{rows}{seconds:6.1f} s")


def fresh_tables(replace: bool) -> None:
    """The models' tables and indexes on an empty database."""
    if inspect(db.engine).get_table_names():
        if not replace:
            raise SystemExit(
                "The database already has tables: pass --replace to start afresh."
            )
        db.drop_all()
    db.create_all()


def reset_sequences() -> None:
    """PostgreSQL: ids were given explicitly, so move each id sequence past them."""
    tables = ("users", "category", "product", "shop", "orders", "group_offer")
    for table in (*tables, "buying_group"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        )
    db.session.commit()


def generate(
    database: str,
    sizes: Sizes = Sizes(),
    seed: int = 1,
    replace: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Fill ``database`` with a dataset of ``sizes``; returns seconds per step."""
    timings: dict[str, float] = {}
    app = bench_app(database)
    started = time.perf_counter()
    log(
        f"Generating {sizes.shops:,} shops, {sizes.products:,} products, "
        f"{sizes.orders:,} orders, {sizes.visits:,} visits and {sizes.groups:,} "
        f"open groups (skew {sizes.skew}, seed {seed})"
    )
    with app.app_context():
        with step("tables", log, timings):
            fresh_tables(replace)
        made = Generator(sizes, seed)
        with step("catalog", log, timings) as counted:
            counted["rows"] = load(Category.__table__, made.categories())
            counted["rows"] += load(Product.__table__, made.products())
        with step("sellers", log, timings) as counted:
            counted["rows"] = load(User.__table__, made.users())
            counted["rows"] += load(Shop.__table__, made.shops())
            counted["rows"] += load(ShopProduct.__table__, made.shop_products())
        with step("plan traffic", log, timings):
            visits, orders = made.traffic()
        with step("visits", log, timings) as counted:
            counted["rows"] = load(Visit.__table__, made.visit_rows(visits))
        del visits
        with step("shop visitors", log, timings):
            remember_visitors()
            db.session.commit()
        with step("orders", log, timings) as counted:
            counted["rows"] = load_orders(made, orders)
        if sizes.groups:
            with step("group-buys", log, timings) as counted:
                rows = made.group_buys(first_order=len(orders) + 1)
                counted["rows"] = sum(load(table, rows[table]) for table in rows)
        with step("finish", log, timings):
            finish()
    timings["total"] = time.perf_counter() - started
    log(f"  {'total':<33}{timings['total']:6.1f} s")
    return timings


def finish() -> None:
    """Ready the database for serving, and let go of it (in an app context)."""
    if db.engine.dialect.name == "postgresql":
        reset_sequences()
        # autovacuum would analyze the new tables within a minute or so
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    # SQLite folds its WAL into the file when the last connection closes.
    db.session.remove()
    db.engine.dispose()


def add_history(
    database: str, orders: int, seed: int = 1, log: Callable[[str], None] = print
) -> dict[str, float]:
    """Append ``orders`` orders from the year before the history to the dataset
    in ``database``: shops in proportion to their visits, their customers
    coming back as in ``Generator.customers``, a few house sales. Returns
    seconds per step."""
    timings: dict[str, float] = {}
    app = bench_app(database)
    started = time.perf_counter()
    log(f"Adding {orders:,} orders from the year before the history (seed {seed})")
    with app.app_context():
        made = Generator(Sizes(), seed)
        with step("read", log, timings):
            made.read_catalog()
            weights = dict.fromkeys(made.picks, 0)
            weights.update(
                db.session.execute(
                    select(Visit.shop_id, func.count()).group_by(Visit.shop_id)
                ).all()
            )
            if not any(weights.values()):  # no visits: every shop alike
                weights = dict.fromkeys(weights, 1)
            known: dict[int, list[str]] = {}
            for shop, phone in db.session.execute(
                select(Order.shop_id, Order.phone).where(Order.shop_id.is_not(None))
            ):
                known.setdefault(shop, []).append(phone)
            first_id = (db.session.scalar(select(func.max(Order.id))) or 0) + 1
            db.session.rollback()
        with step("plan orders", log, timings):
            older = made.older_orders(orders, weights, known)
        with step("orders", log, timings) as counted:
            counted["rows"] = load_orders(made, older, first_id)
        with step("finish", log, timings):
            finish()
    timings["total"] = time.perf_counter() - started
    log(f"  {'total':<33}{timings['total']:6.1f} s")
    return timings


def row_counts() -> dict[str, int]:
    """Rows per table of the dataset (in an app context)."""
    tables = (User, Shop, Product, ShopProduct, Order, OrderLine, Visit)
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in tables
    }


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        required=True,
        help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.db or postgresql://...",
    )
    defaults = Sizes()
    parser.add_argument("--shops", type=int, default=defaults.shops)
    parser.add_argument("--products", type=int, default=defaults.products)
    parser.add_argument("--orders", type=int, default=defaults.orders)
    parser.add_argument("--visits", type=int, default=defaults.visits)
    parser.add_argument(
        "--skew",
        type=float,
        default=SKEW,
        help="Zipf exponent of shop sizes (0: every shop the same size)",
    )
    parser.add_argument(
        "--groups",
        type=int,
        default=defaults.groups,
        help="open group-buys on product 1, for load tests that join them",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replace", action="store_true", help="drop whatever tables are there first"
    )
    parser.add_argument(
        "--add-history",
        type=int,
        metavar="ORDERS",
        help="instead of generating, append this many orders from the year before "
        "the history to the dataset in the database (sizes are ignored)",
    )
    args = parser.parse_args(argv)
    if (
        min(args.shops, args.products) < 1
        or min(args.orders, args.visits, args.skew, args.groups) < 0
        or (args.add_history is not None and args.add_history < 0)
    ):
        parser.error("give at least one shop and one product, and no negative size")
    return args


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    if args.add_history is not None:
        add_history(args.database, args.add_history, args.seed)
        return 0
    sizes = Sizes(
        args.shops, args.products, args.orders, args.visits, args.skew, args.groups
    )
    generate(args.database, sizes, args.seed, args.replace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
