"""Operator forms for sellers, orders, run-time settings and group-buy offers."""

import re
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
    NumberRange,
    StopValidation,
    ValidationError,
)

from storefront.forms import MoneyField, PercentField, WholeNumberField
from storefront.groupbuy.models import MAX_SIZE, MIN_SIZE
from storefront.groupbuy.services import OfferData
from storefront.orders.models import Order, PaymentMethod
from storefront.settings import get_setting
from storefront.shops.models import ShopStatus

#: The statuses the operator moves a shop to: approve and reopen both mean
#: active; a shop never goes back to waiting for approval.
OPERATOR_STATUSES = [ShopStatus.ACTIVE.value, ShopStatus.SUSPENDED.value]


def shop_address(text: str | None) -> str:
    """A shop's slug from what the operator typed or pasted: ``mei-tea``,
    ``/s/mei-tea`` or a whole shop link."""
    text = (text or "").strip().lower()
    if "/s/" in text:
        text = text.split("/s/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/")


class ShopStatusForm(FlaskForm):
    """One of the row's buttons: ``status`` is the shop's new status."""

    status = StringField(
        validators=[
            InputRequired(_l("Choose approve, suspend or reopen.")),
            AnyOf(OPERATOR_STATUSES, _l("Choose approve, suspend or reopen.")),
        ]
    )

    @property
    def new_status(self) -> ShopStatus:
        return ShopStatus(self.status.data)


class RecruiterForm(FlaskForm):
    """The shop whose seller recruited this one, by its address; empty clears."""

    recruiter = StringField(
        _l("Recruited by"),
        filters=[shop_address],
        validators=[Length(max=32, message=_l("No shop has that address."))],
        description=_l("The recruiting shop's address, such as mei-tea."),
    )


def stripped(text: str | None) -> str:
    return (text or "").strip()


class ShipForm(FlaskForm):
    """Hand an order to the carrier (the service insists on a tracking number)."""

    carrier = StringField(
        _l("Carrier"),
        filters=[stripped],
        validators=[Length(max=40)],
        description=_l("Such as SF Express or ZTO."),
    )
    tracking_number = StringField(
        _l("Tracking number"), filters=[stripped], validators=[Length(max=60)]
    )


class CancelForm(FlaskForm):
    """Cancel an unpaid order, optionally saying why (kept in its history)."""

    reason = StringField(_l("Reason"), filters=[stripped], validators=[Length(max=200)])


#: A refund form's quantity field: ``line-<order line id>``.
REFUND_LINE_FIELD = re.compile(r"line-([0-9]{1,18})")


def refund_quantities(formdata: Mapping[str, str], order: Order) -> dict[int, int]:
    """Order line id → how many to refund, from the ``line-<id>`` fields of the
    refund form (empty means none). Whether that many are left, and whether the
    line belongs to ``order``, is the refund service's to judge.

    Raises ``ValueError`` with a message for a quantity that is not a whole
    number from 0 up.
    """
    names = {line.id: line.name for line in order.lines}
    quantities: dict[int, int] = {}
    for key in formdata:
        match = REFUND_LINE_FIELD.fullmatch(key)
        if match is None:
            continue
        line_id, text = int(match[1]), stripped(formdata.get(key))
        if not text:
            continue
        if not re.fullmatch(r"[0-9]+", text):
            raise ValueError(
                _(
                    "Enter how many of %(name)s to refund as a whole number from 0 up.",
                    name=names.get(line_id, _("that item")),
                )
            )
        # Past nine digits it is more than any line holds: the service says so.
        quantities[line_id] = int(text) if len(text) <= 9 else 10**9
    return quantities


def required_if_sent(message):
    """Like ``InputRequired``, but a field the request left out entirely is
    skipped (``SettingsForm`` keeps that setting as it is)."""

    def check(form, field) -> None:
        if not field.raw_data or field.process_errors:
            raise StopValidation()  # nothing to add: absent, or already explained
        if field.data is None:
            raise StopValidation(message)

    return check


class PaymentMethodsField(SelectMultipleField):
    """Checkboxes, one per payment method. The page sends an empty value with
    them, so "none ticked" still reaches the server (and is refused) instead of
    looking like a form without this field."""

    def process_formdata(self, valuelist):
        super().process_formdata([value for value in valuelist if value])
        # Stored in a fixed order, whatever order the boxes came in.
        order = [method.value for method in PaymentMethod]
        self.data = sorted(set(self.data), key=lambda v: (order + [v]).index(v))

    def pre_validate(self, form) -> None:
        if self.raw_data and not self.data:
            raise StopValidation(_l("Offer at least one payment method."))
        super().pre_validate(form)


