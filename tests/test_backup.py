"""``flask backup``: a consistent copy taken while the shop serves, and a restore
from it that brings back the orders, the photos and everyone's sign-in."""

import shutil
import sqlite3

import pytest
from sqlalchemy import func, select

from storefront import create_app
from storefront.catalog.services import add_image
from storefront.extensions import db
from storefront.orders.models import Order, PaymentMethod
from storefront.orders.services import Customer, place_order
from tests import factories
from tests.conftest import EN, login

CUSTOMER = Customer("Wang Fang", "13800138000", "1 West Lake Road, Hangzhou", "")


@pytest.fixture
def shop_data(app, operator):
    """A product with a photo and an order for it; returns the photo's URL."""
    with app.app_context():
        product = factories.product(name="Green tea", slug="green-tea")
        image = add_image(product, factories.image_bytes())
        place_order({product.id: 2}, CUSTOMER, PaymentMethod.TRANSFER, None, "k1")
        db.session.commit()
        return f"/media/{image.filename(image.width_list[0])}"


def on_sqlite(app) -> bool:
    with app.app_context():
        return db.engine.url.get_backend_name() == "sqlite"


def test_backup_copies_a_consistent_database_while_a_writer_is_busy(
    app, runner, shop_data, tmp_path
):
    if not on_sqlite(app):
        result = runner.invoke(args=["backup", str(tmp_path / "b")])
        assert result.exit_code == 1 and "pg_dump -Fc" in result.output
        assert not (tmp_path / "b").exists()
        return
    with app.app_context():
        path = db.engine.url.database
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")  # a worker in the middle of a checkout
    writer.execute("UPDATE product SET stock = 0")
    try:
        result = runner.invoke(args=["backup", str(tmp_path / "b")])
    finally:
        writer.rollback()
        writer.close()
    assert result.exit_code == 0, result.output
    assert "1 orders, integrity ok" in result.output
    copy = sqlite3.connect(tmp_path / "b" / "storefront.db")
    # What was committed, and nothing of the unfinished transaction.
    assert copy.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    assert copy.execute("SELECT stock FROM product").fetchone() == (8,)
    copy.close()
    assert len(list((tmp_path / "b" / "uploads").iterdir())) == 3  # three widths


def test_restore_brings_back_orders_photos_and_sign_ins(
    app, client, runner, shop_data, tmp_path, monkeypatch
):
    if not on_sqlite(app):  # pg_dump's copy is restored with pg_restore (README)
        assert "pg_dump" in runner.invoke(args=["backup", str(tmp_path)]).output
        return
    assert login(client, "op@example.com").status_code == 302
    # The test database was made from the models: mark it as migrated, as a
    # deployed one is.
    assert runner.invoke(args=["db", "stamp", "head"]).exit_code == 0
    assert runner.invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    # A new server: an empty instance folder with the backup copied in.
    instance = tmp_path / "restored"
    instance.mkdir()
    shutil.copy(tmp_path / "b" / "storefront.db", instance / "storefront.db")
    shutil.copytree(tmp_path / "b" / "uploads", instance / "uploads")
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(instance))
    restored = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "BABEL_DEFAULT_LOCALE": "en"}
    )
    commands = restored.test_cli_runner()
    assert commands.invoke(args=["db", "upgrade"]).exit_code == 0
    check = commands.invoke(args=["reconcile"])
    assert check.exit_code == 0, check.output
    with restored.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    browser = restored.test_client()
    assert browser.get(shop_data).status_code == 200  # the photo
    assert "Green tea" in browser.get("/p/green-tea", headers=EN).get_data(True)
    # The operator's session from before the backup still signs them in.
    browser.set_cookie("session", client.get_cookie("session").value)
    assert browser.get("/admin/orders", headers=EN).status_code == 200
    with restored.app_context():
        db.engine.dispose()


def test_backup_never_overwrites(app, runner, shop_data, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("earlier")
    result = runner.invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["keep.txt"]
