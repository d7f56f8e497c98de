"""The benchmark scripts at toy sizes, so they keep working as the app changes."""

import phonenumbers
import pytest
from sqlalchemy import func, select

from benchmarks import dataset, pages
from storefront.accounts.models import Role
from storefront.accounts.services import create_user
from storefront.analytics import services
from storefront.catalog.models import Category, Product
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine, OrderState
from storefront.shops.models import Visit
from tests.conftest import database_url_for

SIZES = dataset.Sizes(shops=3, products=20, orders=50, visits=500)


@pytest.fixture
def bench_db(tmp_path, monkeypatch):
    """A database filled by the generator at toy sizes."""
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    url = database_url_for(tmp_path)
    dataset.generate(url, SIZES, seed=3, replace=True, log=lambda line: None)
    yield url
    app = dataset.bench_app(url)
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


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
