"""Repeat visits: an unchanged page answers 304 with no body; a changed one 200."""

from storefront.catalog.services import set_price_and_stock
from storefront.extensions import db
from storefront.shops import services
from tests import factories
from tests.conftest import CSRF_INPUT, EN, PHONE_UA


def test_an_unchanged_page_is_a_304(app, client):
    with app.app_context():
        factories.product(name="Green tea", slug="green-tea")
    first = client.get("/p/green-tea", headers=EN)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    again = client.get("/p/green-tea", headers={**EN, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_a_changed_page_is_a_200_with_the_change(app, client):
    with app.app_context():
        product = factories.product(name="Green tea", slug="green-tea", price=1250)
    etag = client.get("/p/green-tea", headers=EN).headers["ETag"]
    with app.app_context():
        set_price_and_stock(db.session.merge(product), 990, 10)
        db.session.commit()
    changed = client.get("/p/green-tea", headers={**EN, "If-None-Match": etag})
    assert changed.status_code == 200 and "9.90" in changed.get_data(as_text=True)


def test_a_returning_visitor_gets_a_304_for_the_shop_page(app, client):
    """The page embeds the session's form token, which stays the same for the
    session, so a repeat visit matches; the visit still counts once."""
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        services.add_product(shop, factories.product(name="Green tea"))
        db.session.commit()
    first = client.get("/s/mei-tea", headers=PHONE_UA)
    token = CSRF_INPUT.search(first.get_data(as_text=True)).group(1)
    again = client.get(
        "/s/mei-tea", headers={**PHONE_UA, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    # The kept token is still accepted by a form.
    switch = client.post("/lang", data={"lang": "en", "csrf_token": token}, csrf=False)
    assert switch.status_code == 302


def test_another_user_gets_their_own_page_not_a_304(app, client, seller):
    page = client.get("/", headers=EN)
    etag = page.headers["ETag"]
    client.post(
        "/login", data={"login": "seller@example.com", "password": factories.PASSWORD}
    )
    signed_in = client.get("/", headers={**EN, "If-None-Match": etag})
    assert signed_in.status_code == 200
    assert "Sign out" in signed_in.get_data(as_text=True)