class RuntimeSettingsForm(FlaskForm):
    """A form of run-time settings.

    Each field saves the setting ``SETTINGS`` names for it; to add a setting, add
    it to ``storefront.settings.RUNTIME_SETTINGS``, add a field and map it. A
    field the request does not carry at all (a page loaded before the setting
    existed) keeps its setting; checkboxes are always read, since a browser sends
    nothing for an unticked box.
    """

    #: Form field name → run-time setting name.
    SETTINGS: dict[str, str] = {}

    @classmethod
    def current(cls):
        """The form showing the values in force now (not the request's)."""
        data = {field: get_setting(name) for field, name in cls.SETTINGS.items()}
        return cls(formdata=None, data=data)

    def setting_values(self) -> dict:
        """Setting name → the submitted value, for ``set_setting``; settings
        whose field the request left out are not included."""
        return {
            name: self[field].data
            for field, name in self.SETTINGS.items()
            if self[field].type == "BooleanField" or self[field].raw_data
        }


class SettingsForm(RuntimeSettingsForm):
    """The shop's settings: sign-up, shipping and payment."""

    SETTINGS = {
        "signup_approval": "SIGNUP_APPROVAL",
        "shipping_fee": "SHIPPING_FEE",
        "free_shipping_over": "FREE_SHIPPING_OVER",
        "payment_methods": "PAYMENT_METHODS",
        "payment_instructions": "PAYMENT_INSTRUCTIONS",
    }

    signup_approval = BooleanField(
        _l("New sellers need my approval"),
        description=_l(
            "When on, a new shop waits in Sellers until you approve it; "
            "when off, it opens at once."
        ),
    )
    shipping_fee = MoneyField(
        _l("Shipping fee"),
        validators=[required_if_sent(_l("Enter the shipping fee (0 for none)."))],
        description=_l("Added to every order below the free-shipping amount."),
    )
    free_shipping_over = MoneyField(
        _l("Free shipping from"),
        validators=[required_if_sent(_l("Enter the order amount that ships free."))],
        description=_l("Orders of at least this much ship free; 0 ships all free."),
    )
    payment_methods = PaymentMethodsField(
        _l("Payment methods"),
        choices=[
            SelectChoice(PaymentMethod.TRANSFER.value, _l("Pay by transfer")),
            SelectChoice(PaymentMethod.COD.value, _l("Cash on delivery")),
        ],
        invalid_choice_message=_l("Choose transfer, cash on delivery or both."),
    )
    payment_instructions = TextAreaField(
        _l("Payment instructions"),
        validators=[Length(max=1000)],
        filters=[lambda text: text.strip() if text else ""],
        description=_l(
            "What a customer paying by transfer is told: your account, "
            "the name on it, what to write in the message."
        ),
    )

    @property
    def payment_qr(self) -> str:
        """The payment QR image's file name ("" for none), shown on the page
        beside this form and changed by ``PaymentQRForm``."""
        return get_setting("PAYMENT_QR")


class PaymentQRForm(FlaskForm):
    """The QR code customers paying by transfer scan (WeChat Pay, Alipay…)."""

    qr = FileField(
        _l("Payment QR code"),
        validators=[FileRequired(_l("Choose a picture of your payment QR code."))],
        description=_l("Shown to customers who pay by transfer."),
    )


class CommissionSettingsForm(RuntimeSettingsForm):
    """What sellers earn and when they can be paid."""

    SETTINGS = {
        "commission_bp": "COMMISSION_BP",
        "level2_commission_bp": "LEVEL2_COMMISSION_BP",
        "after_sale_days": "AFTER_SALE_DAYS",
        "minimum_payout": "MINIMUM_PAYOUT",
    }

    commission_bp = PercentField(
        _l("Commission rate (%)"),
        validators=[required_if_sent(_l("Enter a percentage from 0 to 100."))],
        description=_l(
            "What the seller earns on what the customer paid for a product, "
            "unless the product has its own rate."
        ),
    )
    level2_commission_bp = PercentField(
        _l("Recruiter's rate (%)"),
        validators=[required_if_sent(_l("Enter a percentage from 0 to 100."))],
        description=_l(
            "What the seller who recruited them earns on the same sale; "
            "0 turns it off. Nobody further up earns anything."
        ),
    )
    after_sale_days = WholeNumberField(
        _l("After-sale window (days)"),
        validators=[
            required_if_sent(_l("Enter a number of days from 0 to 90.")),
            NumberRange(0, 90, _l("Enter a number of days from 0 to 90.")),
        ],
        description=_l(
            "Commission becomes available this many days after the order is "
            "completed; a refund before then simply cancels it."
        ),
    )
    minimum_payout = MoneyField(
        _l("Minimum payout"),
        validators=[required_if_sent(_l("Enter the smallest payout (0 for any)."))],
        description=_l("You pay a seller once they have at least this available."),
    )


