"""The seller's dashboard at /me: the four numbers behind sales on a hand-built
shop with known answers, the period picker (presets, a custom range, bad
ranges), htmx swapping only the report, permissions, and the inline SVG charts."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from storefront.accounts.models import User
from storefront.analytics import charts
from storefront.extensions import db
from storefront.orders.models import Order, PaymentMethod
from storefront.orders.services import Customer, mark_paid, place_order, refund
from storefront.shops.services import customer_code
from storefront.timeutil import local_day, utcnow
from tests import factories
from tests.conftest import EN, login

A = Customer("Wang Fang", "138 1234 5678", "8 Lane", visitor="v1")
B = Customer("Zhou Min", "139 8765 4321", "9 Street", visitor="v2")
C = Customer("Unpaid Li", "136 1111 2222", "10 Road", visitor="v5")
D = Customer("Old Chen", "137 0000 1111", "11 Road", visitor="p1")


def visit(shop_id, visitor, day, product_id=None, channel="link", sharer=None):
    factories.visit(shop_id, visitor, day, product_id, channel, sharer)


def sell(shop, quantities, customer, key, paid=True, days_ago=0) -> None:
    order = place_order(quantities, customer, PaymentMethod.TRANSFER, shop, key)
    if paid:
        mark_paid(order, None)
    if days_ago:
        db.session.flush()
        db.session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(created_at=utcnow() - timedelta(days=days_ago))
        )


@pytest.fixture
def today(app) -> date:
    with app.test_request_context():
        return local_day(utcnow())


@pytest.fixture
def mei(app, today) -> dict:
    """Mei's shop over the last 30 days: 5 visitors (v1 twice), 3 paid orders
    by 2 customers (A twice), one unpaid order; 40 days ago: 2 visitors and
    1 paid order.

    Last 30 days: visitors 5, buyers 2, conversion 40%, orders 3, sales 67.50,
    average order 22.50, orders per customer 1.5, repeat rate 50% (A).
    The 30 days before: visitors 2, conversion 50%, orders 1, sales 12.50.
    """
    with app.test_request_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        tea = factories.product(name="Green tea", price=1250, slug="green-tea")
        nuts = factories.product(name="Walnuts", price=3000, slug="walnuts")
        yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
        visit(shop.id, "v1", today)
        visit(shop.id, "v1", yesterday)
        visit(shop.id, "v2", today, tea.id, channel="qr")
        visit(shop.id, "v3", yesterday, sharer=customer_code("+8613812345678"))
        visit(shop.id, "v4", before, tea.id)
        visit(shop.id, "v5", today)
        old = today - timedelta(days=40)
        visit(shop.id, "p1", old)
        visit(shop.id, "p2", old, tea.id)
        sell(shop, {tea.id: 2}, A, "a1")
        sell(shop, {nuts.id: 1}, A, "a2")
        sell(shop, {tea.id: 1}, B, "b1")
        sell(shop, {nuts.id: 1}, C, "c1", paid=False)
        sell(shop, {tea.id: 1}, D, "d1", days_ago=40)
        db.session.commit()
        return {"shop": shop.id, "tea": tea.id, "nuts": nuts.id}


@pytest.fixture
def as_mei(client, mei):
    assert login(client, "mei@example.com").status_code == 302
    return client


def page(client, url="/me", **headers) -> str:
    response = client.get(url, headers={**EN, **headers})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def card(html: str, measure: str) -> str:
    """The dashboard card of one measure."""
    found = re.search(rf'<li class="metric {measure}">(.*?)</li>', html, re.S)
    assert found, measure
    return found.group(1)


def value(html: str, measure: str) -> str:
    return re.search(r'<p class="value">(.*?)</p>', card(html, measure)).group(1)


def change(html: str, measure: str) -> str:
    """What a screen reader hears about the change of ``measure``."""
    return re.search(r'class="sr-only">(.*?)</span>', card(html, measure)).group(1)


def table(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table after ``caption`` (a heading or caption)."""
    start = html.index(caption)
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def short(day: date) -> str:
    return f"{day:%b} {day.day}"


