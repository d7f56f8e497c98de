"""Catalog rules: slugs, prices, photos, categories, search, money parsing."""

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from storefront.catalog import services as catalog
from storefront.catalog.images import ImageError
from storefront.catalog.models import Product, ProductImage
from storefront.extensions import db
from storefront.money import to_minor
from tests import factories


def upload_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_slug_made_from_latin_name_or_random_for_chinese(app):
    with app.app_context():
        assert factories.product(name="Green Tea (100 g)").slug == "green-tea-100-g"
        assert factories.product(name="Green Tea (100 g)").slug == "green-tea-100-g-2"
        chinese = factories.product(name="西湖龙井").slug
        assert chinese.startswith("p-") and len(chinese) == 8


@pytest.mark.parametrize("slug", ["Has Caps", "under_score", "-lead", "a--b", "x" * 61])
def test_malformed_slug_is_refused(app, slug):
    with app.app_context(), pytest.raises(catalog.CatalogError, match="hyphens"):
        factories.product(slug=slug)


def test_taken_slug_is_refused(app):
    with app.app_context():
        factories.product(slug="tea")
        with pytest.raises(catalog.CatalogError, match="already uses"):
            factories.product(slug="tea")
        assert db.session.query(Product).count() == 1


def test_unknown_category_is_refused(app):
    with app.app_context(), pytest.raises(catalog.CatalogError, match="category"):
        factories.product(category_id=999)


def test_quick_price_edit_drops_a_was_price_it_reaches(app):
    with app.app_context():
        product = factories.product(price=1000, compare_at_price=1500)
        catalog.set_price_and_stock(product, 1200, 3)
        assert (product.price, product.compare_at_price, product.stock) == (
            1200,
            1500,
            3,
        )
        catalog.set_price_and_stock(product, 1500, 3)
        assert product.compare_at_price is None


def test_database_refuses_negative_stock_and_price(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        product = factories.product()
        product.stock = -1
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        product.price = -5
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_photo_is_stored_at_each_width_up_to_the_original(app):
    with app.app_context():
        product = factories.product()
        image = catalog.add_image(product, factories.image_bytes(800, 600))
        db.session.commit()
        assert image.width_list == [360, 720, 800]  # 1080 would enlarge it
        assert (image.width, image.height) == (800, 600)
    files = upload_files(app)
    assert [f.name for f in files] == sorted(image.filename(w) for w in (360, 720, 800))
    with Image.open(files[0]) as stored:
        assert stored.format == "WEBP"


def test_photo_exif_orientation_is_applied(app):
    with app.app_context():
        buffer = BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # rotated 90° as phones store portrait shots
        Image.new("RGB", (400, 200)).save(buffer, "JPEG", exif=exif)
        image = catalog.add_image(factories.product(), buffer.getvalue())
        assert (image.width, image.height) == (200, 400)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image at all", "not an image"),
        (factories.image_bytes(fmt="BMP"), "JPEG, PNG, WebP or GIF"),
        (factories.image_bytes(fmt="PNG")[:200], "not an image"),  # truncated
        (b"", "not an image"),
    ],
)
def test_bad_photo_is_refused_and_nothing_stored(app, data, message):
    with app.app_context():
        product = factories.product()
        with pytest.raises(ImageError, match=message):
            catalog.add_image(product, data)
        db.session.rollback()
        assert db.session.query(ProductImage).count() == 0
    assert upload_files(app) == []


def test_photo_with_too_many_pixels_is_refused(app):
    app.config["IMAGE_MAX_PIXELS"] = 100 * 100
    with app.app_context(), pytest.raises(ImageError, match="resolution is too high"):
        catalog.add_image(factories.product(), factories.image_bytes(101, 100))
    assert upload_files(app) == []


def test_photo_limit_and_cover_and_removal(app):
    with app.app_context():
        product = factories.product()
        images = [
            catalog.add_image(product, factories.image_bytes(50, 50)) for _ in range(8)
        ]
        with pytest.raises(catalog.CatalogError, match="at most 8"):
            catalog.add_image(product, factories.image_bytes(50, 50))
        catalog.move_image_first(images[3])
        assert product.cover is images[3]
        catalog.remove_image(images[3])
        db.session.commit()
        db.session.refresh(product)
        assert len(product.images) == 7
    assert len(upload_files(app)) == 7


def test_category_rules(app):
    with app.app_context():
        tea = factories.category("Tea")
        assert tea.slug == "tea"
        assert factories.category("茶叶").slug.startswith("c-")
        with pytest.raises(catalog.CatalogError, match="already uses"):
            catalog.create_category("Tea again", "tea")
        factories.product(category_id=tea.id)
        with pytest.raises(catalog.CatalogError, match="Move the products"):
            catalog.delete_category(tea)


def test_search_matches_name_or_slug_and_treats_wildcards_literally(app):
    with app.app_context():
        factories.product(name="Green tea", slug="green")
        factories.product(name="100% cotton", slug="cotton")
        factories.product(name="Black tea", slug="black", active=False)

        def names(query, **kwargs):
            found = db.session.scalars(catalog.product_search(query, **kwargs))
            return sorted(p.name for p in found)

        assert names("TEA") == ["Black tea", "Green tea"]
        assert names("tea", active=True) == ["Green tea"]
        assert names("%") == ["100% cotton"]
        assert names("_") == []
        assert names("cott") == ["100% cotton"]


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("12.5", "CNY", 1250),
        ("12.50", "CNY", 1250),
        (" ¥1,234 ", "CNY", 123400),
        ("0", "CNY", 0),
        ("1200", "JPY", 1200),
    ],
)
def test_to_minor(text, code, minor):
    assert to_minor(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("12.505", "CNY"),
        ("-1", "CNY"),
        ("abc", "CNY"),
        ("NaN", "CNY"),
        ("Infinity", "CNY"),
        ("1e30", "CNY"),
        ("", "CNY"),
        ("12.5", "JPY"),
    ],
)
def test_to_minor_refuses(text, code):
    with pytest.raises(ValueError):
        to_minor(text, code)
