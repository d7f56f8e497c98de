"""Operator analytics at /admin: the four numbers across all shops and per shop,
the seller leaderboard, group-buy results and commission owed, and every table
as a CSV, on a small hand-built dataset whose answers are worked out below."""

import csv
import html
import re
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest

from storefront.accounts.models import User
from storefront.admin import analytics
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupState
from storefront.ledger import services as ledger
from storefront.orders import services as orders
from storefront.orders.models import PaymentMethod
from storefront.settings import set_setting
from storefront.shops.services import customer_code
from storefront.timeutil import local_day, utcnow
from tests import factories
from tests.conftest import EN

PHONES = {name: f"138 0013 80{n:02d}" for n, name in enumerate("ABCD", start=1)}


@dataclass
class Ids:
    mei: int  #: "Mei's picks": 4 visitors, 2 sales (¥25.00 + ¥66.66)
    cmd: int  #: "=cmd()": 2 visitors, 1 sale (¥12.50), a clawback below zero
    tea: int
    nuts: int


def visit(shop_id, visitor, product_id=None, day=None, channel="link", sharer=None):
    factories.visit(shop_id, visitor, day, product_id, channel, sharer)


def buy(shop, who: str, quantities: dict, visitor=None, paid=True):
    customer = orders.Customer(f"Customer {who}", PHONES[who], "1 Road", "", visitor)
    key = f"key-{shop.id}-{who}-{sorted(quantities.items())}"
    order = orders.place_order(quantities, customer, PaymentMethod.TRANSFER, shop, key)
    if paid:
        orders.mark_paid(order, None)
    return order


def group(offer, state: GroupState, opened_days_ago: int = 0) -> None:
    opened = utcnow() - timedelta(days=opened_days_ago, minutes=5)
    ended = state != GroupState.OPEN
    db.session.add(
        Group(
            code=f"g{db.session.query(Group).count()}",
            offer_id=offer.id,
            size=offer.size,
            group_price=offer.group_price,
            seats_taken=offer.size if state == GroupState.SUCCEEDED else 1,
            state=state,
            opened_at=opened,
            # An open group's deadline is ahead, so nothing expires it.
            deadline=opened + timedelta(hours=1 if ended else 48),
            closed_at=opened + timedelta(hours=1) if ended else None,
        )
    )


def offer(product_id: int, group_price: int):
    now = utcnow()
    return groups.save_offer(
        groups.OfferData(
            product_id=product_id,
            group_price=group_price,
            size=3,
            window_hours=24,
            per_customer=2,
            starts_at=now - timedelta(days=200),
            ends_at=now + timedelta(days=30),
            active=True,
        )
    )


@pytest.fixture
def data(app, operator) -> Ids:
    """Today, across both shops: 6 visitors, 3 buyers (A, B, C), 3 sales worth
    ¥104.16, so conversion 50% and average order ¥34.72. Commission: Mei 10% of
    ¥91.66 pending (¥9.16); =cmd() ¥1.25 pending, and an order completed,
    settled, paid out (¥5.00) then refunded: ¥5.00 clawed back, -¥5.00
    available. Orders to do: 3 to ship, 1 waiting for payment."""
    with app.app_context():
        set_setting("AFTER_SALE_DAYS", 0)
        set_setting("MINIMUM_PAYOUT", 100)
        op = db.session.get(User, operator)
        mei = factories.shop("mei@example.com", "Mei's picks", owner_name="Li Mei")
        cmd = factories.shop("cmd@example.com", "=cmd()", owner_name="Zhang Wei")
        tea = factories.product(name="Green tea", slug="tea", price=1250, stock=50)
        nuts = factories.product(name="Walnuts", slug="nuts", price=3333, stock=50)
        visit(mei.id, "v1")
        visit(mei.id, "v2", product_id=tea.id, channel="qr")
        visit(mei.id, "v3")
        visit(mei.id, "v4", sharer=customer_code("+8613800138001"))
        visit(cmd.id, "v5")
        visit(cmd.id, "v6")
        visit(cmd.id, "old", day=local_day(utcnow()) - timedelta(days=40))
        buy(mei, "A", {tea.id: 2}, visitor="v1")
        buy(mei, "B", {nuts.id: 2}, visitor="v2")
        buy(cmd, "C", {tea.id: 1}, visitor="v5")
        buy(cmd, "A", {tea.id: 1}, paid=False)
        back = buy(cmd, "D", {tea.id: 4})
        orders.ship(back, "SF", "SF1", op)
        orders.complete(back, op)
        ledger.settle_due(utcnow() + timedelta(seconds=1))
        ledger.record_payout(cmd, 500, "Cash", "R1", op, "payout-1")
        orders.refund_all(back, op)
        tea_offer, nuts_offer = offer(tea.id, 990), offer(nuts.id, 2990)
        for state in ("succeeded", "succeeded", "failed", "open"):
            group(tea_offer, GroupState(state))
        group(nuts_offer, GroupState.FAILED)
        group(nuts_offer, GroupState.SUCCEEDED, opened_days_ago=100)  # not counted
        db.session.commit()
        return Ids(mei.id, cmd.id, tea.id, nuts.id)


