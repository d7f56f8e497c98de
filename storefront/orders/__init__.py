"""Orders: the cart, checkout without an account, order pages, fulfilment."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from storefront.orders import seller_views, views  # noqa: E402, F401
