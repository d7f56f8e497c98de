"""The one place order events go: ``paid``, ``completed``, ``refunded`` and
``cancelled``.

Subscribers (the referral ledger, group-buys) are called inside the transaction
that changed the order, so what they write commits or rolls back with it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from storefront.orders.models import Order


@dataclass(frozen=True)
class OrderEvent:
    kind: str  #: "paid", "completed", "refunded" or "cancelled"
    order: Order
    #: Minor units per order line id: paid for, or refunded by this event.
    amounts: dict[int, int] = field(default_factory=dict)
    #: Distinguishes repeated events of one kind (the refund number).
    sequence: int = 0


subscribers: list[Callable[[OrderEvent], None]] = []


def subscribe(handler: Callable[[OrderEvent], None]) -> None:
    if handler not in subscribers:
        subscribers.append(handler)


def emit(event: OrderEvent) -> None:
    for handler in subscribers:
        handler(event)
