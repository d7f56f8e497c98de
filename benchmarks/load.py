"""Load benchmark: the app under gunicorn as deployed, driven by wrk, against a floor.

    python -m benchmarks.load [--database URL] [--shops 1000 --products 10000
        --orders 100000 --visits 1000000] [--duration 10] [--connections 8]
        [--output benchmarks/RESULTS.md] [--skip-growth]

Generates a dataset (``benchmarks.dataset``; by default into a new SQLite file
in a temporary directory), starts gunicorn as the README deploys it pinned to
the first CPU, and loads each endpoint from wrk on the other CPUs: a 60-item
shop page (returning visitor, repeat visit with If-None-Match, new visitor), a
product page, add-to-cart over htmx, a checkout POST, a group-buy join and the
seller's dashboard. Each request is sent once first and checked (status and
a marker in the body), then loaded after a short warm-up; any error or
unexpected status stops the run. The shop page is loaded again at half the
rate it reached.

In the same run, the same gunicorn and config serve the shop page's bytes as a
constant (``benchmarks.floor``): the floor. Then, unless ``--skip-growth``, the
shop page, checkout and dashboard are measured on a dataset with 1,000 orders
and on the same dataset generated again with the rest of ``--orders`` added as
history older than a year, alternating, and their cost ratio reported.

The report (``benchmarks.report``) is printed and written to ``--output``.
"""

import argparse
import contextlib
import math
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, Connection, create_engine, func, make_url, select

from benchmarks import floor, wrk
from benchmarks.dataset import (
    BOTTOMLESS,
    PASSWORD,
    SECRET_KEY,
    SHOWCASE,
    Sizes,
    add_history,
    bench_app,
    generate,
)
from benchmarks.report import Growth, Outcome, write
from benchmarks.serving import (
    ROOT,
    Cpus,
    MemorySampler,
    Server,
    ServerError,
    serve,
    server_env,
)
from benchmarks.visitors import Endpoint, Picks, RequestError, Setup, check
from benchmarks.wrk import Shape
from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.database import database_uri
from storefront.extensions import db
from storefront.groupbuy.models import MAX_SIZE, Group, GroupState
from storefront.shops.models import Shop, ShopProduct, Visit
from tests.live_server import free_port

#: The report's rows, in the order of the issue.
ENDPOINTS = (
    "shop",
    "shop-etag",
    "shop-new",
    "product",
    "cart",
    "checkout",
    "join",
    "dashboard",
)
#: The order they are loaded in: pages that only read first, then the ones
#: that write (visits, orders), so none is measured on another's leftovers.
LOAD_ORDER = (
    "dashboard",
    "shop",
    "shop-etag",
    "product",
    "cart",
    "shop-new",
    "checkout",
    "join",
)
#: What the growth comparison measures.
GROWTH = ("shop", "checkout", "dashboard")
#: The smaller order history of the growth comparison.
GROWTH_ORDERS = 1_000
#: How many times the growth comparison loads each endpoint on each dataset,
#: and the floor comparison the shop page and each floor.
GROWTH_ROUNDS = FLOOR_ROUNDS = 3
#: More joins a second than one CPU could take: enough open groups that seats
#: never run out (each of ``MAX_SIZE`` has all but its leader's seat free).
JOIN_CEILING = 1_500
OUTPUT = ROOT / "benchmarks" / "RESULTS.md"


class BenchmarkError(RuntimeError):
    """The run cannot go on: what went wrong, for the person running it."""


def choose(database: str) -> Picks:
    """The shop page to load (the busiest shop by visits among those showing
    the most products, ``SHOWCASE`` at most), its first product, the busiest
    shop's seller for the dashboard, a quiet shop for the checkout customer to
    come from, and the open groups to join."""
    app = bench_app(database)
    with app.app_context():
        items = dict(
            db.session.execute(
                select(ShopProduct.shop_id, func.count()).group_by(ShopProduct.shop_id)
            ).all()
        )
        visits = dict(
            db.session.execute(
                select(Visit.shop_id, func.count()).group_by(Visit.shop_id)
            ).all()
        )
        if not items:
            raise BenchmarkError("No shop shows any product: generate a dataset.")
        most = min(SHOWCASE, max(items.values()))
        busiest = sorted(items, key=lambda shop: (-visits.get(shop, 0), shop))
        shown = next(shop for shop in busiest if items[shop] == most)
        quiet = [shop for shop in reversed(busiest) if shop not in (shown, busiest[0])]
        shop = db.session.get(Shop, shown)
        first = db.session.scalar(
            select(Product)
            .join(ShopProduct, ShopProduct.product_id == Product.id)
            .where(ShopProduct.shop_id == shown)
            .order_by(ShopProduct.position)
            .limit(1)
        )
        codes = db.session.scalars(
            select(Group.code).where(Group.state == GroupState.OPEN).order_by(Group.id)
        ).all()
        bottomless = db.session.get(Product, 1)
        if bottomless is None or bottomless.stock < BOTTOMLESS // 2:
            raise BenchmarkError("Product 1 is not bottomless: generate a dataset.")
        seller = db.session.get(User, db.session.get(Shop, busiest[0]).owner_id)
        picks = Picks(
            shop_slug=shop.slug,
            shop_name=shop.name,
            items=most,
            product_slug=first.slug,
            product_name=first.name,
            product_id=1,
            checkout_shop_slug=db.session.get(Shop, (quiet or busiest)[0]).slug,
            seller_email=seller.email,
            seller_password=PASSWORD,
            group_codes=tuple(codes),
        )
        db.session.remove()
        db.engine.dispose()
    return picks