EXPIRED = _l("This form has expired. Please reload the page and try again.")


class PayoutForm(FlaskForm):
    """A payout the operator made to a seller outside the app."""

    amount = MoneyField(
        _l("Amount"), validators=[InputRequired(_l("Enter the amount paid."))]
    )
    method = StringField(
        _l("Paid by"),
        filters=[stripped],
        validators=[
            InputRequired(_l("Say how it was paid (at most 40 characters).")),
            Length(max=40, message=_l("Say how it was paid (at most 40 characters).")),
        ],
        description=_l("For example WeChat Pay, Alipay or a bank transfer."),
    )
    reference = StringField(
        _l("Reference"),
        filters=[stripped],
        validators=[Length(max=80)],
        description=_l("The payment's transaction number, so both sides can find it."),
    )
    #: One per page load, so a form sent twice records one payout.
    key = HiddenField(
        validators=[InputRequired(EXPIRED), Length(max=64, message=EXPIRED)]
    )


# Group-buy offers


class ShopTimeField(DateTimeLocalField):
    """A date and time typed in the shop's time zone (``datetime-local``), held
    as naive UTC like every time the database stores. Empty is None, left to
    ``InputRequired`` to explain."""

    #: The first is how the value is written back into the input.
    FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, format=self.FORMATS, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return to_user_timezone(self.data).strftime(self.FORMATS[0])

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        for format in self.strptime_format:
            try:
                local = datetime.strptime(valuelist[0].strip(), format)
            except ValueError:
                continue
            self.data = to_utc(local)
            return
        raise ValueError(_l("Enter a date and time such as 2026-05-01 10:00."))


def between(low: int, high: int, message):
    """A validator: a whole number from ``low`` to ``high``, else ``message``
    (one message for empty, not a number, and out of range)."""

    def check(form, field) -> None:
        if field.data is None or not low <= field.data <= high:
            raise StopValidation(message)

    return check


class ChoiceField(SelectField):
    """A select whose wrong answers (empty, not a number, not one of the
    choices) all get the one ``message``."""

    def __init__(self, *args, message, **kwargs):
        super().__init__(*args, coerce=int, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None

    def pre_validate(self, form) -> None:
        if self.data is None or self.data not in {c[0] for c in self.choices}:
            raise StopValidation(self.message)


class OfferForm(FlaskForm):
    """A group-buy offer. The form checks what each field holds; the group
    price against the product's price is the service's rule (``save_offer``)."""

    product_id = ChoiceField(
        _l("Product"),
        message=_l("Choose a product on sale."),
        description=_l("Products on sale, with their normal price."),
    )
    group_price = MoneyField(
        _l("Group price"),
        validators=[InputRequired(_l("Enter the group price."))],
        description=_l("What each member pays; below the product's price."),
    )
    size = WholeNumberField(
        _l("Group size"),
        default=3,
        validators=[
            between(
                MIN_SIZE,
                MAX_SIZE,
                _l(
                    "A group has %(low)d to %(high)d people.",
                    low=MIN_SIZE,
                    high=MAX_SIZE,
                ),
            )
        ],
        description=_l("People, the leader included."),
    )
    window_hours = WholeNumberField(
        _l("Hours to fill"),
        default=24,
        validators=[between(1, 168, _l("A group has 1 to 168 hours to fill."))],
        description=_l("From the moment a group opens; then it fails and refunds."),
    )
    per_customer = WholeNumberField(
        _l("Most per customer"),
        default=1,
        validators=[between(1, 99, _l("Each customer may buy 1 to 99."))],
        description=_l("How many one customer may buy in one group."),
    )
    starts_at = ShopTimeField(
        _l("Starts"),
        validators=[InputRequired(_l("Enter when the offer starts."))],
    )
    ends_at = ShopTimeField(
        _l("Ends"),
        validators=[InputRequired(_l("Enter when the offer ends."))],
        description=_l("No new groups after this; open groups may still fill."),
    )
    active = BooleanField(_l("Active"), default=True)

    def validate_ends_at(self, field) -> None:
        starts = self.starts_at.data
        if field.data is not None and starts is not None and field.data <= starts:
            raise ValidationError(_l("The offer must end after it starts."))

    def offer_data(self) -> OfferData:
        return OfferData(
            product_id=self.product_id.data,
            group_price=self.group_price.data,
            size=self.size.data,
            window_hours=self.window_hours.data,
            per_customer=self.per_customer.data,
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            active=self.active.data,
        )
