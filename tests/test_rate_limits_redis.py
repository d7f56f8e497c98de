"""Rate limits shared through Redis, as an operator running several gunicorn
processes (or hosts) configures them: ``RATELIMIT_STORAGE_URI=redis://…``.

With the default memory storage each process counts on its own, so two
processes let twice the limit through. Here a real ``redis-server`` holds the
counters: attempts at signing in, opening a shop, looking up an order and
checking out, made at once to two gunicorn processes, get exactly the limit
through between them and a 429 after. When Redis goes away the shop keeps
serving and keeps limiting, in each process's memory, until it is back.
"""

import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live_server import LiveServer, Response, ServerOptions, serve

LIMIT = 4
START_TIMEOUT = 10.0
#: Each endpoint's limit setting and a wrong answer to its form (a 4xx, never
#: an order or a shop): the limit counts attempts, right or wrong.
ENDPOINTS = {
    "/login": (
        "LOGIN_RATE_LIMIT",
        {"login": "nobody@example.com", "password": "not the password"},
    ),
    "/join": ("SIGNUP_RATE_LIMIT", {"email": "not an email"}),
    "/o/lookup": ("ORDER_LOOKUP_RATE_LIMIT", {"number": "x", "phone": "1"}),
    "/checkout": ("CHECKOUT_RATE_LIMIT", {"name": ""}),
}


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A redis-server of the test's own on a unix socket (no port to collide
    on, nothing saved to disk): its URL and process."""
    socket = tmp_path / "redis.sock"
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server"]
        + ["--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700"]
        + ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not socket.exists():
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis+unix://{socket}", process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server(redis, tmp_path) -> Iterator[LiveServer]:
    """Two gunicorn processes counting in that Redis, ``LIMIT`` per minute on
    each limited form."""
    settings = {
        f"STOREFRONT_{name}": f"{LIMIT} per minute" for name, _ in ENDPOINTS.values()
    }
    settings["STOREFRONT_RATELIMIT_STORAGE_URI"] = redis[0]
    with serve(
        tmp_path, ServerOptions(workers=2, threads=4, settings=settings)
    ) as live:
        yield live


def attempts(server: LiveServer, path: str, count: int) -> list[Response]:
    """``count`` wrong submissions of the form at ``path`` by one visitor, at
    once, each on a connection of its own; their answers in order."""
    _, fields = ENDPOINTS[path]
    visitor = server.session()
    assert visitor.get(path if path != "/checkout" else "/").status == 200
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: visitor.post(path, fields), range(count)))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_two_processes_share_each_limit_through_redis(server, path):
    answers = attempts(server, path, 3 * LIMIT)
    statuses = [answer.status for answer in answers]
    assert all(status < 500 for status in statuses), statuses
    assert len([s for s in statuses if s != 429]) == LIMIT, statuses
    # Both processes answered: one process's count alone would have let more by.
    served = server.served_by("POST", path)
    assert len(served) == 2, served
    refused = next(answer for answer in answers if answer.status == 429)
    assert "Too many attempts" in refused.text


def test_the_shop_keeps_serving_and_limiting_while_redis_is_away(server, redis):
    _, process = redis
    process.terminate()
    process.wait(timeout=10)
    burst = attempts(server, "/login", 2 * LIMIT + 1)
    assert all(answer.status < 500 for answer in burst), [a.status for a in burst]
    # Each process counts on its own meanwhile: the limit in each, no more.
    visitor = server.session()
    visitor.get("/login")
    fields = ENDPOINTS["/login"][1]
    statuses = [visitor.post("/login", fields).status for _ in range(2 * LIMIT + 1)]
    assert set(statuses) <= {422, 429} and 429 in statuses, statuses
    assert server.session().get("/").status == 200
    assert "falling back to in-memory storage" in server.log()
