"""A process that dies in the middle of posting a commission leaves neither half.

Marking an order paid changes the order and writes its commission lines,
postings, transaction, balances and hold in one database transaction. We stop
that transaction at three points: right after the postings are flushed (their
transaction row not yet written), with the balances half moved, and with
everything written but not committed. First in-process, as an exception that
the real admin view turns into a 500; then for real, a separate process
SIGKILLed at the same points. Either way the order must still wait for payment,
the ledger hold nothing of it, and marking it paid again must simply work.
"""

import signal

import pytest
from sqlalchemy import func, select, text

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import (
    Account,
    Commission,
    Hold,
    Payout,
    Posting,
    Transaction,
    TransactionKind,
)
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderEvent, OrderState
from tests.conftest import CSRF_INPUT, login
from tests.crashes import crash_at, run_child
from tests.ledger.conftest import after_window, make_network

#: Where to stop (``tests.crashes.crash_at``): at the first statement starting
#: with the second string run after one starting with the first; "COMMIT" is
#: the moment of committing.
CRASH_POINTS = {
    "postings-flushed": (
        "INSERT INTO ledger_posting",
        "INSERT INTO ledger_transaction",
    ),
    "balances-half-moved": ("UPDATE ledger_account", "UPDATE ledger_account"),
    "all-written": ("INSERT INTO ledger_hold", "COMMIT"),
}
#: What must have been written (in the open transaction) before any crash point,
#: so the crash really falls between the order's half and the ledger's.
WRITTEN_FIRST = (
    "UPDATE orders",
    "INSERT INTO commission",
    "INSERT INTO ledger_posting",
)


class Crash(Exception):
    """The simulated failure; nothing in the app catches it."""


def written_first(seen: list[str]) -> list[str]:
    """Which of ``WRITTEN_FIRST`` had run before the last statement seen."""
    return [w for w in WRITTEN_FIRST if any(s.startswith(w) for s in seen[:-1])]


def snapshot(order_id: int) -> dict:
    """Everything marking the order paid would change (in an app context)."""

    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    return {
        "state": db.session.get(Order, order_id).state,
        "order events": db.session.scalar(
            select(func.count(OrderEvent.id)).filter_by(order_id=order_id)
        ),
        **{model.__name__: count(model) for model in (Commission, Posting, Hold)},
        "transactions": count(Transaction),
        "payouts": count(Payout),
        "balances": [
            tuple(row)
            for row in db.session.execute(
                select(Account.shop_id, Account.kind, Account.balance).order_by(
                    Account.id
                )
            )
        ],
    }


@pytest.fixture
def unpaid(app, operator) -> int:
    """Qiang (recruited by Mei) has earnings settled and pending already, and an
    unpaid order of tea and nuts, so both levels earn on it; returns its id."""
    with app.app_context():
        net = make_network(operator)
        net.completed(net.qiang, tea=4)
        ledger.settle_due(after_window())
        net.paid(net.qiang, tea=2)
        order = net.order(net.qiang, tea=3, nuts=2)
        db.session.commit()
        assert problems() == []
        return order.id


def mark_paid_in_view(client, order_id: int):
    """POST the admin's "mark paid", with the CSRF token fetched beforehand (so
    only this request's statements run while a crash point is armed)."""
    token = CSRF_INPUT.search(client.get(f"/admin/orders/{order_id}").text).group(1)
    return client.post(
        f"/admin/orders/{order_id}/paid", data={"csrf_token": token}, csrf=False
    )


def assert_paid_once(order_id: int) -> None:
    """The order is paid, its commission posted exactly once, and the whole
    ledger reconciles (in an app context)."""
    order = db.session.get(Order, order_id)
    assert order.state is OrderState.PAID
    posted = db.session.scalars(
        select(Transaction.kind).filter_by(order_id=order_id)
    ).all()
    assert posted == [TransactionKind.COMMISSION]
    # two lines, two levels each
    assert len(ledger.commissions_of(order)) == 4
    assert db.session.get(Hold, order_id) is not None
    assert problems() == []


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_failure_inside_the_transaction_leaves_nothing(app, client, unpaid, point):
    """The ledger fails at ``point`` while the operator marks the order paid:
    the operator gets the 500 page, and the database is exactly as before (the
    order waits for payment, no commission line, posting, transaction or hold
    of it, every balance unchanged) and reconciles. Marking it paid again then
    works as if nothing had happened."""
    with app.app_context():
        before = snapshot(unpaid)
        engine = db.engine
    login(client, "op@example.com")

    crashed_after: list[str] = []

    def fail(seen: list[str]) -> None:
        crashed_after.extend(seen)
        raise Crash(point)

    with crash_at(engine, CRASH_POINTS[point], fail):
        response = mark_paid_in_view(client, unpaid)
    # It crashed where meant to, with the order's half already written.
    assert crashed_after[-1].startswith(CRASH_POINTS[point][1]), crashed_after
    assert written_first(crashed_after) == list(WRITTEN_FIRST), crashed_after
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text

    with app.app_context():
        after = snapshot(unpaid)
        assert after["state"] is OrderState.PENDING_PAYMENT
        assert after == before
        assert problems() == []

    assert mark_paid_in_view(client, unpaid).status_code == 302
    with app.app_context():
        assert_paid_once(unpaid)


def mark_paid(order_id: str, operator_id: str) -> None:
    """What the killed process does (in an app context): the operator marks
    the order paid."""
    order = db.session.get(Order, int(order_id))
    orders.mark_paid(order, db.session.get(User, int(operator_id)))
    db.session.commit()


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_process_killed_mid_posting_leaves_nothing(app, unpaid, point):
    """Another process marks the order paid on the same database and is
    SIGKILLed at ``point``, its transaction open: it dies by the signal having
    written the order and postings, yet the database holds neither half (and a
    SQLite file is intact); marking the order paid afterwards posts it once and
    the ledger reconciles."""
    with app.app_context():
        before = snapshot(unpaid)
        operator_id = db.session.scalar(
            select(User.id).filter_by(email="op@example.com")
        )
    child = run_child(
        app,
        "tests.ledger.test_crash:mark_paid",
        CRASH_POINTS[point],
        str(unpaid),
        str(operator_id),
    )
    output = f"stdout:\n{child.stdout}\nstderr:\n{child.stderr}"
    assert child.returncode == -signal.SIGKILL, output
    seen = child.stdout.splitlines()
    assert written_first(seen) == list(WRITTEN_FIRST), output
    assert seen[-1].startswith(CRASH_POINTS[point][1]), output

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(text("PRAGMA integrity_check")) == "ok"
        after = snapshot(unpaid)
        assert after["state"] is OrderState.PENDING_PAYMENT
        assert after == before
        assert problems() == []

        order = db.session.get(Order, unpaid)
        orders.mark_paid(order, db.session.get(User, operator_id))
        db.session.commit()
        assert_paid_once(unpaid)
