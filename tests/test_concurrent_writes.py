"""Two gunicorn workers writing one database at the same moment.

On SQLite only one connection writes at a time: write requests begin IMMEDIATE and
wait for the lock instead of failing with "database is locked". On PostgreSQL the
same requests run side by side. Either way every write must land, once.
"""

import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from math import ceil
from urllib.parse import quote

from storefront.admin.views import ADMIN_PAGE_SIZE
from tests.live_server import HttpSession, LiveServer

CLIENTS = 8  # one sign-in each; sign-ins are limited to 10 a minute per address
POSTS = 80
NEW_PRODUCT = "/admin/products/new"
EDIT_URL = re.compile(r"/admin/products/(\d+)$")
LISTED = re.compile(r'<a href="/admin/products/(\d+)">([^<]*)</a>')
COUNT = re.compile(r'<p class="count">([^<]*)</p>')


def signed_in(server: LiveServer) -> HttpSession:
    session = server.session()
    session.login(server.operator_email, server.operator_password)
    return session


def product_fields(name: str) -> dict[str, str]:
    return {
        "name": name,
        "slug": "",
        "description": "Made under load.",
        "price": "12.50",
        "compare_at_price": "",
        "stock": "5",
        "category_id": "0",
        "active": "y",
        "commission_bp": "",
    }


def test_simultaneous_product_creations_all_land(live_server):
    """80 product creations sent at once from 8 operator sessions, spread over both
    worker processes, each answer 302 to its own new product; nothing fails in the
    log ("database is locked", tracebacks); and the back office then lists exactly
    those 80 products under their names: no write lost, failed or doubled."""
    prefix = f"Burst {secrets.token_hex(3)}"
    names = [f"{prefix} {n:02d}" for n in range(POSTS)]
    sessions = [signed_in(live_server) for _ in range(CLIENTS)]
    start = threading.Barrier(POSTS, timeout=20)

    def create(n: int):
        start.wait()  # every thread sends at the same moment
        return sessions[n % CLIENTS].post(NEW_PRODUCT, product_fields(names[n]))

    with ThreadPoolExecutor(max_workers=POSTS) as pool:
        responses = list(pool.map(create, range(POSTS), timeout=90))

    failed = [
        (names[n], r.status, r.text[:300])
        for n, r in enumerate(responses)
        if r.status != 302
    ]
    assert not failed, (
        f"{len(failed)} creations failed, e.g. {failed[:3]}\n"
        f"{live_server.log_excerpt()}"
    )
    created = {}
    for name, response in zip(names, responses, strict=True):
        match = EDIT_URL.search(response.headers["Location"])
        assert match, f"{name} went to {response.headers['Location']}"
        created[int(match.group(1))] = name
    assert len(created) == POSTS, "two creations answered with the same product"
    log = live_server.log()
    assert "database is locked" not in log
    assert "Traceback" not in log, live_server.log_excerpt()
    writers = live_server.served_by("POST", NEW_PRODUCT)
    assert len(writers) == 2, f"both workers should have written: {writers}"

    listed = {}
    admin = sessions[0]
    for page in range(1, ceil(POSTS / ADMIN_PAGE_SIZE) + 1):
        response = admin.get(f"/admin/products?q={quote(prefix)}&page={page}")
        assert response.status == 200
        if page == 1:
            assert COUNT.search(response.text).group(1) == f"{POSTS} products"
        listed.update((int(id_), name) for id_, name in LISTED.findall(response.text))
    assert listed == created
