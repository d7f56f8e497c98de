"""Group-buy pages: an offer's open groups (the region product pages poll),
starting a group, the invite page /g/<code> with its status and poster, and
joining.

Starting and joining are checkout at the group's price: the same fields, the
same one-time ``checkout_key``, the same rate limit, and the customer lands on
their order page. What a page shows of a group is its *effective* state: an
open group past its deadline shows as ended even before anyone has failed it.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse

from storefront.database import writes
from storefront.errors import DomainError
from storefront.extensions import db, limiter
from storefront.groupbuy import bp
from storefront.groupbuy import services as groups
from storefront.groupbuy.forms import SeatForm
from storefront.groupbuy.models import Group, GroupMember, GroupOffer, GroupState
from storefront.htmx import is_partial, render
from storefront.money import format_money
from storefront.orders.models import PaymentMethod
from storefront.orders.services import SoldOut, price_cart
from storefront.orders.views import go_to, order_url, remembered_orders
from storefront.settings import get_setting
from storefront.shops import sharing
from storefront.shops.services import REFERRAL_COOKIE, attributed_shop, known_visitor
from storefront.timeutil import utcnow

G = GroupState
#: Invite codes are ``secrets.token_urlsafe(6)``; anything longer is no code.
MAX_CODE = 16
#: Posters cost real CPU to draw (as for shops' posters).
POSTER_RATE_LIMIT = "30 per minute"


# What templates show of a group


@dataclass
class GroupView:
    """A group as a page shows it."""

    group: Group
    #: open, succeeded or failed: an open group past its deadline shows failed.
    state: str
    #: The leader's first name (张伟 → 张*), or "" once the leader has left.
    leader: str
    #: One letter per member still in the group, leader first.
    initials: list[str]
    seats_left: int
    #: ``H:MM:SS`` until the deadline while open.
    time_left: str


def shown_state(group: Group, now: datetime | None = None) -> GroupState:
    """The group's state as of ``now``, without writing: an open group whose
    deadline has passed has failed, whether or not anyone has failed it yet."""
    if group.state is G.OPEN and group.deadline <= (now or utcnow()):
        return G.FAILED
    return group.state


def clock(seconds: float) -> str:
    """``H:MM:SS`` (hours may pass 24: a group may have a week)."""
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@bp.app_template_global()
def group_view(group: Group, now: datetime | None = None) -> GroupView:
    """What templates show of ``group`` (members who left are not shown)."""
    now = now or utcnow()
    members = [m for m in group.members if m.left_at is None]
    leader = next((m for m in members if m.leader), None)
    state = shown_state(group, now)
    return GroupView(
        group=group,
        state=state.value,
        leader=groups.display_name(leader.order.customer_name) if leader else "",
        initials=[groups.initial(m.order.customer_name) for m in members],
        seats_left=group.seats_left if state is G.OPEN else 0,
        time_left=clock((group.deadline - now).total_seconds()),
    )


def invite_url(group: Group) -> str:
    """The invite link to share: it keeps crediting the group's shop (``?r=``
    sets the referral cookie) while that shop is open."""
    if group.shop is not None and group.shop.is_open:
        return url_for(
            "groupbuy.group", code=group.code, r=group.shop.slug, _external=True
        )
    return url_for("groupbuy.group", code=group.code, _external=True)


@bp.app_template_global()
def invite_share(group: Group) -> dict:
    """The share panel's context for ``group``'s invite link."""
    link = invite_url(group)
    product = group.offer.product
    return {
        "share_link": link,
        "share_title": _(
            "Join my group: %(name)s at %(price)s",
            name=product.name,
            price=format_money(group.group_price),
        ),
        "share_qr": sharing.qr_svg(link),
        "poster_url": url_for("groupbuy.poster", code=group.code),
        "shop": group.shop if group.shop is not None and group.shop.is_open else None,
    }


def offer_context(product) -> dict:
    """What a product page shows of its group-buy (``_partials/group_offer.html``):
    the live offer, if the product can be bought, and its open groups."""
    offer = groups.live_offer(product) if product.available else None
    return {
        "group_offer": offer,
        "offer_groups": groups.open_groups(offer) if offer else [],
    }


@bp.app_template_global()
def group_badge(member: GroupMember) -> str:
    """A seat's group in a few words, for the seller's order list."""
    group = member.group
    state = shown_state(group)
    if member.left_at is not None:
        return _("Left its group")
    if state is G.OPEN:
        return _(
            "Group %(taken)d/%(size)d · open", taken=group.seats_taken, size=group.size
        )
    if state is G.SUCCEEDED:
        return _("Group succeeded")
    return _("Group failed")


# Loading


def find_group(code: str) -> Group:
    """The group with invite code ``code``, members and their orders loaded;
    a 404 for anything else."""
    if len(code) > MAX_CODE:
        abort(404)
    return db.first_or_404(
        select(Group)
        .filter_by(code=code)
        .options(selectinload(Group.members).selectinload(GroupMember.order))
    )


@bp.app_template_global()
def offer_for_new_group(group: Group) -> GroupOffer | None:
    """The offer a customer turned away from ``group`` may start a new group
    on: its own while live, else the product's live offer, if any."""
    if groups.is_live(group.offer):
        return group.offer
    return groups.live_offer(group.offer.product)


