"""Money as integer minor units (fen, cents), and its conversion to and from text."""

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask import current_app
from flask_babel import format_currency, format_percent

#: Largest amount accepted from a form, in major units.
MAX_AMOUNT = Decimal(10_000_000)


def currency() -> str:
    return current_app.config["CURRENCY"]


def to_minor(text: str, code: str) -> int:
    """Parse ``"12.5"`` into ``1250`` (for a two-decimal currency).

    Raises ``ValueError`` for anything that is not a non-negative amount with at
    most the currency's number of decimals, below ``MAX_AMOUNT``.
    """
    digits = get_currency_precision(code)
    try:
        amount = Decimal(text.strip().replace(",", "").lstrip("¥$€£"))
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise ValueError(text)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(text)
    return int(minor)


def to_major(amount: int, code: str) -> Decimal:
    """``1250`` → ``Decimal("12.50")`` for a two-decimal currency."""
    return Decimal(amount).scaleb(-get_currency_precision(code))


def format_money(amount: int) -> str:
    """Minor units as the shop's currency in the visitor's locale, e.g. ``¥12.50``."""
    return format_currency(to_major(amount, currency()), currency())


def format_rate(basis_points: int) -> str:
    """A rate in basis points as a percentage: ``1250`` → ``12.5%``."""
    return format_percent(Decimal(basis_points).scaleb(-4), "#,##0.##%")
