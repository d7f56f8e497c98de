"""The referral ledger: accounts, transactions and their postings (double entry,
append-only), the commission each paid order line owes, holds and payouts.

The database enforces what matters most, on SQLite and PostgreSQL alike: a
posting or transaction is never changed or deleted, and a transaction's postings
sum to zero. For the second, postings are written first and their transaction
row last; inserting the transaction checks its postings balance, and a posting
for a transaction already written is refused (see ``TRIGGERS``).
"""

import enum
from datetime import datetime

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    Sequence,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.accounts.models import User
from storefront.database import str_enum
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine
from storefront.shops.models import Shop
from storefront.timeutil import utcnow


class AccountKind(enum.StrEnum):
    PENDING = "pending"  #: earned, inside the after-sale window
    AVAILABLE = "available"  #: may be paid out; negative after a clawback
    PAID_OUT = "paid_out"  #: paid to the seller so far
    #: The operator's side: every commission comes from here and returns here.
    COMMISSIONS = "commissions"


class Account(db.Model):
    """A balance: one of a shop's three, or the operator's commissions account
    (no shop). ``balance`` is the sum of the account's postings, kept as they
    are written (``reconcile`` checks it)."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("shop_id", "kind"),
        CheckConstraint(
            "(shop_id IS NULL) = (kind = 'commissions')", name="owner_matches_kind"
        ),
        # One operator account: a NULL shop is unique only through this index.
        Index(
            "uq_ledger_account_house",
            "kind",
            unique=True,
            sqlite_where=text("shop_id IS NULL"),
            postgresql_where=text("shop_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"))
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    balance: Mapped[int] = mapped_column(default=0)


class TransactionKind(enum.StrEnum):
    COMMISSION = "commission"  #: an order was paid: commission is pending
    RELEASE = "release"  #: the after-sale window passed: pending → available
    REFUND = "refund"  #: part of an order came back: commission reversed
    PAYOUT = "payout"  #: the operator paid a seller: available → paid out


#: Transaction ids are drawn before the transaction row is written (its postings
#: go in first); PostgreSQL draws them from this sequence.
TRANSACTION_IDS = Sequence("ledger_transaction_id_seq")


class Transaction(db.Model):
    """One movement of money, posted once: its ``key`` (``order:12:paid``)
    makes a replayed event a no-op."""

    __tablename__ = "ledger_transaction"

    id: Mapped[int] = mapped_column(
        TRANSACTION_IDS, primary_key=True, autoincrement=False
    )
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[TransactionKind] = mapped_column(str_enum(TransactionKind))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payout.id"), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order | None] = relationship()
    payout: Mapped["Payout | None"] = relationship()
    postings: Mapped[list["Posting"]] = relationship(
        order_by="Posting.id", viewonly=True
    )


class Posting(db.Model):
    """One side of a transaction: ``amount`` (minor units, never zero) added to
    one account. Postings that move commission name the commission they move."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="not_zero"),
        # The earnings list: an account's postings, newest first.
        Index("ix_ledger_posting_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        # Deferred: the postings are inserted before their transaction row.
        ForeignKey("ledger_transaction.id", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount: Mapped[int]
    commission_id: Mapped[int | None] = mapped_column(
        ForeignKey("commission.id"), index=True
    )

    transaction: Mapped[Transaction] = relationship(viewonly=True)
    account: Mapped[Account] = relationship()
    commission: Mapped["Commission | None"] = relationship()


class Waiver(enum.StrEnum):
    """Why a commission line is at rate 0."""

    OWN_PURCHASE = "own_purchase"  #: the seller bought it themselves
    SHOP_NOT_ACTIVE = "not_active"  #: the shop was suspended when it was paid


class Commission(db.Model):
    """What a paid order line owes one seller, decided when it was paid: level 1
    is the shop that sold it, level 2 that shop's recruiter; there is no level 3.
    The amount owed is always ``(amount − refunded) × rate_bp ÷ 10000`` of the
    line, rounded down to the minor unit (the fraction stays with the operator)."""

    __table_args__ = (
        UniqueConstraint("order_line_id", "level"),
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="rate"),
        CheckConstraint("waiver IS NULL OR rate_bp = 0", name="waived_is_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    level: Mapped[int]
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    rate_bp: Mapped[int]
    waiver: Mapped[Waiver | None] = mapped_column(str_enum(Waiver))

    order: Mapped[Order] = relationship()
    line: Mapped[OrderLine] = relationship()
    shop: Mapped[Shop] = relationship()


class Hold(db.Model):
    """An order whose commission is pending. Once the order is completed the
    after-sale window runs from ``completed_at``; releasing deletes the hold."""

    __tablename__ = "ledger_hold"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)


class Payout(db.Model):
    """Money the operator paid a seller, outside the app (a transfer, cash...)."""

    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The payout form's one-time key: a form submitted twice records one payout.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    amount: Mapped[int]
    #: How it was paid, e.g. "WeChat Pay", and the payment's reference.
    method: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(80), default="")
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    shop: Mapped[Shop] = relationship()
    actor: Mapped[User] = relationship()


#: Dialect → table → the trigger SQL created with the table. Inserting a
#: transaction checks its postings sum to zero; a posting for a transaction
#: already written is refused; postings and transactions are never changed.
TRIGGERS: dict[str, dict[str, list[str]]] = {
    "sqlite": {
        "ledger_transaction": [
            "CREATE TRIGGER ledger_transaction_append_only"
            " BEFORE UPDATE ON ledger_transaction"
            " BEGIN SELECT RAISE(ABORT, 'ledger transactions are never changed'); END",
            "CREATE TRIGGER ledger_transaction_kept BEFORE DELETE ON ledger_transaction"
            " BEGIN SELECT RAISE(ABORT, 'ledger transactions are never deleted'); END",
            "CREATE TRIGGER ledger_transaction_balanced"
            " AFTER INSERT ON ledger_transaction"
            " WHEN (SELECT count(*) FROM ledger_posting"
            " WHERE transaction_id = NEW.id) < 2"
            " OR (SELECT sum(amount) FROM ledger_posting"
            " WHERE transaction_id = NEW.id) <> 0"
            " BEGIN SELECT RAISE(ABORT, 'ledger transaction does not balance'); END",
        ],
        "ledger_posting": [
            "CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE ON ledger_posting"
            " BEGIN SELECT RAISE(ABORT, 'ledger postings are never changed'); END",
            "CREATE TRIGGER ledger_posting_kept BEFORE DELETE ON ledger_posting"
            " BEGIN SELECT RAISE(ABORT, 'ledger postings are never deleted'); END",
            "CREATE TRIGGER ledger_posting_open BEFORE INSERT ON ledger_posting"
            " WHEN EXISTS (SELECT 1 FROM ledger_transaction"
            " WHERE id = NEW.transaction_id)"
            " BEGIN SELECT RAISE(ABORT, 'ledger transaction already posted'); END",
        ],
    },
    "postgresql": {
        "ledger_transaction": [
            "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING"
            " MESSAGE = TG_TABLE_NAME || ' rows are never changed or deleted',"
            " ERRCODE = 'integrity_constraint_violation'; END $$",
            "CREATE TRIGGER ledger_transaction_append_only BEFORE UPDATE OR DELETE"
            " ON ledger_transaction FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
            "CREATE OR REPLACE FUNCTION ledger_transaction_balanced()"
            " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF (SELECT count(*) FROM ledger_posting"
            " WHERE transaction_id = NEW.id) < 2"
            " OR (SELECT sum(amount) FROM ledger_posting"
            " WHERE transaction_id = NEW.id) <> 0 THEN"
            " RAISE EXCEPTION USING"
            " MESSAGE = 'ledger transaction ' || NEW.key || ' does not balance',"
            " ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$",
            "CREATE TRIGGER ledger_transaction_balanced AFTER INSERT"
            " ON ledger_transaction FOR EACH ROW"
            " EXECUTE FUNCTION ledger_transaction_balanced()",
        ],
        "ledger_posting": [
            "CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE"
            " ON ledger_posting FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
            "CREATE OR REPLACE FUNCTION ledger_posting_open() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN"
            " IF EXISTS (SELECT 1 FROM ledger_transaction"
            " WHERE id = NEW.transaction_id) THEN"
            " RAISE EXCEPTION USING MESSAGE = 'ledger transaction '"
            " || NEW.transaction_id || ' already posted',"
            " ERRCODE = 'integrity_constraint_violation'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER ledger_posting_open BEFORE INSERT ON ledger_posting"
            " FOR EACH ROW EXECUTE FUNCTION ledger_posting_open()",
        ],
    },
}
#: PostgreSQL functions the triggers call (dropped with the tables).
TRIGGER_FUNCTIONS = (
    "ledger_append_only",
    "ledger_transaction_balanced",
    "ledger_posting_open",
)

for _dialect, _tables in TRIGGERS.items():
    for _table, _statements in _tables.items():
        for _sql in _statements:
            event.listen(
                db.metadata.tables[_table],
                "after_create",
                DDL(_sql).execute_if(dialect=_dialect),
            )
