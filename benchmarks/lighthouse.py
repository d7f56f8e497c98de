"""Page weight and Lighthouse scores of the demo shop, as a phone sees it.

    python -m benchmarks.lighthouse [--runs 3] [--output section.md]
        [--only weight|lighthouse]

Serves the demo as ``make run`` does, in a new instance folder (``flask db
upgrade``, ``flask demo``, gunicorn with ``gunicorn.conf.py`` on a free port),
and measures three pages a shared link lands on: the home page, the first demo
shop's page and the first product on it.

- Page weight (``benchmarks.weight``): bytes over the wire on a first visit and
  on a repeat visit, images apart.
- Lighthouse (``benchmarks/lighthouse``'s npm package, installed by ``make
  lighthouse``) on Debian's Chromium with its mobile defaults (an emulated
  mid-range phone, simulated slow 4G, CPU slowed 4x): performance and
  accessibility, ``--runs`` times per page, the median run by performance score
  reported. Every run's JSON report is kept in ``test-artifacts/lighthouse/``.

Prints a markdown section for ``benchmarks/RESULTS.md`` (and puts it in the file
given by ``--output``, replacing its own earlier section), followed by the audits
that did not pass. It only reports: the budgets are for the reader to compare
against.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks import weight
from benchmarks.report import put_section
from benchmarks.serving import serve, server_env
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import flask_command, free_port

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "benchmarks" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / "test-artifacts" / "lighthouse"
COMMAND_TIMEOUT = 300.0  # seconds for a Lighthouse run
#: The shop's own links on its page lead to its products.
SHOP_PRODUCT_LINK = r'href="(/s/{slug}/p/[^"]+)"'
#: The timings Lighthouse weighs into performance, in the order it lists them.
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "Speed Index",
}
#: Straight to the loopback server, whatever proxy the shell names.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Page:
    """A page measured: what the tables call it and its path on the server."""

    label: str
    path: str


@dataclass(frozen=True)
class Score:
    """One Lighthouse run of a page: category scores (0-100), metric values
    (ms, CLS unitless) and the audits that scored under 0.9."""

    performance: int
    accessibility: int
    metrics: dict[str, float]
    failed: list[str]


@contextlib.contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, list[str]]]:
    """The demo shop on gunicorn, served from ``workdir``: its base URL and the
    lines ``flask demo`` printed. Stopped on the way out."""
    port = free_port()
    env = server_env({"STOREFRONT_INSTANCE_PATH": str(workdir / "instance")}, port)
    base_url = f"http://127.0.0.1:{port}"
    flask_command(env, "db", "upgrade")
    demo = flask_command(env, "demo", "--base-url", base_url).splitlines()
    with serve("wsgi:app", env, port, workdir / "gunicorn.log", cpus=None) as server:
        yield server.url, demo


def demo_pages(base_url: str, demo: list[str]) -> list[Page]:
    """The home page, the first shop ``flask demo`` printed and the first
    product on that shop's page."""
    shop_url = next(line for line in demo if line.startswith("seller shop: "))
    shop_path = shop_url.removeprefix(f"seller shop: {base_url}")
    slug = shop_path.rsplit("/", 1)[1]
    with LOCAL.open(base_url + shop_path, timeout=10) as response:
        html = response.read().decode()
    product = re.search(SHOP_PRODUCT_LINK.format(slug=re.escape(slug)), html)
    if product is None:
        sys.exit(f"no product link on {shop_path}")
    return [
        Page("home", "/"),
        Page("shop", shop_path),
        Page("product", product.group(1)),
    ]


def measure_weights(base_url: str, pages: list[Page]) -> list[weight.Weight]:
    """Each page's first and repeat visit (``benchmarks.weight``)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            return [weight.measure(browser, base_url + page.path) for page in pages]
        finally:
            browser.close()


def lighthouse(url: str, report: Path) -> Score:
    """One Lighthouse run (mobile defaults) of ``url``, its JSON kept at
    ``report``."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    result = subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json"]
        + [f"--output-path={report}", "--only-categories=performance,accessibility"]
        + [f"--chrome-flags={flags}"],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    if result.returncode:
        sys.exit(f"lighthouse {url} failed:\n{result.stderr}")
    data = json.loads(report.read_text())
    if error := data.get("runtimeError"):
        sys.exit(f"lighthouse {url}: {error['message']}")
    categories, audits = data["categories"], data["audits"]
    return Score(
        performance=round(categories["performance"]["score"] * 100),
        accessibility=round(categories["accessibility"]["score"] * 100),
        metrics={key: audits[key]["numericValue"] for key in METRICS},
        failed=[
            f"{name}: {audit['title']}"
            + (f" ({audit['displayValue']})" if audit.get("displayValue") else "")
            for name in ("performance", "accessibility")
            for ref in categories[name]["auditRefs"]
            if (audit := audits[ref["id"]])["score"] is not None
            and audit["score"] < 0.9
        ],
    )


