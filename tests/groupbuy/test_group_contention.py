"""Two hundred friends tap "Join" on a group of three at the same moment.

The leader holds the first seat; four gunicorn processes take the 200 joins.
The conditional UPDATE on the group's seat counter must seat exactly two of
them and tell everyone else the group is full, offering a new group; the group
succeeds with three members, exactly three units leave stock, and the ledger
reconciles, on SQLite and on PostgreSQL alike.
"""

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.orders import services as orders
from storefront.orders.models import PaymentMethod
from storefront.timeutil import utcnow
from tests import factories
from tests.live_server import (
    HttpSession,
    LiveServer,
    ServerOptions,
    at_once,
    flask_command,
    server_database,
)

JOINERS = 200
STOCK = 500
SERVER = ServerOptions(
    workers=4,
    threads=4,
    # Every friend comes from 127.0.0.1, which per-address limits would throttle.
    settings={"STOREFRONT_RATELIMIT_ENABLED": "false"},
)
REQUEST_TIMEOUT = 60.0
KEY = re.compile(r'<input[^>]*name="checkout_key"[^>]*value="([^"]+)"')
ORDER_URL = re.compile(r"/o/[^/]+/[^/?#]+$")


def open_group(server: LiveServer, monkeypatch) -> tuple[str, int, int]:
    """A tea offer for groups of three and a group Mei's customer leads;
    returns the invite code, the offer's and the product's ids."""
    with server_database(server, monkeypatch):
        shop = factories.shop("mei@example.com", "Mei")
        tea = factories.product(name="Tea", slug="tea", price=1250, stock=STOCK)
        offer = groups.save_offer(
            groups.OfferData(
                product_id=tea.id,
                group_price=990,
                size=3,
                window_hours=24,
                per_customer=1,
                starts_at=utcnow() - timedelta(hours=1),
                ends_at=utcnow() + timedelta(days=7),
                active=True,
            )
        )
        leader = groups.start_group(
            offer,
            groups.Seat(
                orders.Customer("Ann Li", "138 0000 0001", "1 West Lake Road"),
                1,
                PaymentMethod.TRANSFER,
                secrets.token_urlsafe(16),
            ),
            shop,
        )
        code = groups.group_of(leader).group.code
        db.session.commit()
        return code, offer.id, tea.id


def friend_ready(server: LiveServer, code: str, n: int) -> dict:
    """A friend opens the invite and its join form; returns what they send."""
    friend = HttpSession(server.url, timeout=REQUEST_TIMEOUT)
    assert friend.get(f"/g/{code}").status == 200
    form = friend.get(f"/g/{code}/join")
    assert form.status == 200, form.text[:300]
    return {
        "friend": friend,
        "fields": {
            "name": f"Friend {n:03d}",
            "phone": f"1390000{n:04d}",
            "address": f"{n} Nanjing Road, Shanghai",
            "note": "",
            "payment_method": "transfer",
            "quantity": "1",
            "checkout_key": KEY.search(form.text).group(1),
        },
    }


@pytest.mark.parametrize("live_server", [SERVER], ids=["4-workers"], indirect=True)
def test_two_hundred_join_a_group_of_three(live_server, monkeypatch):
    code, offer_id, product_id = open_group(live_server, monkeypatch)
    with ThreadPoolExecutor(max_workers=32) as pool:
        friends = list(
            pool.map(lambda n: friend_ready(live_server, code, n), range(JOINERS))
        )
    join = f"/g/{code}/join"
    results = at_once(
        [lambda f=f: f["friend"].post(join, f["fields"]) for f in friends],
        timeout=REQUEST_TIMEOUT,
    )

    seated = [r for r in results if r.status == 302]
    turned_away = [r for r in results if r.status != 302]
    summary = (
        f"{len(seated)} seated, {len(turned_away)} turned away "
        f"{sorted({r.status for r in turned_away})}"
    )
    print(summary)
    assert len(seated) == 2, f"{summary}\n{live_server.log_excerpt()}"
    assert all(ORDER_URL.search(r.headers["Location"]) for r in seated)
    offered = f"/g/start/{offer_id}?new=1"
    unexpected = [
        (r.status, r.text[:300])
        for r in turned_away
        if not (
            r.status == 409 and "This group is full" in r.text and offered in r.text
        )
    ]
    assert not unexpected, f"{summary}: {unexpected[:3]}"
    log = live_server.log()
    assert "Traceback" not in log and "database is locked" not in log

    # Exactly three members, the group a success, three units gone, no drift.
    assert live_server.query(
        "SELECT state, seats_taken, size FROM buying_group WHERE code = :code",
        code=code,
    ) == [("succeeded", 3, 3)]
    members = live_server.query(
        "SELECT m.phone, o.group_hold FROM group_member m"
        " JOIN buying_group g ON g.id = m.group_id"
        " JOIN orders o ON o.id = m.order_id WHERE g.code = :code",
        code=code,
    )
    assert len(members) == 3 and len({phone for phone, _ in members}) == 3
    assert not any(held for _, held in members)  # all free to ship
    assert live_server.query(
        "SELECT stock FROM product WHERE id = :id", id=product_id
    ) == [(STOCK - 3,)]
    assert live_server.query("SELECT COUNT(*) FROM orders") == [(3,)]
    assert "The ledger reconciles" in flask_command(live_server.env, "reconcile")

    # A late friend sees the group is full and is offered a new one.
    late = friends[-1]["friend"].get(f"/g/{code}")
    assert late.status == 200 and offered in late.text
