"""A gunicorn worker killed (SIGKILL) while it places orders loses and duplicates
nothing.

Forty buyers submit checkout for a product with ten units, to two workers; once
the first answers are back, both workers are killed outright. Its requests in
flight die with their connections; gunicorn starts a new worker. Every buyer
whose answer was lost submits the same form again (the same one-time checkout
key), as a phone would on "try again". Afterwards: the units sold plus the stock
left are exactly the ten there were, every order has its line, no checkout key
made two orders, nobody was sent to someone else's order, and the shop serves.
"""

import os
import signal
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live_server import ACCESS_LINE, LiveServer, ServerOptions
from tests.test_checkout_contention import STOCK, buyer_ready, create_product

BUYERS = 40
SERVER = ServerOptions(
    workers=2, threads=4, settings={"STOREFRONT_RATELIMIT_ENABLED": "false"}
)


def submit(buyer: dict):
    """The checkout's answer, or None when the connection died under it."""
    try:
        return buyer["buyer"].post("/checkout", buyer["fields"])
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


@pytest.mark.parametrize("live_server", [SERVER], ids=["2-workers"], indirect=True)
def test_a_worker_killed_mid_checkout_loses_and_duplicates_nothing(
    live_server: LiveServer,
):
    operator = live_server.session()
    operator.login(live_server.operator_email, live_server.operator_password)
    product_id = create_product(operator, "Crash kettle", "crash-kettle")
    with ThreadPoolExecutor(max_workers=16) as pool:
        buyers = list(
            pool.map(
                lambda n: buyer_ready(live_server, "crash-kettle", product_id, n),
                range(BUYERS),
            )
        )
    # Every worker that has served so far (their pids are in the access log).
    workers = {int(line[0]) for line in ACCESS_LINE.findall(live_server.log())}
    assert len(workers) == SERVER.workers, workers

    answered = threading.Semaphore(0)

    def check_out(buyer):
        result = submit(buyer)
        answered.release()
        return result

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        futures = [pool.submit(check_out, buyer) for buyer in buyers]
        for _ in range(3):  # some orders are through: the rush is on
            assert answered.acquire(timeout=60)
        for worker in workers:  # all of them: some request is surely in flight
            os.kill(worker, signal.SIGKILL)
        first = [future.result(timeout=120) for future in futures]
    lost = [
        buyer for buyer, answer in zip(buyers, first, strict=True) if answer is None
    ]
    # The phone's "try again": the same form, the same checkout key.
    deadline = time.monotonic() + 60
    final = list(first)
    for index in range(len(first)):
        while final[index] is None and time.monotonic() < deadline:
            final[index] = submit(buyers[index])
            if final[index] is None:
                time.sleep(0.2)  # the new worker is still starting
    assert all(answer is not None for answer in final), "the shop did not come back"

    placed = {}
    for buyer, answer in zip(buyers, final, strict=True):
        if answer.status == 302:
            placed[buyer["fields"]["checkout_key"]] = answer.headers["Location"]
        else:
            assert 400 <= answer.status < 500 and "sold out" in answer.text, (
                answer.status,
                answer.text[:300],
            )
    [(stock,)] = live_server.query(
        "SELECT stock FROM product WHERE id = :id", id=product_id
    )
    rows = live_server.query(
        "SELECT o.checkout_key, COUNT(l.id), COALESCE(SUM(l.quantity), 0)"
        " FROM orders o LEFT JOIN order_line l ON l.order_id = o.id"
        " GROUP BY o.id, o.checkout_key"
    )
    summary = (
        f"{len(lost)} answers lost to the kill, {len(placed)} orders, stock {stock};"
        f" checkouts by worker {live_server.served_by('POST', '/checkout')},"
        f" killed {sorted(workers)}"
    )
    print(summary)
    assert stock + sum(quantity for _, _, quantity in rows) == STOCK, summary
    assert all(lines == 1 for _, lines, _ in rows), "an order without its line"
    assert {key for key, _, _ in rows} == set(placed), summary  # one order per key
    assert len(set(placed.values())) == len(placed)  # nobody shares an order
    assert len(placed) == STOCK - stock
    assert lost, f"the kill should land on requests in flight: {summary}"
    assert live_server.session().get("/healthz").status == 200
