"""Order rules: the cart's prices, placing an order with its stock, and every
change of state afterwards, in one transition function."""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from sqlalchemy import select, update

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.database import add_unique
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.money import currency, to_major
from storefront.orders import events
from storefront.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    PaymentMethod,
)
from storefront.phones import PhoneError, masked, normalise_phone
from storefront.settings import get_setting
from storefront.shops.models import Shop
from storefront.shops.services import bind_customer
from storefront.timeutil import local_time, utcnow

S = OrderState
#: Every legal change of state; anything else is refused.
TRANSITIONS: dict[OrderState, set[OrderState]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {S.SHIPPED, S.REFUNDED},
    S.SHIPPED: {S.COMPLETED, S.REFUNDED},
    S.COMPLETED: {S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}
#: States in which money has been received and may be refunded.
REFUNDABLE = {S.PAID, S.SHIPPED, S.COMPLETED}


#: Most different products one cart holds: the session cookie must stay small.
MAX_CART_LINES = 50
#: An order number as printed (``261122-48392``) or typed without the hyphen.
ORDER_NUMBER = re.compile(r"^(\d{6})-?(\d{5})$")


class OrderError(DomainError):
    pass


class SoldOut(OrderError):
    pass


# The cart


@dataclass
class CartLine:
    product: Product
    quantity: int
    #: A price other than the catalog's (a group's), if any.
    special_price: int | None = None

    @property
    def unit_price(self) -> int:
        return self.product.price if self.special_price is None else self.special_price

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@dataclass
class Cart:
    lines: list[CartLine]
    subtotal: int
    shipping: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


def shipping_for(subtotal: int) -> int:
    """The flat fee, or nothing from the free-shipping threshold on."""
    if subtotal == 0 or subtotal >= get_setting("FREE_SHIPPING_OVER"):
        return 0
    return get_setting("SHIPPING_FEE")


def price_cart(
    quantities: dict[int, int], unit_prices: dict[int, int] | None = None
) -> Cart:
    """The cart with today's catalog prices (or ``unit_prices`` where given, a
    group's price); products gone from sale drop out."""
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_(quantities), Product.active)
        )
    }
    lines = [
        CartLine(products[pid], quantity, (unit_prices or {}).get(pid))
        for pid, quantity in quantities.items()
        if pid in products and quantity > 0
    ]
    subtotal = sum(line.amount for line in lines)
    return Cart(lines, subtotal, shipping_for(subtotal))


def cart_refusal(
    product: Product, wanted: int, quantities: dict[int, int], in_cart: int = 0
) -> str | None:
    """Why the cart may not hold ``wanted`` of ``product`` in all, or None.
    ``in_cart`` says how many of those it holds already, for the message."""
    if product.id not in quantities and len(quantities) >= MAX_CART_LINES:
        return _l("Your cart is full. Please check out or remove something first.")
    if wanted > current_app.config["MAX_QUANTITY"]:
        return _l(
            "At most %(n)d of one product per order.",
            n=current_app.config["MAX_QUANTITY"],
        )
    if product.stock <= 0:
        return _l("Sorry, %(name)s is sold out.", name=product.name)
    if wanted > product.stock:
        if in_cart:
            return _l(
                "Only %(n)d left, and %(in_cart)d are in your cart already.",
                n=product.stock,
                in_cart=in_cart,
            )
        return _l("Only %(n)d left.", n=product.stock)
    return None


# Placing an order


@dataclass
class Customer:
    name: str
    phone: str
    address: str
    note: str = ""
    #: The browser's anonymous visitor id, when it has one.
    visitor: str | None = None


def new_number() -> str:
    """``261122-48392``: the shop's local date, then five random digits."""
    today = to_user_timezone(datetime.now(UTC))
    return f"{today:%y%m%d}-{secrets.randbelow(90000) + 10000}"


