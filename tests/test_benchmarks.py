"""The benchmark scripts at toy sizes, so they keep working as the app changes."""

import re
import shutil
from dataclasses import replace
from datetime import timedelta

import phonenumbers
import pytest
from sqlalchemy import func, select

from benchmarks import dataset, load, pages, report, visitors, wrk
from storefront.accounts.models import Role
from storefront.accounts.services import create_user
from storefront.analytics import services
from storefront.analytics.services import Period
from storefront.catalog.models import Category, Product
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupOffer, GroupState
from storefront.orders.models import Order, OrderLine, OrderState
from storefront.shops.models import ShopProduct, Visit
from storefront.timeutil import utcnow
from tests.conftest import database_url_for, require

SIZES = dataset.Sizes(shops=3, products=20, orders=50, visits=500)


@pytest.fixture
def empty_db(tmp_path, monkeypatch):
    """A database for the generator; its tables are dropped afterwards."""
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    url = database_url_for(tmp_path)
    yield url
    app = dataset.bench_app(url)
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def bench_db(empty_db):
    """A database filled by the generator at toy sizes."""
    dataset.generate(empty_db, SIZES, seed=3, replace=True, log=lambda line: None)
    return empty_db


def test_generator_makes_the_sizes_asked_for_within_the_rules(bench_db):
    app = dataset.bench_app(bench_db)
    with app.app_context():
        assert dataset.row_counts() == {
            "users": 4,  # the operator and three sellers
            "shop": 3,
            "product": 20,
            # 20–60 picks a shop, here all of the (active) catalog
            "shop_product": 3
            * db.session.scalar(select(func.count()).where(Product.active)),
            "orders": 50,
            "order_line": db.session.scalar(select(func.count(OrderLine.id))),
            "visit": 500,
        }
        orders = db.session.scalars(select(Order)).all()
        for order in orders:
            assert order.lines
            assert order.subtotal == sum(line.amount for line in order.lines)
            assert order.total == order.subtotal + order.shipping
            number = phonenumbers.parse(order.phone)
            assert phonenumbers.is_valid_number(number), order.phone
        states = {order.state for order in orders}
        assert OrderState.COMPLETED in states and OrderState.CANCELLED in states
        assert any(order.visitor for order in orders)
        assert db.session.scalar(select(func.count()).where(Visit.sharer.is_not(None)))
        assert db.session.scalar(select(func.count()).where(Visit.channel == "qr"))
        # Ids were given explicitly: new rows still get fresh ones (PostgreSQL).
        user = create_user("new@example.com", "New", "long enough", Role.SELLER)
        db.session.add(Category(slug="new", name="New"))
        db.session.commit()
        assert user.id == 5


def test_share_codes_match_customers_of_the_app_serving_the_data(bench_db):
    """The pages must see promoters: sharers are codes of real customers under
    the dataset's secret key."""
    app = dataset.bench_app(bench_db)
    with app.test_request_context():
        shop_id = db.session.scalar(
            select(Visit.shop_id).where(Visit.sharer.is_not(None)).limit(1)
        )
        found = services.customers(shop_id)
        assert found.segment("promoters")
        assert len(found.segment("repeat")) + len(found.segment("first")) == len(
            found.people
        )


def test_pages_benchmark_times_each_page_of_two_shops(bench_db):
    lines: list[str] = []
    timings = pages.report(bench_db, requests=2, log=lines.append)
    assert [(t.shop, t.what) for t in timings] == [
        (shop, page) for shop in ("busiest", "median") for page in pages.PAGES
    ]
    assert all(len(t.times) == 2 for t in timings)
    output = "\n".join(lines)
    assert "| visit | 500 |" in output
    assert "| busiest | `/me/customers` | 2 |" in output


def test_generator_refuses_a_database_that_has_tables(bench_db):
    with pytest.raises(SystemExit, match="--replace"):
        dataset.generate(bench_db, SIZES, log=lambda line: None)


