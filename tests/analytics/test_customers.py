"""The seller's customers at /me/customers (and its CSV), on data built by hand.

Shop A (Mei Tea), tea at ¥12.50, "now" is the real clock::

    Wang Fang  139 1234 0001  paid 59 days ago; an unpaid order today
    Li Na      139 1234 0002  three paid orders (one completed)       repeat
    Zhao Lei   139 1234 0003  paid 61 days ago                        lapsed
    Chen Jie   139 1234 0004  paid; two visitors came through her
                              shares, one of them (Sun) bought        promoter
    Sun Mei    139 1234 0005  paid, from the browser Chen's share brought
    Gu Hao     139 1234 0006  cancelled: not a customer

Shop B (Qiang Nuts): another "Wang Fang" (139 9999 8888) and Li Na buy there
once; a visitor brought by Chen's code to B is B's, not A's.

Visitors of A (all time): Chen's two friends and a walk-in: 3.
Segments of A: all 5 · first-time 4 (Wang, Zhao, Chen, Sun) · repeat 1 (Li)
· promoters 1 (Chen) · lapsed 1 (Zhao).
"""

import csv
import re
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.analytics import services
from storefront.analytics import views as analytics_views
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import Order, PaymentMethod
from storefront.phones import normalise_phone
from storefront.shops.models import Shop
from storefront.shops.services import customer_code
from storefront.timeutil import local_day, utcnow
from tests import factories
from tests.conftest import EN, login

PHONES = {
    "wang": "139 1234 0001",
    "li": "139 1234 0002",
    "zhao": "139 1234 0003",
    "chen": "139 1234 0004",
    "sun": "139 1234 0005",
    "gu": "139 1234 0006",
    "wang-b": "139 9999 8888",
    "evil": "139 1234 0007",
}
NAMES = {
    "wang": "Wang Fang",
    "li": "Li Na",
    "zhao": "Zhao Lei",
    "chen": "Chen Jie",
    "sun": "Sun Mei",
    "gu": "Gu Hao",
    "wang-b": "Wang Fang",
    "evil": '=HYPERLINK("http://evil.example/?x","Click me")',
}
#: Chen's friends' browsers (her share brought both; the first one bought).
FRIEND_1 = "friend-of-chen-0001"
FRIEND_2 = "friend-of-chen-0002"


@dataclass
class Shops:
    a: int
    b: int
    #: A third open shop with no customers at all.
    c: int


def e164(who: str) -> str:
    return normalise_phone(PHONES[who])


def buy(shop, who, key, state="paid", days_ago=0, visitor=None, quantity=1):
    """``who`` orders tea through ``shop`` (paid, completed, cancelled or left
    unpaid), placed ``days_ago``."""
    tea = db.session.scalar(select(Product).filter_by(slug="tea"))
    customer = orders.Customer(
        NAMES[who], PHONES[who], "1 West Lake Road", visitor=visitor
    )
    order = orders.place_order(
        {tea.id: quantity}, customer, PaymentMethod.TRANSFER, shop, key
    )
    order.created_at = utcnow() - timedelta(days=days_ago)
    operator = db.session.scalar(select(User).filter_by(email="op@example.com"))
    if state in ("paid", "completed"):
        orders.mark_paid(order, operator)
    if state == "completed":
        orders.ship(order, "SF", "SF1", operator)
        orders.complete(order, operator)
    if state == "cancelled":
        orders.cancel(order, operator)
    db.session.flush()
    return order


def visit(shop_id: int, visitor: str, sharer: str | None = None) -> None:
    factories.visit(shop_id, visitor, sharer=sharer)


