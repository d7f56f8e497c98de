"""The public house shop and product pages, full page and htmx fragment."""

import re

from storefront.catalog import services as catalog
from storefront.extensions import db
from tests import factories
from tests.conftest import EN


def test_house_shop_lists_products_on_sale_only(app, client):
    with app.app_context():
        factories.product(name="Green tea", price=1250, compare_at_price=1500)
        factories.product(name="Hidden tea", active=False)
        factories.product(name="Sold out tea", stock=0)
        factories.product(name="Last few", stock=2)
    page = client.get("/", headers=EN).get_data(as_text=True)
    assert "Green tea" in page and "Hidden tea" not in page
    assert "CN¥12.50" in page and "<s" in page and "CN¥15.00" in page
    assert "Sold out" in page and "Only 2 left" in page


def test_category_filter_full_page_and_fragment(app, client, hx):
    with app.app_context():
        tea = factories.category("Tea")
        factories.product(name="Green tea", category_id=tea.id)
        factories.product(name="Walnuts")
    full = client.get("/?c=tea")
    assert full.status_code == 200
    html = full.get_data(as_text=True)
    assert html.startswith("<!doctype html>") and "Green tea" in html
    assert "Walnuts" not in html

    fragment = client.get("/?c=tea", headers=hx)
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="product-grid">')
    assert "<html" not in body and "Green tea" in body and "Walnuts" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    assert "HX-Request" in full.headers["Vary"]


def test_boosted_and_history_restore_requests_get_the_whole_page(client, hx):
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        body = client.get("/", headers={**hx, **extra}).get_data(as_text=True)
        assert body.startswith("<!doctype html>")


def test_bad_listing_parameters_are_404_not_500(client):
    assert client.get("/?c=no-such-category").status_code == 404
    assert client.get("/?page=0").status_code == 404
    assert client.get("/?page=99").status_code == 404
    assert client.get("/?page=abc").status_code == 404


def test_listing_pages_through_many_products(app, client):
    with app.app_context():
        for n in range(61):
            factories.product(name=f"Item {n:02d}", slug=f"item-{n}")
    first = client.get("/", headers=EN).get_data(as_text=True)
    second = client.get("/?page=2", headers=EN).get_data(as_text=True)
    assert first.count('class="card') == 60 and "Page 1 of 2" in first
    assert second.count('class="card') == 1 and "Item 00" in second


def test_product_page(app, client):
    with app.app_context():
        product = factories.product(
            name="Green tea", description="Line one\nLine two <b>bold</b>"
        )
        catalog.add_image(product, factories.image_bytes(800, 800))
        catalog.add_image(product, factories.image_bytes(800, 800))
        db.session.commit()
        slug = product.slug
    html = client.get(f"/p/{slug}", headers=EN).get_data(as_text=True)
    assert "<h1>Green tea</h1>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # escaped
    images = re.findall(r"<img [^>]+>", html)
    assert len(images) == 2
    assert 'fetchpriority="high"' in images[0] and 'loading="lazy"' in images[1]
    for tag in images:
        assert 'width="800"' in tag and 'height="800"' in tag and "srcset=" in tag


def test_product_taken_off_sale_keeps_its_page(app, client):
    with app.app_context():
        slug = factories.product(name="Old tea", active=False).slug
    response = client.get(f"/p/{slug}", headers=EN)
    assert response.status_code == 200
    assert "No longer available" in response.get_data(as_text=True)
    assert client.get("/p/no-such-product").status_code == 404


def test_photos_are_served_with_a_long_cache_life(app, client):
    with app.app_context():
        image = catalog.add_image(factories.product(), factories.image_bytes(400, 400))
        db.session.commit()
        name = image.filename(360)
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/media/../instance/secret_key").status_code == 404
    assert client.get("/media/nothing.webp").status_code == 404
