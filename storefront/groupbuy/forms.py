"""The form a customer fills in to start or join a group."""

from flask_babel import lazy_gettext as _l

from storefront.orders.forms import CheckoutForm, WholeNumberField


class SeatForm(CheckoutForm):
    """Checkout's fields (name, phone, address, note, payment method, the
    one-time ``checkout_key``) and how many to buy; the offer's per-customer
    limit is the service's to check."""

    quantity = WholeNumberField(_l("Quantity"), default=1)
