"""Sign-up, the seller's products at /me/products, shop pages and attribution,
through HTTP."""

import re

import pytest
from sqlalchemy import event, func, select

from storefront.accounts.models import User
from storefront.catalog.services import add_image
from storefront.extensions import db
from storefront.shops import services
from storefront.shops.models import Shop, ShopProduct, ShopStatus, Visit
from tests import factories
from tests.conftest import EN, PHONE_UA, login
from tests.factories import PASSWORD

JOIN = {
    "name": "Li Mei",
    "login": "138 0013 8000",
    "password": PASSWORD,
    "shop_name": "Mei Tea",
    "ref": "",
}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def mei(app):
    """An open shop with two products, one with a note; returns the shop id."""
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        tea = factories.product(name="Green tea", slug="green-tea")
        nuts = factories.product(name="Walnuts", slug="walnuts")
        services.set_note(services.add_product(shop, tea), "I drink it daily.\nLovely.")
        services.add_product(shop, nuts)
        db.session.commit()
        return shop.id


def test_join_opens_a_shop_and_signs_in(app, client):
    response = client.post("/join", data=JOIN)
    # A new shop is empty: its seller lands on the catalog to pick products.
    assert response.status_code == 302 and response.headers["Location"] == "/me/catalog"
    assert client.get("/me/products").status_code == 200
    assert client.get("/join").headers["Location"] == "/me"  # signed in: dashboard
    with app.app_context():
        shop = db.session.scalar(select(Shop))
        assert (shop.slug, shop.owner.phone) == ("mei-tea", "+8613800138000")


def test_join_with_a_recruiter(app, client, mei):
    page = client.get("/join?ref=mei-tea", headers=EN).get_data(as_text=True)
    assert "Invited by Mei Tea" in page and 'value="mei-tea"' in page
    client.post("/join", data={**JOIN, "ref": "mei-tea"})
    with app.app_context():
        new = db.session.scalar(select(Shop).where(Shop.slug == "mei-tea-2"))
        assert new.recruiter_id == mei


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"login": "mei@example.com"}, "email already exists"),
        ({"login": "12"}, "mobile number such as"),
        ({"password": "short"}, "at least 8"),
        ({"password": "12345678"}, "most common passwords"),
        ({"name": ""}, "This field is required."),
        ({"shop_name": "x" * 61}, "cannot be longer than 60"),
    ],
)
def test_join_bad_input_is_422_and_writes_nothing(app, client, mei, changes, message):
    users = count(app, User)
    response = client.post("/join", data={**JOIN, **changes}, headers=EN)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, User) == users and count(app, Shop) == 1


def test_join_shows_every_problem_at_once_beside_its_field(app, client):
    bad = {**JOIN, "login": "12", "password": "short", "name": ""}
    page = client.post("/join", data=bad, headers=EN).get_data(as_text=True)
    hints = dict(re.findall(r'<div id="(\w+)-hint">(.*?)</div>', page, re.S))
    assert "mobile number such as" in hints["login"]
    assert "at least 8" in hints["password"]
    assert "This field is required." in hints["name"]
    assert count(app, User) == 0


def test_join_is_rate_limited(app, client):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    bad = {**JOIN, "password": "short"}
    assert [client.post("/join", data=bad).status_code for _ in range(3)] == [
        422,
        422,
        429,
    ]


def test_my_products_need_a_seller_with_a_shop(client, operator, mei):
    response = client.get("/me/products")
    assert response.status_code == 302  # to sign in
    assert response.headers["Location"] == "/login?next=/me/products"
    login(client, "op@example.com")
    assert client.get("/me/products").status_code == 403


