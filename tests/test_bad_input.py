"""Malformed requests get a 4xx and a page, never a 500, on either database."""

import pytest

from storefront.extensions import db
from storefront.shops import services
from tests import factories
from tests.conftest import login

HUGE = "9" * 23


@pytest.fixture
def mei(app):
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        services.add_product(shop, factories.product(name="Tea", slug="tea"))
        services.update_profile(shop, "Mei Tea", "mei", "", "")  # old: mei-tea
        db.session.commit()


@pytest.mark.parametrize(
    "url",
    [
        "/?r=%00",
        "/s/%00",
        "/p/%00",
        "/?q=%00",
        f"/?page={HUGE}",
        "/?page=0",
        "/?page=2&endpoint=x",
        "/s/mei-tea?endpoint=x",
        "/s/mei-tea?_method=POST",
        "/s/mei-tea?_external=1",
    ],
)
def test_odd_urls_are_answered_calmly(client, mei, url):
    response = client.get(url)
    assert response.status_code < 500, url
    if response.status_code in (301, 302):
        assert response.headers["Location"].startswith("/"), url


def test_alias_redirect_keeps_the_query_as_data(client, mei):
    response = client.get("/s/mei-tea?endpoint=x&_external=1")
    assert response.status_code == 301
    assert response.headers["Location"] == "/s/mei?endpoint=x&_external=1"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/admin/products/{HUGE}"),
        ("get", f"/admin/products?c={HUGE}"),
        ("get", "/admin/products/3000000000"),
        ("get", "/admin/products?c=3000000000"),
        ("post", f"/admin/sellers/{HUGE}/status"),
        ("get", f"/admin/payouts/{HUGE}"),
        ("post", "/admin/payouts/3000000000"),
    ],
)
def test_huge_ids_are_not_found(as_operator, method, url):
    assert getattr(as_operator, method)(url).status_code in (400, 404)


def test_forms_missing_optional_fields(as_operator):
    response = as_operator.post(
        "/admin/products/new", data={"name": "Tea", "price": "1", "stock": "1"}
    )
    assert response.status_code in (302, 422)
    response = as_operator.post("/admin/categories", data={"name": "Fruit"})
    assert response.status_code == 302


def test_note_without_a_note_field(client, mei, app):
    from sqlalchemy import select

    from storefront.shops.models import ShopProduct

    login(client, "mei@example.com")
    with app.app_context():
        item = db.session.scalar(select(ShopProduct.id))
    assert client.post(f"/me/items/{item}/note", data={}).status_code == 302


def test_nul_in_a_form_is_refused(client, mei):
    response = client.post(
        "/join",
        data={
            "name": "A\x00",
            "login": "a@example.com",
            "password": "x" * 10,
            "shop_name": "S",
        },
    )
    assert response.status_code == 400


def test_an_ended_session_sends_htmx_to_sign_in_not_into_the_region(
    app, client, hx, mei
):
    login(client, "mei@example.com")
    other = app.test_client()
    login(other, "mei@example.com")
    other.post("/logout")  # signs this seller out everywhere
    response = client.post(
        "/me/items/1/up", headers={**hx, "HX-Current-URL": "http://localhost/me"}
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/me"


def test_a_seller_does_not_credit_their_own_shop(client, mei):
    login(client, "mei@example.com")
    response = client.get("/s/mei")
    assert not any(c.startswith("ref=") for c in response.headers.getlist("Set-Cookie"))