def text(response) -> str:
    """The page's text with tags dropped and white space squeezed."""
    page = response.get_data(as_text=True)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def section(response, heading_id: str) -> str:
    """The text of the <section> labelled by ``heading_id``."""
    found = re.search(
        rf'<section aria-labelledby="{heading_id}">(.*?)</section>',
        response.get_data(as_text=True),
        re.S,
    )
    assert found, heading_id
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))
    return html.unescape(words)


def rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(StringIO(body[1:])))


def metric(response, measure: str) -> str:
    """The value a report card shows for ``measure``."""
    found = re.search(
        rf'<li class="metric {measure}">.*?<p class="value">([^<]*)</p>',
        response.get_data(as_text=True),
        re.S,
    )
    assert found, measure
    return html.unescape(found.group(1))


# The overview


def test_overview_shows_all_shops_numbers(as_operator, data):
    response = as_operator.get("/admin/", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert '<a href="/admin/" aria-current="page">Overview</a>' in page
    assert metric(response, "visitors") == "6"
    assert metric(response, "orders") == "3"
    assert metric(response, "conversion") == "50%"
    assert metric(response, "average_order") == "CN¥34.72"
    assert metric(response, "sales") == "CN¥104.16"
    assert "4 orders to do" in text(response)
    assert "3 to ship · 1 waiting for payment" in text(response)


def test_leaderboard_ranks_shops_by_sales(as_operator, data):
    board = section(as_operator.get("/admin/", headers=EN), "leaderboard-heading")
    mei = board.index("1. Mei's picks")
    cmd = board.index("2. =cmd()")
    assert mei < cmd
    assert (
        "Li Mei Visitors 4 · Orders 2 · Buyers 2 · Conversion 50% "
        "Average order CN¥45.83 · Commission owed CN¥9.16 Sales CN¥91.66"
    ) in board
    assert (
        "Zhang Wei Visitors 2 · Orders 1 · Buyers 1 · Conversion 50% "
        "Average order CN¥12.50 · Commission owed -CN¥3.75 Sales CN¥12.50"
    ) in board
    assert f'href="/admin/analytics/shops/{data.mei}"' in (
        as_operator.get("/admin/").get_data(as_text=True)
    )
    assert "the CSV has them all" not in board


def test_leaderboard_shows_the_top_and_says_there_are_more(
    as_operator, data, monkeypatch
):
    monkeypatch.setattr(analytics, "LEADERBOARD_SIZE", 1)
    board = section(as_operator.get("/admin/", headers=EN), "leaderboard-heading")
    assert "1. Mei's picks" in board
    assert "=cmd()" not in board
    assert "The top 1 of 2 shops; the CSV has them all." in board
    table = rows(as_operator.get("/admin/analytics.csv?table=shops"))
    assert [row[2] for row in table[1:]] == ["Mei's picks", "'=cmd()"]


def test_group_buy_results_and_success_rate(as_operator, data):
    groups_text = section(as_operator.get("/admin/", headers=EN), "groups-heading")
    # Ended this period: tea 2 of 3 filled, walnuts 0 of 1 → 2 of 4 overall
    assert "Success rate 50%" in groups_text
    assert (
        "Green tea Opened 4 · Succeeded 2 · Failed 1 · Filling 1 Success rate 66.7%"
    ) in groups_text
    assert (
        "Walnuts Opened 1 · Succeeded 0 · Failed 1 · Filling 0 Success rate 0%"
        in groups_text
    )


def test_commission_owed_across_sellers(as_operator, data):
    owed = section(as_operator.get("/admin/", headers=EN), "commission-heading")
    assert "Pending CN¥10.41" in owed
    assert "Available -CN¥5.00" in owed
    assert "Paid out CN¥5.00" in owed
    page = as_operator.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/payouts"' in page


def test_period_changes_the_numbers_and_the_links_keep_it(app, as_operator, data):
    with app.app_context():  # a visitor and a sale 10 days ago
        visit(data.mei, "v9", day=local_day(utcnow()) - timedelta(days=10))
        db.session.commit()
    week = as_operator.get("/admin/?days=7", headers=EN)
    month = as_operator.get("/admin/?days=30", headers=EN)
    assert metric(week, "visitors") == "6"
    assert metric(month, "visitors") == "7"
    page = week.get_data(as_text=True)
    assert '<a href="/admin/?days=7" hx-get="/admin/?days=7"' in page
    assert 'aria-current="true">7 days</a>' in page
    for table in ("days", "shops", "groups"):
        assert f'href="/admin/analytics.csv?table={table}&amp;days=7"' in page
    assert f'href="/admin/analytics/shops/{data.mei}?days=7"' in page
    with app.app_context():
        today = local_day(utcnow())
    start = (today - timedelta(days=2)).isoformat()
    custom = as_operator.get(f"/admin/?start={start}&end={today}", headers=EN)
    assert custom.status_code == 200
    assert (
        f'href="/admin/analytics.csv?table=shops&amp;start={start}&amp;end={today}"'
    ) in custom.get_data(as_text=True)
    assert len(rows(as_operator.get("/admin/analytics.csv?table=days&days=7"))) == 8


def test_htmx_gets_only_the_period_region(as_operator, data, hx):
    response = as_operator.get("/admin/?days=7", headers={**hx, **EN})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="overview"')
    assert "<!doctype" not in fragment
    assert "Mei&#39;s picks" in fragment
    assert "Commission owed" in fragment  # the leaderboard's column…
    assert 'id="commission-heading"' not in fragment  # …not the balances below


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=2026-02-01&end=2026-01-01", "The last day comes before the first."),
        ("end=2026-01-01", "Choose both the first and the last day."),
        ("start=2026-01-01", "Choose both the first and the last day."),
        ("days=5", "Choose 7, 30 or 90 days, or a first and a last day."),
        ("start=soon&end=later", "Not a valid date value"),
        ("start=2001-01-01&end=2003-01-01", "Choose at most 366 days."),
    ],
)
def test_bad_period_is_a_422_that_says_why(as_operator, data, query, message):
    response = as_operator.get(f"/admin/?{query}", headers=EN)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert "Showing the last 30 days instead." in text(response)
    assert metric(response, "visitors") == "6"  # the default period's
    page = response.get_data(as_text=True)
    assert 'href="/admin/analytics.csv?table=shops"' in page  # not the bad values
    shop_page = as_operator.get(f"/admin/analytics/shops/{data.mei}?{query}")
    assert shop_page.status_code == 422
    for url in (
        f"/admin/analytics.csv?table=days&{query}",
        f"/admin/analytics/shops/{data.mei}.csv?table=days&{query}",
    ):
        response = as_operator.get(url, headers=EN)
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True)


