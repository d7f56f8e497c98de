"""Operator analytics at /admin: sales as visitors × conversion × average order
× orders per customer across all shops and per shop, the seller leaderboard,
group-buy results and commission owed; every table also as a CSV for the same
period. Operators only (the blueprint's ``operators_only`` guard)."""

from collections.abc import Callable, Iterable
from decimal import Decimal

from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from storefront.accounts.models import User
from storefront.admin import bp
from storefront.admin.groupbuys import expire_overdue
from storefront.admin.orders import TO_DO
from storefront.analytics import services
from storefront.analytics.forms import PeriodForm, chosen_period
from storefront.database import writes
from storefront.errors import error_page
from storefront.exports import csv_response
from storefront.extensions import db
from storefront.htmx import render
from storefront.ledger import services as ledger
from storefront.ledger.models import Account, AccountKind
from storefront.money import currency, to_major
from storefront.orders.models import Order, OrderState
from storefront.shops.models import Shop

#: Shops the overview lists; the CSV has them all.
LEADERBOARD_SIZE = 50
#: How visitors came, in words (``services.CHANNELS``).
CHANNEL_NAMES = {
    "link": _l("Shared links"),
    "qr": _l("QR codes"),
    "customer": _l("Customers' shares"),
}
A = AccountKind
#: A CSV's header and rows.
Table = tuple[list[str], list[list]]


def period_args(form: PeriodForm) -> dict[str, str]:
    """The query values that choose the form's period, for links that keep it
    (none for the default period, or when the choice was invalid)."""
    if form.errors:
        return {}
    if form.is_custom:
        return {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}
    days = form.days.data
    return {"days": days} if days and days != form.days.default else {}


def load_owners(shops: Iterable[Shop]) -> None:
    """Load the shops' owners in one query (not one per row)."""
    ids = {shop.owner_id for shop in shops}
    if ids:
        db.session.scalars(select(User).where(User.id.in_(ids))).all()


def bad_period(form: PeriodForm) -> ResponseReturnValue:
    """A CSV asked for a period it cannot have: 400 with the reasons."""
    return error_page(400, " ".join(str(e) for es in form.errors.values() for e in es))


# Across all shops


def to_do_counts() -> dict[OrderState, int]:
    """How many orders wait for the operator: paid (to ship), not yet paid."""
    found = dict(
        db.session.execute(
            select(Order.state, func.count())
            .where(Order.state.in_(TO_DO))
            .group_by(Order.state)
        ).all()
    )
    return {state: found.get(state, 0) for state in TO_DO}


def overall_success(results: list[services.OfferResults]) -> float | None:
    """Of every group that ended in the period, the share that filled."""
    succeeded = sum(row.succeeded for row in results)
    return services.ratio(succeeded, succeeded + sum(row.failed for row in results))


def catch_up() -> None:
    """Fail overdue groups and release commission fallen due, as the sweep
    would, so these numbers agree with the group-buy and payout pages."""
    expire_overdue()
    if ledger.settle_due():
        db.session.commit()


@bp.get("/")
@writes
def index():
    """The back office's first screen: the orders waiting, then for the chosen
    period (``days`` 7/30/90, or ``start``–``end``) the four numbers across all
    shops, the seller leaderboard (top 50) and group-buy results, and the
    commission owed to sellers. An invalid period: 400 with the reasons, showing
    the default period. htmx requests get only the period's region."""
    catch_up()
    form, status = chosen_period()
    period = form.period()
    board = services.leaderboard(period)
    top = board[:LEADERBOARD_SIZE]
    load_owners(row.shop for row in top)
    groups = services.group_results(period)
    return render(
        "admin/analytics.html",
        "overview",
        status=status,
        form=form,
        args=period_args(form),
        report=services.report(None, period),
        to_do=to_do_counts(),
        board=top,
        shop_count=len(board),
        groups=groups,
        success_rate=overall_success(groups),
        totals=ledger.seller_totals(),
    )


# One shop


@bp.get("/analytics/shops/<int:shop_id>")
@writes
def shop_analytics(shop_id: int):
    """One shop's four numbers for the chosen period, its best products, the
    links that brought visitors and how they came, and what it is owed. 404
    for an unknown shop; an invalid period as on the overview."""
    shop = db.get_or_404(Shop, shop_id)
    form, status = chosen_period()
    period = form.period()
    balances = ledger.balances(shop)  # releases what fell due
    db.session.commit()
    return render(
        "admin/shop_analytics.html",
        "overview",
        status=status,
        form=form,
        args=period_args(form),
        shop=shop,
        report=services.report(shop.id, period),
        products=services.top_products(shop.id, period),
        landings=services.landing_pages(shop.id, period),
        channels=services.channels(shop.id, period),
        channel_names=CHANNEL_NAMES,
        balances=balances,
    )


# CSV exports: numbers stay numbers, money in major units with its currency.


def major(amount: float | None, code: str) -> Decimal | None:
    """Minor units (an average may be fractional) in major units; None stays empty."""
    return None if amount is None else to_major(round(amount), code)


def share(value: float | None) -> float | None:
    """A ratio as a number a spreadsheet can format (0.125), or empty."""
    return None if value is None else round(value, 4)


def days_table(days: list[services.Day]) -> Table:
    """The report's daily series (its trend lines) as numbers."""
    code = currency()
    return (
        ["date", "visitors", "buyers", "orders", "sales", "currency"],
        [
            [
                day.day.isoformat(),
                day.visitors,
                day.buyers,
                day.orders,
                major(day.sales, code),
                code,
            ]
            for day in days
        ],
    )