def test_curation_through_htmx(app, client, mei, hx):
    login(client, "mei@example.com")
    with app.app_context():
        extra = factories.product(name="Jasmine tea", slug="jasmine").id
        items = dict(
            db.session.execute(select(ShopProduct.product_id, ShopProduct.id)).all()
        )
    picked = client.post(f"/me/catalog/{extra}", headers={**hx, **EN})
    assert picked.status_code == 200 and "In your shop" in picked.get_data(as_text=True)
    results = client.get("/me/catalog?q=jasmine", headers={**hx, **EN})
    body = results.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="catalog-results">')
    assert "In your shop" in body and "HX-Request" in results.headers["Vary"]

    with app.app_context():
        jasmine = db.session.scalar(
            select(ShopProduct.id).where(ShopProduct.product_id == extra)
        )
    moved = client.post(f"/me/items/{jasmine}/up", headers={**hx, **EN})
    html = moved.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="curation"')
    assert html.index("Green tea") < html.index("Jasmine tea") < html.index("Walnuts")
    # Only the first cannot move up and only the last cannot move down.
    disabled = re.findall(r'aria-label="(Move \w+): ([^"]+)" disabled', html)
    assert disabled == [("Move up", "Green tea"), ("Move down", "Walnuts")]
    pinned = client.post(f"/me/items/{items[2]}/feature", headers={**hx, **EN})
    assert pinned.get_data(as_text=True).index("Walnuts") < pinned.get_data(
        as_text=True
    ).index("Green tea")
    note = client.post(
        f"/me/items/{jasmine}/note",
        data={"note": "Smells like spring."},
        headers={**hx, **EN},
    )
    assert note.status_code == 200 and "Saved." in note.get_data(as_text=True)
    too_long = client.post(
        f"/me/items/{jasmine}/note", data={"note": "x" * 1001}, headers={**hx, **EN}
    )
    assert too_long.status_code == 422
    assert "under 1000 characters" in too_long.get_data(as_text=True)
    removed = client.post(f"/me/items/{items[1]}/remove", headers={**hx, **EN})
    assert "Green tea" not in removed.get_data(as_text=True)
    with app.app_context():
        notes = dict(db.session.execute(select(ShopProduct.id, ShopProduct.note)).all())
    assert notes == {items[2]: "", jasmine: "Smells like spring."}


def test_curation_without_javascript_redirects_back(client, mei, app):
    login(client, "mei@example.com")
    with app.app_context():
        item = db.session.scalar(select(ShopProduct.id))
    response = client.post(f"/me/items/{item}/down")
    assert response.headers["Location"] == "/me/products"
    page = client.get("/me/products", headers=EN).get_data(as_text=True)
    assert '<section id="curation"' in page and "<title>My products ·" in page
    response = client.post(f"/me/items/{item}/note", data={"note": "Plain form."})
    assert response.status_code == 302


