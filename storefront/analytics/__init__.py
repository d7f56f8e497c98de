"""What sold, to whom and what brought them: the seller's dashboard at /me and
customers at /me/customers; the operator's view across shops lives in admin.
Reads the other domains' tables; nothing calls it."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)

from storefront.analytics import views  # noqa: E402, F401
