"""Commission rules, and the only code that writes the ledger.

Rounding: a commission line owes ``(amount − refunded) × rate_bp ÷ 10000`` of its
order line, rounded down to the minor unit; the fraction stays with the operator.
Every change (a refund, a release) moves the difference between what is held and
what is owed now, so partial refunds in any split add up exactly and a fully
refunded line ends at zero: no remainder is lost or paid twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from storefront.accounts.models import User
from storefront.database import add_unique
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.ledger.models import (
    TRANSACTION_IDS,
    Account,
    AccountKind,
    Commission,
    Hold,
    Payout,
    Posting,
    Transaction,
    TransactionKind,
    Waiver,
)
from storefront.money import currency, to_major
from storefront.orders import events
from storefront.orders.models import Order, OrderLine, OrderState
from storefront.settings import get_setting
from storefront.shops.models import Shop
from storefront.timeutil import local_time, utcnow

A = AccountKind
#: A seller's accounts, in the order they are shown.
SELLER_ACCOUNTS = (A.PENDING, A.AVAILABLE, A.PAID_OUT)
#: Basis points in a whole: a rate of 1000 bp is 10%.
WHOLE = 10_000
#: Most holds one settling pass releases, so a page read that settles stays quick.
SETTLE_BATCH = 200


class LedgerError(DomainError):
    pass


class Unbalanced(Exception):
    """A transaction whose postings do not sum to zero: a bug, never posted."""


# Posting


@dataclass(frozen=True)
class Entry:
    """A posting to be: ``amount`` added to ``account``."""

    account: Account
    amount: int
    commission: Commission | None = None


def account(shop_id: int | None, kind: AccountKind) -> Account:
    """The shop's account of ``kind`` (the operator's with no shop), made on
    first use."""
    statement = select(Account).filter_by(shop_id=shop_id, kind=kind)
    found = db.session.scalar(statement)
    if found is None:
        found = Account(shop_id=shop_id, kind=kind, balance=0)
        if not add_unique(found):  # another request made it a moment ago
            found = db.session.scalar(statement)
    return found


def house() -> Account:
    return account(None, A.COMMISSIONS)


def posted(key: str) -> bool:
    return db.session.scalar(select(Transaction.id).filter_by(key=key)) is not None


def post(
    key: str,
    kind: TransactionKind,
    entries: list[Entry],
    order: Order | None = None,
    payout: Payout | None = None,
) -> Transaction | None:
    """Write ``entries`` as one transaction, once: a second call with the same
    ``key`` does nothing and returns None, as does a call with nothing to move.

    Raises ``Unbalanced`` when the amounts do not sum to zero. The postings are
    written before the transaction row, whose insert the database checks (see
    ``ledger.models``); all of it is one savepoint, so a failure leaves nothing.
    """
    entries = [entry for entry in entries if entry.amount]
    if sum(entry.amount for entry in entries) != 0:
        raise Unbalanced(key)
    if not entries or posted(key):
        return None
    try:
        with db.session.begin_nested():
            transaction_id = next_transaction_id()
            db.session.add_all(
                Posting(
                    transaction_id=transaction_id,
                    account_id=entry.account.id,
                    amount=entry.amount,
                    commission_id=entry.commission.id if entry.commission else None,
                )
                for entry in entries
            )
            db.session.flush()
            transaction = Transaction(
                id=transaction_id,
                key=key,
                kind=kind,
                order_id=order.id if order else None,
                payout_id=payout.id if payout else None,
            )
            db.session.add(transaction)
            db.session.flush()
            for entry in entries:
                db.session.execute(
                    update(Account)
                    .where(Account.id == entry.account.id)
                    .values(balance=Account.balance + entry.amount)
                    .execution_options(synchronize_session=False)
                )
    except IntegrityError:
        if posted(key):
            return None  # a concurrent request posted the same key first
        raise
    for entry in entries:
        db.session.expire(entry.account, ["balance"])
    return transaction


def next_transaction_id() -> int:
    """The next transaction's id, drawn before its postings are written."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Ledger writes hold SQLite's write lock: nobody else can draw the same.
        return db.session.scalar(select(func.coalesce(func.max(Transaction.id), 0) + 1))
    return db.session.scalar(TRANSACTION_IDS.next_value())


# Commission rules


