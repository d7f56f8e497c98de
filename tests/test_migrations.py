"""Migrations build the schema from nothing, on SQLite and PostgreSQL alike, and
match the models (a model change without its migration fails here)."""

from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from storefront import create_app
from storefront.extensions import db
from tests.conftest import Client, database_url_for


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on an empty database (no create_all), cleaned up afterwards."""
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": database_url_for(tmp_path)}
    )
    yield app
    with app.app_context():
        downgrade(revision="base")
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.engine.dispose()


def test_upgrade_from_empty_builds_every_table(empty_app):
    with empty_app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) | {"alembic_version"} == tables


def test_migrations_match_models(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []


#: Rows as the first schemas knew them, written right after each migration
#: that made their tables; every later migration must carry them along.
NOW = datetime(2026, 11, 1, 12, 0)
EARLY_ROWS = {
    "0001": [
        "INSERT INTO users (id, email, name, password_hash, role, session_token,"
        " active, created_at) VALUES (1, 'mei@example.com', 'Li Mei', :hash,"
        " 'seller', 'token-1', :yes, :now)",
        "INSERT INTO product (id, slug, name, description, price, stock, active,"
        " created_at, updated_at) VALUES (1, 'green-tea', 'Green tea', 'Leaves.',"
        " 1250, 10, :yes, :now, :now)",
    ],
    "0002": [
        "INSERT INTO shop (id, owner_id, slug, name, bio, contact, status,"
        " created_at) VALUES (1, 1, 'mei', 'Mei Tea', '', '', 'active', :now)",
        "INSERT INTO shop_product (id, shop_id, product_id, position, note,"
        " featured) VALUES (1, 1, 1, 0, 'My favourite.', :no)",
        "INSERT INTO visit (id, shop_id, visitor, day, once) VALUES"
        " (1, 1, 'v1', :day, 'a'), (2, 1, 'v1', :day2, 'b'), (3, 1, 'v2', :day, 'c')",
    ],
    "0003": [
        "INSERT INTO orders (id, number, token, checkout_key, shop_id,"
        " customer_name, phone, address, note, payment_method, state, subtotal,"
        " shipping, total, refunded, carrier, tracking_number, created_at) VALUES"
        " (1, '261101-00001', 'tok', 'key-1', 1, 'Wang Fang', '+8613800138000',"
        " 'West Lake', '', 'transfer', 'pending_payment', 2500, 1000, 3500, 0,"
        " '', '', :now)",
        "INSERT INTO order_line (id, order_id, product_id, name, unit_price,"
        " quantity, amount, refunded_quantity, refunded_amount) VALUES"
        " (1, 1, 1, 'Green tea', 1250, 2, 2500, 0, 0)",
    ],
}


def test_data_from_the_first_schema_survives_every_migration(empty_app):
    from storefront.accounts.services import hash_password
    from storefront.catalog.models import Product
    from storefront.orders.models import Order
    from storefront.shops.models import Shop, ShopVisitor, Visit
    from tests.conftest import EN, login
    from tests.factories import PASSWORD

    values = {
        "hash": hash_password(PASSWORD),
        "yes": True,
        "no": False,
        "now": NOW,
        "day": NOW.date(),
        "day2": NOW.date() + timedelta(days=1),
    }
    with empty_app.app_context():
        for revision, statements in EARLY_ROWS.items():
            upgrade(revision=revision)
            for statement in statements:
                db.session.execute(text(statement), values)
            db.session.commit()
        upgrade()  # to the latest
        product = db.session.get(Product, 1)
        assert (product.name, product.price, product.stock) == ("Green tea", 1250, 10)
        assert product.revision == 1 and product.commission_bp is None
        assert db.session.get(Shop, 1).revision == 1
        order = db.session.get(Order, 1)
        assert order.total == 3500 and [line.amount for line in order.lines] == [2500]
        assert order.visitor is None
        assert {v.channel for v in db.session.scalars(select(Visit))} == {"link"}
        # The shop's visitors list, filled from the visits it already had.
        visitors = db.session.scalars(select(ShopVisitor.visitor)).all()
        assert sorted(visitors) == ["v1", "v2"]
    client = empty_app.test_client()
    page = client.get("/s/mei", headers={**EN, "User-Agent": "Googlebot"})
    assert "Green tea" in page.get_data(as_text=True)
    assert "My favourite." in page.get_data(as_text=True)
    empty_app.test_client_class = Client
    assert login(empty_app.test_client(), "mei@example.com").status_code == 302
