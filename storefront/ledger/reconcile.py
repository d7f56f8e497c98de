"""Every invariant of the ledger, checked against the database as it is.

``problems()`` lists each violation as a sentence; ``flask reconcile`` prints
them and fails when there is any. Each check is one aggregate query, so a run
over a large ledger stays a few scans.
"""

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from storefront.extensions import db
from storefront.ledger.models import (
    Account,
    AccountKind,
    Commission,
    Hold,
    Payout,
    Posting,
    Transaction,
)
from storefront.ledger.services import WHOLE
from storefront.orders.models import Order, OrderEvent, OrderLine


def problems() -> list[str]:
    """Everything wrong with the ledger; empty when it reconciles."""
    return [
        *unbalanced_transactions(),
        *drifted_balances(),
        *wrong_commissions(),
        *missing_commissions(),
        *commission_levels(),
        *pending_without_hold(),
        *unposted_payouts(),
    ]


def summary() -> str:
    count = db.session.scalar
    return (
        f"{count(select(func.count(Transaction.id)))} transactions, "
        f"{count(select(func.count(Posting.id)))} postings, "
        f"{count(select(func.count(Account.id)))} accounts, "
        f"{count(select(func.count(Commission.id)))} commission lines"
    )


def unbalanced_transactions() -> list[str]:
    """Every transaction has two postings or more, summing to zero."""
    total = func.coalesce(func.sum(Posting.amount), 0)
    rows = db.session.execute(
        select(Transaction.key, total, func.count(Posting.id))
        .outerjoin(Posting, Posting.transaction_id == Transaction.id)
        .group_by(Transaction.id, Transaction.key)
        .having((total != 0) | (func.count(Posting.id) < 2))
    )
    return [
        f"transaction {key} does not balance: {n} postings summing to {amount}"
        for key, amount, n in rows
    ]


def drifted_balances() -> list[str]:
    """Each account's balance is the sum of its postings."""
    total = func.coalesce(func.sum(Posting.amount), 0)
    rows = db.session.execute(
        select(Account.id, Account.shop_id, Account.kind, Account.balance, total)
        .outerjoin(Posting, Posting.account_id == Account.id)
        .group_by(Account.id, Account.shop_id, Account.kind, Account.balance)
        .having(Account.balance != total)
    )
    return [
        f"account {kind} of shop {shop_id or '-'} (#{id}) says {balance},"
        f" its postings sum to {posted}"
        for id, shop_id, kind, balance, posted in rows
    ]


def commission_holdings():
    """Per commission line: what its seller holds, pending and in all, what
    all its postings sum to, and whether any sits on another seller's account."""
    seller = Account.shop_id.is_not(None)
    pending = func.sum(Posting.amount).filter(Account.kind == AccountKind.PENDING)
    return (
        select(
            Posting.commission_id.label("commission_id"),
            func.coalesce(func.sum(Posting.amount).filter(seller), 0).label("held"),
            func.coalesce(pending, 0).label("pending"),
            func.sum(Posting.amount).label("net"),
            func.count(Posting.id)
            .filter(seller, Account.shop_id != Commission.shop_id)
            .label("misplaced"),
        )
        .join(Account, Account.id == Posting.account_id)
        .join(Commission, Commission.id == Posting.commission_id)
        .group_by(Posting.commission_id)
        .subquery()
    )