# Pages


def closed_page(
    message: str,
    status: int,
    offer: GroupOffer | None,
    product=None,
    exclude: Group | None = None,
):
    """Why a customer cannot start or join (409/410), with what they can do
    instead: start a new group on ``offer`` or join one of its open groups."""
    waiting = []
    if offer is not None:
        waiting = [g for g in groups.open_groups(offer) if g is not exclude]
    return render(
        "groupbuy/closed.html",
        status=status,
        message=message,
        offer=offer,
        product=product or (offer.product if offer else None),
        open_groups=waiting,
    )


def offer_ended(offer: GroupOffer, message: str | None = None):
    """410: ``offer`` takes no new groups (a newer offer on the product may)."""
    return closed_page(
        message or _("This group offer has ended."),
        410,
        groups.live_offer(offer.product),
        offer.product,
    )


@bp.get("/g/offer/<int:offer_id>")
def offer_groups(offer_id: int):
    """The open groups on an offer, with seats left and countdowns, and a
    button to start one. htmx (product pages poll this every 5 seconds) gets
    only the list; once the offer has ended the list says so and stops polling.
    An unknown offer is a 404; an ended one a 410 page."""
    offer = db.get_or_404(GroupOffer, offer_id)
    live = groups.is_live(offer)
    return render(
        "groupbuy/offer.html",
        "open_groups",
        status=200 if live or is_partial() else 410,
        offer=offer,
        product=offer.product,
        live=live,
        open_groups=groups.open_groups(offer) if live else [],
    )


def seat_form(offer: GroupOffer) -> SeatForm:
    return SeatForm(get_setting("PAYMENT_METHODS"), offer.per_customer)


def seat_from(form: SeatForm) -> groups.Seat:
    return groups.Seat(
        form.customer(known_visitor()),
        form.quantity.data,
        PaymentMethod(form.payment_method.data),
        form.checkout_key.data,
    )


def shown_quantity(form: SeatForm, per_customer: int) -> int:
    """How many the total is shown for: the form's quantity when it is
    allowed (htmx sends it as ``quantity`` when it changes), else 1."""
    raw = request.args.get("quantity") if not form.is_submitted() else None
    quantity = form.quantity.data if raw is None else None
    if raw is not None and raw.isascii() and raw.isdigit():
        quantity = int(raw)
    return quantity if quantity and 1 <= quantity <= per_customer else 1


def seat_page(form: SeatForm, offer: GroupOffer, group: Group | None, status=200):
    """The seat form for starting a group on ``offer`` (``group`` None) or
    joining ``group``, with the total for the quantity; htmx asking for the
    total (the quantity changed) gets only that."""
    if form.checkout_key.errors:
        form.form_errors.append(_("Please check your details and send the form again."))
    if form.checkout_key.errors or not form.checkout_key.data:
        form.checkout_key.data = secrets.token_urlsafe(24)
    product = offer.product
    price = group.group_price if group else offer.group_price
    quantity = shown_quantity(form, offer.per_customer)
    if group is None:
        action = url_for("groupbuy.start", offer_id=offer.id, new=1)
    else:
        action = url_for("groupbuy.join", code=group.code)
    return render(
        "groupbuy/seat.html",
        "seat_total",
        status=status,
        form=form,
        offer=offer,
        group=group,
        product=product,
        price=price,
        quantity=quantity,
        cart=price_cart({product.id: quantity}, {product.id: price}),
        action=action,
        free_over=get_setting("FREE_SHIPPING_OVER"),
    )


def placed(order) -> BaseResponse:
    db.session.commit()
    flash(_("Thank you! Your order is placed."))
    return go_to(order_url(order))


@bp.route("/g/start/<int:offer_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"], methods=["POST"])
def start(offer_id: int):
    """Start a group on an offer: name, mobile, address, how to pay and how
    many (up to the offer's limit) at the group price; the order opens the
    group, credited to the shop that brought the customer, and the customer
    goes to their order page (htmx: ``HX-Redirect``). Rate-limited.

    While the offer has open groups, a GET without ``new=1`` first offers to
    join one of them. Bad input answers 422 with the reasons, a product sold
    out meanwhile 409; an unknown offer is a 404 and an ended one a 410 page.
    None of these writes anything. A resubmitted form (same ``checkout_key``)
    lands on the order already placed.
    """
    offer = db.get_or_404(GroupOffer, offer_id)
    form = seat_form(offer)
    if not form.is_submitted():
        if not groups.is_live(offer):
            return offer_ended(offer)
        waiting = groups.open_groups(offer)
        if waiting and request.args.get("new") != "1" and not is_partial():
            return render(
                "groupbuy/choose.html",
                offer=offer,
                product=offer.product,
                live=True,
                open_groups=waiting,
            )
        return seat_page(form, offer, None)
    status = 422
    if form.validate():
        shop = attributed_shop(request.cookies.get(REFERRAL_COOKIE), form.phone.data)
        try:
            order = groups.start_group(offer, seat_from(form), shop)
        except groups.GroupClosed as error:
            db.session.rollback()
            return offer_ended(offer, str(error))
        except DomainError as error:
            db.session.rollback()  # no group, no order, no stock taken
            form.form_errors.append(str(error))
            status = 409 if isinstance(error, SoldOut) else 422
        else:
            return placed(order)
    elif not groups.is_live(offer):
        return offer_ended(offer)
    return seat_page(form, offer, None, status)


