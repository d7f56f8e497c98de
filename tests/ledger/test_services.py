"""Commission rules with worked numbers, the hold and its release, refunds
before and after settlement, payouts, idempotency, and the database's own guard.

Rounding rule under test: a commission line owes (amount − refunded) × rate,
rounded down to the fen, and every change moves the difference from what it
holds; so partial refunds add up exactly to the commission.
"""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import (
    Commission,
    Posting,
    Transaction,
    TransactionKind,
    Waiver,
)
from storefront.ledger.reconcile import problems
from storefront.orders import events
from storefront.orders import services as orders
from storefront.settings import set_setting
from storefront.shops.models import ShopStatus
from storefront.shops.services import set_status
from tests import factories
from tests.ledger.conftest import after_window, balances


def commission_lines(order):
    return [
        (c.line.name, c.level, c.shop.name, c.rate_bp, c.waiver)
        for c in db.session.scalars(
            select(Commission).filter_by(order_id=order.id).order_by(Commission.id)
        )
    ]


def test_paid_order_posts_pending_commission_for_seller_and_recruiter(net):
    # Tea: 3 × ¥12.50 = ¥37.50 at the default 10% → ¥3.75; the recruiter's 2%
    # → ¥0.75. Nuts: ¥33.33 at its own 12.5% = 416.625 fen → 416; 2% = 66.66 → 66.
    order = net.order(net.qiang, tea=3, nuts=1)
    assert balances(net.qiang) == (0, 0, 0)  # placed is not paid
    orders.mark_paid(order, net.operator)
    assert balances(net.qiang) == (375 + 416, 0, 0)
    assert balances(net.mei) == (75 + 66, 0, 0)
    assert balances(net.sarah) == (0, 0, 0)
    assert ledger.house().balance == -(375 + 416 + 75 + 66)
    assert commission_lines(order) == [
        ("Tea", 1, "Qiang", 1000, None),
        ("Tea", 2, "Mei", 200, None),
        ("Nuts", 1, "Qiang", 1250, None),
        ("Nuts", 2, "Mei", 200, None),
    ]
    assert problems() == []


def test_never_more_than_two_levels(net):
    # Sarah was recruited by Qiang, who was recruited by Mei: Mei earns nothing.
    order = net.paid(net.sarah, tea=2)
    assert balances(net.sarah)[0] == 250
    assert balances(net.qiang)[0] == 50
    assert balances(net.mei)[0] == 0
    assert {c[1] for c in commission_lines(order)} == {1, 2}


def test_rates_come_from_the_settings_when_the_order_is_paid(net):
    set_setting("COMMISSION_BP", 1500)
    set_setting("LEVEL2_COMMISSION_BP", 0)  # level 2 off
    order = net.paid(net.qiang, tea=1)
    set_setting("COMMISSION_BP", 500)  # later changes do not touch paid orders
    assert balances(net.qiang)[0] == 187  # 1250 × 15% = 187.5 → 187
    assert balances(net.mei)[0] == 0
    assert commission_lines(order)[1] == ("Tea", 2, "Mei", 0, None)
    assert problems() == []


def test_house_sale_owes_no_commission(net):
    order = net.paid(None, tea=1)
    assert commission_lines(order) == []
    assert db.session.scalar(select(Transaction).filter_by(order_id=order.id)) is None
    assert problems() == []


def test_no_commission_on_a_sellers_own_purchase(net):
    # Qiang buys through his own shop: he earns nothing, his recruiter does.
    own = net.order(net.qiang, phone="139 0000 0002", tea=2)
    orders.mark_paid(own, net.operator)
    assert balances(net.qiang)[0] == 0
    assert balances(net.mei)[0] == 50
    assert commission_lines(own)[0][4] is Waiver.OWN_PURCHASE
    # Mei buys through Qiang, whom she recruited: Qiang earns, Mei does not.
    hers = net.order(net.qiang, phone="+86 139 0000 0001", tea=2)
    orders.mark_paid(hers, net.operator)
    assert balances(net.qiang)[0] == 250
    assert balances(net.mei)[0] == 50
    assert commission_lines(hers)[1] == ("Tea", 2, "Mei", 0, Waiver.OWN_PURCHASE)
    assert problems() == []


def test_a_suspended_shop_earns_nothing(net):
    order = net.order(net.qiang, tea=1)
    set_status(net.qiang, ShopStatus.SUSPENDED)
    orders.mark_paid(order, net.operator)
    assert balances(net.qiang)[0] == 0
    assert balances(net.mei)[0] == 25
    assert commission_lines(order)[0][4] is Waiver.SHOP_NOT_ACTIVE