def progress(line: str) -> None:
    """What the run is doing, on stderr (the report goes to stdout)."""
    print(line, file=sys.stderr, flush=True)


@dataclass
class Bench:
    """How to run: the database, where files go, the load and the CPUs."""

    database: str
    workdir: Path
    duration: int
    warmup: int
    connections: int
    cpus: Cpus

    def env(self, **extra: str) -> dict[str, str]:
        """The app's settings, as the README's deployment gives them, and the
        rate limits off: all the load comes from one address."""
        return {
            "STOREFRONT_DATABASE_URL": self.database,
            "STOREFRONT_SECRET_KEY": SECRET_KEY,
            "STOREFRONT_INSTANCE_PATH": str(self.workdir / "instance"),
            "STOREFRONT_RATELIMIT_ENABLED": "false",
            **extra,
        }

    def serve(self, app: str, log: str = "gunicorn", **extra: str):
        """gunicorn serving ``app`` (a context manager giving the ``Server``),
        logging to ``<log>.log`` in the work directory."""
        port = free_port()
        env = server_env(self.env(**extra), port)
        return serve(app, env, port, self.workdir / f"{log}.log", self.cpus.server)

    def load(
        self,
        server: Server,
        endpoint: Endpoint,
        pace_ms: float | None = None,
        warmup: bool = True,
    ) -> wrk.Measured:
        """Warm up, then load ``endpoint`` while watching the server's memory."""
        progress(f"  {endpoint.label}" + (" (paced)" if pace_ms else ""))
        if warmup and self.warmup:
            self.run(server, endpoint, self.warmup, pace_ms)
        with MemorySampler(server.process.pid) as memory:
            measured = self.run(server, endpoint, self.duration, pace_ms)
        measured.peak_rss = memory.peak
        return measured

    def run(
        self, server: Server, endpoint: Endpoint, duration: int, pace_ms: float | None
    ) -> wrk.Measured:
        try:
            measured = wrk.run(
                server.url,
                endpoint.shape,
                duration,
                self.connections,
                self.cpus.load,
                pace_ms,
            )
        except wrk.LoadError as error:
            raise BenchmarkError(
                f"{endpoint.label}: {error}\nThe server's log:\n{server.log_excerpt()}"
            ) from None
        server.check_alive()
        return measured


def half_pace(full: wrk.Measured, connections: int) -> float:
    """Milliseconds each connection waits before a request so that together
    they ask for half of ``full``'s rate: the interval at that rate, less about
    the time one answer takes when nothing queues."""
    interval = connections / (full.rate / 2)
    return max(interval - 1 / full.rate, 0.0) * 1000


def measure_app(bench: Bench, picks: Picks, outcome: Outcome) -> floor.Constant:
    """Check and load every endpoint on the app, and the shop page at half
    load, into ``outcome``; the shop page's answer, for the floors."""
    progress("The app:")
    with bench.serve("wsgi:app") as server:
        outcome.settings = server.settings
        setup = Setup(server.url, picks)
        endpoints = {key: setup.endpoint(key) for key in ENDPOINTS}
        shop = check(server.url, endpoints["shop"])
        repeat = endpoints["shop-etag"]
        if etag := shop.headers.get("ETag"):
            repeat.shape.headers["If-None-Match"] = etag
        else:
            repeat.label += " (no ETag sent: the same request as above)"
        for key in ENDPOINTS[1:]:
            check(server.url, endpoints[key])
        for key in LOAD_ORDER:
            outcome.results[key] = full = bench.load(server, endpoints[key])
            if key == "shop":
                outcome.half_target = full.rate / 2
                pace = half_pace(full, bench.connections)
                outcome.half = bench.load(server, endpoints[key], pace, warmup=False)
    outcome.endpoints = [endpoints[key] for key in ENDPOINTS]
    return floor.Constant(
        shop.raw, shop.headers["Content-Type"], shop.headers.get("Content-Encoding")
    )


