"""Random histories of orders, payments, partial refunds, completions, sweeps,
payouts, rate changes and replayed events; after every step every reconcile
invariant holds, the ledger agrees with a model computed independently, and a
replayed event changes nothing.

Each history runs inside one database transaction rolled back at its end, so
thousands of them fit in a test run (``LEDGER_HISTORIES`` sets how many).
"""

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, update

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.ledger.models import Account, Posting
from storefront.ledger.reconcile import problems
from storefront.orders import events
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderState, PaymentMethod
from storefront.settings import get_setting, set_setting
from storefront.timeutil import utcnow
from tests import factories
from tests.ledger.conftest import make_network

S = OrderState
HISTORIES = int(os.environ.get("LEDGER_HISTORIES", "1000"))
#: A stranger, and two of the sellers buying (their own purchases earn nothing).
PHONES = ["138 0013 8000", "139 0000 0001", "139 0000 0002"]


class LedgerHistory(RuleBasedStateMachine):
    """One random history; ``net`` is the committed network it starts from."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.orders: list[int] = []
        self.days = 0  # how far the clock has been moved on
        self.keys = 0
        #: Model: order id → [(line id, shop id, rate)] decided when paid.
        self.owed: dict[int, list[tuple[int, int, int]]] = {}
        self.paid_out: dict[int, int] = {}

    def teardown(self):
        db.session.rollback()
        db.session.expire_all()

    def order(self, order_id: int) -> Order:
        return db.session.get(Order, order_id)

    def some(self, data, *states: OrderState) -> Order | None:
        """One of the history's orders in one of ``states``, if any."""
        found = [i for i in self.orders if self.order(i).state in states]
        return self.order(data.draw(st.sampled_from(found))) if found else None

    # Orders and what happens to them

    @initialize(
        first=st.lists(
            st.tuples(st.sampled_from(["mei", "qiang", "sarah"]), st.booleans()),
            min_size=1,
            max_size=3,
        ),
    )
    def paid_orders(self, first):
        """A few paid orders to begin with, some completed already."""
        for shop, completed in first:
            self.place(shop, PHONES[0], 2, 1, 3, pay=True)
            if completed:
                self.complete(self.order(self.orders[-1]))

    @rule(
        shop=st.sampled_from(["mei", "qiang", "sarah", None]),
        phone=st.sampled_from(PHONES),
        tea=st.integers(0, 5),
        nuts=st.integers(0, 3),
        odd=st.integers(1, 7),
        pay=st.booleans(),
    )
    def place(self, shop, phone, tea, nuts, odd, pay):
        self.keys += 1
        net = self.net
        quantities = {net.tea: tea, net.nuts: nuts, net.odd: odd}
        customer = orders.Customer("Wang", phone, "1 Road")
        order = orders.place_order(
            quantities,
            customer,
            PaymentMethod.TRANSFER,
            getattr(net, shop) if shop else None,
            f"h{self.keys}",
        )
        self.orders.append(order.id)
        if pay:
            self.mark_paid(order)

    @rule(data=st.data())
    def pay(self, data):
        if order := self.some(data, S.PENDING_PAYMENT):
            self.mark_paid(order)

    def mark_paid(self, order: Order) -> None:
        self.owed[order.id] = self.expected_rates(order)
        orders.mark_paid(order, self.net.operator)

    def expected_rates(self, order: Order) -> list[tuple[int, int, int]]:
        """What the rules say each line earns whom, computed here afresh."""
        shop = order.shop
        if shop is None:
            return []
        earners = [(shop, None)]
        if shop.recruiter is not None:
            earners.append((shop.recruiter, get_setting("LEVEL2_COMMISSION_BP")))
        owed = []
        for line in order.lines:
            own = line.product.commission_bp
            for earner, rate in earners:
                if earner.owner.phone == order.phone:
                    rate = 0
                elif rate is None:
                    rate = get_setting("COMMISSION_BP") if own is None else own
                owed.append((line.id, earner.id, rate))
        return owed

    @rule(data=st.data())
    def ship_and_complete(self, data):
        if order := self.some(data, S.PAID, S.SHIPPED):
            self.complete(order)

    def complete(self, order: Order) -> None:
        if order.state is S.PAID:
            orders.ship(order, "SF", "SF1", self.net.operator)
        orders.complete(order, self.net.operator)

    @rule(data=st.data())
    def cancel(self, data):
        if order := self.some(data, S.PENDING_PAYMENT):
            orders.cancel(order, self.net.operator)

    @rule(data=st.data(), line=st.integers(0, 2), quantity=st.integers(1, 4))
    def refund_part(self, data, line, quantity):
        order = self.some(data, *orders.REFUNDABLE)
        if order is not None and line < len(order.lines):
            line = order.lines[line]
            left = line.quantity - line.refunded_quantity
            if left:
                orders.refund(order, {line.id: min(quantity, left)}, self.net.operator)

    @rule(data=st.data())
    def refund_everything(self, data):
        if order := self.some(data, *orders.REFUNDABLE):
            orders.refund_all(order, self.net.operator)

    # Time, rates and money out

    @rule(days=st.sampled_from([0, 1, 4, 8]))
    def time_passes(self, days):
        """The clock moves on ``days`` and the sweep runs."""
        self.days += days
        ledger.settle_due(utcnow() + timedelta(days=self.days))

    @rule(level_1=st.integers(0, 3000), level_2=st.integers(0, 1000))
    def change_rates(self, level_1, level_2):
        set_setting("COMMISSION_BP", level_1)
        set_setting("LEVEL2_COMMISSION_BP", level_2)

    @rule(
        shop=st.sampled_from(["mei", "qiang", "sarah"]),
        share=st.sampled_from([0.25, 0.5, 1.0, 1.5]),
    )
    def payout(self, shop, share):
        shop = getattr(self.net, shop)
        available = ledger.account(shop.id, ledger.A.AVAILABLE).balance
        amount = int(available * share)
        self.keys += 1
        try:
            with db.session.begin_nested():
                ledger.record_payout(
                    shop, amount, "Cash", "", self.net.operator, f"p{self.keys}"
                )
        except ledger.LedgerError:
            too_much = amount > available
            assert too_much or amount < max(get_setting("MINIMUM_PAYOUT"), 1)
        else:
            assert 0 < amount <= available
            self.paid_out[shop.id] = self.paid_out.get(shop.id, 0) + amount

    # Replays

    @precondition(lambda self: self.owed)
    @rule(data=st.data())
    def replay(self, data):
        order = self.order(data.draw(st.sampled_from(sorted(self.owed))))
        kinds = [e.kind for e in order.events]
        refunds = kinds.count("refunded")
        choices = [("paid", 0)]
        if "completed" in kinds:
            choices.append(("completed", 0))
        choices += [("refunded", n) for n in range(1, refunds + 1)]
        kind, sequence = data.draw(st.sampled_from(choices))
        before = self.snapshot()
        events.emit(events.OrderEvent(kind, order, {}, sequence))
        assert self.snapshot() == before

    def held(self) -> set[int]:
        from storefront.ledger.models import Hold

        return set(db.session.scalars(select(Hold.order_id)))

    def snapshot(self):
        db.session.flush()
        return (
            db.session.scalar(select(func.count(Posting.id))),
            db.session.execute(
                select(Account.id, Account.balance).order_by(Account.id)
            ).all(),
        )

    # After every step

    @invariant()
    def reconciles(self):
        db.session.flush()
        assert problems() == []

    @invariant()
    def sellers_hold_what_the_model_says(self):
        owed: dict[int, int] = {}
        for order_id, lines in self.owed.items():
            amounts = {line.id: line for line in self.order(order_id).lines}
            for line_id, shop_id, rate in lines:
                line = amounts[line_id]
                kept = line.amount - line.refunded_amount
                owed[shop_id] = owed.get(shop_id, 0) + kept * rate // 10_000
        held: dict[int, dict] = {}
        for shop_id, kind, balance in db.session.execute(
            select(Account.shop_id, Account.kind, Account.balance)
        ):
            held.setdefault(shop_id, {})[kind] = balance
        for shop in (self.net.mei, self.net.qiang, self.net.sarah):
            balances = held.get(shop.id, {})
            paid = balances.get(ledger.A.PAID_OUT, 0)
            earned = balances.get(ledger.A.PENDING, 0) + balances.get(
                ledger.A.AVAILABLE, 0
            )
            assert paid == self.paid_out.get(shop.id, 0)
            assert earned + paid == owed.get(shop.id, 0)


def test_random_histories_keep_the_ledger_right(app, operator):
    with app.app_context():
        net = make_network(operator)
        net.odd = factories.product(name="Odd", slug="odd", price=333).id
        db.session.execute(update(Product).values(stock=10**6))
        set_setting("MINIMUM_PAYOUT", 100)
        db.session.commit()
        run_state_machine_as_test(
            lambda: LedgerHistory(net),
            settings=settings(
                max_examples=HISTORIES,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