def test_partial_refunds_reverse_pending_pro_rata_and_lose_no_fen(net):
    # An odd amount: 3 × ¥3.33 = ¥9.99 at 10% = 99.9 fen → 99 (the 0.9 stays
    # with the operator); refunded one unit at a time: 33 + 33 + 33 = 99.
    net.odd = factories.product(name="Odd", slug="odd", price=333, stock=9).id
    order = net.paid(net.sarah, odd=3)
    line = order.lines[0]
    assert balances(net.sarah)[0] == 99
    assert balances(net.qiang)[0] == 19  # 999 × 2% = 19.98 → 19
    steps = []
    for _ in range(3):
        orders.refund(order, {line.id: 1}, net.operator)
        steps.append((balances(net.sarah)[0], balances(net.qiang)[0]))
        assert problems() == []
    # Kept 666 → 66 and 13; kept 333 → 33 and 6; kept 0 → 0 and 0.
    assert steps == [(66, 13), (33, 6), (0, 0)]
    assert ledger.house().balance == 0


def test_completion_starts_the_after_sale_window(net):
    order = net.completed(net.qiang, tea=2)
    assert balances(net.qiang) == (250, 0, 0)
    assert ledger.settle_due(after_window(days=6)) == 0
    assert balances(net.qiang) == (250, 0, 0)
    assert ledger.settle_due(after_window()) == 1
    assert balances(net.qiang) == (0, 250, 0)
    assert balances(net.mei) == (0, 50, 0)
    assert ledger.settle_due(after_window()) == 0  # nothing left to release
    assert problems() == []
    assert order.state.value == "completed"


def test_paid_but_not_completed_stays_pending(net):
    net.paid(net.qiang, tea=1)
    assert ledger.settle_due(after_window(days=365)) == 0
    assert balances(net.qiang) == (125, 0, 0)


def test_window_length_is_a_setting(net):
    set_setting("AFTER_SALE_DAYS", 0)
    net.completed(net.qiang, tea=1)
    assert ledger.balances(net.qiang)[ledger.A.AVAILABLE] == 125  # settled on read


def test_refund_after_settlement_claws_back_from_available(net):
    order = net.completed(net.qiang, tea=4)  # 5000 → 500 and 100
    ledger.settle_due(after_window())
    orders.refund(order, {order.lines[0].id: 1}, net.operator)  # kept 3750
    assert balances(net.qiang) == (0, 375, 0)
    assert balances(net.mei) == (0, 75, 0)
    kinds = [
        (p.account.kind.value, p.amount)
        for p in db.session.scalars(
            select(Posting)
            .join(Transaction)
            .where(Transaction.kind == TransactionKind.REFUND)
            .order_by(Posting.id)
        )
        if p.account.shop_id == net.qiang.id
    ]
    assert kinds == [("available", -125)]
    assert problems() == []


def test_clawback_after_payout_goes_negative_and_is_netted(net):
    set_setting("MINIMUM_PAYOUT", 100)
    order = net.completed(net.qiang, tea=4)
    ledger.settle_due(after_window())
    ledger.record_payout(net.qiang, 500, "WeChat Pay", "TX1", net.operator, "p1")
    assert balances(net.qiang) == (0, 0, 500)
    orders.refund_all(order, net.operator)
    assert balances(net.qiang) == (0, -500, 500)
    with pytest.raises(ledger.LedgerError, match="more than the available"):
        ledger.record_payout(net.qiang, 100, "WeChat Pay", "", net.operator, "p2")
    # The next sale pays the debt first: 8 × ¥12.50 → ¥10.00 commission.
    net.completed(net.qiang, tea=8)
    ledger.settle_due(after_window())
    assert balances(net.qiang) == (0, 500, 500)
    ledger.record_payout(net.qiang, 500, "Alipay", "TX2", net.operator, "p3")
    assert balances(net.qiang) == (0, 0, 1000)
    assert problems() == []


def test_payout_rules(net):
    set_setting("MINIMUM_PAYOUT", 200)
    net.completed(net.qiang, tea=4)  # 500 available after the window
    with pytest.raises(ledger.LedgerError, match="more than the available"):
        ledger.record_payout(net.qiang, 300, "Cash", "", net.operator, "a")
    ledger.settle_due(after_window())
    with pytest.raises(ledger.LedgerError, match="at least the minimum"):
        ledger.record_payout(net.qiang, 199, "Cash", "", net.operator, "b")
    with pytest.raises(ledger.LedgerError, match="how it was paid"):
        ledger.record_payout(net.qiang, 300, "  ", "", net.operator, "c")
    with pytest.raises(ledger.LedgerError, match="80 characters"):
        ledger.record_payout(net.qiang, 300, "Cash", "x" * 81, net.operator, "d")
    with pytest.raises(ledger.LedgerError, match="more than the available"):
        ledger.record_payout(net.qiang, 501, "Cash", "", net.operator, "e")
    first = ledger.record_payout(net.qiang, 300, "Cash", "R1", net.operator, "f")
    again = ledger.record_payout(net.qiang, 300, "Cash", "R1", net.operator, "f")
    assert again.id == first.id  # the same form twice: one payout
    assert balances(net.qiang) == (0, 200, 300)
    assert problems() == []


