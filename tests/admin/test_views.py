"""The operator's back office: access, product and category forms, bad input."""

import re

import pytest

from storefront.catalog.models import Category, Product, ProductImage
from storefront.extensions import db
from tests import factories
from tests.conftest import EN

GOOD = {
    "name": "Green tea",
    "slug": "",
    "description": "Fresh.",
    "price": "12.50",
    "compare_at_price": "",
    "stock": "10",
    "category_id": "0",
    "active": "y",
    "commission_bp": "",
}


def admin_urls(app):
    """Every /admin URL with its methods, ids filled with 1."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            url = re.sub(r"<int:\w+>", "1", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield url, method.lower()


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


@pytest.fixture
def tea(app):
    with app.app_context():
        product = factories.product(name="Green tea", slug="green-tea", price=1250)
        factories.category("Tea")
        return product.id


def test_every_admin_url_sends_anonymous_visitors_to_sign_in(app, client, tea):
    urls = list(admin_urls(app))
    assert len(urls) >= 12
    for url, method in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login?next="), url


def test_every_admin_url_refuses_sellers(app, as_seller, tea):
    for url, method in admin_urls(app):
        response = getattr(as_seller, method)(url)
        assert response.status_code == 403, (method, url)
    assert count(app, Category) == 1
    with app.app_context():
        assert db.session.get(Product, tea).active is True


def test_create_product_then_edit_it(app, as_operator):
    response = as_operator.post("/admin/products/new", data=GOOD)
    assert response.status_code == 302
    with app.app_context():
        product = db.session.scalar(db.select(Product))
        assert (product.slug, product.price, product.stock) == ("green-tea", 1250, 10)
        assert product.commission_bp is None and product.active
    edit = {
        **GOOD,
        "name": "Green tea, 2026",
        "slug": "changed",
        "price": "9.9",
        "compare_at_price": "12",
        "commission_bp": "12.5",
        "active": "",
    }
    response = as_operator.post(f"/admin/products/{product.id}", data=edit)
    assert response.status_code == 302
    with app.app_context():
        product = db.session.get(Product, product.id)
        assert product.name == "Green tea, 2026"
        assert product.slug == "green-tea"  # links already shared keep working
        assert (product.price, product.compare_at_price) == (990, 1200)
        assert product.commission_bp == 1250 and not product.active


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
        ({"price": ""}, "Enter a price."),
        ({"price": "abc"}, "Enter an amount such as 12.50."),
        ({"price": "-3"}, "Enter an amount such as 12.50."),
        ({"price": "1.234"}, "Enter an amount such as 12.50."),
        ({"price": "99999999999"}, "Enter an amount such as 12.50."),
        (
            {"compare_at_price": "10"},
            "The original price must be higher than the price.",
        ),
        ({"stock": ""}, "Enter how many are in stock."),
        ({"stock": "lots"}, "Enter a whole number from 0 to 1,000,000."),
        ({"stock": "1.5"}, "Enter a whole number from 0 to 1,000,000."),
        ({"stock": "-1"}, "Enter a whole number from 0 to 1,000,000."),
        ({"stock": "10000000000000000000000"}, "from 0 to 1,000,000"),
        ({"commission_bp": "150"}, "Enter a percentage from 0 to 100."),
        ({"commission_bp": "ten"}, "Enter a percentage from 0 to 100."),
        ({"category_id": "999"}, "Not a valid choice."),
        ({"category_id": "tea"}, "Invalid Choice"),
        ({"slug": "Green Tea!"}, "single hyphens"),
        ({"slug": "green-tea"}, "Another product already uses this web address."),
    ],
)
def test_product_form_bad_input_is_422_with_a_message(
    app, as_operator, tea, changes, message
):
    before = count(app, Product)
    response = as_operator.post(
        "/admin/products/new", data={**GOOD, **changes}, headers=EN
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "Not a valid integer" not in page  # one clear message
    assert count(app, Product) == before
    edit = as_operator.post(
        f"/admin/products/{tea}", data={**GOOD, **changes}, headers=EN
    )
    if "slug" not in changes:  # the slug is not edited after creation
        assert edit.status_code == 422
        assert message in edit.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, tea).name == "Green tea"


def test_unknown_product_is_404(as_operator):
    assert as_operator.get("/admin/products/999").status_code == 404
    assert as_operator.post("/admin/products/999/quick", data={}).status_code == 404


def test_search_as_you_type_returns_the_result_list_only(app, as_operator, hx, tea):
    with app.app_context():
        factories.product(name="Walnuts")
    full = as_operator.get("/admin/products?q=tea", headers=EN)
    assert full.get_data(as_text=True).startswith("<!doctype html>")
    fragment = as_operator.get("/admin/products?q=tea", headers={**hx, **EN})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="product-results">')
    assert "Green tea" in body and "Walnuts" not in body and "1 product" in body
    assert "HX-Request" in fragment.headers["Vary"]
    assert as_operator.get("/admin/products?s=bogus").status_code == 400
    assert as_operator.get("/admin/products?c=abc").status_code == 200  # ignored


def test_quick_edit_in_place(app, as_operator, hx, tea):
    response = as_operator.post(
        f"/admin/products/{tea}/quick", data={"price": "8.80", "stock": "4"}, headers=hx
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<li class="row" id="product-{tea}">')
    assert 'value="8.80"' in row and 'value="4"' in row and "Saved." in row
    with app.app_context():
        product = db.session.get(Product, tea)
        assert (product.price, product.stock) == (880, 4)


def test_quick_edit_bad_input_keeps_the_row_and_the_data(app, as_operator, hx, tea):
    response = as_operator.post(
        f"/admin/products/{tea}/quick",
        data={"price": "free", "stock": "-2"},
        headers={**hx, **EN},
    )
    assert response.status_code == 422
    row = response.get_data(as_text=True)
    assert "Enter an amount such as 12.50." in row and "from 0 to 1,000,000" in row
    assert 'value="free"' in row
    with app.app_context():
        product = db.session.get(Product, tea)
        assert (product.price, product.stock) == (1250, 10)
    # without JavaScript: back to the list with a message
    plain = as_operator.post(
        f"/admin/products/{tea}/quick", data={"price": "free", "stock": "1"}, headers=EN
    )
    assert plain.status_code == 302


def test_toggle_on_and_off_sale(app, as_operator, hx, tea):
    row = as_operator.post(f"/admin/products/{tea}/active", headers={**hx, **EN})
    assert 'aria-pressed="false"' in row.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, tea).active is False
    assert as_operator.post(f"/admin/products/{tea}/active").status_code == 302
    with app.app_context():
        assert db.session.get(Product, tea).active is True


def test_upload_photo(app, as_operator, tea):
    from io import BytesIO

    response = as_operator.post(
        f"/admin/products/{tea}/images",
        data={"image": (BytesIO(factories.image_bytes(900, 600)), "tea.png")},
    )
    assert response.status_code == 302
    with app.app_context():
        image = db.session.scalar(db.select(ProductImage))
        assert image.product_id == tea and image.width_list == [360, 720, 900]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"GIF89a but not really", "tea.gif"), "not an image we can read"),
        ((b"%PDF-1.4", "tea.png"), "not an image we can read"),
        (None, "Choose a photo."),
    ],
)
def test_bad_photo_upload_is_422_and_stores_nothing(
    app, as_operator, tea, upload, message
):
    from io import BytesIO
    from pathlib import Path

    data = {"image": (BytesIO(upload[0]), upload[1])} if upload else {}
    response = as_operator.post(f"/admin/products/{tea}/images", data=data, headers=EN)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, ProductImage) == 0
    assert not Path(app.config["UPLOAD_FOLDER"]).exists()


def test_oversized_upload_is_413(app, as_operator, tea):
    from io import BytesIO

    app.config["MAX_CONTENT_LENGTH"] = 100_000
    big = BytesIO(b"\0" * 200_000)
    form = f"http://localhost/admin/products/{tea}"
    response = as_operator.post(
        f"/admin/products/{tea}/images",
        data={"image": (big, "big.png")},
        headers={**EN, "Referer": form},
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "too large" in page
    assert f'<a href="/admin/products/{tea}">Back to the form</a>' in page
    assert count(app, ProductImage) == 0
    # A page of another site is no way back.
    elsewhere = as_operator.post(
        f"/admin/products/{tea}/images",
        data={"image": (BytesIO(b"\0" * 200_000), "big.png")},
        headers={**EN, "Referer": "https://evil.example/admin/products/1"},
    )
    assert "Back to the form" not in elsewhere.get_data(as_text=True)


def test_photo_cover_and_delete_belong_to_their_product(app, as_operator, tea):
    from storefront.catalog import services as catalog

    with app.app_context():
        other = factories.product(name="Other")
        image_id = catalog.add_image(other, factories.image_bytes(50, 50)).id
        db.session.commit()
        other_id = other.id
    assert (
        as_operator.post(f"/admin/products/{tea}/images/{image_id}/delete").status_code
        == 404
    )
    assert (
        as_operator.post(f"/admin/products/{tea}/images/{image_id}/cover").status_code
        == 404
    )
    assert count(app, ProductImage) == 1
    response = as_operator.post(f"/admin/products/{other_id}/images/{image_id}/delete")
    assert response.status_code == 302
    assert count(app, ProductImage) == 0


def test_categories_add_rename_delete(app, as_operator):
    assert (
        as_operator.post(
            "/admin/categories", data={"name": "Fruit", "slug": ""}
        ).status_code
        == 302
    )
    with app.app_context():
        fruit = db.session.scalar(db.select(Category))
        assert fruit.slug == "fruit"
    response = as_operator.post(
        f"/admin/categories/{fruit.id}", data={"name": "Fresh fruit"}
    )
    assert response.status_code == 302
    assert as_operator.post(f"/admin/categories/{fruit.id}/delete").status_code == 302
    assert count(app, Category) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required."),
        (
            {"name": "Tea", "slug": "tea"},
            "Another category already uses this web address.",
        ),
        ({"name": "Fruit", "slug": "Bad Slug"}, "single hyphens"),
        ({"name": "x" * 61}, "Field cannot be longer than 60 characters."),
    ],
)
def test_category_bad_input(app, as_operator, tea, data, message):
    response = as_operator.post("/admin/categories", data=data, headers=EN)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Category) == 1


def test_category_in_use_cannot_be_deleted_or_renamed_empty(app, as_operator, tea):
    with app.app_context():
        category = db.session.scalar(db.select(Category))
        db.session.get(Product, tea).category_id = category.id
        db.session.commit()
        category_id = category.id
    response = as_operator.post(f"/admin/categories/{category_id}/delete", headers=EN)
    assert response.status_code == 409
    assert "Move the products out" in response.get_data(as_text=True)
    response = as_operator.post(
        f"/admin/categories/{category_id}", data={"name": ""}, headers=EN
    )
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert count(app, Category) == 1