def measure_floors(
    bench: Bench, shop: Endpoint, constant: floor.Constant
) -> tuple[list[tuple[str, wrk.Measured]], wrk.Measured]:
    """The shop page's bytes as a constant: from a bare WSGI callable and from
    a route of the real app, each under the same gunicorn config and asked with
    the shop page's request headers. The shop page is served beside them and
    the three are loaded ``FLOOR_ROUNDS`` times in turn, the median round of
    each kept: a floor is as quick as gunicorn gets, so a slow minute of a
    shared machine moves it most, and now it moves the page with it."""
    directory = bench.workdir / "floor"
    floor.save(directory, constant)
    env = {floor.ENV: str(directory)}
    labels = ("plain WSGI callable", "the app with one constant route")
    with (
        bench.serve("wsgi:app", log="shop") as app,
        bench.serve("benchmarks.floor:plain()", log="plain", **env) as plain,
        bench.serve("benchmarks.floor:app()", log="app-floor", **env) as app_floor,
    ):
        check(app.url, shop)
        endpoints = [(app, shop)]
        for label, server in zip(labels, (plain, app_floor), strict=True):
            shape = Shape("GET", floor.FLOOR_PATH, dict(shop.shape.headers))
            endpoint = Endpoint("floor", label, shape, "")
            if check(server.url, endpoint).raw != constant.body:
                raise BenchmarkError(f"The {label} floor sent other bytes.")
            endpoints.append((server, endpoint))
        runs: list[list[wrk.Measured]] = [[] for _ in endpoints]
        for round_ in range(1, FLOOR_ROUNDS + 1):
            progress(f"Floors and the shop page, round {round_} of {FLOOR_ROUNDS}:")
            for (server, endpoint), measured in zip(endpoints, runs, strict=True):
                measured.append(bench.load(server, endpoint))
    shop_page, *floors = (median_run(measured) for measured in runs)
    return list(zip(labels, floors, strict=True)), shop_page


def measure_growth(bench: Bench, sizes: Sizes, small: int, seed: int) -> list[Growth]:
    """Shop page, checkout and dashboard on ``small`` orders and on the same
    dataset generated again (same seed) with the rest of ``sizes.orders`` added
    as history older than a year. Both are served at once and each endpoint is
    loaded ``GROWTH_ROUNDS`` times on each, alternating, so that a slow minute
    of a shared machine falls on both; the median round of each side is
    compared."""
    small_sizes = replace(sizes, orders=small, groups=0)
    generate(bench.database, small_sizes, seed, True, progress)
    picks = choose(bench.database)
    grown = sibling_database(bench.database, "grown")
    try:
        generate(grown, small_sizes, seed, True, progress)  # the same rows again
        add_history(grown, sizes.orders - small, seed, progress)
        grown_env = {"STOREFRONT_DATABASE_URL": grown}
        with (
            bench.serve("wsgi:app", log="small") as before,
            bench.serve("wsgi:app", log="grown", **grown_env) as after,
        ):
            sides = {small: before, sizes.orders: after}
            # The dashboard first: the checkouts add orders (to another shop).
            keys = ("dashboard", "shop", "checkout")
            endpoints = {}
            for orders, server in sides.items():
                setup = Setup(server.url, picks)
                endpoints[orders] = {key: setup.endpoint(key) for key in keys}
                for endpoint in endpoints[orders].values():
                    check(server.url, endpoint)
            runs = {(orders, key): [] for orders in sides for key in keys}
            for round_ in range(1, GROWTH_ROUNDS + 1):
                progress(f"Growth, round {round_} of {GROWTH_ROUNDS}:")
                for key in keys:
                    for orders, server in sides.items():
                        progress(f"  {orders:,} orders:")
                        measured = bench.load(server, endpoints[orders][key])
                        runs[orders, key].append(measured)
    finally:
        drop_database(grown)
    return [
        Growth(
            endpoints[small][key].label,
            median_run(runs[small, key]),
            median_run(runs[sizes.orders, key]),
        )
        for key in GROWTH
    ]