def median_run(url: str, label: str, runs: int) -> Score:
    """``runs`` Lighthouse runs of ``url``; the median by performance score."""
    scores = [lighthouse(url, REPORTS / f"{label}-{n + 1}.json") for n in range(runs)]
    median = statistics.median_low(score.performance for score in scores)
    return next(score for score in scores if score.performance == median)


def lighthouse_version() -> str:
    """The version of the installed Lighthouse package."""
    package = LIGHTHOUSE.resolve().parents[1] / "package.json"
    return json.loads(package.read_text())["version"]


def weight_table(pages: list[Page], weights: list[weight.Weight]) -> list[str]:
    """Markdown rows: each page's first and repeat visit in KB, by kind."""
    kb = weight.kilobytes
    lines = [
        "| page | first visit KB | HTML | CSS | JS | other | requests "
        "| repeat visit KB | requests | images KB (first visit) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for page, measured in zip(pages, weights, strict=True):
        first, repeat = measured.first, measured.repeat
        lines.append(
            f"| {page.label} `{page.path}` | **{kb(first.page_bytes)}** "
            + " ".join(
                f"| {kb(first.bytes[kind])}" for kind in ("html", "css", "js", "other")
            )
            + f" | {first.page_requests} | **{kb(repeat.page_bytes)}** "
            f"| {repeat.page_requests} | {kb(first.bytes['images'])} |"
        )
    return lines


def score_table(pages: list[Page], scores: list[Score]) -> list[str]:
    """Markdown rows: each page's scores and timings."""
    lines = [
        "| page | performance | accessibility | " + " | ".join(METRICS.values()) + " |",
        "| --- " * (3 + len(METRICS)) + "|",
    ]
    for page, score in zip(pages, scores, strict=True):
        metrics = [
            f"{value:.3f}" if key == "cumulative-layout-shift" else f"{value:,.0f} ms"
            for key, value in score.metrics.items()
        ]
        lines.append(
            f"| {page.label} `{page.path}` | **{score.performance}** "
            f"| **{score.accessibility}** | " + " | ".join(metrics) + " |"
        )
    return lines


def chromium_version() -> str:
    """The version Debian's Chromium reports, e.g. ``156.0.8078.114``."""
    output = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True
    ).stdout
    return re.search(r"[\d.]+", output).group(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs a page")
    parser.add_argument("--output", type=Path, help="also write the section here")
    parser.add_argument("--only", choices=("weight", "lighthouse"))
    args = parser.parse_args(argv)
    # Stopped from outside, still stop the server (on the way out of demo_server).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    if args.only != "weight" and not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} is missing: run make lighthouse")

    section = [f"### Page weight and Lighthouse ({date.today():%Y-%m-%d})", ""]
    failed: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="storefront-lighthouse-"))
    try:
        with demo_server(workdir) as (base_url, demo):
            pages = demo_pages(base_url, demo)
            if args.only != "lighthouse":
                section += [
                    f"The demo shop on gunicorn (`gunicorn.conf.py`), Chromium "
                    f"{chromium_version()} at a 390×844 phone viewport (3x), a new "
                    "browser context per page. KB of 1,024 bytes as they came over "
                    "the wire (compressed bodies and headers); the repeat visit "
                    "opens the same page again in the same browser. Budget: "
                    "≤ 40 KB first visit, ≤ 10 KB repeat visit, images apart.",
                    "",
                    *weight_table(pages, measure_weights(base_url, pages)),
                    "",
                ]
            if args.only != "weight":
                REPORTS.mkdir(parents=True, exist_ok=True)
                scores = [
                    median_run(base_url + page.path, page.label, args.runs)
                    for page in pages
                ]
                section += [
                    f"Lighthouse {lighthouse_version()}, mobile defaults (emulated "
                    "mid-range phone, simulated slow 4G, 4x CPU slowdown), the "
                    f"median of {args.runs} runs by performance score. Targets: "
                    "performance ≥ 98, accessibility ≥ 95.",
                    "",
                    *score_table(pages, scores),
                    "",
                ]
                failed = [
                    f"- {page.label}: {audit}"
                    for page, score in zip(pages, scores, strict=True)
                    for audit in score.failed
                ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = "\n".join(section)
    print(text)
    if args.output:
        put_section(args.output, "benchmarks.lighthouse", text)
    if failed:
        print("Audits scoring under 0.9 in the reported runs:", *failed, sep="\n")


if __name__ == "__main__":
    main()