def test_the_four_numbers_and_their_changes(as_mei):
    html = page(as_mei)
    assert value(html, "visitors") == "5"
    assert value(html, "conversion") == "40%"
    assert value(html, "average_order") == "CN¥22.50"
    assert value(html, "orders_per_buyer") == "1.5"
    assert value(html, "sales") == "CN¥67.50"
    assert value(html, "orders") == "3"
    assert value(html, "repeat_rate") == "50%"
    assert change(html, "visitors") == "up 150% on the previous 30 days"
    assert change(html, "conversion") == "down 20% on the previous 30 days"
    assert change(html, "average_order") == "up 80% on the previous 30 days"
    assert change(html, "orders_per_buyer") == "up 50% on the previous 30 days"
    assert change(html, "sales") == "up 440% on the previous 30 days"
    assert change(html, "orders") == "up 200% on the previous 30 days"
    # Nobody bought twice before: nothing to compare the repeat rate with.
    assert change(html, "repeat_rate") == (
        "nothing to compare with in the previous 30 days"
    )
    assert '<span aria-hidden="true">↑ 150%</span>' in card(html, "visitors")
    assert '<span aria-hidden="true">↓ 20%</span>' in card(html, "conversion")


def test_top_products_landing_pages_and_channels(as_mei):
    html = page(as_mei)
    assert table(html, "Top products") == [
        ["Green tea", "2", "3", "CN¥37.50"],
        ["Walnuts", "0", "1", "CN¥30.00"],
    ]
    # v1's two orders came from the shop page, v2's from the tea page by QR.
    assert table(html, "The page they opened first") == [
        ["Shop page", "3", "2", "66.7%"],
        ["Green tea", "2", "1", "50%"],
    ]
    assert table(html, "How they came") == [
        ["Your links", "3", "2"],
        ["QR codes & posters", "1", "1"],
        ["Customers' shares", "1", "0"],
    ]


def test_an_empty_shop_shows_dashes_and_says_what_to_do(app, client):
    with app.app_context():
        factories.shop("new@example.com", "New Shop")
    login(client, "new@example.com")
    html = page(client)
    for measure in ("conversion", "average_order", "orders_per_buyer", "repeat_rate"):
        assert value(html, measure) == "—"
    assert value(html, "visitors") == "0" and value(html, "sales") == "CN¥0.00"
    assert change(html, "sales") == "nothing to compare with in the previous 30 days"
    assert "No visits in these days yet" in html
    assert 'href="/s/new-shop/share"' in html  # where to share the shop link
    assert "No sales in these days yet" in html
    assert "Your shop has no products yet." in html and 'href="/me/catalog"' in html
    assert "<table" not in html


def test_the_charts_are_inline_svg_with_text_alternatives(as_mei, today):
    html = page(as_mei)
    charts_ = re.findall(r"<svg [^>]*>.*?</svg>", html, re.S)
    assert (
        len(charts_) == 6
    )  # every measure but the repeat rate, which has no daily series
    for svg in charts_:
        assert 'role="img"' in svg and 'viewBox="0 0 100 30"' in svg
        label = re.search(r'aria-label="([^"]+)"', svg).group(1)
        assert f"<title>{label}</title>" in svg
    first = short(today - timedelta(days=29))
    visitors = re.search(r'<svg [^>]*aria-label="Visitors per day[^"]*"', html)
    assert visitors.group(0).endswith(
        f'aria-label="Visitors per day, {first} to {short(today)}: '
        'from 0 to 3, highest 3"'
    )
    # Conversion is unknown on days without visitors: one stretch, the last 3 days.
    conversion = card(html, "conversion")
    assert (
        f"Conversion per day, {first} to {short(today)}: "
        "from 0% to 66.7%, highest 66.7%" in conversion
    )
    path = re.findall(r'<path d="([^"]+)"', conversion)
    assert len(path) == 1 and path[0].count("M") == 1
    # Coordinates are rounded to one decimal.
    assert not re.search(r"\d\.\d\d", "".join(re.findall(r' d="([^"]+)"', html)))


