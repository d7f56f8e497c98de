"""Categories, products and their images."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.timeutil import utcnow


class Category(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    #: Lower comes first in filters and menus.
    position: Mapped[int] = mapped_column(default=0)

    products: Mapped[list["Product"]] = relationship(back_populates="category")


class Product(db.Model):
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint(
            "compare_at_price IS NULL OR compare_at_price > price",
            name="compare_at_above_price",
        ),
        CheckConstraint(
            "commission_bp IS NULL OR commission_bp BETWEEN 0 AND 10000",
            name="commission_bp_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The public URL (/p/<slug>); fixed once created, since links live in chats.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Minor units of the shop currency.
    price: Mapped[int]
    #: The "was" price shown struck through; above ``price`` when set.
    compare_at_price: Mapped[int | None]
    stock: Mapped[int] = mapped_column(default=0)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True, index=True)
    #: Commission in basis points (1000 = 10%); None uses the shop-wide default.
    commission_bp: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Goes up by one with every change to the row, stock included (also by
    #: plain UPDATE statements) and to its images: cached pages showing the
    #: product compare it to know they are current.
    revision: Mapped[int] = mapped_column(
        default=1, server_default="1", onupdate=literal_column("revision + 1")
    )

    category: Mapped[Category | None] = relationship(back_populates="products")
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        order_by="ProductImage.position",
        cascade="all, delete-orphan",
    )

    @property
    def cover(self) -> "ProductImage | None":
        return self.images[0] if self.images else None

    @property
    def available(self) -> bool:
        """Can be bought right now."""
        return self.active and self.stock > 0


class ProductImage(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: Random name of the files, ``<key>-<width>.webp`` in the uploads folder.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    #: Comma-separated widths stored, e.g. ``360,720,1080``.
    widths: Mapped[str] = mapped_column(String(60))
    #: Size of the largest stored file; pages set width/height from it so the
    #: layout does not shift while images load.
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="images")

    @property
    def width_list(self) -> list[int]:
        return [int(w) for w in self.widths.split(",")]

    def filename(self, width: int) -> str:
        return f"{self.key}-{width}.webp"
