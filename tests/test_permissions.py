"""Who may open each seller page: every /me URL, as found in the app's routes,
for an anonymous visitor, the operator, a seller without a shop, the shop's
seller, and another seller acting on the first one's items."""

import re

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.shops import services
from storefront.shops.models import ShopProduct
from tests import factories
from tests.conftest import login


def seller_urls(app, item_id: int) -> list[tuple[str, str]]:
    """Every /me URL with its methods; ids name ``item_id`` (a product id for
    the catalog's pick, which is a product any seller may add)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule == "/me" or rule.rule.startswith("/me/"):
            url = re.sub(r"<int:\w+>", str(item_id), rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((url, method.lower()))
    return urls


@pytest.fixture
def mei_item(app) -> int:
    """Mei's shop with one product on it; returns the shop item's id."""
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        item = services.add_product(shop, factories.product(name="Green tea"))
        services.set_note(item, "Mine.")
        db.session.commit()
        factories.shop("bo@example.com", "Bo Nuts")
        return item.id


def item_state(app, item_id: int) -> tuple:
    with app.app_context():
        item = db.session.scalars(select(ShopProduct).filter_by(id=item_id)).one()
        return item.note, item.position, item.featured


def test_every_seller_url_sends_anonymous_visitors_to_sign_in(app, client, mei_item):
    urls = seller_urls(app, mei_item)
    assert len(urls) >= 18
    for url, method in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login?next="), url


@pytest.mark.parametrize("who", ["op@example.com", "noshop@example.com"])
def test_accounts_without_a_shop_are_refused_everywhere(
    app, client, operator, mei_item, who
):
    with app.app_context():
        factories.user_row(role="seller", email="noshop@example.com")
    assert login(client, who).status_code == 302
    for url, method in seller_urls(app, mei_item):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (who, method, url)
    assert item_state(app, mei_item) == ("Mine.", 0, False)


def test_another_seller_cannot_touch_the_items_of_a_shop(app, client, mei_item):
    assert login(client, "bo@example.com").status_code == 302
    for url, method in seller_urls(app, mei_item):
        if "/items/" in url:
            response = getattr(client, method)(url, data={"note": "Hacked"})
            assert response.status_code == 404, (method, url)
    assert item_state(app, mei_item) == ("Mine.", 0, False)


def test_the_shops_seller_opens_every_page(app, client, mei_item):
    assert login(client, "mei@example.com").status_code == 302
    for url, method in seller_urls(app, mei_item):
        if method == "get":
            assert client.get(url).status_code == 200, url
