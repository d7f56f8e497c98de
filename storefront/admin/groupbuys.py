"""Operator back office for group-buys (拼团): the offers, the form to create
or change one, and the groups customers opened on them. Operators only (the
blueprint's ``operators_only`` guard)."""

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront.admin import bp
from storefront.admin.forms import OfferForm
from storefront.admin.orders import GROUP_STATE_NAMES
from storefront.admin.orders import STATE_NAMES as ORDER_STATE_NAMES
from storefront.catalog.models import Product
from storefront.database import MAX_ID, writes
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupMember, GroupOffer, GroupState
from storefront.htmx import render
from storefront.money import format_money
from storefront.timeutil import utcnow

PAGE_SIZE = 30
G = GroupState
#: The groups list's chips, in the order they are shown.
GROUP_CHIPS = list(GROUP_STATE_NAMES.items())


def expire_overdue() -> None:
    """Fail the groups whose deadline has passed before showing any, as the
    sweep would (each one once, however many look), and keep that."""
    if groups.expire_due():
        db.session.commit()


@bp.get("/groupbuys")
@writes
def groupbuys():
    """The offers, newest first, 30 a page: product, group and normal price,
    size, hours to fill, per-customer limit, dates, whether live (active and
    within its dates), and how many of its groups are open, succeeded and
    failed."""
    expire_overdue()
    page = db.paginate(
        select(GroupOffer)
        .options(selectinload(GroupOffer.product))
        .order_by(GroupOffer.id.desc()),
        per_page=PAGE_SIZE,
        count=True,
    )
    return render(
        "admin/groupbuys.html",
        page=page,
        counts=group_counts([offer.id for offer in page.items]),
        state_names=GROUP_STATE_NAMES,
        now=utcnow(),
    )


def group_counts(offer_ids: list[int]) -> dict[int, dict[str, int]]:
    """Offer id → how many of its groups are in each state, in one query."""
    found = {id: {state.value: 0 for state in G} for id in offer_ids}
    rows = db.session.execute(
        select(Group.offer_id, Group.state, func.count(Group.id))
        .where(Group.offer_id.in_(offer_ids))
        .group_by(Group.offer_id, Group.state)
    )
    for offer_id, state, number in rows:
        found[offer_id][state.value] = number
    return found


@bp.route("/groupbuys/new", methods=["GET", "POST"])
def groupbuy_new():
    """Create an offer; back to the list. Bad input or a rule broken (such as
    a group price not below the product's): 422 with the reasons, nothing
    saved."""
    return offer_form_page(None)


@bp.route("/groupbuys/<int:offer_id>", methods=["GET", "POST"])
def groupbuy_edit(offer_id: int):
    """Change an offer (groups already open keep their size and price); back
    to the list. Refused as on creation: 422, nothing saved. 404 if none."""
    return offer_form_page(db.get_or_404(GroupOffer, offer_id))


def offer_form_page(offer: GroupOffer | None):
    """The offer form, for ``offer`` or a new one, and saving it."""
    form = OfferForm(obj=offer)
    form.product_id.choices = product_choices(offer)
    if offer is None and not form.is_submitted():
        # A new offer starts now and runs a month, unless changed.
        form.starts_at.data = utcnow().replace(second=0, microsecond=0)
        form.ends_at.data = form.starts_at.data + timedelta(days=30)
    if form.validate_on_submit():
        try:
            saved = groups.save_offer(form.offer_data(), offer)
        except groups.GroupError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _(
                    "Group offer saved: %(product)s at %(price)s for %(size)d.",
                    product=saved.product.name,
                    price=format_money(saved.group_price),
                    size=saved.size,
                )
            )
            return redirect(url_for("admin.groupbuys"))
    return render(
        "admin/groupbuy_form.html",
        status=422 if form.is_submitted() else 200,
        form=form,
        offer=offer,
    )


def product_choices(offer: GroupOffer | None) -> list[tuple[int, str]]:
    """Products on sale, each with its price (the group price must be below
    it); an offer's own product stays choosable even when off sale."""
    products = db.session.scalars(
        select(Product)
        .where(Product.active | (Product.id == (offer.product_id if offer else 0)))
        .order_by(Product.name)
    )
    return [
        (
            product.id,
            f"{product.name} · {format_money(product.price)}"
            + ("" if product.active else f" · {_('Off sale')}"),
        )
        for product in products
    ]


@bp.get("/groupbuys/groups")
@writes
def groupbuy_groups():
    """Groups in one ``state`` (open by default, succeeded, failed), of every
    offer or of ``offer`` alone, 30 a page: code, product, seats, deadline,
    shop and their members' orders. Open ones soonest deadline first, the
    others most recently closed first. An unknown state or an offer that is
    not a number is a 400; an offer that does not exist, a 404."""
    state = request.args.get("state", G.OPEN.value)
    if state not in GROUP_STATE_NAMES:
        abort(400)
    offer_id = request.args.get("offer", type=int)
    if "offer" in request.args and not (offer_id and 0 < offer_id <= MAX_ID):
        abort(400)
    offer = db.get_or_404(GroupOffer, offer_id) if offer_id else None
    expire_overdue()
    statement = (
        select(Group)
        .where(Group.state == G(state))
        .options(
            selectinload(Group.offer).selectinload(GroupOffer.product),
            selectinload(Group.shop),
            selectinload(Group.members).selectinload(GroupMember.order),
        )
    )
    if offer_id:
        statement = statement.where(Group.offer_id == offer_id)
    if state == G.OPEN.value:
        statement = statement.order_by(Group.deadline, Group.id)
    else:
        statement = statement.order_by(Group.closed_at.desc(), Group.id.desc())
    page = db.paginate(statement, per_page=PAGE_SIZE, count=True)
    return render(
        "admin/groupbuy_groups.html",
        page=page,
        state=state,
        offer=offer,
        chips=GROUP_CHIPS,
        counts=state_counts(offer_id),
        state_names=GROUP_STATE_NAMES,
        order_states=ORDER_STATE_NAMES,
    )


def state_counts(offer_id: int | None) -> dict[str, int]:
    """How many groups each chip holds (of one offer, or of all)."""
    statement = select(Group.state, func.count(Group.id)).group_by(Group.state)
    if offer_id:
        statement = statement.where(Group.offer_id == offer_id)
    found = {state.value: number for state, number in db.session.execute(statement)}
    return {key: found.get(key, 0) for key in GROUP_STATE_NAMES}
