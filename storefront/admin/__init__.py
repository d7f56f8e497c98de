"""The operator's back office at /admin."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from storefront.admin import sellers  # noqa
from storefront.admin import views  # noqa: E402, F401
from storefront.admin import orders  # noqa: E402, F401
from storefront.admin import ledger  # noqa: E402, F401
from storefront.admin import groupbuys  # noqa: E402, F401
from storefront.admin import analytics  # noqa: E402, F401
