"""Settings the operator changes at run time in the back office.

Each has its default in the app config (``SIGNUP_APPROVAL`` …) until the operator
saves a value, which is kept in the ``setting`` table.
"""

import json
from typing import Any

from flask import current_app
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db

#: Names the operator may set at run time; each defaults to the config value.
RUNTIME_SETTINGS = (
    "SIGNUP_APPROVAL",
    "SHIPPING_FEE",
    "FREE_SHIPPING_OVER",
    "PAYMENT_METHODS",
    "PAYMENT_INSTRUCTIONS",
    "PAYMENT_QR",
    "COMMISSION_BP",
    "LEVEL2_COMMISSION_BP",
    "AFTER_SALE_DAYS",
    "MINIMUM_PAYOUT",
)


class Setting(db.Model):
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: JSON text.
    value: Mapped[str] = mapped_column(Text)


def get_setting(name: str) -> Any:
    """The operator's value for ``name``, else the configured default."""
    row = db.session.get(Setting, name)
    return json.loads(row.value) if row else current_app.config[name]


def set_setting(name: str, value: Any) -> None:
    if name not in RUNTIME_SETTINGS:
        raise KeyError(name)
    row = db.session.get(Setting, name) or Setting(name=name)
    row.value = json.dumps(value)
    db.session.add(row)
    db.session.flush()