def test_htmx_gets_only_the_report(as_mei, hx):
    response = as_mei.get("/me?days=7", headers={**hx, **EN})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="report"') and "<html" not in html
    assert html.rstrip().endswith("</section>")
    assert 'hx-get="/me?days=90"' in html and 'hx-push-url="true"' in html
    assert value(html, "visitors") == "5"


@pytest.mark.parametrize(
    ("days", "visitors", "sales", "visitors_change"),
    [
        # Nothing in the 7 days before: no change to show.
        (7, "5", "CN¥67.50", "nothing to compare with in the previous 7 days"),
        (30, "5", "CN¥67.50", "up 150% on the previous 30 days"),
        # 40 days ago is inside the last 90 days.
        (90, "7", "CN¥80.00", "nothing to compare with in the previous 90 days"),
    ],
)
def test_each_preset(as_mei, today, days, visitors, sales, visitors_change):
    html = page(as_mei, f"/me?days={days}")
    assert value(html, "visitors") == visitors and value(html, "sales") == sales
    assert change(html, "visitors") == visitors_change
    current = re.findall(r'<a href="/me\?days=(\d+)"[^>]*aria-current="true"', html)
    assert current == [str(days)]
    first = today - timedelta(days=days - 1)
    assert f'name="start" required type="date" value="{first}"' in html
    assert f'name="end" required type="date" value="{today}"' in html


