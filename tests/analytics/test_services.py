"""The analytics numbers on the hand-built fortnight of tests/analytics/conftest.py
(read its table first): each expected value is worked out in a comment.

WEEK is 03-04..03-10 (local days); the week before is 02-25..03-03.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from storefront.accounts.models import User
from storefront.analytics import services as analytics
from storefront.analytics.services import Day, Numbers, Period, Report
from storefront.extensions import db
from storefront.groupbuy.models import Group, GroupOffer, GroupState
from storefront.ledger import services as ledger
from storefront.ledger.models import AccountKind
from storefront.orders import services as orders
from storefront.settings import set_setting
from tests.analytics.conftest import TODAY, add_visit, e164, local

WEEK = Period(date(2026, 3, 4), date(2026, 3, 10))
BEFORE = Period(date(2026, 2, 25), date(2026, 3, 3))
#: Long before anything happened.
EMPTY = Period(date(2025, 6, 1), date(2025, 6, 7))
#: "Now" for the customer segments: a day after the week ends, at noon.
NOW = local(2026, 3, 11, 12)

#: The measures the dashboard shows, in the order of the decomposition.
MEASURES = (
    "visitors",
    "conversion",
    "average_order",
    "orders_per_buyer",
    "sales",
    "orders",
    "repeat_rate",
)


def d(day: int, month: int = 3) -> date:
    return date(2026, month, day)


# Periods


def test_last_days_ends_today_and_the_previous_period_adjoins():
    week = Period.last_days(7, today=TODAY)
    assert week == WEEK  # 03-10 − 6 days = 03-04
    assert week.days == 7
    assert week.each_day() == [d(n) for n in range(4, 11)]
    # 7 days just before, across the end of February (28 days in 2026).
    assert week.previous() == BEFORE
    assert week.previous().last + timedelta(days=1) == week.first
    assert week.previous().days == 7
    assert Period.last_days(1, today=TODAY) == Period(TODAY, TODAY)
    month = Period.last_days(30, today=TODAY)
    assert month.first == d(9, 2)  # 10 days of March + 20 of February
    assert month.previous() == Period(d(10, 1), d(8, 2))


def test_a_period_is_whole_days_on_the_shops_clock(app):
    # Asia/Shanghai is UTC+8: local midnight of 03-02 is 03-01 16:00 UTC.
    with app.app_context():
        day = Period(d(2), d(2))
        assert day.start == datetime(2026, 3, 1, 16, 0)
        assert day.end == datetime(2026, 3, 2, 16, 0)
        assert WEEK.start == datetime(2026, 3, 3, 16, 0)
        assert WEEK.end == datetime(2026, 3, 10, 16, 0)


def test_an_order_counts_on_its_local_day(data):
    # a1 at 2026-03-01 16:30 UTC is 03-02 00:30 in Shanghai: 03-02, not 03-01;
    # a2 at 15:59 UTC is 03-01 23:59: still 03-01.
    assert analytics.numbers(data.a, Period(d(2), d(2))) == Numbers(
        visitors=1,
        buyers=1,
        orders=1,
        sales=2500,  # prev1; Ann's tea×2
    )
    assert analytics.numbers(data.a, Period(d(1), d(1))) == Numbers(
        visitors=1,
        buyers=1,
        orders=1,
        sales=3000,  # fei; Fei's nuts
    )
    # The week's edges: a10 at local 03-04 00:00 and a5 at 03-10 23:59 are in;
    # a11 at local 03-11 00:00 (03-10 16:00 UTC) is out.
    days = {day.day: day for day in analytics.daily(data.a, WEEK)}
    assert (days[d(4)].orders, days[d(4)].sales) == (1, 1250)
    assert (days[d(10)].orders, days[d(10)].sales) == (1, 5000)
    nextday = analytics.numbers(data.a, Period(d(11), d(11)))
    assert (nextday.orders, nextday.sales, nextday.visitors) == (1, 1250, 1)


# The four numbers


def test_one_shops_week(data):
    numbers = analytics.numbers(data.a, WEEK)
    # Visitors: ann (3 days, once), bo, cai, dan, eve, idle1, idle2, idle3 = 8;
    # ann's 03-03, prev1, fei are the week before, after1 the day after.
    # Sales: a3 1250 + a4 3000 + a5 5000 + a6 (6300 − 2050 refunded) 4250
    # + a10 1250 = 14750 in 5 orders; shipping never counts; not a7 (all
    # refunded), a8 (cancelled), a9 (pending), a11 (next day).
    # Buyers: Ann, Bo, Cai, Eve = 4. Repeat: Ann (a1 before the week) and Bo
    # (a4 and a5 in it) = 2; Cai's earlier h1 is a house sale, Eve's a11 later.
    assert numbers == Numbers(
        visitors=8, buyers=4, orders=5, sales=14750, repeat_buyers=2
    )
    assert numbers.conversion == 0.5  # 4 / 8
    assert numbers.average_order == 2950  # 14750 / 5
    assert numbers.orders_per_buyer == 1.25  # 5 / 4
    assert numbers.repeat_rate == 0.5  # 2 / 4
    identity = (
        numbers.visitors
        * numbers.conversion
        * numbers.average_order
        * numbers.orders_per_buyer
    )
    assert identity == pytest.approx(numbers.sales)


def test_the_week_before(data):
    # Visitors ann (03-03), prev1, fei = 3; a1 2500 (Ann) + a2 3000 (Fei);
    # nobody had bought before 02-25 (a0 was Gao's), nobody twice.
    assert analytics.numbers(data.a, BEFORE) == Numbers(
        visitors=3, buyers=2, orders=2, sales=5500, repeat_buyers=0
    )


def test_another_shops_week(data):
    numbers = analytics.numbers(data.b, WEEK)
    # Visitors ann-b, hui, bo = 3; b1 10000 (Ann) + b2 2400 (Hui); Hui bought
    # b3 before; Ann's orders in shop A do not make her a repeat buyer of B.
    assert numbers == Numbers(
        visitors=3, buyers=2, orders=2, sales=12400, repeat_buyers=1
    )
    assert numbers.conversion == pytest.approx(2 / 3)
    assert numbers.average_order == 6200
    assert numbers.orders_per_buyer == 1
    assert numbers.repeat_rate == 0.5
    identity = (
        numbers.visitors
        * numbers.conversion
        * numbers.average_order
        * numbers.orders_per_buyer
    )
    assert identity == pytest.approx(12400)


def test_all_shops_add_up_without_house_sales(data):
    numbers = analytics.numbers(None, WEEK)
    # Orders and sales add up: 5 + 2 orders, 14750 + 12400; h2 (house, 03-08)
    # is not counted. People are counted once across shops: bo visited both
    # (8 + 3 − 1 = 10 visitors) and Ann bought in both (4 + 2 − 1 = 5 buyers).
    # Repeat: Ann (a1 before, and twice in the week), Bo, Hui (b3 before) = 3;
    # not Eve, whose second order that week is h2, a house sale.
    assert numbers == Numbers(
        visitors=10, buyers=5, orders=7, sales=27150, repeat_buyers=3
    )
    a, b = analytics.numbers(data.a, WEEK), analytics.numbers(data.b, WEEK)
    assert numbers.orders == a.orders + b.orders
    assert numbers.sales == a.sales + b.sales
    identity = (
        numbers.visitors
        * numbers.conversion
        * numbers.average_order
        * numbers.orders_per_buyer
    )
    assert identity == pytest.approx(27150)
    # The week before: a1 + a2; h1 (Cai, house, 03-01) is not a sale of any shop.
    assert analytics.numbers(None, BEFORE) == Numbers(
        visitors=3, buyers=2, orders=2, sales=5500
    )


def test_a_refund_after_the_week_changes_its_sales(data):
    # Sales are what was kept: refund Bo's a4 (03-06) wholly and the week
    # loses it (14750 − 3000), Bo is left with one order, so not a repeat.
    orders.refund_all(data.order("a4"), db.session.get(User, data.operator))
    assert analytics.numbers(data.a, WEEK) == Numbers(
        visitors=8, buyers=4, orders=4, sales=11750, repeat_buyers=1
    )


def test_nothing_to_count_gives_zeros_and_no_ratios(data):
    for shop_id, period in [(data.a, EMPTY), (data.c, WEEK), (None, EMPTY)]:
        numbers = analytics.numbers(shop_id, period)
        assert numbers == Numbers(0, 0, 0, 0, 0)
        assert numbers.conversion is None
        assert numbers.average_order is None
        assert numbers.orders_per_buyer is None
        assert numbers.repeat_rate is None
        report = analytics.report(shop_id, period)
        for measure in MEASURES:
            assert report.change(measure) is None
        assert [day.orders for day in report.days] == [0] * 7
        assert report.series("conversion") == [None] * 7


def test_visitors_without_buyers_convert_at_zero(data):
    # Only idle1, idle2, idle3 came on 03-08: conversion 0, other ratios None.
    numbers = analytics.numbers(data.a, Period(d(8), d(8)))
    assert numbers == Numbers(visitors=3)
    assert numbers.conversion == 0
    assert numbers.average_order is None
    assert numbers.orders_per_buyer is None
    assert numbers.repeat_rate is None


# Report: the change from the period before


def test_change_from_the_week_before(data):
    report = analytics.report(data.a, WEEK)
    assert report.now == analytics.numbers(data.a, WEEK)
    assert report.before == analytics.numbers(data.a, BEFORE)
    assert report.change("orders") == 1.5  # 2 → 5
    assert report.change("buyers") == 1.0  # 2 → 4
    assert report.change("visitors") == pytest.approx(5 / 3)  # 3 → 8
    assert report.change("sales") == pytest.approx(9250 / 5500)  # 5500 → 14750
    # 2/3 → 1/2: down a quarter.
    assert report.change("conversion") == pytest.approx(-0.25)
    # 5500/2 = 2750 → 2950.
    assert report.change("average_order") == pytest.approx(200 / 2750)
    # The repeat rate was 0 (0 of 2): nothing to compare with.
    assert report.before.repeat_rate == 0
    assert report.change("repeat_rate") is None


def test_no_change_from_a_period_without_sales(data):
    # Shop B had no visitors or sales the week before.
    report = analytics.report(data.b, WEEK)
    assert report.before == Numbers()
    for measure in MEASURES:
        assert report.change(measure) is None
    # And a fall to nothing is −100%.
    after = analytics.report(data.b, Period(d(11), d(17)))
    assert after.now == Numbers()
    assert after.change("sales") == -1.0
    assert after.change("visitors") == -1.0


def test_change_is_relative():
    report = Report(WEEK, Numbers(sales=15), Numbers(sales=10), [])
    assert report.change("sales") == 0.5
    assert Report(WEEK, Numbers(sales=5), Numbers(sales=10), []).change("sales") == -0.5
    assert Report(WEEK, Numbers(), Numbers(), []).change("sales") is None


# Day by day


def test_daily_puts_everything_on_its_local_day(data):
    # (visitors, buyers, orders, sales) per day of shop A:
    #   03-04 ann, eve; a10            03-05 ann, dan; a3 (a7 refunded)
    #   03-06 ann, bo; a4 (a8 cancelled)  03-07 cai; a6
    #   03-08 idle1–3; nothing sold    03-09 nobody; a9 pending only
    #   03-10 bo; a5 at 23:59
    assert analytics.daily(data.a, WEEK) == [
        Day(2, 1, 1, 1250, day=d(4)),
        Day(2, 1, 1, 1250, day=d(5)),
        Day(2, 1, 1, 3000, day=d(6)),
        Day(1, 1, 1, 4250, day=d(7)),
        Day(3, 0, 0, 0, day=d(8)),
        Day(0, 0, 0, 0, day=d(9)),
        Day(1, 1, 1, 5000, day=d(10)),
    ]
    report = analytics.report(data.a, WEEK)
    assert report.days == analytics.daily(data.a, WEEK)
    assert report.series("sales") == [1250, 1250, 3000, 4250, 0, 0, 5000]
    assert report.series("conversion") == [0.5, 0.5, 0.5, 1.0, 0.0, None, 1.0]
    assert report.series("average_order") == [1250, 1250, 3000, 4250, None, None, 5000]
    assert sum(report.series("sales")) == report.now.sales


def test_daily_across_all_shops(data):
    days = {day.day: day for day in analytics.daily(None, WEEK)}
    # 03-06: ann, bo (A), ann-b (B); a4 Bo 3000 + b1 Ann 10000.
    assert days[d(6)] == Day(3, 2, 2, 13000, day=d(6))
    # 03-08: idle1–3; h2 is a house sale.
    assert days[d(8)] == Day(3, 0, 0, 0, day=d(8))
    # 03-09: hui (B); b2 2400.
    assert days[d(9)] == Day(1, 1, 1, 2400, day=d(9))
    assert sum(day.sales for day in days.values()) == 27150


# What sold and what brought the visitors


def sold(rows):
    return [(row.product.name, row.visitors, row.units, row.sales) for row in rows]


def test_top_products_by_sales_net_of_refunds(data):
    # nuts: a4 + a6 = 2 units, 6000; seen by bo.
    # honey: a5 = 1 unit, 5000 (a7 refunded); seen by dan and bo.
    # tea: a3 1 + a6 (2 − 1 refunded) + a10 1 = 3 units, 3750; seen by eve, idle3.
    # jam: a6's only jam was refunded: 0 units, not listed (B's jam is B's).
    assert sold(analytics.top_products(data.a, WEEK)) == [
        ("Nuts", 1, 2, 6000),
        ("Honey", 2, 1, 5000),
        ("Tea", 2, 3, 3750),
    ]
    assert sold(analytics.top_products(data.a, WEEK, limit=2)) == [
        ("Nuts", 1, 2, 6000),
        ("Honey", 2, 1, 5000),
    ]
    # Week before: a2 nuts 3000 (seen by fei on 03-01), a1 tea×2 2500 (unseen).
    assert sold(analytics.top_products(data.a, BEFORE)) == [
        ("Nuts", 1, 1, 3000),
        ("Tea", 0, 2, 2500),
    ]
    # Shop B: b1 honey×2 10000 (ann-b), b2 jam×3 2400 (hui).
    assert sold(analytics.top_products(data.b, WEEK)) == [
        ("Honey", 1, 2, 10000),
        ("Jam", 1, 3, 2400),
    ]
    assert analytics.top_products(data.c, WEEK) == []
    assert analytics.top_products(data.a, EMPTY) == []


def landed(rows):
    return [
        (row.key, row.product.name if row.product else None, row.visitors, row.orders)
        for row in rows
    ]


def test_landing_pages(data):
    # Shop page: ann, cai, idle1, idle2 = 4; their orders a3 (ann), a6 (cai).
    # Tea: eve, idle3 = 2; a10 (a11 is after the week).
    # Honey: dan, bo = 2; bo's a4 and a5 (Dan's orders are no sales).
    # Nuts: bo = 1; a4 and a5: a visitor's orders count where they landed.
    # Tea and honey tie on visitors: the lower product id (tea) first.
    assert landed(analytics.landing_pages(data.a, WEEK)) == [
        (None, None, 4, 2),
        (data.tea, "Tea", 2, 1),
        (data.honey, "Honey", 2, 2),
        (data.nuts, "Nuts", 1, 2),
    ]
    rows = analytics.landing_pages(data.a, WEEK)
    assert [row.conversion for row in rows] == [0.5, 0.5, 1.0, 2.0]
    assert landed(analytics.landing_pages(data.a, WEEK, limit=2)) == [
        (None, None, 4, 2),
        (data.tea, "Tea", 2, 1),
    ]
    # Shop B (one visitor each, in no particular order): bo's orders are A's.
    assert sorted(
        landed(analytics.landing_pages(data.b, WEEK)), key=lambda row: row[0] or 0
    ) == [
        (None, None, 1, 0),
        (data.honey, "Honey", 1, 1),
        (data.jam, "Jam", 1, 1),
    ]
    assert analytics.landing_pages(data.c, WEEK) == []


def channels(rows):
    return [(row.key, row.visitors, row.orders) for row in rows]


def test_channels(data):
    # link: ann, dan, idle1 = 3; a3.
    # qr: bo, idle3 = 2; a4, a5.
    # customer (a sharer's code, whatever the channel): cai, eve (by QR),
    # idle2 = 3; a6, a10. h2 came from eve's browser too, but is a house sale.
    assert channels(analytics.channels(data.a, WEEK)) == [
        ("link", 3, 1),
        ("qr", 2, 2),
        ("customer", 3, 2),
    ]
    # Shop B: link ann-b (b1), bo (A's orders); no QR; hui by Ann's share (b2).
    assert channels(analytics.channels(data.b, WEEK)) == [
        ("link", 2, 1),
        ("qr", 0, 0),
        ("customer", 1, 1),
    ]
    assert [row.conversion for row in analytics.channels(data.b, WEEK)] == [
        0.5,
        None,
        1.0,
    ]
    # Nothing: every channel still listed.
    assert channels(analytics.channels(data.c, WEEK)) == [
        ("link", 0, 0),
        ("qr", 0, 0),
        ("customer", 0, 0),
    ]


# Customers


def people(customers):
    return [
        (
            c.name,
            c.phone,
            c.first_order,
            c.last_order,
            c.orders,
            c.spent,
            c.brought_visitors,
            c.brought_orders,
        )
        for c in customers
    ]


def names(rows) -> list[str]:
    return [c.name for c in rows]


def first_names(rows) -> list[str]:
    return [c.name.split()[0] for c in rows]


def test_customers_of_a_shop(data):
    found = analytics.customers(data.a, now=NOW)
    # Every visitor ever: the week's 8, ann's 03-03 again, prev1, fei, after1.
    assert found.visitors == 11
    # Latest order first. Ann's latest name is "Annie Li"; Cai's net spend is
    # 4250 and her house order h1 is not the shop's; Dan bought nothing.
    # Ann's share brought ann herself (03-03), cai and eve: 3 visitors; their
    # orders a6, a10, a11 count, her own a1 and a3 do not. Bo's brought idle2.
    assert people(found.people) == [
        ("Eve Sun", e164("eve"), local(2026, 3, 4, 0, 0), local(2026, 3, 11, 0, 0),
         2, 2500, 0, 0),
        ("Bo Chen", e164("bo"), local(2026, 3, 6, 9), local(2026, 3, 10, 23, 59),
         2, 8000, 1, 0),
        ("Cai Wu", e164("cai"), local(2026, 3, 7, 11), local(2026, 3, 7, 11),
         1, 4250, 0, 0),
        ("Annie Li", e164("ann"), datetime(2026, 3, 1, 16, 30), local(2026, 3, 5, 10),
         2, 3750, 3, 3),
        ("Fei Zhang", e164("fei"), datetime(2026, 3, 1, 15, 59),
         datetime(2026, 3, 1, 15, 59), 1, 3000, 0, 0),
        ("Gao Yu", e164("gao"), local(2025, 12, 1, 10), local(2025, 12, 1, 10),
         1, 1250, 0, 0),
    ]  # fmt: skip
    everyone = ["Eve", "Bo", "Cai", "Annie", "Fei", "Gao"]
    assert first_names(found.segment("all")) == everyone
    assert first_names(found.segment("first")) == ["Cai", "Fei", "Gao"]
    assert first_names(found.segment("repeat")) == ["Eve", "Bo", "Annie"]
    assert first_names(found.segment("promoters")) == ["Bo", "Annie"]
    # Lapsed: last order before 60 days ago (2026-01-10 12:00): only Gao.
    assert first_names(found.segment("lapsed")) == ["Gao"]
    assert found.counts() == {
        "all": 6,
        "first": 3,
        "repeat": 3,
        "promoters": 2,
        "lapsed": 1,
    }
    gao = found.people[-1]
    assert not gao.is_lapsed(gao.last_order + timedelta(days=60))
    assert gao.is_lapsed(gao.last_order + timedelta(days=60, seconds=1))
    assert found.people[3].masked_phone == "138****0010"


def test_customers_stay_with_their_shop(data):
    found = analytics.customers(data.b, now=NOW)
    # Ann bought in both shops: here she is "Ann Wang" with B's one order, and
    # her share brought hui, whose b2 counts (b3 came from no browser).
    assert found.visitors == 3  # ann-b, hui, bo
    assert people(found.people) == [
        ("Hui Lin", e164("hui"), local(2026, 2, 20, 10), local(2026, 3, 9, 8),
         2, 3200, 0, 0),
        ("Ann Wang", e164("ann"), local(2026, 3, 6, 15), local(2026, 3, 6, 15),
         1, 10000, 1, 1),
    ]  # fmt: skip
    assert found.counts() == {
        "all": 2,
        "first": 1,
        "repeat": 1,
        "promoters": 1,
        "lapsed": 0,
    }
    a_phones = {c.phone for c in analytics.customers(data.a, now=NOW).people}
    assert e164("hui") not in a_phones
    # B's share visit (hui) did not add to Ann's count in shop A (3, above).
    ann_in_a = [c for c in analytics.customers(data.a).people if c.phone == e164("ann")]
    assert (ann_in_a[0].orders, ann_in_a[0].brought_visitors) == (2, 3)


def test_a_shop_without_customers(data):
    found = analytics.customers(data.c, now=NOW)
    assert found.visitors == 0
    assert found.people == []
    assert found.counts() == dict.fromkeys(analytics.SEGMENTS, 0)


def test_customer_rows_for_the_spreadsheet(data):
    found = analytics.customers(data.a, now=NOW)
    assert analytics.customer_rows(found.people[:1]) == [
        # Eve: local days of her first and last orders, ¥25.00 in 2 orders.
        ["Eve Sun", "138****0014", "2026-03-04", "2026-03-11", 2, Decimal("25.00"),
         0, 0],
    ]  # fmt: skip
    assert len(analytics.CUSTOMER_COLUMNS) == len(
        analytics.customer_rows(found.people)[0]
    )


def test_search_by_name_or_last_digits(data):
    everyone = analytics.customers(data.a, now=NOW).people
    assert analytics.search(everyone, "") == everyone
    assert names(analytics.search(everyone, "annie")) == ["Annie Li"]
    assert names(analytics.search(everyone, "ZHANG")) == ["Fei Zhang"]
    assert names(analytics.search(everyone, "an")) == ["Annie Li", "Fei Zhang"]
    # The end of a number, as remembered: 138 1234 5678 is Fei's.
    assert names(analytics.search(everyone, "5678")) == ["Fei Zhang"]
    assert names(analytics.search(everyone, "56 78")) == ["Fei Zhang"]
    assert names(analytics.search(everyone, "010")) == ["Annie Li"]
    assert names(analytics.search(everyone, "001")) == []  # no number ends so
    # Fewer than 3 digits is too little to go by: "10" matches no one.
    assert names(analytics.search(everyone, "10")) == []
    assert analytics.search(everyone, "nobody") == []


# Across shops, for the operator


def board(rows):
    return [(row.shop.name, row.numbers, row.owed) for row in rows]


def counts(numbers: Numbers) -> tuple[int, int, int, int]:
    return numbers.visitors, numbers.buyers, numbers.orders, numbers.sales


def test_leaderboard(data):
    # Commission, 10% of each paid line net of refunds, rounded down, all time:
    # A: a0 125 + a1 250 + a2 300 + a3 125 + a4 300 + a5 500
    #    + a6 (tea 1250 net → 125, nuts 300, jam 0) 425 + a7 0 (refunded)
    #    + a10 125 + a11 125 = 2275
    # B: b1 1000 + b2 240 + b3 80 = 1320. House sales earn no one anything.
    rows = analytics.leaderboard(WEEK)
    assert [(row.shop.name, counts(row.numbers), row.owed) for row in rows] == [
        ("Mei", (8, 4, 5, 14750), 2275),
        ("Qiang", (3, 2, 2, 12400), 1320),
    ]
    assert ledger.balances_of([data.a])[data.a][AccountKind.PENDING] == 2275
    # Released (available) still owed; paid out no longer: release a0 and a5
    # (125 + 500 available), pay out 600 of it.
    ledger.release(data.orders["a0"])
    ledger.release(data.orders["a5"])
    set_setting("MINIMUM_PAYOUT", 100)
    operator = db.session.get(User, data.operator)
    ledger.record_payout(data.shop("a"), 600, "bank", "", operator, "payout-1")
    assert ledger.balances_of([data.a])[data.a] == {
        AccountKind.PENDING: 1650,
        AccountKind.AVAILABLE: 25,
        AccountKind.PAID_OUT: 600,
    }
    assert [row.owed for row in analytics.leaderboard(WEEK)] == [1675, 1320]


def test_leaderboard_numbers_agree_with_each_shops_dashboard(data):
    # A shop's row shows what its own dashboard shows, repeat buyers included:
    # A has Ann and Bo of 4 buyers, B has Hui of 2 (see the tests above).
    rows = analytics.leaderboard(WEEK)
    for row in rows:
        assert row.numbers == analytics.numbers(row.shop.id, WEEK)
    assert [row.numbers.repeat_rate for row in rows] == [0.5, 0.5]


def test_leaderboard_lists_shops_with_visitors_or_sales(data):
    # The week before: only A (a1, a2; ann, prev1, fei). C and B: nothing.
    assert board(analytics.leaderboard(BEFORE)) == [
        ("Mei", Numbers(visitors=3, buyers=2, orders=2, sales=5500), 2275),
    ]
    # A visit alone puts C on the board, below the shops that sold.
    add_visit(data.c, "someone", d(9))
    assert board(analytics.leaderboard(WEEK))[2] == ("Lan", Numbers(visitors=1), 0)
    assert analytics.leaderboard(EMPTY) == []


def test_group_results(data):
    now = datetime(2026, 3, 5, 4, 0)

    def offer() -> GroupOffer:
        item = GroupOffer(
            product_id=data.tea,
            group_price=990,
            size=3,
            window_hours=24,
            per_customer=2,
            starts_at=now - timedelta(days=30),
            ends_at=now + timedelta(days=30),
        )
        db.session.add(item)
        db.session.flush()
        return item

    first, second, third = offer(), offer(), offer()
    groups = [
        # first: 2 succeeded, 1 failed, 1 open in the week; one more succeeded
        # the minute before it began (local 03-03 23:59) — not counted.
        (first, GroupState.SUCCEEDED, WEEK.start),  # local 03-04 00:00
        (first, GroupState.SUCCEEDED, local(2026, 3, 8)),
        (first, GroupState.FAILED, local(2026, 3, 6)),
        (first, GroupState.OPEN, WEEK.end - timedelta(minutes=1)),
        (first, GroupState.SUCCEEDED, WEEK.start - timedelta(minutes=1)),
        # second: only open groups: no rate yet.
        (second, GroupState.OPEN, local(2026, 3, 9)),
        (second, GroupState.OPEN, local(2026, 3, 10)),
        # third: opened the day after the week.
        (third, GroupState.FAILED, WEEK.end),
    ]
    for n, (item, state, opened) in enumerate(groups):
        db.session.add(
            Group(
                code=f"g{n}",
                offer_id=item.id,
                shop_id=data.a,
                size=3,
                group_price=990,
                seats_taken=3 if state is GroupState.SUCCEEDED else 1,
                state=state,
                opened_at=opened,
                deadline=opened + timedelta(hours=24),
            )
        )
    db.session.flush()
    results = analytics.group_results(WEEK)
    assert [
        (r.offer.id, r.succeeded, r.failed, r.open, r.success_rate) for r in results
    ] == [
        (first.id, 2, 1, 1, pytest.approx(2 / 3)),
        (second.id, 0, 0, 2, None),
    ]
    assert analytics.group_results(EMPTY) == []
