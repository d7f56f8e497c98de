"""The form a customer fills in to start or join a group."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from storefront.forms import WholeNumberField
from storefront.orders.forms import CheckoutForm


class SeatForm(CheckoutForm):
    """Checkout's fields (name, phone, address, note, payment method, the
    one-time ``checkout_key``) and how many to buy, from 1 to the offer's
    per-customer limit (the service checks that limit again)."""

    quantity = WholeNumberField(_l("Quantity"), default=1)

    def __init__(self, methods: list[str], per_customer: int, *args, **kwargs):
        super().__init__(methods, *args, **kwargs)
        self.per_customer = per_customer

    def validate_quantity(self, field):
        if field.data is None or not 1 <= field.data <= self.per_customer:
            raise ValidationError(
                _l(
                    "Enter a quantity from %(low)d to %(high)d.",
                    low=1,
                    high=self.per_customer,
                )
            )
