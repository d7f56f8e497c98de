"""Public catalog pages: the house shop and product pages, plus product photos."""

from flask import abort, current_app, request, send_from_directory
from sqlalchemy import select

from storefront.catalog import bp
from storefront.catalog.models import Category, Product
from storefront.catalog.services import categories, product_search
from storefront.extensions import db
from storefront.htmx import render

PAGE_SIZE = 60


@bp.get("/")
def index():
    """The house shop: every product on sale, newest first, filterable by category.

    ``?c=<category slug>`` filters (an unknown one is a 404), ``?page=n`` pages; an
    htmx request gets only the product grid.
    """
    category = None
    if slug := request.args.get("c"):
        category = db.first_or_404(select(Category).filter_by(slug=slug))
    page = db.paginate(
        product_search(category_id=category.id if category else None, active=True),
        per_page=PAGE_SIZE,
        error_out=True,
        count=True,
    )
    return render(
        "catalog/index.html",
        "product_grid",
        page=page,
        categories=categories(),
        category=category,
    )


@bp.get("/p/<slug>")
def product(slug: str):
    """A product page. Products taken off sale keep their page (links live on in
    chats) and say they are unavailable; unknown slugs are a 404. A live
    group-buy offer shows with its open groups (polled by htmx)."""
    from storefront.groupbuy.views import offer_context  # groupbuy imports catalog

    item = db.first_or_404(select(Product).filter_by(slug=slug))
    return render("catalog/product.html", product=item, **offer_context(item))


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Uploaded photos. Their names are random and never reused, so browsers may
    keep them for a year."""
    if "/" in filename:
        abort(404)
    return send_from_directory(
        current_app.config["UPLOAD_FOLDER"], filename, max_age=31536000
    )