def test_a_seller_cannot_touch_another_sellers_shop(app, client, mei):
    with app.app_context():
        factories.shop("wang@example.com", "Wang")
        theirs = db.session.scalar(select(ShopProduct.id))
    login(client, "wang@example.com")
    for action in ("up", "down", "feature", "remove"):
        assert client.post(f"/me/items/{theirs}/{action}").status_code == 404
    response = client.post(f"/me/items/{theirs}/note", data={"note": "hijack"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ShopProduct, theirs).note == "I drink it daily.\nLovely."
    assert client.post("/me/catalog/999").status_code == 404


def test_profile_change_keeps_old_links(app, client, mei):
    login(client, "mei@example.com")
    response = client.post(
        "/me/profile",
        data={"name": "Mei's Tea", "slug": "mei", "bio": "Tea lover", "contact": "wx1"},
    )
    assert response.status_code == 302
    old = client.get("/s/mei-tea/p/green-tea?x=1")
    assert old.status_code == 301
    assert old.headers["Location"] == "/s/mei/p/green-tea?x=1"
    bad = client.post(
        "/me/profile",
        data={"name": "Mei", "slug": "admin", "bio": "", "contact": ""},
        headers=EN,
    )
    assert bad.status_code == 422 and "reserved" in bad.get_data(as_text=True)
    # The hint's "<address>" is text, not a tag.
    assert "Your link is /s/&lt;address&gt;." in bad.get_data(as_text=True)


def test_avatar_upload(app, client, mei):
    from io import BytesIO

    login(client, "mei@example.com")
    bad = client.post(
        "/me/avatar", data={"avatar": (BytesIO(b"nope"), "a.png")}, headers=EN
    )
    assert bad.status_code == 422 and "not an image" in bad.get_data(as_text=True)
    none = client.post("/me/avatar", data={}, headers=EN)
    assert none.status_code == 422 and "Choose a photo." in none.get_data(as_text=True)
    good = client.post(
        "/me/avatar",
        data={"avatar": (BytesIO(factories.image_bytes(300, 200)), "a.png")},
    )
    assert good.status_code == 302
    page = client.get("/s/mei-tea").get_data(as_text=True)
    assert re.search(r'<img class="avatar" src="/media/\w+-96\.webp"', page)


def test_shop_page_shows_notes_escaped_and_featured_first(app, client, mei):
    with app.app_context():
        item = db.session.scalar(
            select(ShopProduct)
            .join(ShopProduct.product)
            .where(ShopProduct.product.has(slug="walnuts"))
        )
        services.set_note(item, '<script>alert("x")</script>')
        services.set_featured(item, True)
        db.session.commit()
    page = client.get("/s/mei-tea", headers=EN).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert page.index("Walnuts") < page.index("Green tea")
    assert "by Li Mei" in page
    assert 'href="/join?ref=mei-tea"' in page  # open your own shop
    product = client.get("/s/mei-tea/p/green-tea", headers=EN).get_data(as_text=True)
    assert "I drink it daily.\nLovely." in product and "— Li Mei" in product


def test_unavailable_products_stay_visible_as_unavailable(app, client, mei):
    with app.app_context():
        for product in db.session.scalars(select(ShopProduct)).all():
            product.product.active = product.product.slug != "green-tea"
            product.product.stock = 0
        db.session.commit()
    page = client.get("/s/mei-tea", headers=EN).get_data(as_text=True)
    assert "No longer available" in page and "Sold out" in page
    assert "Green tea" in page and "Walnuts" in page


def test_suspended_and_pending_shops(app, client, mei):
    with app.app_context():
        services.set_status(db.session.get(Shop, mei), ShopStatus.SUSPENDED)
        db.session.commit()
    page = client.get("/s/mei-tea", headers=EN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "closed for now" in html and "Green tea" not in html
    assert "ref" not in {c.key for c in client._cookies.values()}  # earns nothing
    with app.app_context():
        db.session.get(Shop, mei).status = ShopStatus.PENDING  # never approved
        db.session.commit()
    assert "opens soon" in client.get("/s/mei-tea", headers=EN).get_data(as_text=True)
    login(client, "mei@example.com")  # its seller previews the products
    assert "Green tea" in client.get("/s/mei-tea").get_data(as_text=True)


def test_unknown_shop_and_product_are_404(client, mei):
    assert client.get("/s/nobody").status_code == 404
    assert client.get("/s/mei-tea/p/nothing").status_code == 404


def test_a_shop_link_sets_the_referral_cookie_and_counts_one_visit(app, client, mei):
    services.recent_visits.clear()
    response = client.get("/s/mei-tea", headers=PHONE_UA)
    cookies = response.headers.getlist("Set-Cookie")
    ref = next(c for c in cookies if c.startswith("ref="))
    assert "HttpOnly" in ref and "SameSite=Lax" in ref and "Max-Age=2592000" in ref
    assert any(c.startswith("vid=") for c in cookies)
    for _ in range(3):
        client.get("/s/mei-tea", headers=PHONE_UA)
    client.get("/s/mei-tea/p/green-tea", headers=PHONE_UA)
    with app.app_context():
        visits = db.session.scalars(select(Visit)).all()
        assert len(visits) == 2 and {v.product_id is None for v in visits} == {
            True,
            False,
        }
        assert len({v.visitor for v in visits}) == 1


def test_bots_and_the_seller_do_not_count_as_visits(app, client, mei):
    services.recent_visits.clear()
    client.get("/s/mei-tea", headers={"User-Agent": "Googlebot/2.1"})
    login(client, "mei@example.com")
    client.get("/s/mei-tea", headers=PHONE_UA)
    assert count(app, Visit) == 0


def test_r_parameter_credits_the_shop_on_any_page(app, client, mei):
    services.recent_visits.clear()
    response = client.get("/p/green-tea?r=mei-tea", headers=PHONE_UA)
    assert any(c.startswith("ref=") for c in response.headers.getlist("Set-Cookie"))
    with app.app_context():
        visit = db.session.scalar(select(Visit))
        assert visit.shop_id == mei and visit.product_id is not None
        token = client.get_cookie("ref").value
        assert services.referring_shop(token).id == mei
    unknown = client.get("/?r=nobody", headers=PHONE_UA)
    assert unknown.status_code == 200
    assert not any(c.startswith("ref=") for c in unknown.headers.getlist("Set-Cookie"))


def test_last_click_wins_and_first_click_holds(app, client, mei):
    with app.app_context():
        factories.shop("wang@example.com", "Wang")
    client.get("/s/mei-tea", headers=PHONE_UA)
    client.get("/s/wang", headers=PHONE_UA)
    with app.app_context():
        assert services.referring_shop(client.get_cookie("ref").value).slug == "wang"
    app.config["REFERRAL_CLICK"] = "first"
    client.get("/s/mei-tea", headers=PHONE_UA)
    with app.app_context():
        assert services.referring_shop(client.get_cookie("ref").value).slug == "wang"


def test_shop_page_queries_do_not_grow_with_products(app, client):
    """The rendered shop page of 60 products costs as many queries as one of 3."""

    def queries(slug: str, count: int) -> int:
        with app.app_context():
            shop = factories.shop(f"{slug}@example.com", slug)
            for n in range(count):
                product = factories.product(name=f"{slug} item {n}")
                add_image(product, factories.image_bytes(40, 40))
                services.set_note(services.add_product(shop, product), f"Note {n}")
            db.session.commit()
            statements = []
            record = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = client.get(f"/s/{slug}", headers={"User-Agent": "Googlebot"})
        finally:
            with app.app_context():
                event.remove(db.engine, "before_cursor_execute", record)
        assert page.get_data(as_text=True).count('class="card') == count
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert queries("few", 3) == queries("many", 60)