# One shop


def test_shop_page_shows_that_shops_numbers(as_operator, data):
    response = as_operator.get(f"/admin/analytics/shops/{data.mei}", headers=EN)
    assert response.status_code == 200
    assert '<a href="/admin/" aria-current="page">Overview</a>' in (
        response.get_data(as_text=True)
    )
    assert metric(response, "visitors") == "4"
    assert metric(response, "orders") == "2"
    assert metric(response, "conversion") == "50%"
    assert metric(response, "average_order") == "CN¥45.83"
    assert metric(response, "sales") == "CN¥91.66"
    products = section(response, "products-heading")
    assert products.index("Walnuts") < products.index("Green tea")
    assert "Walnuts Visitors 0 · Units 2 Sales CN¥66.66" in products
    assert "Green tea Visitors 1 · Units 2 Sales CN¥25.00" in products
    landings = section(response, "landings-heading")
    assert "Shop page Visitors 3 · Orders 1 Conversion 33.3%" in landings
    assert "Green tea Visitors 1 · Orders 1 Conversion 100%" in landings
    channels = section(response, "channels-heading")
    assert "Shared links Visitors 2 · Orders 1 Conversion 50%" in channels
    assert "QR codes Visitors 1 · Orders 1 Conversion 100%" in channels
    assert "Customers' shares Visitors 1 · Orders 0 Conversion 0%" in channels


