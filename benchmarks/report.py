"""The load benchmark's report: machine notes and markdown tables.

``markdown`` turns an ``Outcome`` (everything one run of ``benchmarks.load``
measured) into a section of benchmarks/RESULTS.md; ``write`` puts it there.
It judges the issue's targets (shop page at half the floor's throughput or
more, p99 at half load, cost flat as history grows) and says whether each is
met; it fails nothing.
"""

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.dataset import Sizes
from benchmarks.serving import ROOT, Cpus
from benchmarks.visitors import Endpoint
from benchmarks.wrk import Measured

#: The shop page serves at least this share of the floor's throughput...
FLOOR_SHARE = 0.5
#: ... and, at half its full rate, answers 99% of requests within this (ms).
HALF_LOAD_P99_MS = 25.0
#: Cost at the larger history is at most this many times the cost at the smaller.
GROWTH_LIMIT = 1.2
MB = 1024 * 1024
#: Where the report begins and ends in a file that holds more.


@dataclass
class Growth:
    """One endpoint measured at a small and at a large order history."""

    label: str
    small: Measured
    large: Measured

    @property
    def cost_ratio(self) -> float:
        """Requests/s at the small history ÷ at the large (above 1: slower)."""
        return self.small.rate / self.large.rate

    @property
    def p50_ratio(self) -> float:
        """p50 at the large history ÷ at the small."""
        return self.large.p50_ms / self.small.p50_ms


@dataclass
class Outcome:
    """Everything one run measured, and how it was run."""

    command: str
    started: datetime
    #: The machine's 1-minute load average when the run began.
    load_before: float
    database: str
    sizes: Sizes
    duration: int
    warmup: int
    connections: int
    cpus: Cpus
    #: What gunicorn.conf.py set (workers, threads...).
    settings: dict
    endpoints: list[Endpoint]
    results: dict[str, Measured]
    #: The shop page paced at half its full rate: the rate asked for, and what
    #: was measured.
    half_target: float = 0.0
    half: Measured | None = None
    #: (what served the constant, measured)
    floors: list[tuple[str, Measured]] = field(default_factory=list)
    #: The shop page loaded in turn with the floors, and how many rounds.
    floor_shop: Measured | None = None
    floor_rounds: int = 0
    #: Order history sizes compared, and the endpoints measured at both.
    growth_orders: tuple[int, int] = (0, 0)
    growth_rounds: int = 0
    growth: list[Growth] = field(default_factory=list)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def proc_field(path: str, name: str) -> str:
    """The value of the first ``name: value`` line of a /proc file."""
    try:
        with open(path) as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def os_name() -> str:
    """The distribution's name, from /etc/os-release."""
    try:
        with open("/etc/os-release") as release:
            for line in release:
                name, _, value = line.strip().partition("=")
                if name == "PRETTY_NAME":
                    return value.strip('"')
    except OSError:
        pass
    return platform.system()


def git_commit() -> str:
    """The commit checked out, marked when the work tree differs from it."""
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty=+changes", "--abbrev=10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return described.stdout.strip() or "unknown"


def wrk_version() -> str:
    """As ``wrk -v`` names it ("wrk debian/4.1.0-3 [epoll] ...")."""
    shown = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (shown.stdout or shown.stderr).split()
    return words[1] if len(words) > 1 else "unknown"


def machine(outcome: Outcome) -> list[str]:
    """Machine notes: what the numbers were measured on."""
    cores = os.cpu_count()
    memory = proc_field("/proc/meminfo", "MemTotal").split()
    memory_kb = int(memory[0]) if memory and memory[0].isdigit() else 0
    settings = outcome.settings
    kind = outcome.database.split(":", 1)[0]
    rows = [
        ["CPU", f"{proc_field('/proc/cpuinfo', 'model name')}, {cores} cores"],
        ["Pinning", outcome.cpus.describe() + " (`taskset`)"],
        ["Memory", f"{memory_kb / MB:.1f} GiB"],
        ["OS", f"{os_name()}, Linux {platform.release()}"],
        ["Python", platform.python_version()],
        ["Database", f"{kind}, SQLite library {sqlite3.sqlite_version}"],
        [
            "gunicorn",
            f"{version('gunicorn')}, gunicorn.conf.py: {settings['workers']} workers "
            f"× {settings['threads']} threads ({settings['worker_class']})",
        ],
        [
            "Load",
            f"wrk {wrk_version()}, 1 thread, {outcome.connections} connections, "
            f"{outcome.warmup} s warm-up then {outcome.duration} s per endpoint",
        ],
        [
            "Load average",
            f"{outcome.load_before:.2f} before the run, {os.getloadavg()[0]:.2f} "
            "after (1 minute; other work on the machine skews the numbers)",
        ],
        ["Date", outcome.started.strftime("%Y-%m-%d %H:%M UTC")],
        ["Commit", git_commit()],
    ]
    return table(["", ""], rows)


def ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def share(part: float, whole: float) -> str:
    if not whole:
        return "–"
    percent = 100 * part / whole
    return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"


def answers(measured: Measured) -> str:
    return ", ".join(
        f"{count:,}× {status}" for status, count in sorted(measured.statuses.items())
    )


