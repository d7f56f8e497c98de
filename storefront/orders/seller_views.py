"""The seller's orders at /me/orders: what their shop brought in, without the
customers' full contact details (the operator ships; the seller only needs to
recognise a friend)."""

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from storefront.exports import csv_response
from storefront.extensions import db
from storefront.htmx import render
from storefront.orders import bp
from storefront.orders.models import Order
from storefront.orders.services import ORDER_COLUMNS, STATE_LABELS, order_rows
from storefront.phones import masked
from storefront.shops.views import seller_required

SELLER_ORDERS_PAGE_SIZE = 30


@bp.get("/me/orders")
@seller_required
def seller_orders():
    """The orders credited to the signed-in seller's shop, newest first, 30 a
    page (``page``), each in a group-buy with a badge saying how its group
    stands; htmx asks for the next page's rows only. Anonymous visitors are
    sent to sign in; an account without a shop gets a 403."""
    statement = (
        select(Order)
        .where(Order.shop_id == g.shop.id)
        .options(selectinload(Order.lines))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    page = db.paginate(statement, per_page=SELLER_ORDERS_PAGE_SIZE, count=True)
    return render(
        "orders/seller_orders.html",
        "order_rows",
        page=page,
        shop=g.shop,
        state_labels=STATE_LABELS,
        masked=masked,
        seats=seats_of([order.id for order in page.items]),
    )


@bp.get("/me/orders.csv")
@seller_required
def seller_orders_csv():
    """Every order credited to the seller's shop as a spreadsheet (phones
    masked, as on the page): theirs to keep, also when they leave."""
    orders = db.session.scalars(
        select(Order)
        .where(Order.shop_id == g.shop.id)
        .options(selectinload(Order.lines))
        .order_by(Order.created_at, Order.id)
    )
    return csv_response(f"orders-{g.shop.slug}.csv", ORDER_COLUMNS, order_rows(orders))


def seats_of(order_ids: list[int]) -> dict:
    """The group-buy seats of these orders, by order id, with their groups: one
    query for the whole page."""
    from storefront.groupbuy.models import GroupMember  # groupbuy imports orders

    if not order_ids:
        return {}
    members = db.session.scalars(
        select(GroupMember)
        .where(GroupMember.order_id.in_(order_ids))
        .options(joinedload(GroupMember.group))
    )
    return {member.order_id: member for member in members}