def test_shop_page_of_the_other_shop_and_its_negative_balance(as_operator, data):
    response = as_operator.get(f"/admin/analytics/shops/{data.cmd}", headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert "Pending CN¥1.25 Available -CN¥5.00 Paid out CN¥5.00" in page
    assert metric(response, "visitors") == "2"
    assert metric(response, "sales") == "CN¥12.50"
    assert "Walnuts" not in section(response, "products-heading")


def test_unknown_shop_is_a_404(as_operator, data):
    for url in (
        "/admin/analytics/shops/999",
        "/admin/analytics/shops/999.csv?table=days",
        "/admin/analytics/shops/99999999999",
    ):
        assert as_operator.get(url).status_code == 404, url


# CSV exports


def test_days_csv(app, as_operator, data):
    table = rows(as_operator.get("/admin/analytics.csv?table=days"))
    assert table[0] == ["date", "visitors", "buyers", "orders", "sales", "currency"]
    assert len(table) == 1 + 30
    with app.app_context():
        today = local_day(utcnow()).isoformat()
    assert table[-1] == [today, "6", "3", "3", "104.16", "CNY"]
    assert table[1][1:] == ["0", "0", "0", "0.00", "CNY"]
    shop = rows(as_operator.get(f"/admin/analytics/shops/{data.cmd}.csv?table=days"))
    assert shop[-1] == [today, "2", "1", "1", "12.50", "CNY"]


def test_shops_csv_is_the_whole_leaderboard(as_operator, data):
    response = as_operator.get("/admin/analytics.csv?table=shops")
    assert "attachment" in response.headers["Content-Disposition"]
    table = rows(response)
    assert table[0] == [
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
    ]
    assert table[1:] == [
        ["1", str(data.mei), "Mei's picks", "Li Mei", "4", "2", "2", "0.5"]
        + ["45.83", "91.66", "9.16", "CNY"],
        # A name that is a formula is neutralised; a negative number is not.
        ["2", str(data.cmd), "'=cmd()", "Zhang Wei", "2", "1", "1", "0.5"]
        + ["12.50", "12.50", "-3.75", "CNY"],
    ]


def test_groups_csv(as_operator, data):
    table = rows(as_operator.get("/admin/analytics.csv?table=groups"))
    assert table[0] == [
        "offer_id",
        "product",
        "opened",
        "succeeded",
        "failed",
        "open",
        "success_rate",
    ]
    assert [row[1:] for row in table[1:]] == [
        ["Green tea", "4", "2", "1", "1", "0.6667"],
        ["Walnuts", "1", "0", "1", "0", "0.0"],
    ]


def test_commissions_csv(as_operator, data):
    table = rows(as_operator.get("/admin/analytics.csv?table=commissions"))
    assert table == [
        ["shop_id", "shop", "seller", "pending", "available", "paid_out", "currency"],
        [str(data.cmd), "'=cmd()", "Zhang Wei", "1.25", "-5.00", "5.00", "CNY"],
        [str(data.mei), "Mei's picks", "Li Mei", "9.16", "0.00", "0.00", "CNY"],
    ]


def test_shop_csvs(as_operator, data):
    base = f"/admin/analytics/shops/{data.mei}.csv?table="
    assert rows(as_operator.get(base + "products")) == [
        ["product_id", "product", "visitors", "units", "sales", "currency"],
        [str(data.nuts), "Walnuts", "0", "2", "66.66", "CNY"],
        [str(data.tea), "Green tea", "1", "2", "25.00", "CNY"],
    ]
    assert rows(as_operator.get(base + "landings")) == [
        ["product_id", "page", "visitors", "orders", "conversion"],
        ["", "Shop page", "3", "1", "0.3333"],
        [str(data.tea), "Green tea", "1", "1", "1.0"],
    ]
    assert rows(as_operator.get(base + "channels")) == [
        ["channel", "visitors", "orders", "conversion"],
        ["link", "2", "1", "0.5"],
        ["qr", "1", "1", "1.0"],
        ["customer", "1", "0", "0.0"],
    ]


def test_shop_page_links_to_its_csvs_with_the_period(as_operator, data):
    page = as_operator.get(f"/admin/analytics/shops/{data.mei}?days=90")
    links = page.get_data(as_text=True)
    for table in ("days", "products", "landings", "channels"):
        url = f"/admin/analytics/shops/{data.mei}.csv?table={table}&amp;days=90"
        assert f'href="{url}"' in links
    url = f"/admin/analytics/shops/{data.mei}.csv?table=days&days=90"
    assert len(rows(as_operator.get(url))) == 1 + 90


@pytest.mark.parametrize("table", ["", "orders", "products", "../etc"])
def test_unknown_table_is_a_404(as_operator, data, table):
    response = as_operator.get(f"/admin/analytics.csv?table={table}", headers=EN)
    assert response.status_code == 404
    assert "No such table" in response.get_data(as_text=True)
    response = as_operator.get(
        f"/admin/analytics/shops/{data.mei}.csv?table=shops", headers=EN
    )
    assert response.status_code == 404


# Who may look


def analytics_urls(shop_id: int) -> list[str]:
    return [
        "/admin/",
        f"/admin/analytics/shops/{shop_id}",
        "/admin/analytics.csv?table=shops",
        f"/admin/analytics/shops/{shop_id}.csv?table=days",
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, data):
    for url in analytics_urls(data.mei):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_sellers_are_refused(as_seller, data):
    for url in analytics_urls(data.mei):
        assert as_seller.get(url).status_code == 403, url


# Nothing yet


def test_empty_database_shows_dashes_not_errors(app, as_operator):
    response = as_operator.get("/admin/", headers=EN)
    assert response.status_code == 200
    assert metric(response, "conversion") == "—"
    assert metric(response, "average_order") == "—"
    page = text(response)
    assert "No orders to do." in page
    assert "No shop had visitors or sales in this period." in page
    assert "Success rate — " in page
    assert "No group was opened in this period." in page
    for table in ("days", "shops", "groups", "commissions"):
        assert len(rows(as_operator.get(f"/admin/analytics.csv?table={table}"))) == (
            31 if table == "days" else 1
        )
    with app.app_context():
        shop_id = factories.shop().id
    response = as_operator.get(f"/admin/analytics/shops/{shop_id}", headers=EN)
    assert response.status_code == 200
    assert metric(response, "conversion") == "—"
    assert "Nothing sold in this period." in text(response)
    channels = section(response, "channels-heading")
    assert "Shared links Visitors 0 · Orders 0 Conversion —" in channels
    for table in ("days", "products", "landings", "channels"):
        url = f"/admin/analytics/shops/{shop_id}.csv?table={table}"
        assert rows(as_operator.get(url))
