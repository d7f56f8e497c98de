"""Group-buys (拼团): offers on products, groups opened and joined by link."""

from flask import Blueprint

bp = Blueprint("groupbuy", __name__)

from storefront.groupbuy import views  # noqa: E402, F401
