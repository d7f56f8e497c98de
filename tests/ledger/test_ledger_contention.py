"""The ledger under real concurrent requests, on a real gunicorn.

Four worker processes with four threads each. Operators submit payouts of a
seller's whole available balance at the same moment, with different form keys
(only one may be recorded: the balance never goes below zero) and with the same
key (a form sent many times records one payout). Sellers open their earnings
page, which releases whatever fell due, at the same moment as ``flask sweep``
does the same: every order must be released exactly once. On SQLite and on
PostgreSQL alike: no 500, no "database is locked", and ``flask reconcile``
passes afterwards.
"""

import contextlib
import os
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.orders.models import Order
from storefront.settings import set_setting
from storefront.shops.models import Shop
from tests import factories
from tests.ledger.conftest import Network, after_window, balances, make_network
from tests.live_server import (
    COMMAND_TIMEOUT,
    ROOT,
    HttpSession,
    LiveServer,
    ServerOptions,
    at_once,
    flask_command,
    server_database,
)

SERVER = ServerOptions(
    workers=4,
    threads=4,
    # Every session comes from 127.0.0.1: sign-ins would soon be throttled.
    settings={"STOREFRONT_RATELIMIT_ENABLED": "false"},
)
RACE_TIMEOUT = 60.0
OVERDRAWN = "A payout cannot be more than the available balance."
KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')
BALANCES = re.compile(r"<dd[^>]*>([^<]+)</dd>")
SWEEP = "storefront-sweep"  #: its PostgreSQL application_name
RELEASED = re.compile(r"orders whose commission became available: (\d+)")


def network_on(server: LiveServer) -> Network:
    """Mei ← Qiang ← Sarah and their products, with the server's operator."""
    operator = db.session.scalar(select(User.id).filter_by(email=server.operator_email))
    return make_network(operator)


def signed_in(server: LiveServer, email: str, password: str) -> HttpSession:
    session = HttpSession(server.url, timeout=RACE_TIMEOUT)
    session.login(email, password)
    return session


def operator_session(server: LiveServer) -> HttpSession:
    return signed_in(server, server.operator_email, server.operator_password)


def account_balances(server: LiveServer, shop_id: int) -> dict[str, int]:
    rows = server.query(
        "SELECT kind, balance FROM ledger_account WHERE shop_id = :id", id=shop_id
    )
    return {"pending": 0, "available": 0, "paid_out": 0, **dict(rows)}


def major(amount: int) -> str:
    """Minor units as the payout form takes them: ``5000`` → ``50.00``."""
    return f"{amount // 100}.{amount % 100:02d}"


def minor(shown: str) -> int:
    """An amount as a page shows it (``CN¥1,250.00``) in minor units."""
    return int(re.sub(r"[^\d-]", "", shown))


def assert_clean(server: LiveServer) -> None:
    """Nothing failed on the server, and the ledger reconciles."""
    log = server.log()
    assert "database is locked" not in log, server.log_excerpt()
    assert "Traceback" not in log, server.log_excerpt()
    assert "The ledger reconciles" in flask_command(server.env, "reconcile")


def payout(amount: int, key: str, n: int) -> dict[str, str]:
    """The payout form's fields."""
    return {
        "amount": major(amount),
        "method": "WeChat Pay",
        "reference": f"TX{n:03d}",
        "key": key,
    }


@pytest.mark.parametrize("live_server", [SERVER], ids=["4x4"], indirect=True)
def test_payouts_of_the_whole_balance_at_once_record_one(live_server, monkeypatch):
    """30 payouts of Qiang's whole available balance, each from its own page
    load (its own key), submitted at the same moment by five operator
    sessions: exactly one is recorded (302) and the 29 others are refused, 422,
    with the "more than the available balance" message; Qiang's available
    balance is then 0 and his paid out is what was available; one payout row;
    reconcile passes."""
    with server_database(live_server, monkeypatch):
        net = network_on(live_server)
        net.completed(net.qiang, tea=40)  # ¥500 sold: ¥50 to Qiang
        ledger.settle_due(after_window())
        db.session.commit()
        shop = net.qiang.id
        available = balances(net.qiang)[1]
    assert available == 5000

    operators = [operator_session(live_server) for _ in range(5)]
    keys = [
        KEY.search(operators[n % 5].get(f"/admin/payouts/{shop}").text).group(1)
        for n in range(30)
    ]
    assert len(set(keys)) == 30
    responses = at_once(
        [
            lambda n=n: operators[n % 5].post(
                f"/admin/payouts/{shop}", payout(available, keys[n], n)
            )
            for n in range(30)
        ]
    )

    statuses = Counter(r.status for r in responses)
    print(f"30 payouts of {available} at once: {dict(statuses)}")
    assert statuses == {302: 1, 422: 29}, live_server.log_excerpt()
    assert all(OVERDRAWN in r.text for r in responses if r.status == 422)
    assert account_balances(live_server, shop) == {
        "pending": 0,
        "available": 0,
        "paid_out": available,
    }
    assert live_server.query("SELECT shop_id, amount FROM payout") == [
        (shop, available)
    ]
    page = operators[0].get(f"/admin/payouts/{shop}")
    assert [minor(s) for s in BALANCES.findall(page.text)] == [0, 0, available]
    assert_clean(live_server)


