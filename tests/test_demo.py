"""The demo command: loads a browsable shop once, prints its URLs and logins."""

from storefront.accounts.models import User
from storefront.analytics import services as analytics
from storefront.catalog.models import Category, Product, ProductImage
from storefront.demo import GROUPS, HISTORY_ORDERS, ORDERS
from storefront.extensions import db
from storefront.groupbuy.models import Group, GroupMember, GroupOffer, GroupState
from storefront.ledger import services as ledger
from storefront.ledger.reconcile import problems
from storefront.orders.models import Order, OrderState
from storefront.settings import get_setting
from storefront.shops.models import Shop, Visit
from tests.conftest import login


def counts(app):
    with app.app_context():
        return [
            db.session.query(m).count() for m in (User, Category, Product, ProductImage)
        ]


def test_demo_is_idempotent_and_prints_logins(app, runner, client):
    first = runner.invoke(args=["demo", "--base-url", "http://shop.test"])
    assert first.exit_code == 0, first.output
    loaded = counts(app)
    assert loaded[0] == 4 and loaded[1] >= 6 and loaded[2] >= 30
    assert loaded[3] == loaded[2]  # every product has a photo
    again = runner.invoke(args=["demo", "--base-url", "http://shop.test"])
    assert again.exit_code == 0 and counts(app) == loaded
    lines = first.output.splitlines()
    assert "shop: http://shop.test/" in lines
    assert "seller shop: http://shop.test/s/mei" in lines
    logins = [
        line.split() for line in lines if line.startswith(("operator:", "seller:"))
    ]
    assert [words[0] for words in logins] == [
        "operator:",
        "seller:",
        "seller:",
        "seller:",
    ]
    for _role, email, _label, password in logins:
        assert login(client, email, password).status_code == 302
        client.post("/logout")
    with app.app_context():
        names = db.session.scalars(db.select(Product.name)).all()
        shops = db.session.scalars(db.select(Shop).order_by(Shop.id)).all()
        assert [s.slug for s in shops] == ["mei", "qiang", "sarah"]
        assert [s.recruiter.slug if s.recruiter else None for s in shops] == [
            None,
            "mei",
            "qiang",
        ]
        assert all(s.avatar_key and s.items for s in shops)
        assert any(item.note for item in shops[0].items)
        visits = db.session.scalar(db.select(db.func.count(Visit.id)))
        days = db.session.scalar(db.select(db.func.count(db.distinct(Visit.day))))
        assert visits > 1000 and days >= 90  # months of visits for the charts
        states = set(db.session.scalars(db.select(Order.state)))
        assert states == set(OrderState)  # an order in every state
        group_orders = sum(len(members) for _p, _s, _a, members, *_ in GROUPS)
        history = len(shops) * HISTORY_ORDERS
        assert (
            db.session.scalar(db.select(db.func.count(Order.id)))
            == len(ORDERS) + group_orders + history
        )
        # Each shop's dashboard and customers have months of history to show.
        for shop in shops:
            report = analytics.report(shop.id, analytics.Period.last_days(90))
            assert report.now.visitors and report.now.orders and report.before.orders
            assert report.now.repeat_buyers and report.now.conversion
            assert all(c.visitors for c in analytics.channels(shop.id, report.period))
            segments = analytics.customers(shop.id).counts()
            assert all(segments.values()), segments
        # Earnings in every stage, and a ledger that reconciles.
        owed = {shop.slug: ledger.balances(shop) for shop in shops}
        assert owed["mei"][ledger.A.PAID_OUT] > 0
        assert all(o[ledger.A.PENDING] > 0 for o in owed.values())
        assert all(o[ledger.A.AVAILABLE] > 0 for o in owed.values())
        assert problems() == []
        reasons = {ledger.reason(p) for s in shops for p in ledger.earnings_lines(s)}
        assert "Refund after settlement: clawed back" in reasons
        assert "Refund: commission reversed" in reasons
        # A customer paying by transfer is told where to (the operator's own
        # text is never overwritten by loading the demo again).
        assert "6222 0000 1234 5678" in get_setting("PAYMENT_INSTRUCTIONS")
    assert any("茶" in n for n in names) and any("tea" in n for n in names)
    assert counts(app)[:3] == loaded[:3]


def test_demo_has_a_group_buy_in_every_state(app, runner):
    for _ in range(2):  # loading again adds no offer, group or order
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        offers = db.session.scalars(db.select(GroupOffer)).all()
        assert len(offers) == 2
        assert all(o.group_price < o.product.price and o.size == 3 for o in offers)
        found = {g.state: g for g in db.session.scalars(db.select(Group))}
        assert set(found) == set(GroupState)
        assert db.session.scalar(db.select(db.func.count(Group.id))) == len(GROUPS)
        open_group = found[GroupState.OPEN]
        assert open_group.shop.slug == "mei"
        assert 1 <= open_group.seats_taken < open_group.size
        assert all(m.order.group_hold for m in open_group.members)
        succeeded = found[GroupState.SUCCEEDED]
        assert succeeded.seats_taken == succeeded.size == 3
        assert not any(m.order.group_hold for m in succeeded.members)
        assert OrderState.PAID in {m.order.state for m in succeeded.members}
        failed = found[GroupState.FAILED]
        assert {m.order.state for m in failed.members} == {
            OrderState.REFUNDED,
            OrderState.CANCELLED,
        }
        assert db.session.scalar(db.select(db.func.count(GroupMember.id))) == sum(
            len(members) for _p, _s, _a, members, *_ in GROUPS
        )
        assert problems() == []
    reconcile = runner.invoke(args=["reconcile"])
    assert reconcile.exit_code == 0, reconcile.output


def test_demo_if_empty_leaves_a_real_shop_alone(app, runner, operator):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert "demo data not loaded" in result.output
    assert counts(app) == [1, 0, 0, 0]