def markdown(outcome: Outcome) -> str:
    sizes = outcome.sizes
    floor = outcome.floors[0][1].rate if outcome.floors else 0.0
    lines = [
        "## Load: `make bench`",
        "",
        f"`{outcome.command}`",
        "",
        f"Dataset: {sizes.shops:,} shops, {sizes.products:,} products, "
        f"{sizes.orders:,} orders, {sizes.visits:,} visits, {sizes.groups:,} open "
        "groups. Rate limiting is off (`STOREFRONT_RATELIMIT_ENABLED=false`): all "
        "the load comes from one address. Everything else is the README's "
        "deployment: `gunicorn --config gunicorn.conf.py wsgi:app`, no proxy in "
        "front. Requests carry a phone's headers (`Accept-Encoding: gzip, br`).",
        "",
        "### Machine",
        "",
        *machine(outcome),
        "",
        "### Endpoints",
        "",
        "Full load: each connection sends its next request as soon as the last is "
        "answered. Peak RSS is the gunicorn master and workers together. "
        "% of floor: throughput against the plain WSGI floor below.",
        "",
    ]
    rows = []
    for endpoint in outcome.endpoints:
        measured = outcome.results[endpoint.key]
        rows.append(
            [
                endpoint.label,
                f"{measured.rate:,.0f}",
                ms(measured.p50_ms),
                ms(measured.p99_ms),
                f"{measured.peak_rss / MB:.0f}",
                share(measured.rate, floor),
                answers(measured),
            ]
        )
    header = ["endpoint", "req/s", "p50 ms", "p99 ms", "peak RSS MB", "% of floor"]
    lines += table([*header, "answers"], rows)
    if outcome.half is not None:
        half = outcome.half
        lines += [
            "",
            f"Half load (shop page, returning visitor): paced at "
            f"{outcome.half_target:,.0f} req/s, achieved {half.rate:,.0f} req/s, "
            f"p50 {ms(half.p50_ms)} ms, p99 {ms(half.p99_ms)} ms. Target p99 ≤ "
            f"{HALF_LOAD_P99_MS:.0f} ms: {met(half.p99_ms <= HALF_LOAD_P99_MS)}.",
        ]
    if outcome.floors:
        paired = outcome.floor_shop
        lines += [
            "",
            "### Floor",
            "",
            "The same gunicorn and config serving the bytes the shop page sent "
            "(body, content type and encoding) as a constant, in the same run. "
            "The shop page (returning visitor) and both floors are served at once "
            f"and loaded {outcome.floor_rounds} times in turn; the round with the "
            f"median req/s of each is shown. The shop page's: {paired.rate:,.0f} "
            f"req/s, p50 {ms(paired.p50_ms)} ms, p99 {ms(paired.p99_ms)} ms.",
            "",
        ]
        rows = [
            [
                label,
                f"{measured.rate:,.0f}",
                ms(measured.p50_ms),
                ms(measured.p99_ms),
                f"{measured.peak_rss / MB:.0f}",
                share(paired.rate, measured.rate),
            ]
            for label, measured in outcome.floors
        ]
        lines += table(
            ["floor", "req/s", "p50 ms", "p99 ms", "peak RSS MB", "shop page at"],
            rows,
        )
        lines += [
            "",
            f"Target: the shop page at ≥ {FLOOR_SHARE:.0%} of the floor's "
            f"throughput: {share(paired.rate, floor)} of the plain floor, "
            f"{met(paired.rate >= FLOOR_SHARE * floor)}.",
        ]
    if outcome.growth:
        small, large = outcome.growth_orders
        lines += [
            "",
            "### Growth",
            "",
            f"The same endpoints on a dataset with {small:,} orders and on a copy "
            f"with {large - small:,} orders more, dated more than a year back "
            "(history the 30-day dashboard does not show), both served at once. "
            f"Each endpoint is loaded {outcome.growth_rounds} times on each, "
            "alternating, and the round with the median req/s of each is shown. "
            "Cost ratio: req/s before ÷ req/s after; p50 ratio: after ÷ before. "
            f"Target: both ≤ {GROWTH_LIMIT}.",
            "",
        ]
        rows = [
            [
                row.label,
                f"{row.small.rate:,.0f}",
                f"{row.large.rate:,.0f}",
                f"{row.cost_ratio:.2f}",
                ms(row.small.p50_ms),
                ms(row.large.p50_ms),
                f"{row.p50_ratio:.2f}",
                met(max(row.cost_ratio, row.p50_ratio) <= GROWTH_LIMIT),
            ]
            for row in outcome.growth
        ]
        lines += table(
            [
                "endpoint",
                f"req/s at {small:,}",
                f"req/s at {large:,}",
                "cost ratio",
                f"p50 ms at {small:,}",
                f"p50 ms at {large:,}",
                "p50 ratio",
                f"≤ {GROWTH_LIMIT}×",
            ],
            rows,
        )
    return "\n".join(lines) + "\n"


def write(outcome: Outcome, path: Path | None) -> str:
    """Print the report and, given a path, put it in that file as its section."""
    text = markdown(outcome)
    print(text)
    if path is not None:
        put_section(path, "benchmarks.load", text)
    return text


def put_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` in ``path`` between ``<!-- name -->`` markers: in place of
    the one an earlier run put there, else at its end (the file holds other
    sections, such as the page weights of ``benchmarks.lighthouse``)."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    section = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old.split(begin, 1)[1]:
        before, rest = old.split(begin, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        section = before + section + ("\n" + after if after else "")
    elif old:
        section = old.rstrip("\n") + "\n\n" + section
    path.write_text(section)