def test_generator_readies_load_tests_a_full_shop_a_bottomless_product_and_groups(
    empty_db,
):
    sizes = dataset.Sizes(shops=3, products=100, orders=30, visits=200, groups=4)
    dataset.generate(empty_db, sizes, seed=5, replace=True, log=lambda line: None)
    app = dataset.bench_app(empty_db)
    with app.app_context():
        shown = select(func.count()).where(ShopProduct.shop_id == 1)
        assert db.session.scalar(shown) == dataset.SHOWCASE
        product = db.session.get(Product, 1)
        assert product.active and product.stock == dataset.BOTTOMLESS
        offer = db.session.scalars(select(GroupOffer)).one()
        assert offer.product_id == 1 and groups.is_live(offer)
        open_groups = db.session.scalars(select(Group)).all()
        assert len(open_groups) == 4
        assert len({group.code for group in open_groups}) == 4
        for group in open_groups:
            assert group.state is GroupState.OPEN and group.deadline > utcnow()
            assert group.seats_taken == 1 and group.seats_left == group.size - 1
            (leader,) = group.members
            order = leader.order
            assert leader.leader and leader.phone == order.phone
            assert order.state is OrderState.PENDING_PAYMENT and order.group_hold
            assert order.shop_id is None  # a house sale: no seller's numbers move
            assert order.subtotal == group.group_price < product.price
            assert order.total == order.subtotal + order.shipping
        # The orders asked for, and one per group's leader.
        assert db.session.scalar(select(func.count(Order.id))) == 30 + 4


def last_30_days(shop_id: int) -> tuple[int, int, int]:
    """A shop's visitors, orders and sales over the last 30 days."""
    numbers = services.numbers(shop_id, Period.last_days(30))
    return numbers.visitors, numbers.orders, numbers.sales


def test_added_history_is_older_than_a_year_for_the_same_shops_and_customers(
    bench_db,
):
    app = dataset.bench_app(bench_db)
    with app.test_request_context():
        before = {o.id: o for o in db.session.scalars(select(Order))}
        month = [last_30_days(shop) for shop in (1, 2, 3)]
        db.session.remove()
    dataset.add_history(bench_db, 60, seed=4, log=lambda line: None)
    with app.test_request_context():
        orders = db.session.scalars(select(Order)).all()
        added = [order for order in orders if order.id not in before]
        assert len(added) == 60 and min(o.id for o in added) > max(before)
        now = utcnow()
        for order in added:
            assert now - timedelta(days=731) < order.created_at
            assert order.created_at < now - timedelta(days=dataset.DAYS)
            assert order.lines and order.subtotal == sum(
                line.amount for line in order.lines
            )
            assert phonenumbers.is_valid_number(phonenumbers.parse(order.phone))
        # The shops' own customers come back; most orders come through a shop.
        earlier = {(o.shop_id, o.phone) for o in before.values() if o.shop_id}
        assert any((o.shop_id, o.phone) in earlier for o in added)
        assert sum(o.shop_id is not None for o in added) > 50
        # None of it is in the last 30 days (though a buyer of then who buys
        # again now is a repeat buyer: that is what history is for).
        assert [last_30_days(shop) for shop in (1, 2, 3)] == month


def test_request_numbers_fill_new_mobile_numbers_keys_and_group_codes():
    shape = wrk.Shape(
        "POST",
        "/g/{code}/join",
        {},
        body="phone={phone}&checkout_key=load-{n}",
        codes=("a", "b", "c"),
        phone="159",
        next_n=7,
    )
    assert shape.filled() == ("/g/b/join", b"phone=15900000007&checkout_key=load-7")
    assert shape.filled() == ("/g/c/join", b"phone=15900000008&checkout_key=load-8")
    assert "offset=9" in shape.arguments(pace_ms=None)
    phones = [shape.fill("{phone}", n) for n in range(0, 10**8, 7_777_777)]
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, "CN")), phone