def shops_table(period: services.Period) -> Table:
    code = currency()
    board = services.leaderboard(period)
    load_owners(row.shop for row in board)
    return (
        [
            "rank",
            "shop_id",
            "shop",
            "seller",
            "visitors",
            "orders",
            "buyers",
            "conversion",
            "average_order",
            "sales",
            "commission_owed",
            "currency",
        ],
        [
            [
                rank,
                row.shop.id,
                row.shop.name,
                row.shop.owner.name,
                row.numbers.visitors,
                row.numbers.orders,
                row.numbers.buyers,
                share(row.numbers.conversion),
                major(row.numbers.average_order, code),
                major(row.numbers.sales, code),
                major(row.owed, code),
                code,
            ]
            for rank, row in enumerate(board, start=1)
        ],
    )


def groups_table(period: services.Period) -> Table:
    expire_overdue()
    return (
        [
            "offer_id",
            "product",
            "opened",
            "succeeded",
            "failed",
            "open",
            "success_rate",
        ],
        [
            [
                row.offer.id,
                row.offer.product.name,
                row.succeeded + row.failed + row.open,
                row.succeeded,
                row.failed,
                row.open,
                share(row.success_rate),
            ]
            for row in services.group_results(period)
        ],
    )


def commissions_table(_period: services.Period) -> Table:
    """Every shop with a commission account; not tied to the period."""
    if ledger.settle_due():
        db.session.commit()
    code = currency()
    shops = db.session.scalars(
        select(Shop)
        .where(Shop.id.in_(select(Account.shop_id).where(Account.shop_id.is_not(None))))
        .order_by(Shop.name, Shop.id)
    ).all()
    load_owners(shops)
    owed = ledger.balances_of([shop.id for shop in shops])
    return (
        ["shop_id", "shop", "seller", "pending", "available", "paid_out", "currency"],
        [
            [
                shop.id,
                shop.name,
                shop.owner.name,
                major(owed[shop.id][A.PENDING], code),
                major(owed[shop.id][A.AVAILABLE], code),
                major(owed[shop.id][A.PAID_OUT], code),
                code,
            ]
            for shop in shops
        ],
    )


#: The overview's tables by ``table`` value: period → (header, rows).
TABLES: dict[str, Callable[[services.Period], Table]] = {
    "days": lambda period: days_table(services.daily(None, period)),
    "shops": shops_table,
    "groups": groups_table,
    "commissions": commissions_table,
}


def unknown_table(names: Iterable[str]) -> ResponseReturnValue:
    return error_page(
        404, _("No such table. Choose one of: %(names)s.", names=", ".join(names))
    )


@bp.get("/analytics.csv")
@writes
def analytics_csv():
    """One of the overview's tables as a CSV for the chosen period: ``table`` =
    days (the daily series), shops (the whole leaderboard), groups or
    commissions. An unknown table: 404; an invalid period: 400."""
    return table_csv(TABLES, "")


def products_table(shop: Shop, period: services.Period) -> Table:
    code = currency()
    return (
        ["product_id", "product", "visitors", "units", "sales", "currency"],
        [
            [
                row.product.id,
                row.product.name,
                row.visitors,
                row.units,
                major(row.sales, code),
                code,
            ]
            for row in services.top_products(shop.id, period, limit=None)
        ],
    )


def landings_table(shop: Shop, period: services.Period) -> Table:
    return (
        ["product_id", "page", "visitors", "orders", "conversion"],
        [
            [
                row.key,
                row.product.name if row.product else _("Shop page"),
                row.visitors,
                row.orders,
                share(row.conversion),
            ]
            for row in services.landing_pages(shop.id, period, limit=None)
        ],
    )


def channels_table(shop: Shop, period: services.Period) -> Table:
    return (
        ["channel", "visitors", "orders", "conversion"],
        [
            [row.key, row.visitors, row.orders, share(row.conversion)]
            for row in services.channels(shop.id, period)
        ],
    )


#: A shop page's tables by ``table`` value: (shop, period) → (header, rows).
SHOP_TABLES: dict[str, Callable[[Shop, services.Period], Table]] = {
    "days": lambda shop, period: days_table(services.daily(shop.id, period)),
    "products": products_table,
    "landings": landings_table,
    "channels": channels_table,
}


@bp.get("/analytics/shops/<int:shop_id>.csv")
def shop_analytics_csv(shop_id: int):
    """One of a shop page's tables as a CSV for the chosen period: ``table`` =
    days, products, landings or channels (every row, not only the top ones).
    404 for an unknown shop or table; 400 for an invalid period."""
    shop = db.get_or_404(Shop, shop_id)
    return table_csv(SHOP_TABLES, f"{shop.slug}-", shop)


def table_csv(tables: dict[str, Callable], prefix: str, *args) -> ResponseReturnValue:
    """The CSV of ``tables[?table=]`` for the chosen period, named
    ``<prefix><table>-<first day>-<last day>.csv``; ``args`` come before the
    period in the table's call."""
    table = request.args.get("table", "")
    if table not in tables:
        return unknown_table(tables)
    form, status = chosen_period()
    if status != 200:
        return bad_period(form)
    period = form.period()
    header, rows = tables[table](*args, period)
    return csv_response(
        f"{prefix}{table}-{period.first}-{period.last}.csv", header, rows
    )
