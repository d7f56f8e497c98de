"""Operator back office: the day's order queue, an order's page, and every change
of state (paid, shipped, completed, cancelled, refunded). Operators only (the
blueprint's ``operators_only`` guard)."""

import re
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

from storefront.admin import bp
from storefront.admin.forms import (
    CancelForm,
    PaymentQRForm,
    SettingsForm,
    ShipForm,
    refund_quantities,
)
from storefront.catalog.images import ImageError, resize_upload, write_files
from storefront.catalog.services import escape_like
from storefront.database import writes
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import GroupMember
from storefront.htmx import is_partial, render
from storefront.ledger import services as ledger
from storefront.money import format_money
from storefront.orders import services
from storefront.orders.models import Order, OrderEvent, OrderState
from storefront.phones import masked
from storefront.settings import get_setting, set_setting

ORDERS_PAGE_SIZE = 30
S = OrderState
#: What needs the operator today: paid orders to ship, then orders waiting for
#: payment. The queue shows these unless a state is asked for.
TO_DO = (S.PAID, S.PENDING_PAYMENT)
#: The queue's ``state`` filter: query value → states shown.
STATE_FILTERS: dict[str, tuple[OrderState, ...]] = {
    "": TO_DO,
    **{state.value: (state,) for state in S},
    "all": tuple(S),
}
#: The filter chips, in the order they are shown.
CHIPS = [
    ("", _l("To do")),
    (S.PENDING_PAYMENT.value, _l("Waiting for payment")),
    (S.PAID.value, _l("Paid")),
    (S.SHIPPED.value, _l("Shipped")),
    (S.COMPLETED.value, _l("Completed")),
    (S.CANCELLED.value, _l("Cancelled")),
    (S.REFUNDED.value, _l("Refunded")),
    ("all", _l("All")),
]
STATE_NAMES = {key: label for key, label in CHIPS}
#: An order event's kind as the timeline shows it.
EVENT_NAMES = {
    "placed": _l("Placed"),
    "paid": _l("Marked paid"),
    "shipped": _l("Shipped"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
    "expired": _l("Expired"),
}
#: Details the services record as codes, in words.
EVENT_DETAILS = {
    ("refunded", "all"): _l("everything"),
    ("refunded", "part"): _l("some items"),
    ("cancelled", "expired"): _l("unpaid for too long"),
}
PAYMENT_NAMES = {
    "transfer": _l("Pay by transfer"),
    "cod": _l("Cash on delivery"),
}
#: A group-buy's state as the back office shows it ("Open" alone is taken:
#: it is a shop's status).
GROUP_STATE_NAMES = {
    "open": _l("Filling"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
}


# Queries


def order_queue(query: str, states: tuple[OrderState, ...]) -> Select:
    """Orders in ``states``, paid ones first, then newest first. ``query``
    matches the order number or the customer's name, or — when it has four
    digits or more — the digits of their phone, however it was typed."""
    statement = (
        select(Order)
        .options(selectinload(Order.shop))
        .where(Order.state.in_(states))
        .order_by(
            case((Order.state == S.PAID, 0), else_=1),
            Order.created_at.desc(),
            Order.id.desc(),
        )
    )
    text = query.strip()
    if text:
        pattern = f"%{escape_like(text)}%"
        matches = Order.number.ilike(pattern, escape="\\") | Order.customer_name.ilike(
            pattern, escape="\\"
        )
        digits = re.sub(r"[\s()+-]", "", text)
        if digits.isascii() and digits.isdigit() and len(digits) >= 4:
            matches |= Order.phone.contains(digits)
        statement = statement.where(matches)
    return statement


def state_counts() -> dict[str, int]:
    """How many orders each chip holds, keyed like ``STATE_FILTERS``."""
    rows = db.session.execute(
        select(Order.state, func.count(Order.id)).group_by(Order.state)
    ).all()
    counts = {state.value: number for state, number in rows}
    return {
        key: sum(counts.get(state.value, 0) for state in states)
        for key, states in STATE_FILTERS.items()
    }


def grouped_orders(order_ids: list[int]) -> set[int]:
    """Those of these orders that hold a seat in a group, in one query (the
    queue's "group" badge)."""
    if not order_ids:
        return set()
    return set(
        db.session.scalars(
            select(GroupMember.order_id).where(GroupMember.order_id.in_(order_ids))
        )
    )


def load_order(order_id: int, lock: bool = False) -> Order:
    """The order with its lines and its history (and who made it); 404 if none.

    ``lock`` reads it ``FOR UPDATE`` (PostgreSQL; SQLite write transactions are
    serial anyway), so two operators changing one order take turns: each
    service reads the state the other left, not a stale copy to overwrite.
    """
    return db.get_or_404(
        Order,
        order_id,
        with_for_update=lock,
        options=[
            selectinload(Order.lines),
            selectinload(Order.events).selectinload(OrderEvent.actor),
        ],
    )


# Pages


def national(phone: str) -> str:
    """``+8613800138000`` → ``138 0013 8000``, as the operator dials it."""
    number = phonenumbers.parse(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def event_detail(event: OrderEvent) -> str:
    return str(EVENT_DETAILS.get((event.kind, event.detail), event.detail))


def labels() -> dict:
    """Names and helpers every order template uses."""
    return {
        "state_names": STATE_NAMES,
        "event_names": EVENT_NAMES,
        "event_detail": event_detail,
        "payment_names": PAYMENT_NAMES,
        "masked": masked,
        "national": national,
    }


@bp.get("/orders")
def orders():
    """The order queue, ``state``: pending_payment, paid, shipped, completed,
    cancelled, refunded or all; by default what needs doing (paid, then waiting
    for payment). ``q`` searches number, name or phone — in every state when no
    state is chosen. htmx requests get only the results. An unknown state is a
    400."""
    state = request.args.get("state", "")
    if state not in STATE_FILTERS:
        abort(400)
    query = request.args.get("q", "")
    states = STATE_FILTERS["all" if query.strip() and not state else state]
    page = db.paginate(
        order_queue(query, states), per_page=ORDERS_PAGE_SIZE, count=True
    )
    return render(
        "admin/orders.html",
        "order_results",
        page=page,
        state=state,
        query=query,
        chips=CHIPS,
        counts=state_counts(),
        grouped=grouped_orders([order.id for order in page.items]),
        **labels(),
    )


@bp.get("/orders/<int:order_id>")
@writes
def order(order_id: int):
    """One order: what was bought and refunded, the customer's full contact and
    address (to ship it), its group-buy if it has a seat in one, its history,
    and the actions its state allows. A group past its deadline is failed
    first (its orders cancelled or refunded), as the sweep would."""
    order = load_order(order_id)
    member = groups.group_of(order)
    if member is not None and groups.expire(member.group):
        db.session.commit()
    return order_page(order)


def order_page(order: Order, status: int = 200, **context):
    """The order's page, or for htmx only its ``order_detail`` block."""
    context.setdefault("ship_form", ShipForm(formdata=None))
    context.setdefault("cancel_form", CancelForm(formdata=None))
    return render(
        "admin/order.html",
        "order_detail",
        status=status,
        order=order,
        refundable=order.state in services.REFUNDABLE,
        member=groups.group_of(order),
        group_states=GROUP_STATE_NAMES,
        commissions=ledger.order_commissions(order),
        waivers=ledger.WAIVERS,
        **labels(),
        **context,
    )


# Changes of state


@bp.post("/orders/<int:order_id>/paid")
def order_paid(order_id: int):
    """The customer's money arrived: waiting for payment → paid. From any other
    state a 422 with the reason, and nothing changes."""
    order = load_order(order_id, lock=True)
    return change(
        order,
        lambda actor: services.mark_paid(order, actor),
        lambda _result: _("Order %(number)s is paid.", number=order.number),
    )


@bp.post("/orders/<int:order_id>/ship")
def order_ship(order_id: int):
    """Paid → shipped, with the carrier and tracking number (``carrier``,
    ``tracking_number``). No tracking number, a field too long or an order not
    paid: 422 with the reason, and nothing changes."""
    order = load_order(order_id, lock=True)
    form = ShipForm()
    if not form.validate():
        return refused(order, first_error(form), ship_form=form)
    return change(
        order,
        lambda actor: services.ship(
            order, form.carrier.data, form.tracking_number.data, actor
        ),
        lambda _result: _("Order %(number)s is shipped.", number=order.number),
        ship_form=form,
    )


@bp.post("/orders/<int:order_id>/complete")
def order_complete(order_id: int):
    """Shipped → completed (the customer has it). From any other state a 422
    with the reason, and nothing changes."""
    order = load_order(order_id, lock=True)
    return change(
        order,
        lambda actor: services.complete(order, actor),
        lambda _result: _("Order %(number)s is completed.", number=order.number),
    )


@bp.post("/orders/<int:order_id>/cancel")
def order_cancel(order_id: int):
    """Cancel an unpaid order (``reason`` optional) and return its stock. A paid
    order is refunded instead: 422 with the reason, and nothing changes."""
    order = load_order(order_id, lock=True)
    form = CancelForm()
    if not form.validate():
        return refused(order, first_error(form), cancel_form=form)
    return change(
        order,
        lambda actor: services.cancel(order, actor, form.reason.data),
        lambda _result: _("Order %(number)s is cancelled.", number=order.number),
        cancel_form=form,
    )


@bp.post("/orders/<int:order_id>/refund")
def order_refund(order_id: int):
    """Refund a paid order: ``everything``, or the quantities in its
    ``line-<id>`` fields; their stock goes back. A quantity that is not a whole
    number, more than is left, a line of another order, nothing chosen or an
    order not paid: 422 with the reason, and nothing is written."""
    order = load_order(order_id, lock=True)
    quantities = None
    if not request.form.get("everything"):
        try:
            quantities = refund_quantities(request.form, order)
        except ValueError as error:
            return refused(order, str(error), refund_data=request.form)
    return change(
        order,
        lambda actor: refund(order, quantities, actor),
        lambda amount: _(
            "Refunded %(amount)s on order %(number)s.",
            amount=format_money(amount),
            number=order.number,
        ),
        refund_data=request.form,
    )


def refund(order: Order, quantities: dict[int, int] | None, actor) -> int:
    """Refund ``quantities``, or everything still left when None."""
    if quantities is None:
        return services.refund_all(order, actor)
    return services.refund(order, quantities, actor)


def first_error(form) -> str:
    return next(str(error) for errors in form.errors.values() for error in errors)


def change(order: Order, act: Callable, done: Callable[..., str], **context):
    """Run ``act(actor)`` (one service call) as the signed-in operator and
    commit; an ``OrderError`` rolls everything back and is shown, 422."""
    try:
        result = act(current_user._get_current_object())
    except services.OrderError as error:
        db.session.rollback()
        return refused(order, str(error), **context)
    db.session.commit()
    return changed(order, done(result))


def from_row(order: Order) -> bool:
    """Whether htmx sent this from the order's row in the queue (else from its
    page)."""
    return is_partial() and request.htmx.target == f"order-{order.id}"


def changed(order: Order, message: str):
    """After a change: the row (queue) or the order's block (its page) for htmx;
    without JavaScript, back to the order's page with the message."""
    if from_row(order):
        return order_row(order, 200, done=message)
    if is_partial():
        return vary(order_page(order, done=message))
    flash(message)
    return redirect(url_for("admin.order", order_id=order.id))


def refused(order: Order, message: str, **context):
    """A refused change, 422: the row or the order's block with the message for
    htmx; without JavaScript, the whole order page with it."""
    if from_row(order):
        return order_row(order, 422, error=message, **context)
    return vary(order_page(order, 422, error=message, **context))


def order_row(order: Order, status: int, **context):
    """The queue row alone, with the chips' counts swapped out of band."""
    counts_oob = Markup(
        render_block(
            "admin/orders.html",
            "chip_counts",
            counts=state_counts(),
            chips=CHIPS,
            oob=True,
        )
    )
    context.setdefault("ship_form", None)
    response = render(
        "admin/_order_row.html",
        status=status,
        order=order,
        grouped=grouped_orders([order.id]),
        counts_oob=counts_oob,
        **labels(),
        **context,
    )
    return vary(response)


def vary(response):
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response


# The payment QR code (on the settings page)

#: Stored width in pixels: sharp at the 240 CSS pixels the order page shows.
PAYMENT_QR_WIDTH = 480


@bp.post("/settings/payment-qr")
def payment_qr():
    """Upload the QR code customers paying by transfer scan (it replaces the
    previous one), or take it down (``remove``). A file that is not a readable
    image is a 422 on the settings page with the message, and nothing changes."""
    old = get_setting("PAYMENT_QR")
    form = PaymentQRForm()
    if request.form.get("remove"):
        set_setting("PAYMENT_QR", "")
        message = _("The payment QR code is removed.")
    elif not form.validate():
        return qr_refused(first_error(form))
    else:
        try:
            set_setting("PAYMENT_QR", store_payment_qr(form.qr.data.read()))
        except ImageError as error:
            db.session.rollback()
            return qr_refused(str(error))
        message = _("The payment QR code is saved.")
    db.session.commit()
    if old:
        # A plain file name we wrote; never a path out of the folder.
        (upload_folder() / Path(old).name).unlink(missing_ok=True)
    flash(message)
    return redirect(url_for("admin.settings"))


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def store_payment_qr(data: bytes) -> str:
    """Check and resize an uploaded QR picture and write it to the uploads;
    returns its file name. Raises ``ImageError`` for anything that is not an
    acceptable image (nothing is written then)."""
    resized = resize_upload(
        data, [PAYMENT_QR_WIDTH], current_app.config["IMAGE_MAX_PIXELS"]
    )
    write_files(upload_folder(), resized)
    (width,) = resized.files
    return f"{resized.key}-{width}.webp"


def qr_refused(message: str):
    return render(
        "admin/settings.html", status=422, form=SettingsForm.current(), qr_error=message
    )