def place_order(
    quantities: dict[int, int],
    customer: Customer,
    payment_method: PaymentMethod,
    shop: Shop | None,
    checkout_key: str,
    unit_prices: dict[int, int] | None = None,
    group_hold: bool = False,
) -> Order:
    """Turn a cart into an order, taking its stock in the same transaction.
    ``unit_prices`` and ``group_hold`` are for a group-buy's orders: its price,
    and no shipping until the group fills.

    Idempotent by ``checkout_key``: the same form submitted twice returns the
    first order. Raises ``SoldOut`` naming a product that no longer has enough
    stock (the caller rolls back: no order, no stock taken), ``OrderError`` for
    an empty cart or a payment method that is not offered, ``PhoneError`` for a
    bad number.
    """
    existing = order_by_key(checkout_key)
    if existing is not None:
        return existing
    if payment_method.value not in get_setting("PAYMENT_METHODS"):
        raise OrderError(_l("Choose one of the payment methods offered."))
    cart = price_cart(quantities, unit_prices)
    if not cart.lines:
        raise OrderError(_l("Your cart is empty."))
    phone = normalise_phone(customer.phone)
    if not 0 < len(customer.name.strip()) <= 80:
        raise OrderError(_l("Enter your name (at most 80 characters)."))
    if not 0 < len(customer.address.strip()) <= 500:
        raise OrderError(_l("Enter the delivery address (at most 500 characters)."))
    order = Order(
        token=secrets.token_urlsafe(16),
        checkout_key=checkout_key,
        shop_id=shop.id if shop else None,
        customer_name=customer.name.strip(),
        phone=phone,
        address=customer.address.strip(),
        note=customer.note.strip(),
        visitor=customer.visitor,
        payment_method=payment_method,
        subtotal=cart.subtotal,
        shipping=cart.shipping,
        total=cart.total,
        group_hold=group_hold,
    )
    for _attempt in range(5):  # a clash on the number: draw again
        order.number = new_number()
        if add_unique(order):
            break
        if (existing := order_by_key(checkout_key)) is not None:
            return existing  # the same form, placed a moment ago
    else:
        raise OrderError(_l("Please try again in a moment."))
    for line in cart.lines:
        take_stock(line.product, line.quantity)
        order.lines.append(
            OrderLine(
                product_id=line.product.id,
                name=line.product.name,
                unit_price=line.unit_price,
                quantity=line.quantity,
                amount=line.amount,
            )
        )
    record(order, "placed", None)
    if shop is not None:
        bind_customer(phone, shop)
    db.session.flush()
    return order


def find_order(number: str, phone: str) -> Order | None:
    """The order with this number placed with this mobile number, or None."""
    match = ORDER_NUMBER.match(number.replace(" ", ""))
    try:
        phone = normalise_phone(phone)
    except PhoneError:
        return None
    if match is None:
        return None
    number = f"{match[1]}-{match[2]}"
    return db.session.scalar(select(Order).filter_by(number=number, phone=phone))


def order_by_key(checkout_key: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.checkout_key == checkout_key))


def take_stock(product: Product, quantity: int) -> None:
    """Decrement stock only if enough is left, in one conditional UPDATE, so
    concurrent checkouts can never oversell."""
    result = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock >= quantity, Product.active)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SoldOut(
            _l(
                "Sorry, %(name)s has just sold out (or not enough are left).",
                name=product.name,
            )
        )


def return_stock(product_id: int, quantity: int) -> None:
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )


# Changing state


def record(order: Order, kind: str, actor: User | None, amount=None, detail="") -> None:
    order.events.append(
        OrderEvent(
            kind=kind,
            actor_id=actor.id if actor else None,
            amount=amount,
            detail=detail,
        )
    )


def lock(order: Order) -> None:
    """Re-read ``order`` under a row lock (PostgreSQL), so two operators acting
    at once act one after the other; SQLite's write transactions already are."""
    db.session.refresh(order, with_for_update=True)


def transition(order: Order, new: OrderState, actor: User | None, detail="") -> None:
    """Move ``order`` to ``new`` if ``TRANSITIONS`` allows it, recording who and
    when; raises ``OrderError`` otherwise."""
    if new not in TRANSITIONS[order.state]:
        raise OrderError(
            _l(
                "An order that is %(old)s cannot become %(new)s.",
                old=state_label(order.state),
                new=state_label(new),
            )
        )
    order.state = new
    record(order, new.value, actor, detail=detail)


def state_label(state: OrderState) -> str:
    return str(STATE_LABELS[state])


ORDER_COLUMNS = [
    "number",
    "placed",
    "state",
    "items",
    "goods",
    "shipping",
    "total",
    "refunded",
    "customer",
    "phone",
]


def order_rows(orders: Iterable[Order]) -> list[list]:
    """A seller's orders as CSV rows: amounts in major units, phones masked."""
    code = currency()
    return [
        [
            order.number,
            local_time(order.created_at),
            state_label(order.state),
            "; ".join(f"{line.name} × {line.quantity}" for line in order.lines),
            to_major(order.subtotal, code),
            to_major(order.shipping, code),
            to_major(order.total, code),
            to_major(order.refunded, code),
            order.customer_name,
            masked(order.phone),
        ]
        for order in orders
    ]