def commission_due(line: OrderLine, rate_bp: int) -> int:
    """What a line owes at ``rate_bp`` now: the rounding rule, in one place."""
    return (line.amount - line.refunded_amount) * rate_bp // WHOLE


def line_rate(line: OrderLine) -> int:
    """The level-1 rate: the product's own, else the default."""
    own = line.product.commission_bp if line.product else None
    return get_setting("COMMISSION_BP") if own is None else own


def waiver(order: Order, earner: Shop) -> Waiver | None:
    """Why ``earner`` earns nothing on ``order``, or None: nobody earns on their
    own purchase, and a shop not active when the order is paid earns nothing."""
    if earner.owner.phone is not None and earner.owner.phone == order.phone:
        return Waiver.OWN_PURCHASE
    if not earner.is_open:
        return Waiver.SHOP_NOT_ACTIVE
    return None


def commissions_of(order: Order) -> list[Commission]:
    return list(
        db.session.scalars(
            select(Commission)
            .where(Commission.order_id == order.id)
            .options(joinedload(Commission.line))
            .order_by(Commission.id)
        )
    )


def post_commission(order: Order) -> None:
    """The order was paid: record each line's commission for the shop that sold
    it (level 1) and that shop's recruiter (level 2), and post it as pending.
    Once per order; a house sale (no shop) owes nothing."""
    shop = order.shop
    if shop is None or commissions_of(order):
        return
    earners = [(1, shop, None)]
    recruiter = shop.recruiter
    if recruiter is not None and recruiter.id != shop.id:
        earners.append((2, recruiter, get_setting("LEVEL2_COMMISSION_BP")))
    pending = {earner.id: account(earner.id, A.PENDING) for _, earner, _ in earners}
    entries = []
    for line in order.lines:
        for level, earner, rate in earners:
            waived = waiver(order, earner)
            commission = Commission(
                order_id=order.id,
                line=line,
                level=level,
                shop_id=earner.id,
                rate_bp=0 if waived else (line_rate(line) if rate is None else rate),
                waiver=waived,
            )
            db.session.add(commission)
            amount = commission_due(line, commission.rate_bp)
            entries += [
                Entry(pending[earner.id], amount, commission),
                Entry(house(), -amount, commission),
            ]
    db.session.flush()
    if post(f"order:{order.id}:paid", TransactionKind.COMMISSION, entries, order):
        db.session.add(Hold(order_id=order.id))
        db.session.flush()


def order_commissions(order: Order) -> list[tuple[Commission, int]]:
    """The order's commission lines, each with what its seller holds of it."""
    commissions = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.order_id == order.id)
            .options(joinedload(Commission.line), joinedload(Commission.shop))
            .order_by(Commission.order_line_id, Commission.level)
        )
    )
    holding = held(commissions)
    return [
        (c, sum(holding.get((c.id, kind), 0) for kind in (A.PENDING, A.AVAILABLE)))
        for c in commissions
    ]


def held(commissions: list[Commission]) -> dict[tuple[int, AccountKind], int]:
    """(commission id, account kind) → what the seller holds of it there."""
    rows = db.session.execute(
        select(Posting.commission_id, Account.kind, func.sum(Posting.amount))
        .join(Account)
        .where(
            Posting.commission_id.in_([c.id for c in commissions]),
            Account.shop_id.is_not(None),
        )
        .group_by(Posting.commission_id, Account.kind)
    )
    return {(cid, kind): amount for cid, kind, amount in rows}


def reverse_commission(order: Order, sequence: int) -> None:
    """Part of the order was refunded (refund number ``sequence``): take back
    from each commission what it no longer owes, from pending while it is
    pending, else from available (a clawback, which may take it below zero)."""
    commissions = commissions_of(order)
    holding = held(commissions)
    entries = []
    for c in commissions:
        pending = holding.get((c.id, A.PENDING), 0)
        available = holding.get((c.id, A.AVAILABLE), 0)
        back = pending + available - commission_due(c.line, c.rate_bp)
        if back <= 0:
            continue
        from_pending = min(back, max(pending, 0))
        entries += [
            Entry(account(c.shop_id, A.PENDING), -from_pending, c),
            Entry(account(c.shop_id, A.AVAILABLE), from_pending - back, c),
            Entry(house(), back, c),
        ]
    post(f"order:{order.id}:refund:{sequence}", TransactionKind.REFUND, entries, order)
    if order.state is OrderState.REFUNDED:
        close_hold(order.id)


