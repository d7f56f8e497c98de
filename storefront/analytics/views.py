"""The seller's dashboard at /me and their customers at /me/customers."""

from flask import g, request

from storefront.analytics import bp, services
from storefront.analytics.forms import chosen_period
from storefront.exports import csv_response
from storefront.htmx import render
from storefront.shops.views import seller_required

CUSTOMERS_PAGE_SIZE = 50


@bp.get("/me")
@seller_required
def dashboard():
    """The seller's first screen: sales as visitors × conversion × average
    order × orders per customer for the chosen period, each against the period
    before with a daily trend; best products; the links and channels that
    brought visitors. htmx swaps the report when the period changes."""
    form, status = chosen_period()
    period = form.period()
    return render(
        "analytics/dashboard.html",
        "report",
        status=status,
        form=form,
        shop=g.shop,
        report=services.report(g.shop.id, period),
        products=services.top_products(g.shop.id, period),
        landings=services.landing_pages(g.shop.id, period),
        channels=services.channels(g.shop.id, period),
    )


def customer_filter() -> tuple[str, str]:
    """The segment (unknown → all) and the search text from the query string."""
    segment = request.args.get("segment", "all")
    if segment not in services.SEGMENTS:
        segment = "all"
    return segment, request.args.get("q", "").strip()[:40]


@bp.get("/me/customers")
@seller_required
def customers():
    """Everyone who bought through this shop, newest first, segmented (first
    time, repeat, promoters, lapsed), searchable by name or phone digits."""
    segment, query = customer_filter()
    found = services.customers(g.shop.id)
    people = services.search(found.segment(segment), query)
    page = request.args.get("page", 1, type=int)
    page = max(1, min(page, 1 + (len(people) - 1) // CUSTOMERS_PAGE_SIZE))
    start = (page - 1) * CUSTOMERS_PAGE_SIZE
    return render(
        "analytics/customers.html",
        "customer_list",
        shop=g.shop,
        customers=found,
        counts=found.counts(),
        lapsed_days=services.LAPSED_DAYS,
        segment=segment,
        query=query,
        people=people[start : start + CUSTOMERS_PAGE_SIZE],
        total=len(people),
        page=page,
        pages=1 + (len(people) - 1) // CUSTOMERS_PAGE_SIZE,
    )


@bp.get("/me/customers.csv")
@seller_required
def customers_csv():
    """The seller's customers (the chosen segment) as a spreadsheet."""
    segment, query = customer_filter()
    found = services.customers(g.shop.id)
    return csv_response(
        f"customers-{g.shop.slug}.csv",
        services.CUSTOMER_COLUMNS,
        services.customer_rows(services.search(found.segment(segment), query)),
    )
