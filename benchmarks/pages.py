"""Server time of the seller's dashboard and customers page on a benchmark dataset.

    python -m benchmarks.pages --database sqlite:////tmp/bench.db [--requests 50]

Signs in (Flask's test client, in process: no network, no server in between)
as the seller of the busiest shop and of the median shop by visits, and times
each page ``--requests`` times after a warm-up (or as many times as fit in
``--budget`` seconds, at least once). Prints markdown tables: the dataset's
size, the shops measured, and p50 / p95 / max per page in ms; ``--breakdown``
adds the time of each analytics query behind the pages. It only reports: what
is fast enough is for the reader to judge. A page that does not answer 200
stops the run, so error pages are never timed.
"""

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from benchmarks.dataset import bench_app, row_counts
from storefront.accounts.models import User
from storefront.analytics import services
from storefront.analytics.services import Period
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.shops.models import Shop, Visit

PAGES = ("/me", "/me?days=90", "/me/customers", "/me/customers?segment=lapsed")
#: Untimed calls first (fewer when one takes over a second: no cache to fill).
WARM_UP = 3
#: Seconds of timed calls per page, beyond which no new call starts.
BUDGET = 30.0


@dataclass(frozen=True)
class Measured:
    """One shop whose seller's pages are timed, and how big it is."""

    label: str
    shop_id: int
    slug: str
    session_token: str
    visits: int
    visitors: int
    orders: int
    customers: int

    @property
    def row(self) -> list[str]:
        sizes = (self.visits, self.visitors, self.orders, self.customers)
        return [self.label, self.slug, *(f"{size:,}" for size in sizes)]


@dataclass(frozen=True)
class Timing:
    shop: str
    what: str
    #: Seconds, one per timed call.
    times: list[float]

    def percentile(self, share: float) -> float:
        """Nearest rank, in ms."""
        ordered = sorted(self.times)
        return 1000 * ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    @property
    def row(self) -> list[str]:
        return [
            self.shop,
            f"`{self.what}`",
            str(len(self.times)),
            f"{self.percentile(0.5):.1f}",
            f"{self.percentile(0.95):.1f}",
            f"{1000 * max(self.times):.1f}",
        ]


def shops_to_measure() -> list[Measured]:
    """The shop with the most visits, and the median one (in an app context)."""
    by_visits = db.session.execute(
        select(Visit.shop_id, func.count())
        .group_by(Visit.shop_id)
        .order_by(func.count().desc(), Visit.shop_id)
    ).all()
    if not by_visits:
        raise SystemExit("No visits in this database: generate a dataset first.")
    chosen = {"busiest": by_visits[0][0], "median": by_visits[len(by_visits) // 2][0]}
    return [describe(label, shop_id) for label, shop_id in chosen.items()]


def describe(label: str, shop_id: int) -> Measured:
    shop = db.session.get(Shop, shop_id)
    owner = db.session.get(User, shop.owner_id)
    visits, visitors = db.session.execute(
        select(func.count(), func.count(Visit.visitor.distinct())).where(
            Visit.shop_id == shop_id
        )
    ).one()
    orders, customers = db.session.execute(
        select(func.count(), func.count(Order.phone.distinct())).where(
            Order.shop_id == shop_id
        )
    ).one()
    return Measured(
        label,
        shop_id,
        shop.slug,
        owner.session_token,
        visits,
        visitors,
        orders,
        customers,
    )


def sign_in(client: FlaskClient, measured: Measured) -> None:
    """Sign the client in as the shop's seller, as Flask-Login does after a
    login (skipping the password check, slow on purpose)."""
    with client.session_transaction() as session:
        session["_user_id"] = measured.session_token
        session["_fresh"] = True


def seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def repeat(call: Callable[[], object], requests: int, budget: float) -> list[float]:
    """Seconds each timed call took, after the warm-up."""
    for _ in range(WARM_UP):
        if seconds(call) > 1:
            break
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < requests and (
        not times or time.perf_counter() - started < budget
    ):
        times.append(seconds(call))
    return times


def get(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}, not 200.")


def time_pages(
    app: Flask, shops: list[Measured], requests: int, budget: float
) -> list[Timing]:
    timings = []
    for measured in shops:
        client = app.test_client()
        sign_in(client, measured)
        for path in PAGES:
            times = repeat(partial(get, client, path), requests, budget)
            timings.append(Timing(measured.label, path, times))
    return timings


def in_transaction(query: Callable[[], object]) -> None:
    """Run ``query`` in its own transaction, as a request would."""
    query()
    db.session.rollback()


def breakdown(
    app: Flask, shops: list[Measured], requests: int, budget: float
) -> list[Timing]:
    """The time of each analytics query the pages run, called directly."""
    timings = []
    with app.test_request_context():
        for measured in shops:
            queries: list[tuple[str, Callable, tuple]] = []
            for days in (30, 90):
                period = Period.last_days(days)
                queries += [
                    (f"numbers {days}d", services.numbers, (period,)),
                    (f"numbers {days}d before", services.numbers, (period.previous(),)),
                    (f"daily {days}d", services.daily, (period,)),
                    (f"top_products {days}d", services.top_products, (period,)),
                    (f"landing_pages {days}d", services.landing_pages, (period,)),
                    (f"channels {days}d", services.channels, (period,)),
                ]
            queries.append(("customers", services.customers, ()))
            for name, query, args in queries:
                call = partial(in_transaction, partial(query, measured.shop_id, *args))
                timings.append(
                    Timing(measured.label, name, repeat(call, requests, budget))
                )
        db.session.remove()
    return timings


def table(header: list[str], rows: list[list]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


TIMES = ["shop", "page", "n", "p50", "p95", "max"]


def report(
    database: str,
    requests: int = 50,
    budget: float = BUDGET,
    with_breakdown: bool = False,
    log: Callable[[str], None] = print,
) -> list[Timing]:
    """Time the pages and print the tables; returns the page timings."""
    app = bench_app(database)
    with app.app_context():
        counts = row_counts()
        shops = shops_to_measure()
        db.session.remove()
    log("## Dataset\n")
    log(table(["table", "rows"], [[name, f"{n:,}"] for name, n in counts.items()]))
    log("\n## Shops measured\n")
    header = ["shop", "slug", "visits", "unique visitors", "orders", "customers"]
    log(table(header, [m.row for m in shops]))
    log(
        f"\n## Server time, ms (n timed requests after up to {WARM_UP} to warm up; "
        "in process, no network)\n"
    )
    timings = time_pages(app, shops, requests, budget)
    log(table(TIMES, [t.row for t in timings]))
    if with_breakdown:
        log("\n## Queries behind the pages, ms\n")
        rows = [t.row for t in breakdown(app, shops, requests, budget)]
        log(table(["shop", "query", *TIMES[2:]], rows))
    with app.app_context():
        db.engine.dispose()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the dataset's URL")
    parser.add_argument("--requests", type=int, default=50, help="per page")
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET,
        help="seconds of timed requests per page before stopping early",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each query behind them"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.budget <= 0:
        parser.error("--requests and --budget must be positive")
    report(args.database, args.requests, args.budget, args.breakdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
