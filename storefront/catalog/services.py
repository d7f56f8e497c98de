"""Catalog rules: products, categories and images, for the operator and the shop."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from storefront.catalog import images
from storefront.catalog.models import Category, Product, ProductImage
from storefront.database import add_unique
from storefront.errors import DomainError
from storefront.extensions import db

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_IMAGES = 8


class CatalogError(DomainError):
    pass


@dataclass
class ProductData:
    """What the operator edits about a product (the slug only on creation)."""

    name: str
    description: str
    price: int
    compare_at_price: int | None
    stock: int
    category_id: int | None
    active: bool
    commission_bp: int | None


def slugify(text: str) -> str:
    """ASCII slug from ``text``; empty when the text has no Latin letters or digits."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:50].strip("-")


def unique_product_slug(name: str) -> str:
    """A free slug made from ``name``, or a short random one for names without
    Latin letters (most Chinese names)."""
    base = slugify(name) or f"p-{secrets.token_hex(3)}"
    slug, n = base, 1
    while db.session.scalar(select(Product.id).where(Product.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def check_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug) or len(slug) > 60:
        raise CatalogError(
            _l("Use lower-case letters, digits and single hyphens, such as green-tea.")
        )


def check_category(category_id: int | None) -> None:
    if category_id is not None and db.session.get(Category, category_id) is None:
        raise CatalogError(_l("Choose a category from the list."))


def create_product(data: ProductData, slug: str = "") -> Product:
    """Add a product; a blank ``slug`` is made from the name.

    Raises ``CatalogError`` for a malformed or taken slug or an unknown category.
    """
    taken = _l("Another product already uses this web address.")
    if slug:
        check_slug(slug)
        if db.session.scalar(select(Product.id).where(Product.slug == slug)):
            raise CatalogError(taken)
    check_category(data.category_id)
    for _attempt in range(5):
        product = Product(slug=slug or unique_product_slug(data.name), **vars(data))
        if add_unique(product):
            return product
        if slug:  # the operator's own choice was taken a moment ago
            break
    raise CatalogError(taken)


def update_product(product: Product, data: ProductData) -> None:
    """Change everything but the slug; raises ``CatalogError`` for an unknown
    category."""
    check_category(data.category_id)
    for name, value in vars(data).items():
        setattr(product, name, value)
    db.session.flush()


def set_price_and_stock(product: Product, price: int, stock: int) -> None:
    """The quick edit from the product list. The compare-at price is dropped when
    the new price reaches it, since "was ¥10, now ¥12" would be a lie."""
    if product.compare_at_price is not None and product.compare_at_price <= price:
        product.compare_at_price = None
    product.price, product.stock = price, stock
    db.session.flush()


def set_active(product: Product, active: bool) -> None:
    """Show or hide a product; hidden ones keep their page, marked unavailable."""
    product.active = active
    db.session.flush()


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def add_image(product: Product, data: bytes) -> ProductImage:
    """Validate and resize an uploaded photo and attach it to ``product``.

    Raises ``ImageError`` for a file that is not an acceptable image, and
    ``CatalogError`` when the product already has ``MAX_IMAGES``. Files are only
    written once the image passed every check.
    """
    if len(product.images) >= MAX_IMAGES:
        raise CatalogError(_l("A product can have at most %(n)d photos.", n=MAX_IMAGES))
    resized = images.resize_upload(
        data, current_app.config["IMAGE_WIDTHS"], current_app.config["IMAGE_MAX_PIXELS"]
    )
    image = ProductImage(
        key=resized.key,
        widths=resized.widths,
        width=resized.width,
        height=resized.height,
        position=max((i.position for i in product.images), default=-1) + 1,
    )
    product.images.append(image)
    db.session.flush()
    images.write_files(upload_folder(), resized)
    return image


def remove_image(image: ProductImage) -> None:
    """Detach a photo and delete its files."""
    db.session.delete(image)
    db.session.flush()
    images.delete_files(upload_folder(), image.key, image.width_list)


def move_image_first(image: ProductImage) -> None:
    """Make ``image`` the cover photo (the one shops and shares show)."""
    product = image.product
    product.images = [image, *(i for i in product.images if i is not image)]
    for position, each in enumerate(product.images):
        each.position = position
    db.session.flush()


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def product_search(
    query: str = "", category_id: int | None = None, active: bool | None = None
) -> Select:
    """Products whose name or slug contains ``query``, newest first."""
    statement = select(Product).order_by(Product.id.desc())
    if query.strip():
        pattern = f"%{escape_like(query.strip())}%"
        statement = statement.where(
            Product.name.ilike(pattern, escape="\\")
            | Product.slug.ilike(pattern, escape="\\")
        )
    if category_id is not None:
        statement = statement.where(Product.category_id == category_id)
    if active is not None:
        statement = statement.where(Product.active == active)
    return statement


def categories() -> list[Category]:
    return list(
        db.session.scalars(select(Category).order_by(Category.position, Category.name))
    )


def create_category(name: str, slug: str = "") -> Category:
    """Add a category; raises ``CatalogError`` for a malformed or taken slug."""
    slug = slug or slugify(name) or f"c-{secrets.token_hex(3)}"
    check_slug(slug)
    taken = _l("Another category already uses this web address.")
    if db.session.scalar(select(Category.id).where(Category.slug == slug)):
        raise CatalogError(taken)
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), 0)))
    category = Category(name=name.strip(), slug=slug, position=position + 1)
    if not add_unique(category):
        raise CatalogError(taken)
    return category


def rename_category(category: Category, name: str) -> None:
    category.name = name.strip()
    db.session.flush()


def delete_category(category: Category) -> None:
    """Delete an empty category; raises ``CatalogError`` while products use it."""
    if category.products:
        raise CatalogError(
            _l("Move the products out of this category before deleting it.")
        )
    db.session.delete(category)
    db.session.flush()