def wrong_commissions() -> list[str]:
    """Each commission line holds exactly what its rule owes now, never more
    than rate × what was paid for the line, only on its own seller's accounts,
    and the operator's side mirrors it."""
    h = commission_holdings()
    rows = db.session.execute(
        select(
            Commission.id,
            Order.number,
            Commission.level,
            Commission.rate_bp,
            OrderLine.amount,
            OrderLine.refunded_amount,
            func.coalesce(h.c.held, 0),
            func.coalesce(h.c.pending, 0),
            func.coalesce(h.c.net, 0),
            func.coalesce(h.c.misplaced, 0),
        )
        .join(OrderLine, OrderLine.id == Commission.order_line_id)
        .join(Order, Order.id == Commission.order_id)
        .outerjoin(h, h.c.commission_id == Commission.id)
    )
    found = []
    for (
        cid,
        number,
        level,
        rate,
        amount,
        refunded,
        held,
        pending,
        net,
        misplaced,
    ) in rows:
        where = f"order {number}, commission line #{cid} (level {level}, {rate} bp)"
        owed = (amount - refunded) * rate // WHOLE
        if held > amount * rate // WHOLE:
            found.append(f"{where}: holds {held}, above rate × paid base {amount}")
        elif held != owed:
            found.append(f"{where}: holds {held}, owes {owed}")
        if pending < 0:
            found.append(f"{where}: pending is {pending}, below zero")
        if net != 0:
            found.append(f"{where}: the operator's side does not mirror it ({net})")
        if misplaced:
            found.append(f"{where}: {misplaced} postings on another seller's account")
    return found


def paid_orders():
    """Ids of orders that were ever paid (a refunded order was paid first)."""
    return select(OrderEvent.order_id).where(OrderEvent.kind == "paid")


def missing_commissions() -> list[str]:
    """Every line of a paid order sold through a shop has its level-1 line for
    that shop; orders never paid, or sold by the house, have none."""
    level_1 = aliased(Commission)
    missing = db.session.execute(
        select(Order.number, OrderLine.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.id.in_(paid_orders()), Order.shop_id.is_not(None))
        .where(
            ~exists().where(
                level_1.order_line_id == OrderLine.id,
                level_1.level == 1,
                level_1.shop_id == Order.shop_id,
            )
        )
    )
    found = [
        f"order {number}: line #{line_id} was paid but has no commission line"
        for number, line_id in missing
    ]
    stray = db.session.execute(
        select(Order.number, func.count(Commission.id))
        .join(Order, Order.id == Commission.order_id)
        .where(~Order.id.in_(paid_orders()) | Order.shop_id.is_(None))
        .group_by(Order.number)
    )
    found += [
        f"order {number}: {n} commission lines, but it was never paid through a shop"
        for number, n in stray
    ]
    return found


def commission_levels() -> list[str]:
    """Levels are 1 and 2 only, and nobody is their own recruiter."""
    found = [
        f"commission line #{cid} is at level {level}"
        for cid, level in db.session.execute(
            select(Commission.id, Commission.level).where(
                Commission.level.not_in([1, 2])
            )
        )
    ]
    level_1 = aliased(Commission)
    same = db.session.execute(
        select(Commission.id).join(
            level_1,
            and_(
                level_1.order_line_id == Commission.order_line_id,
                level_1.level == 1,
                Commission.level == 2,
                level_1.shop_id == Commission.shop_id,
            ),
        )
    )
    found += [f"commission line #{cid} pays a seller twice" for (cid,) in same]
    return found


def pending_without_hold() -> list[str]:
    """Pending commission always has a hold that will release it."""
    h = commission_holdings()
    rows = db.session.execute(
        select(Order.number, func.sum(h.c.pending))
        .join(Commission, Commission.id == h.c.commission_id)
        .join(Order, Order.id == Commission.order_id)
        .where(~exists().where(Hold.order_id == Order.id))
        .group_by(Order.number)
        .having(func.sum(h.c.pending) != 0)
    )
    return [
        f"order {number}: {pending} pending with nothing to release it"
        for number, pending in rows
    ]


def unposted_payouts() -> list[str]:
    """Each payout moved exactly its amount to the seller's paid-out account."""
    moved = (
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Transaction.payout_id == Payout.id,
            Account.kind == AccountKind.PAID_OUT,
            Account.shop_id == Payout.shop_id,
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Payout.id, Payout.amount, moved).where(moved != Payout.amount)
    )
    return [
        f"payout #{pid} of {amount} moved {paid} to paid out"
        for pid, amount, paid in rows
    ]