def test_replayed_events_change_nothing(net):
    order = net.completed(net.qiang, tea=3, nuts=1)
    orders.refund(order, {order.lines[0].id: 1}, net.operator)
    before = db.session.scalar(select(db.func.count(Posting.id)))
    snapshot = (balances(net.qiang), balances(net.mei))
    for kind, sequence in [("paid", 0), ("completed", 0), ("refunded", 1)]:
        events.emit(events.OrderEvent(kind, order, {}, sequence))
    assert db.session.scalar(select(db.func.count(Posting.id))) == before
    assert (balances(net.qiang), balances(net.mei)) == snapshot
    ledger.settle_due(after_window())
    ledger.release(order.id)  # a second release finds no hold
    # Released once: two postings for each of the four commission lines.
    assert db.session.scalar(select(db.func.count(Posting.id))) == before + 8
    assert problems() == []


def test_post_refuses_an_unbalanced_transaction(net):
    pending = ledger.account(net.qiang.id, ledger.A.PENDING)
    with pytest.raises(ledger.Unbalanced):
        ledger.post(
            "bad", TransactionKind.PAYOUT, [ledger.Entry(pending, 5)], order=None
        )
    assert not ledger.posted("bad")


def raw(sql: str, **params) -> None:
    with db.session.begin_nested():
        db.session.execute(text(sql), params)
        db.session.flush()


def test_the_database_keeps_postings_append_only_and_balanced(net):
    net.paid(net.qiang, tea=1)
    db.session.commit()
    with pytest.raises(DatabaseError):
        raw("UPDATE ledger_posting SET amount = amount + 1")
    with pytest.raises(DatabaseError):
        raw("DELETE FROM ledger_posting")
    with pytest.raises(DatabaseError):
        raw("UPDATE ledger_transaction SET key = 'other'")
    with pytest.raises(DatabaseError):
        raw("DELETE FROM ledger_transaction")
    pending = ledger.account(net.qiang.id, ledger.A.PENDING).id
    house = ledger.house().id
    # An unbalanced transaction: its postings go in, its row is refused.
    with pytest.raises(DatabaseError):
        raw(
            "INSERT INTO ledger_posting (transaction_id, account_id, amount)"
            " VALUES (99, :a, 10), (99, :b, -9)",
            a=pending,
            b=house,
        )
        raw(
            "INSERT INTO ledger_transaction (id, key, kind, at)"
            " VALUES (99, 'forged', 'commission', CURRENT_TIMESTAMP)"
        )
    # A posting added to a transaction that is already written.
    with pytest.raises(DatabaseError):
        raw(
            "INSERT INTO ledger_posting (transaction_id, account_id, amount)"
            " SELECT min(id), :a, 10 FROM ledger_transaction",
            a=pending,
        )
    db.session.rollback()
    assert problems() == []
    assert balances(net.qiang)[0] == 125


def test_reconcile_reports_each_kind_of_problem(net, runner):
    order = net.paid(net.qiang, tea=1)
    db.session.commit()
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    # A cached balance that drifted from its postings.
    db.session.execute(text("UPDATE ledger_account SET balance = balance + 7"))
    # Commission posted twice by a buggy caller: balanced, but more than owed.
    commission = db.session.scalars(select(Commission)).first()
    ledger.post(
        "double",
        TransactionKind.COMMISSION,
        [
            ledger.Entry(
                ledger.account(net.qiang.id, ledger.A.PENDING), 125, commission
            ),
            ledger.Entry(ledger.house(), -125, commission),
        ],
        order=order,
    )
    db.session.commit()
    found = problems()
    assert any("says" in p and "its postings sum to" in p for p in found)
    assert any("holds 250, above rate × paid base 1250" in p for p in found)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 1
    assert "does not reconcile" in result.output
    assert f"order {order.number}" in result.output


def test_sweep_releases_commission_past_the_window(net, runner):
    set_setting("AFTER_SALE_DAYS", 0)
    net.completed(net.qiang, tea=1)
    db.session.commit()
    result = runner.invoke(args=["sweep"])
    assert "commission became available: 1" in result.output
    db.session.expire_all()
    assert balances(net.qiang) == (0, 125, 0)
