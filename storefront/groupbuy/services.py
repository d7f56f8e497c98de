"""Group-buy rules: offers, starting and joining a group with an order at the
group's price, seats taken atomically, success when full, failure (every order
cancelled or refunded) when the deadline passes first.

Every function takes ``now`` so tests can move the clock; by default it is the
real time. A group past its deadline is failed by whoever looks first: the
sweep, its invite page, an order page, a join attempt. Failing is a conditional
UPDATE from open, so it happens once however many look at the same moment.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from storefront.catalog.models import Product
from storefront.database import add_unique
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.groupbuy.models import (
    MAX_SIZE,
    MIN_SIZE,
    Group,
    GroupMember,
    GroupOffer,
    GroupState,
)
from storefront.orders import events
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderState, PaymentMethod
from storefront.phones import normalise_phone
from storefront.shops.models import Shop
from storefront.timeutil import utcnow

G = GroupState
#: Most expired groups one sweep pass fails.
EXPIRE_BATCH = 100


class GroupError(DomainError):
    pass


class GroupFull(GroupError):
    """The group filled before this seat could be taken."""


class GroupClosed(GroupError):
    """The group has ended (succeeded or failed) or its offer has."""


# Offers


@dataclass
class OfferData:
    product_id: int
    group_price: int
    size: int
    window_hours: int
    per_customer: int
    starts_at: datetime
    ends_at: datetime
    active: bool


def save_offer(data: OfferData, offer: GroupOffer | None = None) -> GroupOffer:
    """Create an offer, or change ``offer``; groups already open keep the size
    and price they opened with. Raises ``GroupError`` for a group price not
    below the product's, a size outside 2–10, or dates out of order."""
    product = db.session.get(Product, data.product_id)
    if product is None:
        raise GroupError(_l("Choose a product."))
    if not 0 < data.group_price < product.price:
        raise GroupError(_l("The group price must be below the product's price."))
    if not MIN_SIZE <= data.size <= MAX_SIZE:
        raise GroupError(
            _l("A group has %(low)d to %(high)d people.", low=MIN_SIZE, high=MAX_SIZE)
        )
    if not 1 <= data.window_hours <= 168:
        raise GroupError(_l("A group has 1 to 168 hours to fill."))
    if not 1 <= data.per_customer <= 99:
        raise GroupError(_l("Each customer may buy 1 to 99."))
    if data.ends_at <= data.starts_at:
        raise GroupError(_l("The offer must end after it starts."))
    offer = offer or GroupOffer()
    for name, value in vars(data).items():
        setattr(offer, name, value)
    db.session.add(offer)
    db.session.flush()
    return offer


def is_live(offer: GroupOffer, now: datetime | None = None) -> bool:
    """Whether new groups may start on ``offer`` now."""
    now = now or utcnow()
    product = offer.product
    return (
        offer.active
        and offer.starts_at <= now < offer.ends_at
        and product.active
        and offer.group_price < product.price
    )


def live_offer(product: Product, now: datetime | None = None) -> GroupOffer | None:
    """The product's offer taking new groups now, if any (the newest)."""
    now = now or utcnow()
    offers = db.session.scalars(
        select(GroupOffer)
        .where(
            GroupOffer.product_id == product.id,
            GroupOffer.active,
            GroupOffer.starts_at <= now,
            GroupOffer.ends_at > now,
        )
        .order_by(GroupOffer.id.desc())
    )
    return next((offer for offer in offers if is_live(offer, now)), None)


