"""``flask sweep`` SIGKILLed in the middle of its work loses and duplicates nothing.

The sweep runs from a timer while the shop serves; the machine may kill it at
any moment (out of memory, a reboot, an operator's ``kill -9``). It does three
jobs, each in its own transactions: fail group-buys past their deadline
(cancelling or refunding their members' orders), cancel transfer orders left
unpaid too long (returning their stock), and release commission whose
after-sale window has passed. A real process runs the sweep on the test's
database and is killed at five points: between two groups of one transaction,
with each job's work written but not committed, and with a release's balances
half moved. After each kill the database holds only whole steps (no group
failed without its orders, no order cancelled without its stock, no money half
moved) and reconciles; the next sweep then finishes the work, doing each step
exactly once.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select, text, update

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupMember
from storefront.groupbuy.models import GroupState as G
from storefront.ledger.models import Hold, Transaction, TransactionKind
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderEvent, OrderLine
from storefront.orders.models import OrderState as S
from storefront.timeutil import utcnow
from tests.crashes import ROOT, run_child
from tests.groupbuy.conftest import make_offer, seat
from tests.ledger.conftest import make_network

GROUPS = 3  #: due groups, each with a paid and an unpaid member
STALE = 3  #: transfer orders unpaid for 49 hours
DUE = 3  #: completed orders past the after-sale window
#: Where the sweep is killed: when the statements it runs have started with
#: each of these in turn ("COMMIT" is the moment of committing); and how many
#: groups failed, stale orders cancelled and orders released it leaves.
KILL_POINTS = {
    "between-two-groups": (
        ("UPDATE buying_group SET state", "UPDATE buying_group SET state"),
        (0, 0, 0),
    ),
    "groups-written": (("UPDATE buying_group SET state", "COMMIT"), (0, 0, 0)),
    "unpaid-written": (("COMMIT", "UPDATE orders", "COMMIT"), (GROUPS, 0, 0)),
    "release-half-moved": (
        ("COMMIT", "COMMIT", "UPDATE ledger_account", "UPDATE ledger_account"),
        (GROUPS, STALE, 0),
    ),
    "releases-written": (("COMMIT", "COMMIT", "COMMIT"), (GROUPS, STALE, 0)),
}


def sweep() -> None:
    """What the killed process does (in an app context): ``flask sweep``."""
    current_app.cli.main(["sweep"], standalone_mode=False)


def count(statement) -> int:
    return db.session.scalar(statement)


def units_held() -> int:
    """Units of tea and nuts in orders still holding their stock."""
    return count(
        select(
            func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0)
        )
        .join(Order)
        .where(Order.state.not_in([S.CANCELLED, S.REFUNDED]))
    )


@pytest.fixture
def due(app, operator) -> dict:
    """A shop's worth of work for the sweep, committed: ``GROUPS`` groups past
    their deadline, ``STALE`` stale unpaid orders, ``DUE`` orders whose
    commission has become available, and an order of each kind not yet due.
    Returns the stock there is in all (on shelves plus held by orders)."""
    with app.app_context():
        net = make_network(operator)
        offer = make_offer(db.session.get(Product, net.tea))
        for n in range(GROUPS):
            order = groups.start_group(offer, seat("Ann", f"a{n}"), net.mei)
            orders.mark_paid(order, net.operator)
            groups.join_group(groups.group_of(order).group, seat("Bo", f"b{n}"))
        fresh_group = groups.start_group(offer, seat("Cai", "c"), net.qiang)
        stale = [net.order(net.sarah, tea=1, nuts=1).id for _ in range(STALE)]
        net.order(net.sarah, tea=2)  # fresh, unpaid
        completed = [net.completed(net.qiang, tea=2, nuts=1).id for _ in range(DUE)]
        waiting = net.completed(net.mei, tea=1).id  # in its after-sale window
        db.session.flush()

        now = utcnow()
        db.session.execute(
            update(Group)
            .where(Group.id != groups.group_of(fresh_group).group_id)
            .values(deadline=now - timedelta(minutes=1))
        )
        db.session.execute(
            update(Order)
            .where(Order.id.in_(stale))
            .values(created_at=now - timedelta(hours=49))
        )
        db.session.execute(
            update(Hold)
            .where(Hold.order_id.in_(completed))
            .values(completed_at=now - timedelta(days=8))
        )
        db.session.commit()
        assert problems() == []
        return {
            "stock": count(select(func.sum(Product.stock))) + units_held(),
            "stale": stale,
            "completed": completed,
            "waiting": waiting,
        }


def run_sweep(app) -> subprocess.CompletedProcess:
    """``flask sweep`` on the test's database, to the end."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storefront", "sweep"],
        cwd=ROOT,
        env={
            **os.environ,
            "STOREFRONT_INSTANCE_PATH": app.instance_path,
            "STOREFRONT_DATABASE_URL": app.config["DATABASE_URL"],
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_whole(due: dict) -> None:
    """Only whole steps are in the database (in an app context): each group
    failed with all its members' orders, or open with none touched; no stock
    lost or made; the ledger reconciles."""
    for group in db.session.scalars(select(Group)):
        states = {m.order.state for m in group.members}
        if group.state is G.FAILED:
            assert states == {S.CANCELLED, S.REFUNDED}, group.id
            assert all(not m.order.group_hold for m in group.members)
        else:
            assert group.state is G.OPEN
            assert S.CANCELLED not in states and S.REFUNDED not in states
    assert count(select(func.sum(Product.stock))) + units_held() == due["stock"]
    assert problems() == []


def events_of(kind: str) -> list[int]:
    """The ids of the orders with a ``kind`` event, once per event."""
    return sorted(
        db.session.scalars(select(OrderEvent.order_id).filter_by(kind=kind)).all()
    )


def progress(due: dict) -> tuple[int, int, int]:
    """Groups failed, stale orders cancelled and orders released so far."""
    return (
        count(select(func.count(Group.id)).filter_by(state=G.FAILED)),
        count(
            select(func.count(Order.id)).where(
                Order.id.in_(due["stale"]), Order.state == S.CANCELLED
            )
        ),
        count(
            select(func.count(Transaction.id)).filter_by(kind=TransactionKind.RELEASE)
        ),
    )


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_sweep_killed_midway_loses_and_duplicates_nothing(app, due, point):
    statements, kept = KILL_POINTS[point]
    killed = run_child(app, "tests.test_sweep_crash:sweep", statements)
    output = f"stdout:\n{killed.stdout}\nstderr:\n{killed.stderr}"
    assert killed.returncode == -signal.SIGKILL, output
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(text("PRAGMA integrity_check")) == "ok"
        assert_whole(due)
        # What the interrupted transaction wrote is gone, what came before kept.
        assert progress(due) == kept

    finished = run_sweep(app)
    assert finished.returncode == 0, finished.stderr
    again = run_sweep(app)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "group-buys failed at their deadline: 0",
        "expired unpaid orders: 0",
        "orders whose commission became available: 0",
    ]

    with app.app_context():
        assert_whole(due)
        assert progress(due) == (GROUPS, STALE, DUE)
        due_groups = db.session.scalars(
            select(Group).where(Group.deadline < utcnow())
        ).all()
        assert [group.state for group in due_groups] == [G.FAILED] * GROUPS
        members = db.session.scalars(
            select(GroupMember.order_id).where(
                GroupMember.group_id.in_([g.id for g in due_groups])
            )
        ).all()
        # Each order cancelled or refunded once, and only those due.
        assert sorted(events_of("cancelled") + events_of("refunded")) == sorted(
            members + due["stale"]
        )
        released = db.session.scalars(
            select(Transaction.order_id).filter_by(kind=TransactionKind.RELEASE)
        ).all()
        assert sorted(released) == sorted(due["completed"])
        assert db.session.scalars(select(Hold.order_id)).all() == [due["waiting"]]
