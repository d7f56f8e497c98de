"""Mobile numbers in one form: E.164 (``+8613812345678``), checked by phonenumbers."""

import phonenumbers
from flask import current_app
from flask_babel import lazy_gettext as _l

from storefront.errors import DomainError


class PhoneError(DomainError):
    pass


def normalise_phone(text: str) -> str:
    """``138 1234 5678`` → ``+8613812345678`` (region from ``PHONE_REGION``).

    Raises ``PhoneError`` for anything that is not a valid number.
    """
    try:
        number = phonenumbers.parse(text, current_app.config["PHONE_REGION"])
    except phonenumbers.NumberParseException:
        raise PhoneError(_l("Enter a mobile number such as 138 1234 5678.")) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_l("Enter a mobile number such as 138 1234 5678."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(phone: str) -> str:
    """``+8613812345678`` → ``138****5678``: enough for a seller to recognise a
    customer, not enough to call them."""
    number = phonenumbers.parse(phone)
    national = str(number.national_number)
    return f"{national[:3]}****{national[-4:]}"
