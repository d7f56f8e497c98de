"""Buying without an account: the cart, checkout, and the customer's order page.

The cart lives in the signed session cookie as ``{"<product id>": quantity}``.
Prices are never kept there: every page prices the cart afresh with
``price_cart``, so a price the operator changes shows at once.
"""

import secrets

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from storefront.catalog.models import Product
from storefront.database import writes
from storefront.errors import DomainError
from storefront.extensions import db, limiter
from storefront.htmx import is_partial, render
from storefront.orders import bp
from storefront.orders.forms import (
    AddToCartForm,
    CartForm,
    CheckoutForm,
    LookupForm,
    UpdateCartForm,
)
from storefront.orders.models import Order, PaymentMethod
from storefront.orders.services import (
    STATE_LABELS,
    Cart,
    SoldOut,
    cart_refusal,
    find_order,
    order_by_key,
    place_order,
    price_cart,
)
from storefront.phones import masked
from storefront.settings import get_setting
from storefront.shops.models import Shop
from storefront.shops.services import (
    REFERRAL_COOKIE,
    attributed_shop,
    customer_code,
    known_visitor,
)

# The cart in the session


def cart_quantities() -> dict[int, int]:
    """The session's cart as product id → quantity; anything malformed is
    skipped rather than trusted."""
    raw = session.get("cart")
    if not isinstance(raw, dict):
        return {}
    return {
        int(key): value
        for key, value in raw.items()
        if isinstance(key, str)
        and key.isascii()
        and key.isdigit()
        and type(value) is int
        and value > 0
    }


def save_cart(quantities: dict[int, int]) -> None:
    if quantities:
        session["cart"] = {str(pid): n for pid, n in quantities.items()}
    else:
        session.pop("cart", None)


@bp.app_context_processor
def cart_badge():
    """The header's item count, from the session alone (no query per page)."""
    return {"cart_count": sum(cart_quantities().values())}


def current_cart() -> tuple[Cart, list[str]]:
    """The cart priced now, and a notice for each product that has gone off sale
    since it was added (those leave the cart)."""
    quantities = cart_quantities()
    cart = price_cart(quantities)
    kept = {line.product.id for line in cart.lines}
    gone = [pid for pid in quantities if pid not in kept]
    notices = []
    if gone:
        names = db.session.scalars(select(Product.name).where(Product.id.in_(gone)))
        notices = [
            _("%(name)s is no longer on sale and has left your cart.", name=name)
            for name in names
        ]
        save_cart({pid: n for pid, n in quantities.items() if pid in kept})
    return cart, notices


def on_sale(product_id: int | None) -> Product:
    """The product on sale with this id; unknown or withdrawn is a 404."""
    product = db.session.get(Product, product_id) if product_id else None
    if product is None or not product.active:
        abort(404)
    return product


def buying_from() -> Shop | None:
    """The shop whose link brought this visitor: it travels with the cart."""
    return attributed_shop(request.cookies.get(REFERRAL_COOKIE), None)


def first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


def go_to(url: str):
    """Redirect; htmx is told with ``HX-Redirect`` so it loads a whole page."""
    if is_partial():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
    else:
        response = redirect(url)
    response.vary.add("HX-Request")
    return response


def cart_page(status: int = 200, error: str | None = None, error_for=None):
    """The cart page, or only its block (with the header badge out of band after a
    change) for htmx."""
    cart, notices = current_cart()
    return render(
        "orders/cart.html",
        "cart",
        status=status,
        cart=cart,
        notices=notices,
        error=error,
        error_for=error_for,
        buying_from=buying_from(),
        free_over=get_setting("FREE_SHIPPING_OVER"),
        oob_badge=is_partial() and request.method == "POST",
    )


def after_cart_change():
    """htmx gets the cart block and the badge; without JavaScript, /cart."""
    if is_partial():
        return cart_page()
    return go_to(url_for("orders.cart"))


@bp.get("/cart")
def cart():
    """The cart: photos, today's prices, quantity steppers, shipping and total.

    Products taken off sale since they were added leave the cart with a notice.
    htmx requests get only the cart block.
    """
    return cart_page()