@pytest.mark.parametrize("live_server", [SERVER], ids=["4x4"], indirect=True)
def test_one_payout_form_sent_twenty_times_at_once_records_one(
    live_server, monkeypatch
):
    """One payout form (one key) for Mei's whole available balance, submitted
    20 times at the same moment from one operator's session, as a frantic
    double tap would: every answer is the redirect of a recorded payout, one
    payout row exists, Mei's balance moved once, and reconcile passes."""
    with server_database(live_server, monkeypatch):
        net = network_on(live_server)
        net.completed(net.mei, tea=16)  # ¥200 sold: ¥20 to Mei
        ledger.settle_due(after_window())
        db.session.commit()
        shop = net.mei.id
        available = balances(net.mei)[1]
    assert available == 2000

    operator = operator_session(live_server)
    key = KEY.search(operator.get(f"/admin/payouts/{shop}").text).group(1)
    fields = payout(available, key, 1)
    responses = at_once([lambda: operator.post(f"/admin/payouts/{shop}", fields)] * 20)

    statuses = Counter(r.status for r in responses)
    print(f"one payout form sent 20 times at once: {dict(statuses)}")
    assert statuses == {302: 20}, (
        [r.text[:300] for r in responses if r.status != 302][:1],
        live_server.log_excerpt(),
    )
    assert live_server.query("SELECT shop_id, amount, key FROM payout") == [
        (shop, available, key)
    ]
    assert account_balances(live_server, shop) == {
        "pending": 0,
        "available": 0,
        "paid_out": available,
    }
    assert_clean(live_server)


