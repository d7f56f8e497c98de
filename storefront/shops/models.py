"""Shops, the products each one picked, visits, and customers bound to a shop."""

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.database import str_enum
from storefront.extensions import db
from storefront.timeutil import utcnow


class ShopStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for the operator's approval
    ACTIVE = "active"
    SUSPENDED = "suspended"  #: page says so; earns nothing


class Shop(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: The public address /s/<slug>; old ones stay as ShopAlias redirects.
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    bio: Mapped[str] = mapped_column(Text, default="")
    #: How customers reach the seller, e.g. a WeChat ID.
    contact: Mapped[str] = mapped_column(String(60), default="")
    #: Random name of the avatar files (``<key>-<width>.webp``), if any.
    avatar_key: Mapped[str | None] = mapped_column(String(32))
    #: The shop whose seller recruited this one (the only upline that may earn).
    recruiter_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    status: Mapped[ShopStatus] = mapped_column(
        str_enum(ShopStatus),
        default=ShopStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Goes up by one with every change to the shop's product list (a pick, a
    #: note, the order): the cached product grid of its page compares it.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")

    owner: Mapped[User] = relationship()
    recruiter: Mapped["Shop | None"] = relationship(remote_side=[id])
    items: Mapped[list["ShopProduct"]] = relationship(
        back_populates="shop",
        order_by="ShopProduct.position",
        cascade="all, delete-orphan",
    )

    @property
    def is_open(self) -> bool:
        return self.status is ShopStatus.ACTIVE

    @property
    def is_pending(self) -> bool:
        return self.status is ShopStatus.PENDING

    @property
    def is_suspended(self) -> bool:
        return self.status is ShopStatus.SUSPENDED

    def owned_by(self, user) -> bool:
        """Whether ``user`` (maybe anonymous) is this shop's seller."""
        return bool(user and user.is_authenticated and user.id == self.owner_id)


class ShopAlias(db.Model):
    """A slug the shop used before: its links keep working by redirect."""

    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)


class ShopProduct(db.Model):
    """A catalog product a seller picked for their shop, with their own note."""

    __table_args__ = (UniqueConstraint("shop_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: Lower comes first (after the featured ones).
    position: Mapped[int] = mapped_column(default=0)
    #: The seller's recommendation, plain text with line breaks.
    note: Mapped[str] = mapped_column(Text, default="")
    featured: Mapped[bool] = mapped_column(default=False)

    shop: Mapped[Shop] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class Visit(db.Model):
    """One visitor seeing one shop page (or one of its products) on one day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    #: Anonymous id from the visitor's cookie.
    visitor: Mapped[str] = mapped_column(String(32))
    #: The visitor's day in the shop's time zone.
    day: Mapped[date]
    #: ``shop:product:visitor:day``: a second hit the same day inserts nothing.
    once: Mapped[str] = mapped_column(String(80), unique=True)
    #: How the visitor came: a shared link, or a QR code (``?via=qr``).
    channel: Mapped[str] = mapped_column(
        String(8), default="link", server_default="link"
    )
    #: The sharing code of the customer whose share brought the visitor (``?by=``).
    sharer: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        # A shop's visits of a period with all a report reads of them (no row
        # lookups); the unique visitors across shops; and customers' shares.
        db.Index(
            "ix_visit_shop_day",
            "shop_id",
            "day",
            "visitor",
            "product_id",
            "channel",
            "sharer",
        ),
        db.Index("ix_visit_day_visitor", "day", "visitor"),
        db.Index(
            "ix_visit_shop_sharer",
            "shop_id",
            "sharer",
            "visitor",
            sqlite_where=text("sharer IS NOT NULL"),
            postgresql_where=text("sharer IS NOT NULL"),
        ),
    )


class ShopVisitor(db.Model):
    """Each visitor a shop ever had, once: the all-time count of a shop's
    visitors without reading every visit."""

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


class CustomerBinding(db.Model):
    """A customer's phone belongs to the shop that first sold to it, for a while."""

    #: E.164 mobile number.
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
