"""The ledger's pages: a seller's /me/earnings, and the operator's commission
settings, payouts, payout history and CSV; permissions and bad input."""

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import Role, User
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import Payout
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.settings import get_setting, set_setting
from storefront.shops.models import Shop
from storefront.timeutil import local_time
from tests.conftest import EN, login
from tests.ledger.conftest import after_window, balances, make_network

KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')


@dataclass
class Ids:
    mei: int
    qiang: int
    sarah: int
    order: int  #: Qiang's completed order


@pytest.fixture
def settled(app, operator) -> Ids:
    """Qiang sold 4 teas (¥50): ¥5.00 available to him, ¥1.00 to Mei; Qiang
    also has a ¥2.50 sale still pending."""
    with app.app_context():
        net = make_network(operator)
        order = net.completed(net.qiang, tea=4)
        ledger.settle_due(after_window())
        net.paid(net.qiang, tea=2)
        db.session.commit()
        return Ids(net.mei.id, net.qiang.id, net.sarah.id, order.id)


@pytest.fixture
def network(app, operator):
    """A function running ``body(network)`` in an app context, committed."""

    def run(body):
        with app.app_context():
            result = body(make_network(operator))
            db.session.commit()
            return result

    return run


def balances_of(app, shop_id: int) -> tuple[int, int, int]:
    with app.app_context():
        return balances(db.session.get(Shop, shop_id))


def payouts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Payout.id)))


def test_earnings_show_balances_and_every_line(client, settled):
    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert '<a href="/me/earnings" aria-current="page">Earnings</a>' in page
    amounts = re.findall(r"<dd[^>]*>([^<]+)</dd>", page)
    assert amounts == ["CN¥2.50", "CN¥5.00", "CN¥0.00"]  # pending, available, paid
    assert page.count("Commission (pending)") == 2
    assert "After-sale window passed: available" in page
    assert "10% of CN¥50.00" in page and "+CN¥5.00" in page


