"""Seller shops: sign-up, the seller's back office (/me), shop pages, sharing and
attribution of visitors to the shop that brought them."""

from flask import Blueprint

bp = Blueprint("shops", __name__)

from storefront.shops import views  # noqa: E402, F401
