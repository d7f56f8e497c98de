"""The seller's earnings at /me/earnings."""

from flask import abort, g, request

from storefront.database import MAX_ID, writes
from storefront.exports import csv_response
from storefront.extensions import db
from storefront.htmx import is_partial, render
from storefront.ledger import bp, services
from storefront.settings import get_setting
from storefront.shops.views import seller_required

EARNINGS_PAGE_SIZE = 30


@bp.get("/me/earnings")
@seller_required
@writes
def earnings():
    """The signed-in seller's pending, available and paid-out balances (after
    releasing what has fallen due), then every ledger line, newest first, 30 at
    a time; htmx asks for the lines before ``before`` (a line id). A ``before``
    that is not a line id is a 400; an account without a shop gets a 403."""
    before = request.args.get("before")
    if before is not None and not (before.isdigit() and 0 < int(before) <= MAX_ID):
        abort(400)
    if before is not None and is_partial():
        return render(
            "ledger/earnings.html", "earnings_lines", **lines_page(int(before))
        )
    balances = services.balances(g.shop)  # first: it settles what is due
    db.session.commit()  # keep what it released
    return render(
        "ledger/earnings.html",
        shop=g.shop,
        balances=balances,
        minimum=get_setting("MINIMUM_PAYOUT"),
        after_sale_days=get_setting("AFTER_SALE_DAYS"),
        **lines_page(int(before) if before else None),
    )


@bp.get("/me/earnings.csv")
@seller_required
def earnings_csv():
    """Every ledger line of the seller's shop, oldest first, as a spreadsheet:
    theirs to keep, also when they leave."""
    lines = services.earnings_lines(g.shop, limit=None)[::-1]
    return csv_response(
        f"earnings-{g.shop.slug}.csv",
        services.EARNINGS_COLUMNS,
        services.earnings_rows(lines),
    )


def lines_page(before: int | None) -> dict:
    """The template's ``lines``, ``more`` and ``reason``."""
    lines = services.earnings_lines(g.shop, before, EARNINGS_PAGE_SIZE + 1)
    return {
        "lines": lines[:EARNINGS_PAGE_SIZE],
        "more": len(lines) > EARNINGS_PAGE_SIZE,
        "reason": services.reason,
    }