def group_page(group: Group, status: int = 200):
    """The invite page, or only its status block for htmx. A browser that has
    opened a member's order page sees the group as its member: no Join form,
    a link to the order."""
    remembered = set(remembered_orders())
    mine = next(
        (
            member.order
            for member in group.members
            if remembered
            and member.left_at is None
            and member.order.number in remembered
        ),
        None,
    )
    return render(
        "groupbuy/group.html",
        "group_status",
        status=status,
        group=group,
        view=group_view(group),
        product=group.offer.product,
        member=request.args.get("member") == "1" or mine is not None,
        my_order=order_url(mine) if mine else None,
    )


@bp.get("/g/<code>")
@writes
def group(code: str):
    """A group-buy invite: the product, group price against the usual price,
    the leader (first name only), members as initials, seats left, a countdown
    the page refreshes, a Join button while open and the share panel (link, QR
    code, poster) keeping the seller's ``?r=``. A group past its deadline is
    failed here and now if nobody has yet (its orders cancelled or refunded,
    once); a finished group says how it ended and links to a new one while the
    offer lasts. Unknown codes are a 404."""
    group = find_group(code)
    groups.expire(group)
    db.session.commit()  # the failure, and a visit counted for ``?r=``
    return group_page(group)


@bp.get("/g/<code>/status")
def status(code: str):
    """Only the invite page's status block, for htmx polling (``member=1``:
    as a member sees it, without the Join button). Writes nothing: a group
    past its deadline shows as ended. The block stops polling once the group
    has ended. A plain GET goes to the invite page."""
    group = find_group(code)
    if not is_partial():
        response = redirect(url_for("groupbuy.group", code=group.code))
        response.vary.add("HX-Request")
        return response
    return group_page(group)


@bp.get("/g/<code>/poster.png")
@limiter.limit(POSTER_RATE_LIMIT)
def poster(code: str):
    """The invite's poster (PNG download): the product at the group's price,
    the seller's name and a QR code of the invite link (with a member's
    ``?by=`` code). 404 once the group has ended."""
    group = find_group(code)
    if shown_state(group) is not G.OPEN:
        abort(404)
    shop = group.shop if group.shop is not None and group.shop.is_open else None
    # A member's poster (from their order page) keeps their sharing code.
    link = sharing.with_params(
        invite_url(group), by=sharing.sharer(request.args.get("by")) if shop else None
    )
    png = sharing.poster_png(link, group.offer.product, shop, group.group_price)
    response = Response(png, mimetype="image/png")
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"group-{group.code}-poster.png"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


def refusal(group: Group, message: str | None = None):
    """The 409 page for a group that cannot be joined: full (offering a new
    group or another open one) or ended."""
    state = shown_state(group)
    full = state is G.SUCCEEDED or (state is G.OPEN and group.seats_left <= 0)
    if message is None:
        message = _("This group is full.") if full else _("This group has ended.")
    return closed_page(
        message, 409, offer_for_new_group(group), group.offer.product, group
    )


@bp.route("/g/<code>/join", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"], methods=["POST"])
def join(code: str):
    """Join a group: the seat form as for starting one, at the group's price;
    the order takes a seat and the customer goes to their order page (htmx:
    ``HX-Redirect``). Rate-limited.

    A full group answers 409 offering to start a new group or join another
    open one; an ended group 409 with the reason; a phone already in the group
    or a quantity over the limit 422 in the form; a product sold out meanwhile
    409. Nothing is written on any of these (a group found past its deadline is
    failed, as on any page). Unknown codes are a 404.
    """
    group = find_group(code)
    offer = group.offer
    form = seat_form(offer)
    if not form.is_submitted():
        if shown_state(group) is not G.OPEN or group.seats_left <= 0:
            return refusal(group)
        return seat_page(form, offer, group)
    status = 422
    if form.validate():
        try:
            order = groups.join_group(group, seat_from(form))
        except (groups.GroupFull, groups.GroupClosed) as error:
            db.session.rollback()  # no seat, no order, no stock taken
            if groups.expire(group):  # found past its deadline: fail it now
                db.session.commit()
            return refusal(group, str(error))
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
            status = 409 if isinstance(error, SoldOut) else 422
        else:
            return placed(order)
    elif shown_state(group) is not G.OPEN:
        return refusal(group)
    return seat_page(form, offer, group, status)
