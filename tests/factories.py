"""Rows for tests, made through the services where a rule applies."""

from datetime import date
from io import BytesIO

from PIL import Image

from storefront.accounts.models import Role
from storefront.accounts.services import create_user
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.shops.models import ShopVisitor, Visit
from storefront.shops.services import visit_key
from storefront.timeutil import local_day, utcnow

PASSWORD = "correct horse battery"


def user_row(role: str = "seller", email: str = "someone@example.com", **kwargs):
    """A committed user; returns its id."""
    user = create_user(email, kwargs.get("name", "Someone"), PASSWORD, Role(role))
    db.session.commit()
    return user.id


def product(**overrides):
    """A committed product (in an app context)."""
    fields = {
        "name": "Green tea",
        "description": "Fresh leaves.",
        "price": 1250,
        "compare_at_price": None,
        "stock": 10,
        "category_id": None,
        "active": True,
        "commission_bp": None,
    }
    slug = overrides.pop("slug", "")
    fields.update(overrides)
    item = catalog.create_product(catalog.ProductData(**fields), slug)
    db.session.commit()
    return item


def category(name: str = "Tea", slug: str = ""):
    item = catalog.create_category(name, slug)
    db.session.commit()
    return item


def image_bytes(width: int = 800, height: int = 600, fmt: str = "PNG") -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, fmt)
    return buffer.getvalue()


def shop(email: str = "mei@example.com", name: str = "Mei's picks", **kwargs):
    """A committed seller with an open shop (in an app context)."""
    from storefront.shops.services import open_shop

    user = create_user(
        email, kwargs.pop("owner_name", "Li Mei"), PASSWORD, Role.SELLER, **kwargs
    )
    item = open_shop(user, name)
    db.session.commit()
    return item


def visit(
    shop_id: int,
    visitor: str,
    day: date | None = None,
    product_id: int | None = None,
    channel: str = "link",
    sharer: str | None = None,
) -> Visit:
    """A visit as ``record_visit`` writes it (today unless ``day``), its
    visitor on the shop's list; flushed."""
    day = day or local_day(utcnow())
    row = Visit(
        shop_id=shop_id,
        product_id=product_id,
        visitor=visitor,
        day=day,
        once=visit_key(shop_id, product_id, visitor, day),
        channel=channel,
        sharer=sharer,
    )
    db.session.add(row)
    db.session.merge(ShopVisitor(shop_id=shop_id, visitor=visitor))
    db.session.flush()
    return row
