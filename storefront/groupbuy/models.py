"""Group-buy (拼团): the operator's offers, the groups customers open on them and
the members who took a seat, each with their order."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.catalog.models import Product
from storefront.database import str_enum
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.shops.models import Shop
from storefront.timeutil import utcnow

#: Smallest and largest group, leader included.
MIN_SIZE, MAX_SIZE = 2, 10


class GroupOffer(db.Model):
    """A product sold at ``group_price`` to groups of ``size`` that fill within
    ``window_hours`` of opening; open for new groups from ``starts_at`` until
    ``ends_at`` while active."""

    __tablename__ = "group_offer"
    __table_args__ = (
        CheckConstraint("group_price > 0", name="price"),
        CheckConstraint(f"size BETWEEN {MIN_SIZE} AND {MAX_SIZE}", name="size"),
        CheckConstraint("window_hours BETWEEN 1 AND 168", name="window"),
        CheckConstraint("per_customer BETWEEN 1 AND 99", name="per_customer"),
        CheckConstraint("ends_at > starts_at", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: Minor units, below the product's price.
    group_price: Mapped[int]
    size: Mapped[int]
    window_hours: Mapped[int] = mapped_column(default=24)
    #: Most units one customer buys in one group.
    per_customer: Mapped[int] = mapped_column(default=1)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()


class GroupState(enum.StrEnum):
    OPEN = "open"
    SUCCEEDED = "succeeded"  #: full in time: its orders go to fulfilment
    FAILED = "failed"  #: not full in time: its orders cancelled or refunded


class Group(db.Model):
    """One group on an offer, opened by its leader's order. ``seats_taken``
    only moves by conditional UPDATE, so it never passes ``size``."""

    __tablename__ = "buying_group"  # GROUP is an SQL keyword
    __table_args__ = (
        CheckConstraint("seats_taken BETWEEN 0 AND size", name="seats"),
        Index("ix_buying_group_open_deadline", "offer_id", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The invite link's code: /g/<code>.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("group_offer.id"))
    #: The seller whose link the leader came from; the invite keeps crediting it.
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"))
    #: The offer's size and price when the group opened.
    size: Mapped[int]
    group_price: Mapped[int]
    seats_taken: Mapped[int] = mapped_column(default=0)
    state: Mapped[GroupState] = mapped_column(
        str_enum(GroupState), default=GroupState.OPEN, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]

    offer: Mapped[GroupOffer] = relationship()
    shop: Mapped[Shop | None] = relationship()
    members: Mapped[list["GroupMember"]] = relationship(
        back_populates="group", order_by="GroupMember.id"
    )

    @property
    def seats_left(self) -> int:
        return self.size - self.seats_taken


class GroupMember(db.Model):
    """A seat in a group, held by one order. A member whose order is cancelled
    or refunded while the group is open leaves it (``left_at``), freeing the
    seat; in a finished group they stay listed, as they were."""

    __tablename__ = "group_member"
    __table_args__ = (
        # One seat per phone in a group, among those who have not left.
        Index(
            "uq_group_member_phone",
            "group_id",
            "phone",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("buying_group.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    #: E.164, as on the order.
    phone: Mapped[str] = mapped_column(String(20))
    leader: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]

    group: Mapped[Group] = relationship(back_populates="members")
    order: Mapped[Order] = relationship()