def make_shops() -> Shops:
    a = factories.shop("mei@example.com", "Mei Tea")
    b = factories.shop("qiang@example.com", "Qiang Nuts")
    c = factories.shop("lan@example.com", "Lan Jams")
    factories.product(name="Tea", slug="tea", price=1250, stock=100)
    buy(a, "wang", "a-wang-1", days_ago=59)
    buy(a, "wang", "a-wang-2", state="pending")
    buy(a, "li", "a-li-1", days_ago=30)
    buy(a, "li", "a-li-2", state="completed", days_ago=20)
    buy(a, "li", "a-li-3", days_ago=1)
    buy(a, "zhao", "a-zhao-1", days_ago=61)
    buy(a, "chen", "a-chen-1", days_ago=10)
    buy(a, "sun", "a-sun-1", days_ago=2, visitor=FRIEND_1)
    buy(a, "gu", "a-gu-1", state="cancelled")
    buy(b, "wang-b", "b-wang-1", days_ago=3)
    buy(b, "li", "b-li-1", days_ago=3)
    chen = customer_code(e164("chen"))
    visit(a.id, FRIEND_1, chen)
    visit(a.id, FRIEND_2, chen)
    visit(a.id, "walk-in-visitor-01")
    visit(b.id, "b-visitor-0000001", chen)
    db.session.commit()
    return Shops(a.id, b.id, c.id)


@pytest.fixture
def shops(app, operator) -> Shops:
    with app.app_context():
        return make_shops()


def page(client, **args) -> str:
    response = client.get("/me/customers", query_string=args, headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def listed(html: str) -> list[str]:
    """The names in the customer list, in order."""
    region = html.split('id="customer-list"', 1)[1]
    return re.findall(
        r'<li class="row">\s*<div class="info">\s*<strong>([^<]*)<', region
    )


def funnel(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]+)</dt>\s*<dd>([^<]+)</dd>", html))


def chips(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="chips".*?</nav>', html, re.S).group(0)
    return dict(re.findall(r">([^<>]+) \((\d+)\)</a>", nav))


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(StringIO(text[1:])))


# The numbers behind the page


def test_segments_and_what_each_customer_brought(app, shops):
    with app.app_context():
        found = services.customers(shops.a)
        by_name = {person.name: person for person in found.people}
        assert found.visitors == 3
        assert found.counts() == {
            "all": 5,
            "first": 4,
            "repeat": 1,
            "promoters": 1,
            "lapsed": 1,
        }

        def names(segment):
            return {person.name for person in found.segment(segment)}

        assert names("all") == {"Wang Fang", "Li Na", "Zhao Lei", "Chen Jie", "Sun Mei"}
        assert names("first") == {"Wang Fang", "Zhao Lei", "Chen Jie", "Sun Mei"}
        assert names("repeat") == {"Li Na"}
        assert names("promoters") == {"Chen Jie"}
        assert names("lapsed") == {"Zhao Lei"}  # Wang's 59 days are not 60
        li, chen = by_name["Li Na"], by_name["Chen Jie"]
        assert (li.orders, li.spent) == (3, 3 * 1250)  # not her order at Qiang's
        assert (chen.brought_visitors, chen.brought_orders) == (2, 1)
        assert by_name["Wang Fang"].orders == 1  # the unpaid order is no sale
        assert by_name["Wang Fang"].phone == e164("wang")  # not Qiang's Wang
        assert [p.name for p in found.people][:2] == ["Li Na", "Sun Mei"]  # latest

        # Qiang's customers are his own: his Wang and one order of Li's.
        theirs = services.customers(shops.b)
        assert {p.phone for p in theirs.people} == {e164("wang-b"), e164("li")}
        assert theirs.visitors == 1 and theirs.counts()["promoters"] == 0
        assert services.customers(shops.c).counts()["all"] == 0


# The page


