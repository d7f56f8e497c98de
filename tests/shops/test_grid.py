"""The shop page's cached product grid: fast to serve, never stale.

Each test renders the page first (so the grid is cached), changes what it shows
the way the app does, and checks the next page view shows the change.
"""

import re

import pytest
from sqlalchemy import select, update

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.services import return_stock, take_stock
from storefront.shops import services
from storefront.shops.models import Shop, ShopProduct
from tests import factories
from tests.conftest import EN
from tests.queries import CountQueries

BOT = {**EN, "User-Agent": "Googlebot"}  # counts no visit: reads only
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def shop(app):
    """An open shop listing green tea (with a note) and walnuts; the page once
    rendered, so its grid is cached."""
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        tea = factories.product(name="Green tea", slug="green-tea", price=1250)
        nuts = factories.product(name="Walnuts", slug="walnuts", price=3000)
        services.set_note(services.add_product(shop, tea), "I drink it daily.")
        services.add_product(shop, nuts)
        db.session.commit()
    return "/s/mei-tea"


def page(client, url: str) -> str:
    response = client.get(url, headers=BOT)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def names(html: str) -> list[str]:
    return re.findall(r'<span class="name">([^<]+)</span>', html)


def edit(app, change) -> None:
    """Run ``change(session)`` as a request of the app would, and commit."""
    with app.app_context():
        change(db.session)
        db.session.commit()


def product(session, slug: str) -> Product:
    return session.scalar(select(Product).filter_by(slug=slug))


def item(session, slug: str) -> ShopProduct:
    return session.scalar(
        select(ShopProduct).join(ShopProduct.product).where(Product.slug == slug)
    )


def test_a_price_change_shows_at_once(app, client, shop):
    assert "12.50" in page(client, shop)
    edit(app, lambda s: catalog.set_price_and_stock(product(s, "green-tea"), 990, 10))
    html = page(client, shop)
    assert "9.90" in html and "12.50" not in html


def test_stock_taken_by_a_checkout_shows_at_once(app, client, shop):
    """Checkout takes stock with a plain UPDATE statement, not through the ORM."""
    assert "left" not in page(client, shop)
    edit(app, lambda s: take_stock(product(s, "walnuts"), 7))
    assert "Only 3 left" in page(client, shop)
    edit(app, lambda s: take_stock(product(s, "walnuts"), 3))
    assert "Sold out" in page(client, shop)
    edit(app, lambda s: return_stock(product(s, "walnuts").id, 2))
    assert "Only 2 left" in page(client, shop)


def test_a_note_change_shows_at_once(app, client, shop):
    assert "I drink it daily." in page(client, shop)
    edit(app, lambda s: services.set_note(item(s, "green-tea"), "Now with honey."))
    html = page(client, shop)
    assert "Now with honey." in html and "I drink it daily." not in html


def test_the_list_changes_show_at_once(app, client, shop):
    assert names(page(client, shop)) == ["Green tea", "Walnuts"]
    edit(app, lambda s: services.set_featured(item(s, "walnuts"), True))
    assert names(page(client, shop)) == ["Walnuts", "Green tea"]
    edit(app, lambda s: services.remove_product(item(s, "walnuts")))
    assert names(page(client, shop)) == ["Green tea"]

    def add_rice(s):
        shop_row = s.scalar(select(Shop).filter_by(slug="mei-tea"))
        services.add_product(shop_row, factories.product(name="Rice", slug="rice"))

    edit(app, add_rice)
    assert names(page(client, shop)) == ["Green tea", "Rice"]
    edit(app, lambda s: catalog.set_active(product(s, "rice"), False))
    assert "No longer available" in page(client, shop)


def test_a_new_photo_shows_at_once(app, client, shop):
    assert "<img" not in page(client, shop)
    edit(
        app,
        lambda s: catalog.add_image(product(s, "walnuts"), factories.image_bytes()),
    )
    assert re.search(r'<img src="/media/\w+-360\.webp" srcset=', page(client, shop))


def test_each_language_gets_its_own_grid(app, client, shop):
    assert "Only" not in page(client, shop)  # nothing is low on stock yet
    edit(app, lambda s: take_stock(product(s, "walnuts"), 8))
    assert "Only 2 left" in page(client, shop)
    chinese = client.get(
        shop, headers={"User-Agent": "Googlebot", "Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "仅剩 2 件" in chinese


def test_a_change_by_hand_in_the_database_needs_its_revision(app, client, shop):
    """What the cache relies on: a change through the app moves a revision. (A
    change by hand in SQL must do the same: ``revision = revision + 1``.)"""
    with app.app_context():
        before = db.session.scalar(select(Product.revision).filter_by(slug="walnuts"))
    edit(app, lambda s: take_stock(product(s, "walnuts"), 1))
    edit(
        app,
        lambda s: s.execute(
            update(Product).filter_by(slug="walnuts").values(name="Pecans")
        ),
    )
    with app.app_context():
        after = db.session.scalar(select(Product.revision).filter_by(slug="walnuts"))
    assert after == before + 2
    assert "Pecans" in page(client, shop)


def test_a_cached_shop_page_reads_two_small_queries(app, client, shop):
    """Repeat views of a shop page read the shop (with its seller) and the grid's
    version, whatever the number of products; nothing is written for a bot."""
    page(client, shop)
    with CountQueries(app) as seen:
        page(client, shop)
    assert seen.selects == 2, seen.statements
    assert not [s for s in seen.statements if s.split()[0] in WRITES]