@bp.post("/cart/add")
def add_to_cart():
    """Put ``quantity`` (default 1) of product ``product_id`` in the cart.

    An unknown or withdrawn product is a 404. A quantity outside
    1..MAX_QUANTITY, or more than is in stock counting what the cart already
    holds, answers 422 with the reason and leaves the cart as it was. htmx gets
    the button region saying "Added" and the header badge out of band; without
    JavaScript the answer is the cart page.
    """
    form = AddToCartForm()
    product = on_sale(form.product_id.data)
    quantities = cart_quantities()
    if form.validate():
        wanted = quantities.get(product.id, 0) + form.quantity.data
        error = cart_refusal(product, wanted, quantities, quantities.get(product.id, 0))
    else:
        error = first_error(form)
    if error:
        return render(
            "catalog/product.html",
            "add_to_cart",
            status=422,
            product=product,
            add_error=error,
        )
    quantities[product.id] = wanted
    save_cart(quantities)
    if not is_partial():
        return go_to(url_for("orders.cart"))
    return render(
        "catalog/product.html",
        "add_to_cart",
        product=product,
        added=True,
        oob_badge=True,
    )


@bp.post("/cart/update")
def update_cart():
    """Set how many of ``product_id`` the cart holds; 0 takes it out.

    A quantity outside 0..MAX_QUANTITY or above the stock answers 422 with the
    reason and the cart unchanged; a product no longer on sale is a 404.
    """
    form = UpdateCartForm()
    quantities = cart_quantities()
    if not form.validate():
        return cart_page(422, first_error(form), form.product_id.data)
    if form.quantity.data == 0:
        quantities.pop(form.product_id.data, None)
    else:
        product = on_sale(form.product_id.data)
        if error := cart_refusal(product, form.quantity.data, quantities):
            return cart_page(422, error, product.id)
        quantities[product.id] = form.quantity.data
    save_cart(quantities)
    return after_cart_change()


@bp.post("/cart/remove")
def remove_from_cart():
    """Take ``product_id`` out of the cart (nothing happens if it is not there)."""
    form = CartForm()
    quantities = cart_quantities()
    quantities.pop(form.product_id.data, None)
    save_cart(quantities)
    return after_cart_change()


# Checkout


def checkout_page(form: CheckoutForm, cart: Cart, notices=(), status: int = 200):
    form.total.data = cart.total  # what the customer sees is what they agree to
    if form.checkout_key.errors or not form.checkout_key.data:
        form.checkout_key.data = secrets.token_urlsafe(24)
    return render(
        "orders/checkout.html",
        status=status,
        form=form,
        cart=cart,
        notices=notices,
        buying_from=buying_from(),
        free_over=get_setting("FREE_SHIPPING_OVER"),
    )


class CartChanged(DomainError):
    """The cart no longer costs what the checkout page showed."""


def place_from(form: CheckoutForm, quantities: dict[int, int]) -> Order:
    """Place the order the checkout form describes, credited to the shop that
    brought the customer. Raises ``CartChanged`` when the total differs from the
    one on the submitted page, else whatever ``place_order`` raises."""
    if (placed := order_by_key(form.checkout_key.data)) is not None:
        return placed  # this form was sent before, whatever the cart holds now
    cart = price_cart(quantities)
    if cart.lines and form.shown_total() not in (None, cart.total):
        raise CartChanged(
            _(
                "Prices or availability in your cart have changed. Please check "
                "the new total and place your order again."
            )
        )
    return place_order(
        quantities,
        form.customer(known_visitor()),
        PaymentMethod(form.payment_method.data),
        attributed_shop(request.cookies.get(REFERRAL_COOKIE), form.phone.data),
        form.checkout_key.data,
    )


def order_url(order: Order) -> str:
    return url_for("orders.order", number=order.number, token=order.token)


# The orders this browser has opened

#: How many order numbers the session keeps, newest first.
REMEMBERED_ORDERS = 20


def remember_order(order: Order) -> None:
    """Whoever opens an order's page holds its secret link: keep its number in
    the session, so other pages (a group's invite) can tell it is theirs."""
    kept = remembered_orders()
    if kept[:1] != [order.number]:
        others = [number for number in kept if number != order.number]
        session["orders"] = [order.number, *others][:REMEMBERED_ORDERS]