def test_the_funnel_and_the_segments_with_their_counts(client, shops):
    login(client, "mei@example.com")
    html = page(client)
    assert funnel(html) == {
        "Visitors": "3",
        "Customers": "5",
        "First-time": "4",
        "Repeat": "1",
        "Promoters": "1",
    }
    assert chips(html) == {
        "All": "5",
        "First-time": "4",
        "Repeat": "1",
        "Promoters": "1",
        "No order in 60 days": "1",
    }
    assert "1 customer has not bought in 60 days." in html
    assert 'href="/me/customers?segment=lapsed"' in html
    assert "5 customers" in html
    assert listed(html) == ["Li Na", "Sun Mei", "Chen Jie", "Wang Fang", "Zhao Lei"]
    assert "Gu Hao" not in html  # cancelled
    assert 'aria-current="page">All (5)' in html
    assert "20% of customers" in html  # repeat: 1 of 5
    # More customers than counted visitors (some came without a link): no rate.
    assert "of visitors" not in html and "Bought at least once" in html


def test_the_funnel_shows_how_many_visitors_bought(app, client, shops):
    with app.app_context():
        for n in range(7):
            visit(shops.a, f"another-visitor-{n:02d}")
        db.session.commit()
    login(client, "mei@example.com")
    html = page(client)
    assert funnel(html)["Visitors"] == "10"
    assert "50% of visitors" in html


@pytest.mark.parametrize(
    ("segment", "names"),
    [
        ("first", ["Sun Mei", "Chen Jie", "Wang Fang", "Zhao Lei"]),
        ("repeat", ["Li Na"]),
        ("promoters", ["Chen Jie"]),
        ("lapsed", ["Zhao Lei"]),
    ],
)
def test_each_segment_lists_its_members(client, shops, segment, names):
    login(client, "mei@example.com")
    html = page(client, segment=segment)
    assert listed(html) == names
    assert f'<input type="hidden" name="segment" value="{segment}">' in html
    assert f'href="/me/customers.csv?segment={segment}"' in html


def test_a_customer_row(app, client, shops):
    login(client, "mei@example.com")
    html = page(client, segment="promoters")
    row = html.split("<strong>Chen Jie</strong>", 1)[1].split("</li>", 1)[0]
    assert "139****0004" in row
    assert "1 order" in row and "CN¥12.50" in row
    assert "Their shares brought 2 visitors and 1 order." in row
    assert "Promoter" in row
    with app.app_context():
        first = local_day(utcnow() - timedelta(days=10))
    assert f"first {first:%b} {first.day}, {first.year}" in row
    li = page(client, segment="repeat").split("<strong>Li Na</strong>", 1)[1]
    li = li.split("</li>", 1)[0]
    assert "3 orders" in li and "CN¥37.50" in li and "Repeat" in li
    assert "Their shares" not in li
    zhao = page(client, segment="lapsed").split("<strong>Zhao Lei</strong>", 1)[1]
    assert "No order in 60 days" in zhao.split("</li>", 1)[0]


def test_phones_are_masked_on_the_page_and_in_the_csv(client, shops):
    login(client, "mei@example.com")
    html = page(client)
    spreadsheet = client.get("/me/customers.csv").get_data(as_text=True)
    for n in range(1, 6):
        assert f"139****000{n}" in html and f"139****000{n}" in spreadsheet
        for whole in (f"1391234000{n}", f"1234 000{n}", f"1234000{n}"):
            assert whole not in html and whole not in spreadsheet


def test_a_seller_never_sees_another_shops_customers(client, shops):
    login(client, "mei@example.com")
    html = page(client)
    assert listed(html).count("Wang Fang") == 1  # not Qiang's Wang Fang
    assert "139****8888" not in html
    assert "139****8888" not in client.get("/me/customers.csv").get_data(as_text=True)
    assert page(client, q="8888").count('<li class="row">') == 0
    client.post("/logout")
    login(client, "qiang@example.com")
    theirs = page(client)
    assert sorted(listed(theirs)) == ["Li Na", "Wang Fang"]
    assert "139****8888" in theirs and "139****0001" not in theirs
    assert funnel(theirs)["Visitors"] == "1" and funnel(theirs)["Promoters"] == "0"
    li = theirs.split("<strong>Li Na</strong>", 1)[1].split("</li>", 1)[0]
    assert "1 order" in li and "CN¥12.50" in li  # her orders at Mei's are Mei's


