"""Orders, their lines and the history of everything done to them."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.database import str_enum
from storefront.extensions import db
from storefront.shops.models import Shop
from storefront.timeutil import utcnow


class OrderState(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentMethod(enum.StrEnum):
    TRANSFER = "transfer"  #: the customer pays to the operator's QR or account
    COD = "cod"  #: cash on delivery


class Order(db.Model):
    __tablename__ = "orders"  # ORDER is an SQL keyword
    __table_args__ = (
        CheckConstraint("subtotal >= 0 AND shipping >= 0", name="amounts"),
        CheckConstraint("total = subtotal + shipping", name="total"),
        CheckConstraint("refunded BETWEEN 0 AND total", name="refunded"),
        # A shop's orders over a period, and a shop's customers' earlier orders.
        Index("ix_orders_shop_created", "shop_id", "created_at"),
        Index("ix_orders_shop_phone", "shop_id", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the customer quotes, e.g. ``261122-48392``.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    #: The unguessable half of the order page's address.
    token: Mapped[str] = mapped_column(String(32))
    #: The checkout form's one-time key: a resubmitted form finds this order.
    checkout_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: The shop credited with the sale, fixed when the order is placed.
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(80))
    #: E.164 mobile number.
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(Text)
    #: The anonymous id of the browser that placed it (links it to its visits).
    visitor: Mapped[str | None] = mapped_column(String(32), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    state: Mapped[OrderState] = mapped_column(
        str_enum(OrderState), default=OrderState.PENDING_PAYMENT, index=True
    )
    #: Minor units: lines after discounts, shipping, their sum, and refunds so far.
    subtotal: Mapped[int]
    shipping: Mapped[int]
    total: Mapped[int]
    refunded: Mapped[int] = mapped_column(default=0)
    #: Part of a group-buy that has not filled yet: not shipped until it does.
    group_hold: Mapped[bool] = mapped_column(default=False)
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    shop: Mapped[Shop | None] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )


class OrderLine(db.Model):
    __table_args__ = (
        CheckConstraint("quantity > 0 AND unit_price >= 0", name="positive"),
        CheckConstraint(
            "refunded_quantity BETWEEN 0 AND quantity", name="refunded_quantity"
        ),
        CheckConstraint("refunded_amount BETWEEN 0 AND amount", name="refunded_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: The product's name and price when ordered (the catalog may change later).
    name: Mapped[str] = mapped_column(String(120))
    unit_price: Mapped[int]
    quantity: Mapped[int]
    #: What the customer paid for the line: unit price × quantity.
    amount: Mapped[int]
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class OrderEvent(db.Model):
    """One thing that happened to an order: who, when, what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    #: placed, paid, shipped, completed, cancelled or refunded (see ``detail``)
    kind: Mapped[str] = mapped_column(String(20))
    #: The operator who did it; None for the customer or the system.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Minor units moved by a refund.
    amount: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