def close_hold(order_id: int) -> None:
    hold = db.session.get(Hold, order_id)
    if hold is not None:
        db.session.delete(hold)
        db.session.flush()


def start_window(order: Order) -> None:
    """The order was completed: its after-sale window starts now."""
    hold = db.session.get(Hold, order.id)
    if hold is not None:
        hold.completed_at = utcnow()
        db.session.flush()


def release(order_id: int) -> bool:
    """Move the order's pending commission to available and close its hold;
    False when another request released it first."""
    order = db.session.get(Order, order_id)
    # Locked as refunds lock it, so a refund and a release take turns.
    db.session.refresh(order, with_for_update=True)
    hold = db.session.get(Hold, order_id, populate_existing=True)
    if hold is None:
        return False  # released by a concurrent sweep a moment ago
    commissions = commissions_of(order)
    holding = held(commissions)
    entries = []
    for c in commissions:
        pending = holding.get((c.id, A.PENDING), 0)
        entries += [
            Entry(account(c.shop_id, A.PENDING), -pending, c),
            Entry(account(c.shop_id, A.AVAILABLE), pending, c),
        ]
    post(f"order:{order_id}:release", TransactionKind.RELEASE, entries, order)
    close_hold(order_id)
    return True


def settle_due(now: datetime | None = None) -> int:
    """Release the commission of orders completed longer ago than the
    after-sale window (``AFTER_SALE_DAYS``). Safe to run at any time and
    concurrently; returns how many orders this call released (holds another
    call released first are skipped, so a loop until 0 ends)."""
    cutoff = (now or utcnow()) - timedelta(days=get_setting("AFTER_SALE_DAYS"))
    due = db.session.scalars(
        select(Hold.order_id)
        .where(Hold.completed_at <= cutoff)
        .order_by(Hold.completed_at)
        .limit(SETTLE_BATCH)
    ).all()
    return sum(release(order_id) for order_id in due)


def on_order_event(event: events.OrderEvent) -> None:
    """What each order event means for the ledger (subscribed in ``create_app``)."""
    if event.kind == "paid":
        post_commission(event.order)
    elif event.kind == "completed":
        start_window(event.order)
    elif event.kind == "refunded":
        reverse_commission(event.order, event.sequence)


# Balances and payouts


def balances(shop: Shop) -> dict[AccountKind, int]:
    """The shop's pending, available and paid-out balances, after releasing
    whatever has fallen due (so a seller never waits for the sweep)."""
    settle_due()
    rows = db.session.execute(
        select(Account.kind, Account.balance).where(Account.shop_id == shop.id)
    )
    found = dict(rows.all())
    return {kind: found.get(kind, 0) for kind in SELLER_ACCOUNTS}


def balances_of(shop_ids: list[int]) -> dict[int, dict[AccountKind, int]]:
    """Shop id → its balances, for the shops of one page."""
    found: dict[int, dict[AccountKind, int]] = {id: {} for id in shop_ids}
    for shop_id, kind, balance in db.session.execute(
        select(Account.shop_id, Account.kind, Account.balance).where(
            Account.shop_id.in_(shop_ids)
        )
    ):
        found[shop_id][kind] = balance
    return {
        id: {kind: kinds.get(kind, 0) for kind in SELLER_ACCOUNTS}
        for id, kinds in found.items()
    }


def seller_totals() -> dict[AccountKind, int]:
    """Pending, available and paid out across all sellers."""
    found = dict(
        db.session.execute(
            select(Account.kind, func.sum(Account.balance))
            .where(Account.shop_id.is_not(None))
            .group_by(Account.kind)
        ).all()
    )
    return {kind: found.get(kind, 0) for kind in SELLER_ACCOUNTS}