def open_groups(
    offer: GroupOffer, now: datetime | None = None, limit: int = 5
) -> list[Group]:
    """Groups on ``offer`` a customer can join now, closest to their deadline
    first (the ones that most need a hand)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Group)
            .where(
                Group.offer_id == offer.id,
                Group.state == G.OPEN,
                Group.deadline > now,
                Group.seats_taken < Group.size,
            )
            .options(selectinload(Group.members).selectinload(GroupMember.order))
            .order_by(Group.deadline)
            .limit(limit)
        )
    )


# Starting and joining


@dataclass
class Seat:
    """What a customer fills in to take a seat."""

    customer: orders.Customer
    quantity: int
    payment_method: PaymentMethod
    checkout_key: str


def start_group(
    offer: GroupOffer, seat: Seat, shop: Shop | None, now: datetime | None = None
) -> Order:
    """Open a group on ``offer`` with the leader's order (at the group price,
    held until the group fills), credited to ``shop``. Idempotent by the form's
    checkout key. Raises ``GroupClosed`` when the offer takes no new groups,
    ``GroupError`` for a quantity over the limit, or what ``place_order`` raises.
    """
    now = now or utcnow()
    if (existing := orders.order_by_key(seat.checkout_key)) is not None:
        return existing
    if not is_live(offer, now):
        raise GroupClosed(_l("This group offer has ended."))
    group = Group(
        offer_id=offer.id,
        shop_id=shop.id if shop else None,
        size=offer.size,
        group_price=offer.group_price,
        opened_at=now,
        deadline=now + timedelta(hours=offer.window_hours),
    )
    for _attempt in range(5):  # a clash on the code: draw again
        group.code = secrets.token_urlsafe(6)
        if add_unique(group):
            break
    else:
        raise GroupError(_l("Please try again in a moment."))
    return take_seat(group, seat, leader=True, now=now)


def join_group(group: Group, seat: Seat, now: datetime | None = None) -> Order:
    """Join ``group`` with an order at its price, credited to the shop that
    started it. Idempotent by the form's checkout key. Raises ``GroupFull``
    when the last seat went first, ``GroupClosed`` when it has ended (failing
    it first if its time is up), ``GroupError`` for a phone already in it or a
    quantity over the limit, or what ``place_order`` raises."""
    now = now or utcnow()
    if (existing := orders.order_by_key(seat.checkout_key)) is not None:
        return existing
    expire(group, now)
    refuse_unless_open(group, now)
    phone = normalise_phone(seat.customer.phone)
    if any(m.phone == phone and m.left_at is None for m in group.members):
        raise GroupError(_l("You are already in this group."))
    return take_seat(group, seat, leader=False, now=now)


def refuse_unless_open(group: Group, now: datetime) -> None:
    if group.state is G.SUCCEEDED or (
        group.state is G.OPEN and group.seats_taken >= group.size
    ):
        raise GroupFull(_l("This group is full."))
    if group.state is not G.OPEN or group.deadline <= now:
        raise GroupClosed(_l("This group has ended."))


def take_seat(group: Group, seat: Seat, leader: bool, now: datetime) -> Order:
    """Place the seat's order and take a seat for it: one conditional UPDATE
    on the group's counter, so however many ask at once at most ``size`` get
    one. The last seat makes the group a success."""
    offer = group.offer
    if not 1 <= seat.quantity <= offer.per_customer:
        raise GroupError(
            _l("Each customer may buy at most %(n)d in a group.", n=offer.per_customer)
        )
    taken = db.session.execute(
        update(Group)
        .where(
            Group.id == group.id,
            Group.state == G.OPEN,
            Group.seats_taken < Group.size,
            Group.deadline > now,
        )
        .values(seats_taken=Group.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(group)
    if taken.rowcount != 1:
        refuse_unless_open(group, now)
        raise GroupFull(_l("This group is full."))  # pragma: no cover - said above
    order = orders.place_order(
        {offer.product_id: seat.quantity},
        seat.customer,
        seat.payment_method,
        group.shop if group.shop and group.shop.is_open else None,
        seat.checkout_key,
        unit_prices={offer.product_id: group.group_price},
        group_hold=True,
    )
    member = GroupMember(
        group_id=group.id, order_id=order.id, phone=order.phone, leader=leader
    )
    if not add_unique(member):  # the same phone, a moment ago
        raise GroupError(_l("You are already in this group."))
    if group.seats_taken == group.size:
        succeed(group, now)
    db.session.flush()
    return order


def succeed(group: Group, now: datetime) -> None:
    """Full: the group is a success and its orders may ship."""
    group.state = G.SUCCEEDED
    group.closed_at = now
    for member in active_members(group):
        member.order.group_hold = False


def active_members(group: Group) -> list[GroupMember]:
    db.session.refresh(group, ["members"])
    return [m for m in group.members if m.left_at is None]


# Failing, and leaving


def expire(group: Group, now: datetime | None = None) -> bool:
    """Fail ``group`` if its deadline passed before it filled: cancel its
    unpaid orders and refund its paid ones (stock goes back; the ledger reverses
    the commission). Only the caller whose UPDATE moves it from open does this,
    so it happens once. True if this call failed it."""
    now = now or utcnow()
    if group.state is not G.OPEN or group.deadline > now:
        return False
    failed = db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state == G.OPEN, Group.deadline <= now)
        .values(state=G.FAILED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(group)
    if failed.rowcount != 1:
        return False  # filled or failed by another request a moment ago
    for member in active_members(group):
        order = member.order
        if order.state is OrderState.PENDING_PAYMENT:
            orders.cancel(order, None, reason="group failed")
        elif order.state in orders.REFUNDABLE:
            orders.refund_all(order, None)
        order.group_hold = False  # after: those re-read the order to lock it
    db.session.flush()
    return True


def expire_due(now: datetime | None = None) -> int:
    """Fail every open group whose deadline has passed (the sweep's part);
    returns how many."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Group)
        .where(Group.state == G.OPEN, Group.deadline <= now)
        .order_by(Group.deadline)
        .limit(EXPIRE_BATCH)
    ).all()
    return sum(expire(group, now) for group in due)


def leave(order: Order) -> None:
    """The order was cancelled or fully refunded: if it holds a seat in an open
    group, free the seat. In a finished group the member stays listed."""
    member = db.session.scalar(select(GroupMember).filter_by(order_id=order.id))
    if member is None or member.left_at is not None:
        return
    freed = db.session.execute(
        update(Group)
        .where(Group.id == member.group_id, Group.state == G.OPEN)
        .values(seats_taken=Group.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )
    if freed.rowcount == 1:
        member.left_at = utcnow()
        order.group_hold = False
        db.session.expire(member.group)
        db.session.flush()


def on_order_event(event: events.OrderEvent) -> None:
    """Subscribed in ``create_app``: a member's order gone frees their seat."""
    gone = event.kind == "cancelled" or (
        event.kind == "refunded" and event.order.state is OrderState.REFUNDED
    )
    if gone:
        leave(event.order)


def group_of(order: Order) -> GroupMember | None:
    """The order's seat in a group, if it has one."""
    return db.session.scalar(
        select(GroupMember)
        .filter_by(order_id=order.id)
        .options(selectinload(GroupMember.group))
    )


def display_name(name: str) -> str:
    """How a member appears to others: a first name (Emma Li → Emma), or for a
    Chinese name its family name and a star (张伟 → 张*)."""
    first = (name.split() or ["?"])[0]
    return first if first.isascii() else first[0] + "*"


def initial(name: str) -> str:
    return (name.strip()[:1] or "?").upper()