def test_recruiter_sees_the_level_two_line(client, settled):
    login(client, "mei@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert "2% of CN¥50.00: sold by Qiang, whom you recruited" in page
    assert re.findall(r"<dd[^>]*>([^<]+)</dd>", page) == [
        "CN¥0.50",
        "CN¥1.00",
        "CN¥0.00",
    ]


def test_a_seller_never_sees_another_sellers_lines(client, settled):
    login(client, "sarah@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert "No earnings yet" in page and "Commission (pending)" not in page


def test_earnings_settle_what_fell_due_on_read(client, network):
    def body(net):
        set_setting("AFTER_SALE_DAYS", 0)
        net.completed(net.qiang, tea=1)

    network(body)
    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert re.findall(r"<dd[^>]*>([^<]+)</dd>", page)[1] == "CN¥1.25"


def test_earnings_lines_page_with_htmx(client, network, hx):
    def body(net):
        for _ in range(16):  # 16 orders × 2 lines each (commission + release)
            net.completed(net.qiang, tea=1)
        ledger.settle_due(after_window())

    network(body)
    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert page.count('<li class="row">') == 30
    older = re.search(r'hx-get="(/me/earnings\?before=\d+)"', page).group(1)
    rest = client.get(older, headers={**EN, **hx}).get_data(as_text=True)
    assert "<html" not in rest and rest.count('<li class="row">') == 2
    assert "Older lines" not in rest
    for bad in ["x", "0", "-1", "99999999999"]:
        assert client.get(f"/me/earnings?before={bad}").status_code == 400


def test_earnings_need_a_shop(client, operator):
    assert client.get("/me/earnings").status_code == 302
    login(client, "op@example.com")
    assert client.get("/me/earnings").status_code == 403


def test_operator_changes_commission_settings(as_operator, app):
    page = as_operator.get("/admin/commissions", headers=EN).get_data(as_text=True)
    assert 'value="10"' in page and 'value="2"' in page
    response = as_operator.post(
        "/admin/commissions",
        data={
            "commission_bp": "12.5",
            "level2_commission_bp": "0",
            "after_sale_days": "14",
            "minimum_payout": "20",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert [
            get_setting(n)
            for n in (
                "COMMISSION_BP",
                "LEVEL2_COMMISSION_BP",
                "AFTER_SALE_DAYS",
                "MINIMUM_PAYOUT",
            )
        ] == [1250, 0, 14, 2000]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("commission_bp", "101", "Enter a percentage from 0 to 100."),
        ("commission_bp", "", "Enter a percentage from 0 to 100."),
        ("level2_commission_bp", "-2", "Enter a percentage from 0 to 100."),
        ("after_sale_days", "91", "Enter a number of days from 0 to 90."),
        ("after_sale_days", "-1", "Enter a number of days from 0 to 90."),
        ("after_sale_days", "1.5", "Enter a number of days from 0 to 90."),
        ("after_sale_days", "", "Enter a number of days from 0 to 90."),
        ("minimum_payout", "ten", "Enter an amount such as 12.50."),
    ],
)
def test_commission_settings_bad_input(as_operator, app, field, value, message):
    data = {
        "commission_bp": "15",
        "level2_commission_bp": "3",
        "after_sale_days": "7",
        "minimum_payout": "10",
        field: value,
    }
    response = as_operator.post("/admin/commissions", data=data, headers=EN)
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(message) == 1
    with app.app_context():
        assert get_setting("COMMISSION_BP") == 1000  # nothing saved


def payout_form(client, shop_id: int) -> str:
    page = client.get(f"/admin/payouts/{shop_id}", headers=EN).get_data(as_text=True)
    return KEY.search(page).group(1)


def test_operator_records_a_payout(app, client, settled):
    with app.app_context():
        set_setting("MINIMUM_PAYOUT", 300)
        db.session.commit()
    login(client, "op@example.com")
    listing = client.get("/admin/payouts", headers=EN).get_data(as_text=True)
    # Mei has ¥1.00 available, below the ¥3.00 minimum.
    assert "<strong>Qiang</strong>" in listing and "<strong>Mei</strong>" not in listing
    everyone = client.get("/admin/payouts?all=1", headers=EN).get_data(as_text=True)
    assert "<strong>Mei</strong>" in everyone
    key = payout_form(client, settled.qiang)
    data = {"amount": "5", "method": "WeChat Pay", "reference": "=TX42", "key": key}
    response = client.post(f"/admin/payouts/{settled.qiang}", data=data)
    assert response.status_code == 302
    again = client.post(f"/admin/payouts/{settled.qiang}", data=data)
    assert again.status_code == 302  # the same form twice: one payout
    assert balances_of(app, settled.qiang) == (250, 0, 500)
    assert payouts(app) == 1
    client.post("/logout")
    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert "Paid out" in page and "WeChat Pay · =TX42" in page
    client.post("/logout")
    login(client, "op@example.com")
    csv = client.get("/admin/payouts.csv")
    assert csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffdate,shop,seller,amount,currency,method,reference")
    assert ",5.00,CNY,WeChat Pay,'=TX42," in text  # a formula is neutralised
    with app.app_context():  # dated on the shop's clock, like every other CSV
        paid_at = db.session.scalar(select(Payout.at))
        assert text.splitlines()[1].startswith(local_time(paid_at) + ",")
    history = client.get("/admin/payouts/history", headers=EN).get_data(as_text=True)
    assert "1 payout" in history and "Qiang" in history
    with app.app_context():
        assert problems() == []


@pytest.mark.parametrize(
    "amount, method, message",
    [
        ("5.01", "Cash", "cannot be more than the available balance"),
        ("0.5", "Cash", "at least the minimum payout"),
        ("", "Cash", "Enter the amount paid."),
        ("abc", "Cash", "Enter an amount such as 12.50."),
        ("5", "", "Say how it was paid"),
        ("5", "x" * 41, "Say how it was paid"),
        ("99999999", "Cash", "Enter an amount such as 12.50."),
        ("-5", "Cash", "Enter an amount such as 12.50."),
    ],
)
def test_payout_bad_input(app, client, settled, amount, method, message):
    with app.app_context():
        set_setting("MINIMUM_PAYOUT", 100)
        db.session.commit()
    login(client, "op@example.com")
    key = payout_form(client, settled.qiang)
    response = client.post(
        f"/admin/payouts/{settled.qiang}",
        data={"amount": amount, "method": method, "reference": "", "key": key},
        headers=EN,
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert balances_of(app, settled.qiang) == (250, 500, 0)
    assert payouts(app) == 0


def test_the_operator_sees_an_orders_commission(client, network):
    def body(net):
        own = net.order(net.qiang, phone="139 0000 0002", tea=2)
        orders.mark_paid(own, net.operator)
        return net.paid(net.qiang, tea=2, nuts=1).id, own.id

    sale, own = network(body)
    login(client, "op@example.com")
    page = client.get(f"/admin/orders/{sale}", headers=EN).get_data(as_text=True)
    rows = re.findall(
        r'<div class="info">\s*([^<]+?)\s*<small>([^<]+)</small>\s*</div>\s*'
        r'<strong class="amount">([^<]+)</strong>',
        page,
    )
    assert rows == [
        ("Qiang", "Tea · 10%", "CN¥2.50"),
        ("Mei · recruiter", "Tea · 2%", "CN¥0.50"),
        ("Qiang", "Nuts · 12.5%", "CN¥4.16"),
        ("Mei · recruiter", "Nuts · 2%", "CN¥0.66"),
    ]
    page = client.get(f"/admin/orders/{own}", headers=EN).get_data(as_text=True)
    assert "Tea · own purchase" in page


def test_payout_without_its_form_key_says_reload(app, client, settled):
    login(client, "op@example.com")
    response = client.post(
        f"/admin/payouts/{settled.qiang}",
        data={"amount": "5", "method": "Cash", "reference": ""},
        headers=EN,
    )
    assert response.status_code == 422
    assert "This form has expired" in response.get_data(as_text=True)
    assert payouts(app) == 0


def test_payout_pages_are_for_operators_only(app, client, settled):
    urls = [
        "/admin/commissions",
        "/admin/payouts",
        f"/admin/payouts/{settled.qiang}",
        "/admin/payouts/history",
        "/admin/payouts.csv",
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to sign in
    login(client, "qiang@example.com")
    for url in urls:
        assert client.get(url).status_code == 403
    response = client.post(
        f"/admin/payouts/{settled.qiang}",
        data={"amount": "5", "method": "Cash", "key": "k"},
    )
    assert response.status_code == 403
    assert payouts(app) == 0
    client.post("/logout")
    login(client, "op@example.com")
    assert client.get("/admin/payouts/999").status_code == 404


def test_refund_after_payout_shows_a_clawback(app, client, settled):
    with app.app_context():
        set_setting("MINIMUM_PAYOUT", 100)
        operator = db.session.scalar(select(User).filter_by(role=Role.OPERATOR))
        ledger.record_payout(
            db.session.get(Shop, settled.qiang), 500, "Cash", "", operator, "p"
        )
        order = db.session.get(Order, settled.order)
        orders.refund(order, {order.lines[0].id: 2}, operator)
        db.session.commit()
    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert "Refund after settlement: clawed back" in page and "-CN¥2.50" in page
    assert re.findall(r"<dd[^>]*>([^<]+)</dd>", page)[1] == "-CN¥2.50"
    assert "taken from your next payout" in page


def test_a_seller_takes_every_ledger_line_as_csv(client, settled):
    import csv
    import io

    login(client, "qiang@example.com")
    page = client.get("/me/earnings", headers=EN).get_data(as_text=True)
    assert 'href="/me/earnings.csv" download' in page
    response = client.get("/me/earnings.csv", headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:2] == ["at", "what"] and "amount" in header
    amount = header.index("amount")
    assert [row[1] for row in rows].count("Commission (pending)") == 2
    assert sorted(row[amount] for row in rows if row[1] == "Commission (pending)") == [
        "2.50",
        "5.00",
    ]
    assert rows == sorted(rows, key=lambda row: row[0])  # oldest first
    client.post("/logout")
    login(client, "sarah@example.com")
    header, *others = list(
        csv.reader(io.StringIO(client.get("/me/earnings.csv").get_data(as_text=True)))
    )
    assert others == []  # nothing of Qiang's
