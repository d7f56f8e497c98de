"""Group-buy rules: offers, seats, success, failure at the deadline (to the
second), leaving, and failing exactly once however many look at once."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupMember, GroupState
from storefront.ledger import services as ledger
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderEvent, OrderState
from storefront.timeutil import utcnow
from tests import factories
from tests.groupbuy.conftest import make_offer, seat

G = GroupState
S = OrderState


def operator(user_id: int) -> User:
    return db.session.get(User, user_id)


def stock() -> int:
    return db.session.scalar(select(Product.stock).filter_by(slug="tea"))


def started(offer, name="Ann", shop=None, now=None) -> Group:
    order = groups.start_group(offer, seat(name), shop, now)
    return groups.group_of(order).group


@pytest.mark.parametrize(
    "change, message",
    [
        ({"group_price": 1250}, "below the product's price"),
        ({"group_price": 0}, "below the product's price"),
        ({"size": 1}, "2 to 10 people"),
        ({"size": 11}, "2 to 10 people"),
        ({"window_hours": 0}, "1 to 168 hours"),
        ({"per_customer": 0}, "1 to 99"),
        ({"ends_at": utcnow() - timedelta(days=2)}, "end after it starts"),
    ],
)
def test_offer_validation(app, change, message):
    with app.app_context(), pytest.raises(groups.GroupError, match=message):
        make_offer(**change)


def test_start_opens_a_group_with_the_leaders_order(offer):
    now = utcnow()
    order = groups.start_group(offer, seat("Ann", quantity=2), None, now)
    group = groups.group_of(order).group
    assert (group.state, group.seats_taken, group.size) == (G.OPEN, 1, 3)
    assert group.deadline == now + timedelta(hours=24)
    assert len(group.code) >= 8
    assert [(line.unit_price, line.quantity) for line in order.lines] == [(990, 2)]
    assert order.subtotal == 1980 and order.group_hold
    assert stock() == 18


def test_an_order_waits_for_its_group_before_shipping(offer, operator):
    order = groups.start_group(offer, seat("Ann"), None)
    orders.mark_paid(order, operator_user := db.session.get(User, operator))
    with pytest.raises(orders.OrderError, match="waits for its group"):
        orders.ship(order, "SF", "SF1", operator_user)


def test_the_last_seat_makes_a_success_and_frees_the_orders(offer, operator):
    group = started(offer)
    groups.join_group(group, seat("Bo"))
    assert group.state is G.OPEN and group.seats_left == 1
    last = groups.join_group(group, seat("Cai"))
    assert group.state is G.SUCCEEDED and group.seats_left == 0
    assert all(not m.order.group_hold for m in group.members)
    orders.mark_paid(last, db.session.get(User, operator))
    orders.ship(last, "SF", "SF1", db.session.get(User, operator))
    with pytest.raises(groups.GroupFull, match="full"):
        groups.join_group(group, seat("Dan"))
    assert stock() == 17


def test_one_seat_per_phone_and_the_leader_takes_one(offer):
    group = started(offer, "Ann")
    with pytest.raises(groups.GroupError, match="already in this group"):
        groups.join_group(group, seat("Ann"))
    groups.join_group(group, seat("Bo"))
    with pytest.raises(groups.GroupError, match="already in this group"):
        groups.join_group(group, seat("Bo"))
    assert group.seats_taken == 2


def test_the_same_form_twice_takes_one_seat(offer):
    group = started(offer)
    first = groups.join_group(group, seat("Bo", key="form-1-abcdefgh"))
    again = groups.join_group(group, seat("Bo", key="form-1-abcdefgh"))
    assert again.id == first.id and group.seats_taken == 2


def test_quantity_over_the_limit_is_refused(offer):
    with pytest.raises(groups.GroupError, match="at most 2"):
        groups.start_group(offer, seat("Ann", quantity=3), None)


def test_no_new_group_outside_the_offer(app):
    with app.app_context():
        ended = make_offer(
            ends_at=utcnow() - timedelta(seconds=1),
            starts_at=utcnow() - timedelta(days=3),
        )
        with pytest.raises(groups.GroupClosed, match="offer has ended"):
            groups.start_group(ended, seat("Ann"), None)
        ended.active, ended.ends_at = False, utcnow() + timedelta(days=1)
        with pytest.raises(groups.GroupClosed):
            groups.start_group(ended, seat("Ann"), None)
        ended.active = True
        ended.product.price = 900  # the catalog now sells it for less
        with pytest.raises(groups.GroupClosed):
            groups.start_group(ended, seat("Ann"), None)
        assert groups.live_offer(ended.product) is None


def test_a_join_at_the_last_second_counts_and_one_after_does_not(offer, operator):
    now = utcnow()
    group = started(offer, now=now)
    deadline = group.deadline
    groups.join_group(group, seat("Bo"), now=deadline - timedelta(seconds=1))
    assert group.seats_taken == 2 and group.state is G.OPEN
    with pytest.raises(groups.GroupClosed, match="ended"):
        groups.join_group(group, seat("Cai"), now=deadline + timedelta(seconds=1))
    assert group.state is G.FAILED  # the late joiner's look failed it
    assert group.seats_taken == 2


def test_a_failed_group_cancels_and_refunds_and_reverses_commission(offer, operator):
    shop = factories.shop("mei@example.com", "Mei")
    op = db.session.get(User, operator)
    leader = groups.start_group(offer, seat("Ann", quantity=2), shop)
    group = groups.group_of(leader).group
    member = groups.join_group(group, seat("Bo"))
    orders.mark_paid(leader, op)  # Bo never pays
    assert ledger.account(shop.id, ledger.A.PENDING).balance == 198  # 10% of 19.80
    assert stock() == 17
    assert groups.expire(group, group.deadline + timedelta(seconds=1))
    assert group.state is G.FAILED and group.closed_at is not None
    assert (leader.state, member.state) == (S.REFUNDED, S.CANCELLED)
    assert leader.refunded == leader.total
    assert stock() == 20
    assert ledger.account(shop.id, ledger.A.PENDING).balance == 0
    assert not leader.group_hold and not member.group_hold
    assert problems() == []


def test_failing_twice_refunds_once(offer, operator):
    group = started(offer)
    orders.mark_paid(group.members[0].order, db.session.get(User, operator))
    later = group.deadline + timedelta(minutes=1)
    assert groups.expire(group, later) is True
    assert groups.expire(group, later) is False
    assert groups.expire_due(later) == 0
    refunds = db.session.scalar(
        select(func.count(OrderEvent.id)).where(OrderEvent.kind == "refunded")
    )
    assert refunds == 1


def test_a_refunded_member_of_a_succeeded_group(offer, operator):
    op = db.session.get(User, operator)
    group = started(offer)
    bo = groups.join_group(group, seat("Bo"))
    groups.join_group(group, seat("Cai"))
    for member in group.members:
        orders.mark_paid(member.order, op)
    orders.refund_all(bo, op)
    db.session.expire_all()
    group = db.session.get(Group, group.id)
    assert group.state is G.SUCCEEDED and group.seats_taken == 3
    states = [m.order.state for m in group.members]
    assert states == [S.PAID, S.REFUNDED, S.PAID]
    assert all(m.left_at is None for m in group.members)  # listed, as it was
    assert groups.expire(group, group.deadline + timedelta(days=1)) is False


def test_a_member_cancelled_while_open_frees_the_seat(offer, operator):
    group = started(offer)
    bo = groups.join_group(group, seat("Bo"))
    orders.cancel(bo, db.session.get(User, operator))
    assert group.seats_taken == 1
    assert [m.left_at is not None for m in group.members] == [False, True]
    again = groups.join_group(group, seat("Bo"))  # Bo may come back
    assert again.id != bo.id and group.seats_taken == 2


def test_sweep_fails_due_groups_once(app, runner, offer):
    group = started(offer, now=utcnow() - timedelta(hours=23))
    group.deadline = utcnow() - timedelta(seconds=1)  # as if an hour went by
    db.session.commit()
    first = runner.invoke(args=["sweep"])
    assert "group-buys failed at their deadline: 1" in first.output
    second = runner.invoke(args=["sweep"])
    assert "group-buys failed at their deadline: 0" in second.output
    db.session.expire_all()
    assert db.session.get(Group, group.id).state is G.FAILED


def test_failing_concurrently_refunds_once(app, offer, operator):
    """Eight threads (the sweep and page reads) fail the same group at once."""
    group = started(offer)
    groups.join_group(group, seat("Bo"))
    for member in group.members:
        orders.mark_paid(member.order, db.session.get(User, operator))
    group_id, later = group.id, group.deadline + timedelta(seconds=1)
    db.session.commit()  # and touch nothing until the threads are done
    start = threading.Barrier(8)
    results = []

    def look():
        with app.app_context():
            start.wait()
            results.append(groups.expire(db.session.get(Group, group_id), later))
            db.session.commit()

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert sorted(results) == [False] * 7 + [True]
    refunded = db.session.scalars(
        select(Order).join(GroupMember).where(GroupMember.group_id == group_id)
    ).all()
    assert [o.refunded == o.total for o in refunded] == [True, True]
    assert stock() == 20
    assert problems() == []


def test_display_names():
    assert groups.display_name("Emma Li") == "Emma"
    assert groups.display_name("张伟") == "张*"
    assert groups.display_name("  ") == "?"
    assert groups.initial("wang fang") == "W"