def test_search_by_name_or_the_last_digits_of_the_phone(client, shops, hx):
    login(client, "mei@example.com")
    assert listed(page(client, q="li na")) == ["Li Na"]
    assert listed(page(client, q="0002")) == ["Li Na"]
    assert listed(page(client, q="  0003 ")) == ["Zhao Lei"]
    assert listed(page(client, q="Wang")) == ["Wang Fang"]
    # Within a segment: Li is no first-time customer.
    assert listed(page(client, segment="first", q="Li Na")) == []
    html = page(client, q="1234")  # the middle of every number: no one
    assert listed(html) == []
    assert "No customer here matches “1234”" in html
    # htmx gets the list region only, with the CSV link keeping the search.
    response = client.get(
        "/me/customers",
        query_string={"segment": "repeat", "q": "0002"},
        headers={**EN, **hx},
    )
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="customer-list"')
    assert "<html" not in fragment and "From visitors to promoters" not in fragment
    assert listed(fragment) == ["Li Na"]
    assert 'href="/me/customers.csv?segment=repeat&amp;q=0002"' in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_the_search_form_works_without_javascript(client, shops):
    login(client, "mei@example.com")
    html = page(client, segment="repeat", q="Li")
    form = re.search(r'<form class="filters" role="search".*?</form>', html, re.S)
    form = form.group(0)
    assert 'action="/me/customers"' in form and 'method="post"' not in form
    assert 'hx-target="#customer-list"' in form and 'hx-push-url="true"' in form
    assert 'name="segment" value="repeat"' in form
    assert 'name="q" value="Li"' in form


# The spreadsheet