def test_a_custom_range(as_mei, today):
    start, end = today - timedelta(days=45), today - timedelta(days=35)
    html = page(as_mei, f"/me?start={start}&end={end}")
    assert value(html, "visitors") == "2" and value(html, "orders") == "1"
    assert value(html, "conversion") == "50%" and value(html, "sales") == "CN¥12.50"
    assert change(html, "visitors") == (
        "nothing to compare with in the previous 11 days"
    )
    assert not re.search(r'<a href="/me\?days=\d+"[^>]*aria-current', html)
    assert f'value="{start}"' in html and f'value="{end}"' in html
    assert f"{start:%b} {start.day}" in html  # the heading names the days


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start={today}&end={yesterday}", "The last day comes before the first."),
        ("start={today}&end={tomorrow}", "The last day is in the future."),
        ("start={long_ago}&end={today}", "Choose at most 366 days."),
        ("start=garbage&end={today}", "Not a valid date value."),
        ("start=2025-02-30&end={today}", "Not a valid date value."),
        ("end={today}", "Choose both the first and the last day."),
        ("start={yesterday}", "Choose both the first and the last day."),
        ("start={yesterday}&end=", "Choose both the first and the last day."),
        ("days=5", "Choose 7, 30 or 90 days, or a first and a last day."),
        ("days=%3Cb%3E", "Choose 7, 30 or 90 days, or a first and a last day."),
    ],
)
def test_a_bad_range_is_422_with_the_message_and_the_default_period(
    as_mei, hx, today, query, message
):
    query = query.format(
        today=today,
        yesterday=today - timedelta(days=1),
        tomorrow=today + timedelta(days=1),
        long_ago=today - timedelta(days=400),
    )
    response = as_mei.get(f"/me?{query}", headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "Showing the last 30 days instead." in html
    assert "<b>" not in html
    assert value(html, "visitors") == "5"  # the default 30 days
    assert re.search(r'href="/me\?days=30"[^>]*aria-current="true"', html)
    partial = as_mei.get(f"/me?{query}", headers={**hx, **EN})
    assert partial.status_code == 422
    fragment = partial.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="report"') and message in fragment


def test_sign_in_lands_on_the_dashboard(client, mei):
    response = login(client, "mei@example.com")
    assert response.headers["Location"] == "/me"
    html = page(client, response.headers["Location"])
    assert "<title>Dashboard · Test Shop</title>" in html
    assert re.search(r'<a href="/me" aria-current="page">Dashboard</a>', html)
    assert '<a href="/me/customers">Customers</a>' in html
    assert '<a href="/me/products">My products</a>' in html


def test_the_dashboard_needs_a_seller_with_a_shop(client, operator, mei):
    response = client.get("/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/me"
    login(client, "op@example.com")
    assert client.get("/me").status_code == 403


def test_a_seller_sees_only_their_own_shops_numbers(app, client, mei, today):
    with app.test_request_context():
        bo = factories.shop("bo@example.com", "Bo Nuts")
        honey = factories.product(name="Wild honey", price=5000, slug="honey")
        visit(bo.id, "b1", today, honey.id)
        visit(bo.id, "v1", today)  # Mei's visitor also looked at Bo's shop
        sell(bo, {honey.id: 1}, B, "bo1")
        db.session.commit()
    login(client, "bo@example.com")
    html = page(client)
    assert value(html, "visitors") == "2" and value(html, "orders") == "1"
    assert value(html, "sales") == "CN¥50.00" and value(html, "conversion") == "50%"
    assert "Green tea" not in html and "Walnuts" not in html and "Mei Tea" not in html
    assert table(html, "Top products") == [["Wild honey", "1", "1", "CN¥50.00"]]
    client.post("/logout")
    login(client, "mei@example.com")
    html = page(client)
    assert value(html, "visitors") == "5" and value(html, "sales") == "CN¥67.50"
    assert "Wild honey" not in html and "Bo Nuts" not in html


def test_refunds_come_off_the_sales(app, as_mei, operator):
    with app.app_context():
        order = db.session.scalar(select(Order).filter_by(checkout_key="a1"))
        refund(order, {order.lines[0].id: 1}, db.session.get(User, operator))
        db.session.commit()
    html = page(as_mei)
    # One of A's two teas came back: 67.50 - 12.50; still 3 orders (C's unpaid
    # order never counted).
    assert value(html, "sales") == "CN¥55.00" and value(html, "orders") == "3"
    assert value(html, "average_order") == "CN¥18.33"
    assert table(html, "Top products")[0] == ["Walnuts", "0", "1", "CN¥30.00"]


# The sparkline's geometry


def test_a_series_of_zeros_or_nothing_is_a_flat_baseline():
    zeros = charts.spark([0] * 30)
    assert zeros.path == "M0 28H100" and zeros.baseline == "28"
    assert charts.spark([None] * 7).path == ""
    assert charts.spark([]).path == ""
    assert charts.trend([None, None]) is None


def test_gaps_split_the_line_and_a_lone_point_is_a_dot():
    assert charts.spark([1, None, 2, 3, None, 4]).path == (
        "M0 21.5h0M40 15L60 8.5M100 2h0"
    )
    assert charts.spark([5]).path == "M50 2h0"


def test_the_highest_value_touches_the_top_and_coordinates_are_short():
    assert charts.spark([12, 20, 52, 40]).path == "M0 22L33.3 18L66.7 2L100 8"
    assert charts.spark([0.5, 0.5, 0.5]).path == "M0 2H100"
    summary = charts.trend([None, 12, 52, None, 40])
    assert (summary.first, summary.last, summary.highest) == (12, 40, 52)


def test_measures_are_written_for_the_page(app):
    with app.test_request_context(headers=EN):
        assert charts.format_measure(None, "money") == "—"
        assert charts.format_measure(2249.6, "money") == "CN¥22.50"
        assert charts.format_measure(1 / 3, "percent") == "33.3%"
        assert charts.format_measure(4 / 3, "decimal") == "1.33"
        assert charts.format_measure(1, "decimal") == "1.0"
        assert charts.format_measure(12345) == "12,345"
        assert charts.is_same(0.004) and not charts.is_same(0.006)