STATE_LABELS = {
    S.PENDING_PAYMENT: _l("waiting for payment"),
    S.PAID: _l("paid"),
    S.SHIPPED: _l("shipped"),
    S.COMPLETED: _l("completed"),
    S.CANCELLED: _l("cancelled"),
    S.REFUNDED: _l("refunded"),
}


def mark_paid(order: Order, actor: User | None) -> None:
    """The operator saw the money arrive (or a gateway said so)."""
    lock(order)
    transition(order, S.PAID, actor)
    events.emit(
        events.OrderEvent("paid", order, {line.id: line.amount for line in order.lines})
    )


def ship(order: Order, carrier: str, tracking_number: str, actor: User) -> None:
    """Hand the parcel over; raises ``OrderError`` without a tracking number (or
    with one or a carrier too long), or when the order cannot ship now."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not tracking_number or len(tracking_number) > 60 or len(carrier) > 40:
        raise OrderError(_l("Enter the tracking number."))
    lock(order)
    if order.group_hold:
        raise OrderError(_l("This order waits for its group to fill before it ships."))
    transition(order, S.SHIPPED, actor, detail=f"{carrier} {tracking_number}")
    order.carrier, order.tracking_number = carrier, tracking_number


def complete(order: Order, actor: User | None) -> None:
    lock(order)
    transition(order, S.COMPLETED, actor)
    events.emit(events.OrderEvent("completed", order))


def cancel(order: Order, actor: User | None, reason: str = "") -> None:
    """Cancel an unpaid order and put its stock back."""
    lock(order)
    transition(order, S.CANCELLED, actor, detail=reason)
    for line in order.lines:
        return_stock(line.product_id, line.quantity)
    events.emit(events.OrderEvent("cancelled", order))


def refund(order: Order, quantities: dict[int, int], actor: User) -> int:
    """Refund ``quantities`` (order line id → how many) of a paid order, pro rata
    to what was paid per line, and put that stock back. When nothing is left to
    refund the order becomes refunded. Returns the amount refunded.

    Raises ``OrderError`` for an order not paid, an unknown line, or more than is
    left to refund of a line.
    """
    lock(order)
    if order.state not in REFUNDABLE:
        raise OrderError(_l("Only a paid order can be refunded."))
    lines = {line.id: line for line in order.lines}
    for line_id, quantity in quantities.items():  # check everything first
        line = lines.get(line_id)
        if line is None:
            raise OrderError(_l("That line is not part of this order."))
        left = line.quantity - line.refunded_quantity
        if quantity < 0 or quantity > left:
            raise OrderError(
                _l("At most %(n)d of %(name)s can be refunded.", n=left, name=line.name)
            )
    amounts: dict[int, int] = {}
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        left = line.quantity - line.refunded_quantity
        if quantity == 0:
            continue
        # The last unit takes whatever is left, so rounding never loses a fen.
        if quantity == left:
            amount = line.amount - line.refunded_amount
        else:
            amount = line.amount * quantity // line.quantity
        line.refunded_quantity += quantity
        line.refunded_amount += amount
        amounts[line.id] = amount
        return_stock(line.product_id, quantity)
    if not amounts:
        raise OrderError(_l("Choose what to refund."))
    refunded = sum(amounts.values())
    if all(line.refunded_quantity == line.quantity for line in order.lines):
        refunded += order.shipping  # everything came back: so does the postage
        transition(order, S.REFUNDED, actor, detail="all")
    else:
        record(order, "refunded", actor, detail="part")
    order.events[-1].amount = refunded
    order.refunded += refunded
    sequence = sum(1 for e in order.events if e.kind == "refunded")
    events.emit(events.OrderEvent("refunded", order, amounts, sequence))
    db.session.flush()
    return refunded


def refund_all(order: Order, actor: User) -> int:
    left = {line.id: line.quantity - line.refunded_quantity for line in order.lines}
    return refund(order, {k: v for k, v in left.items() if v}, actor)


def expire_unpaid() -> int:
    """Cancel transfer orders unpaid for longer than ``UNPAID_ORDER_HOURS`` and
    return their stock (safe to run every minute). Cash-on-delivery orders wait
    for the operator, who confirms them by marking them paid. Returns how many."""
    cutoff = utcnow() - timedelta(hours=current_app.config["UNPAID_ORDER_HOURS"])
    stale = db.session.scalars(
        select(Order)
        .where(
            Order.state == S.PENDING_PAYMENT,
            Order.payment_method == PaymentMethod.TRANSFER,
            Order.created_at < cutoff,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for order in stale:
        cancel(order, None, reason="expired")
    db.session.flush()
    return len(stale)