#: A toy run: every endpoint, the floors and the growth comparison, 1 s each.
TOY_LOAD = [
    *("--shops", "4", "--products", "80", "--orders", "120", "--visits", "800"),
    *("--growth-orders", "30", "--duration", "1", "--warmup", "0"),
    *("--connections", "2"),
]
#: What each endpoint must answer, by its row in the report.
ANSWERS = {
    "shop": {200},
    "shop-etag": {200, 304},
    "shop-new": {200},
    "product": {200},
    "cart": {200},
    "checkout": {302},
    "join": {302},
    "dashboard": {200},
}


def report_tables(report: str) -> dict[str, list[list[str]]]:
    """The rows (cells) of each section's table, under its header, by section
    title."""
    tables: dict[str, list[list[str]]] = {}
    title = ""
    for line in report.splitlines():
        if line.startswith("#"):
            title = line.lstrip("# ")
        elif line.startswith("|"):
            tables.setdefault(title, []).append(line.strip("| ").split(" | "))
    return {title: lines[2:] for title, lines in tables.items()}


def rate(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_load_harness_reports_every_endpoint_floor_and_growth(empty_db, tmp_path):
    require(shutil.which("wrk") is not None, "wrk")
    output = tmp_path / "RESULTS.md"
    arguments = [*TOY_LOAD, "--database", empty_db, "--output", str(output)]
    assert load.main(arguments) == 0
    tables = report_tables(output.read_text())
    rows = tables["Endpoints"]
    assert len(rows) == len(ANSWERS)
    for (key, expected), row in zip(ANSWERS.items(), rows, strict=True):
        label = visitors.Setup.LABELS[key].format(items=dataset.SHOWCASE, groups=0)
        assert row[0].startswith(label.split(" (")[0]), (key, row)
        assert rate(row[1]) > 0, row
        answered = {int(status) for status in re.findall(r"× (\d{3})", row[-1])}
        assert answered and answered <= expected, row
    floors = tables["Floor"]
    assert [row[0] for row in floors] == [
        "plain WSGI callable",
        "the app with one constant route",
    ]
    assert all(rate(row[1]) > 0 for row in floors)
    growth = tables["Growth"]
    assert [row[0].split(" (")[0] for row in growth] == [
        "shop page",
        "checkout POST",
        "seller dashboard /me",
    ]
    assert all(rate(row[1]) > 0 and rate(row[2]) > 0 for row in growth)
    assert "Half load (shop page" in output.read_text()


@pytest.mark.parametrize(
    "broken",
    [
        # Checked once before any load: a page that is not there.
        {"product_slug": "no-such-product"},
        # Only under load: after the first group, invite codes that are not.
        {"group_codes": ("bench000001", "nosuchcode")},
    ],
    ids=["when-checked", "under-load"],
)
def test_load_harness_stops_on_a_wrong_answer(empty_db, tmp_path, monkeypatch, broken):
    """A request answered with a status it does not expect is not reported as
    measured: the run stops and writes no report."""
    require(shutil.which("wrk") is not None, "wrk")
    choose = load.choose
    monkeypatch.setattr(
        load, "choose", lambda database: replace(choose(database), **broken)
    )
    output = tmp_path / "RESULTS.md"
    arguments = [*TOY_LOAD, "--skip-growth", "--database", empty_db]
    assert load.main([*arguments, "--output", str(output)]) == 1
    assert not output.exists()


def test_a_new_report_replaces_the_last_and_keeps_the_rest_of_the_file(
    tmp_path, monkeypatch
):
    runs = iter(["first", "second"])
    monkeypatch.setattr(
        report, "markdown", lambda outcome: f"## Load\n\n{next(runs)}\n"
    )
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n### Page weight\n\n12 KB\n")
    report.write(None, results)
    report.write(None, results)
    text = results.read_text()
    assert text.startswith("# Results\n\n### Page weight\n\n12 KB\n")
    assert "second" in text and "first" not in text
    assert text.count("## Load") == 1
