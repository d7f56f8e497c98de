"""Cart, checkout and order look-up forms."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
)

from storefront.forms import WholeNumberField, domain_rule
from storefront.orders.models import PaymentMethod
from storefront.orders.services import Customer
from storefront.phones import normalise_phone

#: What each payment method is called at checkout.
PAYMENT_LABELS = {
    PaymentMethod.TRANSFER: _l("Pay by transfer"),
    PaymentMethod.COD: _l("Cash on delivery"),
}
#: The checkout form's one-time key, as ``secrets.token_urlsafe`` makes it.
CHECKOUT_KEY = r"^[A-Za-z0-9_-]{16,64}$"


def quantity_from(low: int):
    """A validator: a whole number from ``low`` to the configured MAX_QUANTITY."""

    def check(form, field):
        high = current_app.config["MAX_QUANTITY"]
        if field.data is None or not low <= field.data <= high:
            raise StopValidation(
                _l("Enter a quantity from %(low)d to %(high)d.", low=low, high=high)
            )

    return check


class CartForm(FlaskForm):
    """A product in the cart. The global CSRFProtect checks these posts (token
    from the form or from htmx's header), so the form does not check again."""

    class Meta:
        csrf = False

    product_id = WholeNumberField()


class AddToCartForm(CartForm):
    quantity = WholeNumberField(
        _l("Quantity"), default=1, validators=[quantity_from(1)]
    )


class UpdateCartForm(CartForm):
    quantity = WholeNumberField(_l("Quantity"), validators=[quantity_from(0)])


class CheckoutForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(
        _l("Mobile number"),
        description=_l("For the courier, and to find your order later."),
        validators=[DataRequired(), Length(max=30), domain_rule(normalise_phone)],
    )
    address = TextAreaField(
        _l("Delivery address"),
        description=_l("Province, city, district, street, building and room."),
        validators=[DataRequired(), Length(max=500)],
    )
    note = TextAreaField(
        _l("Note (optional)"), validators=[Optional(), Length(max=500)]
    )
    payment_method = RadioField(
        _l("Payment"),
        validators=[DataRequired(message=_l("Choose how you will pay."))],
    )
    checkout_key = HiddenField(validators=[DataRequired(), Regexp(CHECKOUT_KEY)])
    #: The total the customer was shown, so a price change is pointed out, not
    #: silently charged.
    total = HiddenField()

    def __init__(self, methods: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment_method.choices = [
            (m.value, PAYMENT_LABELS[m]) for m in PaymentMethod if m.value in methods
        ]
        if not self.is_submitted() and self.payment_method.choices:
            self.payment_method.data = self.payment_method.choices[0][0]

    def customer(self, visitor: str | None) -> Customer:
        """Who is ordering, from a validated form, and from which browser."""
        return Customer(
            self.name.data,
            self.phone.data,
            self.address.data,
            self.note.data or "",
            visitor,
        )

    def shown_total(self) -> int | None:
        """The total on the page the customer submitted, if it is readable."""
        try:
            return int(self.total.data)
        except (TypeError, ValueError):
            return None


class LookupForm(FlaskForm):
    number = StringField(
        _l("Order number"),
        description=_l("As in your order page's address, such as 261122-48392."),
        validators=[DataRequired(), Length(max=16)],
    )
    phone = StringField(
        _l("Mobile number used for the order"),
        validators=[DataRequired(), Length(max=30)],
    )