def median_run(runs: list[wrk.Measured]) -> wrk.Measured:
    """The run with the median throughput (the lower middle one of an even
    number)."""
    return sorted(runs, key=lambda run: run.rate)[(len(runs) - 1) // 2]


def sibling_database(database: str, suffix: str) -> str:
    """A new, empty database beside ``database``, its name ending in
    ``suffix``; its URL. (PostgreSQL cannot copy a database while anything is
    connected to it, so the data is generated again rather than copied.)"""
    url = make_url(database_uri(database, ""))
    if url.get_backend_name() == "sqlite":
        source = Path(url.database)
        target = source.with_name(f"{source.stem}-{suffix}{source.suffix}")
        for path in target.parent.glob(f"{target.name}*"):
            path.unlink()
        return f"sqlite:///{target}"
    name = f"{url.database}_{suffix}"
    with server_connection(url) as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database: str) -> None:
    """Remove a database made by ``sibling_database``."""
    url = make_url(database_uri(database, ""))
    if url.get_backend_name() == "sqlite":
        for path in Path(url.database).parent.glob(f"{Path(url.database).name}*"):
            path.unlink()
        return
    with server_connection(url) as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}"')


@contextlib.contextmanager
def server_connection(url: URL) -> Iterator[Connection]:
    """A connection to the PostgreSQL server of ``url`` outside any database
    the run uses, committing each statement (databases are made and dropped
    outside transactions)."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        help="SQLAlchemy URL of a database to fill (default: a new SQLite file in "
        "a temporary directory)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="drop the tables the --database has (its data is lost)",
    )
    defaults = Sizes()
    parser.add_argument("--shops", type=int, default=defaults.shops)
    parser.add_argument("--products", type=int, default=defaults.products)
    parser.add_argument("--orders", type=int, default=defaults.orders)
    parser.add_argument("--visits", type=int, default=defaults.visits)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of load per endpoint"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of load before each"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--output",
        type=Path,
        default=OUTPUT,
        help=f"where to write the report (default {OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--skip-growth",
        action="store_true",
        help="leave out the comparison of a small and a large order history",
    )
    parser.add_argument(
        "--growth-orders",
        type=int,
        default=GROWTH_ORDERS,
        help="orders of the small history (the large one has --orders)",
    )
    args = parser.parse_args(argv)
    if min(args.shops, args.products, args.duration, args.connections) < 1:
        parser.error("give at least one shop, product, second and connection")
    if min(args.orders, args.visits, args.warmup) < 0:
        parser.error("no negative sizes or warm-up")
    if not args.skip_growth and not 0 < args.growth_orders < args.orders:
        parser.error("--growth-orders must be above 0 and below --orders")
    return args


def run(args: argparse.Namespace, command: str, workdir: Path) -> Outcome:
    """Everything, in order; the outcome for the report."""
    cpus = Cpus.split()
    if cpus.load:  # this process and wrk stay off the server's CPU
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus.load.split(",")})
    bench = Bench(
        database=args.database or f"sqlite:///{workdir / 'bench.db'}",
        workdir=workdir,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        cpus=cpus,
    )
    (workdir / "instance").mkdir(exist_ok=True)
    seats = (args.warmup + args.duration) * JOIN_CEILING
    sizes = Sizes(
        shops=args.shops,
        products=args.products,
        orders=args.orders,
        visits=args.visits,
        groups=math.ceil(seats / (MAX_SIZE - 1)) + 1,
    )
    outcome = Outcome(
        command=command,
        started=datetime.now(UTC),
        load_before=os.getloadavg()[0],
        database=bench.database,
        sizes=sizes,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        cpus=cpus,
        settings={},
        endpoints=[],
        results={},
    )
    generate(bench.database, sizes, args.seed, args.replace, progress)
    picks = choose(bench.database)
    constant = measure_app(bench, picks, outcome)
    shop = next(endpoint for endpoint in outcome.endpoints if endpoint.key == "shop")
    outcome.floors, outcome.floor_shop = measure_floors(bench, shop, constant)
    outcome.floor_rounds = FLOOR_ROUNDS
    if not args.skip_growth:
        outcome.growth_orders = (args.growth_orders, args.orders)
        outcome.growth_rounds = GROWTH_ROUNDS
        outcome.growth = measure_growth(bench, sizes, args.growth_orders, args.seed)
    return outcome


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = options(argv)
    command = shlex.join(["python", "-m", "benchmarks.load", *argv])
    workdir = Path(tempfile.mkdtemp(prefix="storefront-load-"))
    affinity = os.sched_getaffinity(0)
    try:
        outcome = run(args, command, workdir)
    except (BenchmarkError, RequestError, ServerError) as error:
        progress(f"\nThe benchmark stopped: {error}\n(its files are in {workdir})")
        return 1
    finally:
        os.sched_setaffinity(0, affinity)  # run() moved this process off CPU 0
    write(outcome, args.output)
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