def test_the_csv_has_a_bom_a_header_and_neutralised_formulas(app, client, shops):
    with app.app_context():
        buy(db.session.get(Shop, shops.a), "evil", "a-evil-1", quantity=2)
        db.session.commit()
    login(client, "mei@example.com")
    response = client.get("/me/customers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "customers-mei-tea.csv" in response.headers["Content-Disposition"]
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert rows[0] == services.CUSTOMER_COLUMNS
    by_phone = {row[1]: row for row in rows[1:]}
    assert len(by_phone) == 6
    evil = by_phone["139****0007"]
    assert evil[0] == "'" + NAMES["evil"]  # a spreadsheet shows it, never runs it
    with app.app_context():
        today = local_day(utcnow()).isoformat()
    assert evil[2:] == [today, today, "1", "25.00", "0", "0"]  # numbers stay numbers
    assert by_phone["139****0004"][4:] == ["1", "12.50", "2", "1"]
    assert by_phone["139****0002"][4:6] == ["3", "37.50"]
    # On the page the name is text, escaped.
    html = page(client, q="HYPERLINK")
    assert "=HYPERLINK(&#34;http://evil.example/?x&#34;,&#34;Click me&#34;)" in html


def test_the_csv_keeps_the_segment_and_the_search(client, shops):
    login(client, "mei@example.com")
    repeat = csv_rows(client.get("/me/customers.csv?segment=repeat"))
    assert [row[0] for row in repeat[1:]] == ["Li Na"]
    lapsed = csv_rows(client.get("/me/customers.csv?segment=lapsed"))
    assert [row[0] for row in lapsed[1:]] == ["Zhao Lei"]
    found = csv_rows(client.get("/me/customers.csv?q=0005"))
    assert [row[0] for row in found[1:]] == ["Sun Mei"]
    html = page(client, segment="first", q="Sun")
    assert 'href="/me/customers.csv?segment=first&amp;q=Sun" download' in html


# Pages, empty states, bad input


def test_pages_keep_the_segment_and_the_search(client, shops, hx, monkeypatch):
    monkeypatch.setattr(analytics_views, "CUSTOMERS_PAGE_SIZE", 2)
    login(client, "mei@example.com")
    first = page(client)
    assert listed(first) == ["Li Na", "Sun Mei"]
    assert "Page 1 of 3" in first and 'href="/me/customers?page=2"' in first
    assert ">Previous<" not in first
    last = page(client, page=3)
    assert listed(last) == ["Zhao Lei"] and ">Next<" not in last
    fragment = client.get(
        "/me/customers?segment=first&page=2", headers={**EN, **hx}
    ).get_data(as_text=True)
    assert listed(fragment) == ["Wang Fang", "Zhao Lei"]
    assert "Page 2 of 2" in fragment
    assert 'hx-get="/me/customers?segment=first&amp;page=1"' in fragment


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ({"page": "abc"}, 404),
        ({"page": "-1"}, 404),
        ({"page": "0"}, 404),
        ({"page": "99999999999999999999999"}, 404),
        ({"page": "2.5"}, 404),
        ({"segment": "repeat", "page": "-5", "q": "  "}, 404),
        ({"q": "nul\x00byte"}, 400),
        ({"page": "99"}, 200),  # past the last page: the last page
        ({"segment": "bogus"}, 200),  # an unknown segment: everyone
        ({"segment": "<script>"}, 200),
        ({"q": "x" * 5000}, 200),  # searches its first 40 characters
        ({"q": "'\";--<b>"}, 200),
    ],
)
def test_bad_input_never_breaks_the_page(client, shops, args, status):
    login(client, "mei@example.com")
    for path in ("/me/customers", "/me/customers.csv"):
        response = client.get(path, query_string=args, headers=EN)
        assert response.status_code == status
    response = client.get("/me/customers", query_string=args, headers=EN)
    html = response.get_data(as_text=True)
    if status == 200:
        assert "From visitors to promoters" in html
        main = html.split("<main>", 1)[1].split("</main>", 1)[0]
        assert "<script>" not in main and "<b>" not in main
    else:
        assert "error-page" in html  # a page that says what went wrong


def test_bad_input_falls_back_to_something_sensible(client, shops):
    login(client, "mei@example.com")
    assert listed(page(client, segment="bogus")) == listed(page(client))
    assert 'value="' + "x" * 40 + '"' in page(client, q="x" * 5000)
    assert listed(page(client, page="99")) == listed(page(client))  # one page


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("all", "No customers yet."),
        ("first", "No one has bought exactly once."),
        ("repeat", "No repeat customers yet."),
        ("promoters", "No promoters yet."),
        ("lapsed", "Everyone has ordered in the last 60 days."),
    ],
)
def test_each_segment_has_its_empty_state(client, shops, segment, message):
    login(client, "lan@example.com")
    html = page(client, segment=segment)
    assert message in html and listed(html) == []
    assert "0 customers" in html
    assert "Download CSV" not in html  # nothing to download
    assert funnel(html)["Customers"] == "0"
    assert "has not bought in 60 days" not in html


def test_only_a_signed_in_seller_sees_customers(client, shops, operator):
    for path in ("/me/customers", "/me/customers.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "op@example.com")
    assert client.get("/me/customers").status_code == 403
    assert client.get("/me/customers.csv").status_code == 403


def test_orders_that_are_no_sales_do_not_make_customers(app, client, shops):
    with app.app_context():
        assert (
            db.session.scalar(
                select(Order.state).where(Order.customer_name == "Gu Hao")
            ).value
            == "cancelled"
        )
    login(client, "mei@example.com")
    html = page(client, q="Gu")
    assert listed(html) == [] and "139****0006" not in html
    wang = page(client, q="Wang").split("<strong>Wang Fang</strong>", 1)[1]
    assert "1 order" in wang.split("</li>", 1)[0]  # the unpaid one is not counted
