"""The referral ledger: commissions, their hold and release, payouts; and the
seller's earnings at /me/earnings."""

from flask import Blueprint

bp = Blueprint("ledger", __name__)

from storefront.ledger import views  # noqa: E402, F401