def remembered_orders() -> list[str]:
    raw = session.get("orders")
    if not isinstance(raw, list):
        return []
    return [number for number in raw if isinstance(number, str)]


@bp.route("/checkout", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"], methods=["POST"])
def checkout():
    """Name, mobile, address and how to pay; places the order and empties the
    cart, then goes to the order page (htmx: ``HX-Redirect``). Rate-limited.

    The form carries a one-time ``checkout_key``: a double tap or a resubmitted
    form lands on the one order already placed. Bad input answers 422 and a
    total that changed since the page was shown 422 with the new total; a
    product that sold out meanwhile 409 naming it. None of these writes
    anything. An empty cart goes back to /cart with a message.
    """
    form = CheckoutForm(get_setting("PAYMENT_METHODS"))
    quantities = cart_quantities()
    if not form.is_submitted():
        cart, notices = current_cart()
        if not cart.lines:
            flash(_("Your cart is empty."))
            return redirect(url_for("orders.cart"))
        return checkout_page(form, cart, notices)
    status = 422
    if form.validate():
        try:
            order = place_from(form, quantities)
        except DomainError as error:
            db.session.rollback()  # no order, no stock taken
            form.form_errors.append(str(error))
            status = 409 if isinstance(error, SoldOut) else 422
        else:
            db.session.commit()
            save_cart({})
            flash(_("Thank you! Your order is placed."))
            return go_to(order_url(order))
    cart, notices = current_cart()
    if not cart.lines:
        flash(_("Your cart is empty."))
        return go_to(url_for("orders.cart"))
    return checkout_page(form, cart, notices, status)


# The customer's order


def payment_qr() -> str | None:
    """The operator's payment QR image (a file in uploads), if one is set."""
    try:
        return get_setting("PAYMENT_QR") or None
    except KeyError:  # no such setting on this install
        return None


@bp.get("/o/<number>/<token>")
@writes
def order(number: str, token: str):
    """The customer's order: items, totals and refunds, where it stands and its
    history, how to pay while unpaid, the parcel's tracking number once shipped.
    An order in a group-buy shows its group (seats, time left, the invite to
    share while open); a group past its deadline is failed here if nobody has
    yet, so the order shows cancelled or refunded at once.

    A wrong number and a wrong token are the same 404; the token is compared in
    constant time.
    """
    from storefront.groupbuy import services as groups  # groupbuy imports orders

    order = db.session.scalar(select(Order).filter_by(number=number))
    expected = order.token if order is not None else secrets.token_urlsafe(16)
    if not secrets.compare_digest(expected.encode(), token.encode()) or not order:
        abort(404)
    seat = groups.group_of(order)
    if seat is not None:
        groups.expire(seat.group)
    db.session.commit()  # a failed group's cancels and refunds (or nothing)
    remember_order(order)
    ids = [line.product_id for line in order.lines]
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))
    }
    response = render(
        "orders/order.html",
        order=order,
        products=products,
        state_label=STATE_LABELS[order.state],
        phone=masked(order.phone),
        instructions=get_setting("PAYMENT_INSTRUCTIONS"),
        payment_qr=payment_qr(),
        seat=seat,
        # What this customer's shares carry (?by=), so the seller sees who shared.
        share_code=customer_code(order.phone),
    )
    # The address is the secret: keep it out of shared caches, search engines and
    # other sites' logs.
    response.cache_control.private = True
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/o/lookup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ORDER_LOOKUP_RATE_LIMIT"], methods=["POST"])
def lookup():
    """Find an order by its number and the mobile number it was placed with, and
    go to its page. Rate-limited; a wrong pair answers 422 with one message that
    does not say which half was wrong."""
    form = LookupForm()
    if form.validate_on_submit():
        order = find_order(form.number.data, form.phone.data)
        if order is not None:
            return redirect(order_url(order))
        form.form_errors.append(
            _("We found no order with that number and mobile number.")
        )
    status = 422 if form.is_submitted() else 200
    return render("orders/lookup.html", status=status, form=form)