def sweep(server: LiveServer) -> subprocess.Popen:
    """Start ``flask sweep`` on the server's database (on PostgreSQL its
    connection is named ``SWEEP``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "storefront", "sweep"],
        cwd=ROOT,
        env={**server.env, "PGAPPNAME": SWEEP},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def swept(process: subprocess.Popen) -> int:
    """How many orders a finished ``flask sweep`` (which must succeed) says it
    released: those it found due, some of which a page may have released while
    it waited."""
    output, _ = process.communicate(timeout=COMMAND_TIMEOUT)
    assert process.returncode == 0, output
    return int(RELEASED.search(output).group(1))


def complete_orders(net: Network, rounds: int) -> list[int]:
    """``rounds`` completed orders of each seller; their ids."""
    return [
        net.completed(seller, tea=1 + n % 3, nuts=n % 2).id
        for n in range(rounds)
        for seller in (net.mei, net.qiang, net.sarah)
    ]


def wait_for_sweep(server: LiveServer, process: subprocess.Popen) -> str:
    """Return once the sweep waits for the lock too: on PostgreSQL, when its
    connection does; on SQLite, a moment after it opened the database (it then
    waits for the write lock, up to its busy timeout of 10 s). Says how many
    connections wait."""
    deadline = time.monotonic() + RACE_TIMEOUT / 2
    url = server.env["STOREFRONT_DATABASE_URL"]
    while time.monotonic() < deadline and process.poll() is None:
        if url.startswith("sqlite"):
            path = os.path.realpath(url.removeprefix("sqlite:///"))
            fds = Path(f"/proc/{process.pid}/fd")
            with contextlib.suppress(OSError):  # a descriptor closed meanwhile
                if any(os.readlink(fd) == path for fd in fds.iterdir()):
                    time.sleep(0.5)
                    return "the sweep had opened the SQLite file"
        else:
            waiting = dict(
                server.query(
                    "SELECT application_name = :sweep, COUNT(*)"
                    " FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " GROUP BY 1",
                    sweep=SWEEP,
                )
            )
            if waiting.get(True):
                return f"the sweep and {waiting.get(False, 0)} pages waited"
        time.sleep(0.05)
    pytest.fail("the sweep never waited for the lock")


def assert_released_once(server: LiveServer, order_ids: list[int]) -> None:
    released = server.query(
        "SELECT order_id, COUNT(*) FROM ledger_transaction"
        " WHERE kind = 'release' GROUP BY order_id"
    )
    assert sorted(released) == [(id, 1) for id in sorted(order_ids)]
    assert server.query("SELECT COUNT(*) FROM ledger_hold") == [(0,)]


def assert_pages_show(server: LiveServer, pages: list, owed: dict[int, int]) -> None:
    """Every earnings page answered 200 with everything owed available (the
    page released it, or waited for whoever did), and the database agrees."""
    statuses = Counter(page.status for _, page in pages)
    assert statuses == {200: len(pages)}, server.log_excerpt()
    for shop_id, page in pages:
        shown = [minor(s) for s in BALANCES.findall(page.text)]
        assert shown == [0, owed[shop_id], 0], (shop_id, shown)
    for shop_id, amount in owed.items():
        assert account_balances(server, shop_id) == {
            "pending": 0,
            "available": amount,
            "paid_out": 0,
        }


@pytest.mark.parametrize("live_server", [SERVER], ids=["4x4"], indirect=True)
def test_earnings_pages_and_the_sweep_release_each_order_once(live_server, monkeypatch):
    """With no after-sale window, completed orders fall due at once. First the
    three sellers open their earnings page 40 times at the same moment: each
    of 9 due orders is released exactly once, for good (no hold left). Then 9
    more fall due and the 40 pages and ``flask sweep`` all wait behind one
    lock (the orders' rows on PostgreSQL, the write lock on SQLite) and go at
    the same instant: again each order is released exactly once. Every page
    answers 200 showing everything available, nothing pending; the log holds
    no error and reconcile passes."""
    with server_database(live_server, monkeypatch):
        set_setting("AFTER_SALE_DAYS", 0)
        net = network_on(live_server)
        shops = (net.mei, net.qiang, net.sarah)
        first = complete_orders(net, 3)
        db.session.commit()
        owed = {shop.id: balances(shop)[0] for shop in shops}
        names = {shop.id: shop.owner.email for shop in shops}
        ids = (*names, net.operator.id, net.tea, net.nuts)
    sessions = {
        shop_id: signed_in(live_server, email, factories.PASSWORD)
        for shop_id, email in names.items()
    }
    readers = [list(sessions)[n % 3] for n in range(40)]

    def earnings(shop_id: int):
        return shop_id, sessions[shop_id].get("/me/earnings")

    # The pages alone (no sweep runs to cover for a page that settles nothing).
    pages = at_once([lambda s=s: earnings(s) for s in readers])
    assert_released_once(live_server, first)
    assert_pages_show(live_server, pages, owed)

    # The pages and the sweep, released together.
    with server_database(live_server, monkeypatch):
        mei, qiang, sarah = (db.session.get(Shop, id) for id in ids[:3])
        net = Network(mei, qiang, sarah, db.session.get(User, ids[3]), *ids[4:])
        shops = (mei, qiang, sarah)
        second = complete_orders(net, 3)
        db.session.commit()
        owed = {shop.id: sum(balances(shop)) for shop in shops}
        # What every release takes first: the write lock (SQLite) or the order
        # (PostgreSQL); held here until everyone else is waiting for it.
        db.session.execute(
            select(Order.id).where(Order.id.in_(second)).with_for_update()
        ).all()
        with ThreadPoolExecutor(max_workers=1) as background:
            race = background.submit(
                at_once, [lambda s=s: earnings(s) for s in readers]
            )
            process = sweep(live_server)
            waited = wait_for_sweep(live_server, process)
            db.session.rollback()
            pages = race.result(timeout=2 * RACE_TIMEOUT)
    by_sweep = swept(process)

    print(
        f"{len(second)} orders due, 40 pages and a sweep at once ({waited}); "
        f"the sweep found {by_sweep} of them due"
    )
    assert_released_once(live_server, first + second)
    assert_pages_show(live_server, pages, owed)
    assert_clean(live_server)