def record_payout(
    shop: Shop, amount: int, method: str, reference: str, actor: User, key: str
) -> Payout:
    """The operator paid ``shop`` ``amount`` outside the app: move it from
    available to paid out. Idempotent by the form's one-time ``key``.

    Raises ``LedgerError`` for an amount below the minimum payout or above the
    available balance, or a missing or overlong method or reference.
    """
    existing = db.session.scalar(select(Payout).filter_by(key=key))
    if existing is not None:
        return existing
    method, reference = method.strip(), reference.strip()
    if not method or len(method) > 40:
        raise LedgerError(_l("Say how it was paid (at most 40 characters)."))
    if len(reference) > 80:
        raise LedgerError(_l("The reference may be at most 80 characters."))
    available = account(shop.id, A.AVAILABLE)
    db.session.refresh(available, with_for_update=True)
    # The same form sent twice at once: the other may have recorded it while we
    # waited for the lock, taking the balance this one would be refused for.
    existing = db.session.scalar(select(Payout).filter_by(key=key))
    if existing is not None:
        return existing
    minimum = get_setting("MINIMUM_PAYOUT")
    if amount < max(minimum, 1):
        raise LedgerError(_l("A payout is at least the minimum payout."))
    if amount > available.balance:
        raise LedgerError(_l("A payout cannot be more than the available balance."))
    payout = Payout(
        key=key,
        shop_id=shop.id,
        amount=amount,
        method=method,
        reference=reference,
        actor_id=actor.id,
    )
    if not add_unique(payout):  # the same form, submitted twice at once
        return db.session.scalar(select(Payout).filter_by(key=key))
    entries = [Entry(available, -amount), Entry(account(shop.id, A.PAID_OUT), amount)]
    post(f"payout:{payout.id}", TransactionKind.PAYOUT, entries, payout=payout)
    return payout


# The seller's earnings


#: Why a commission line earns nothing.
WAIVERS = {
    Waiver.OWN_PURCHASE: _l("own purchase"),
    Waiver.SHOP_NOT_ACTIVE: _l("shop suspended"),
}

#: Why a posting is on a seller's list: (transaction kind, account kind) → reason.
REASONS = {
    (TransactionKind.COMMISSION, A.PENDING): _l("Commission (pending)"),
    (TransactionKind.RELEASE, A.AVAILABLE): _l("After-sale window passed: available"),
    (TransactionKind.REFUND, A.PENDING): _l("Refund: commission reversed"),
    (TransactionKind.REFUND, A.AVAILABLE): _l("Refund after settlement: clawed back"),
    (TransactionKind.PAYOUT, A.PAID_OUT): _l("Paid out"),
}


def earnings_lines(shop: Shop, before: int | None = None, limit: int | None = 30):
    """The shop's ledger lines, newest first, ``limit`` of them (all for None)
    with ids below ``before``: each posting that changed what the seller is owed (a move
    between their own accounts shows once, on the receiving side)."""
    statement = (
        select(Posting)
        .join(Posting.transaction)
        .join(Posting.account)
        .where(Account.shop_id == shop.id)
        .where(
            ~(
                Transaction.kind.in_([TransactionKind.RELEASE, TransactionKind.PAYOUT])
                & (Posting.amount < 0)
            )
        )
        .options(
            joinedload(Posting.transaction).joinedload(Transaction.payout),
            joinedload(Posting.transaction).joinedload(Transaction.order),
            joinedload(Posting.account),
            joinedload(Posting.commission).options(
                joinedload(Commission.line),
                selectinload(Commission.order).selectinload(Order.shop),
            ),
        )
        .order_by(Posting.id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(Posting.id < before)
    return db.session.scalars(statement).all()


def reason(posting: Posting) -> str:
    return str(REASONS[posting.transaction.kind, posting.account.kind])


EARNINGS_COLUMNS = [
    "at",
    "what",
    "order",
    "product",
    "quantity",
    "rate_percent",
    "level",
    "amount",
    "payout_method",
    "payout_reference",
]


def earnings_rows(postings: list[Posting]) -> list[list]:
    """A seller's ledger lines as CSV rows, amounts in major units."""
    code = currency()
    rows = []
    for posting in postings:
        commission, payout = posting.commission, posting.transaction.payout
        rows.append(
            [
                local_time(posting.transaction.at),
                reason(posting),
                commission.order.number if commission else "",
                commission.line.name if commission else "",
                commission.line.quantity if commission else "",
                Decimal(commission.rate_bp) / 100 if commission else "",
                commission.level if commission else "",
                to_major(posting.amount, code),
                payout.method if payout else "",
                payout.reference if payout else "",
            ]
        )
    return rows
