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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks import weight
from benchmarks.report import put_section

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "benchmarks" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / "test-artifacts" / "lighthouse"
START_TIMEOUT = 30.0  # seconds for gunicorn to answer /healthz
COMMAND_TIMEOUT = 300.0  # seconds for a migration, the demo or a Lighthouse run
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
    base_url = f"http://127.0.0.1:{port}"
    env = {
        # None of the caller's own shop settings: above all not its database.
        **{k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")},
        "STOREFRONT_INSTANCE_PATH": str(workdir / "instance"),
        "PORT": str(port),
    }
    env.pop("BIND", None)
    flask(env, "db", "upgrade")
    demo = flask(env, "demo", "--base-url", base_url).splitlines()
    with (workdir / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
            + ["wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(base_url, server)
        yield base_url, demo
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def flask(env: dict[str, str], *args: str) -> str:
    """``flask --app storefront <args>``'s output; stops the run if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storefront", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    if result.returncode:
        sys.exit(f"flask {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base_url: str, server: subprocess.Popen) -> None:
    """Poll /healthz until it answers; stop the run if gunicorn exits or never
    answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            LOCAL.open(base_url + "/healthz", timeout=2),
        ):
            return
        time.sleep(0.1)
    sys.exit(f"gunicorn did not answer within {START_TIMEOUT:.0f} s")


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
            executable_path=weight.CHROMIUM, headless=True, args=weight.CHROMIUM_ARGS
        )
        try:
            return [weight.measure(browser, base_url + page.path) for page in pages]
        finally:
            browser.close()


def lighthouse(url: str, report: Path) -> Score:
    """One Lighthouse run (mobile defaults) of ``url``, its JSON kept at
    ``report``."""
    flags = " ".join(["--headless=new", *weight.CHROMIUM_ARGS])
    result = subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json"]
        + [f"--output-path={report}", "--only-categories=performance,accessibility"]
        + [f"--chrome-flags={flags}"],
        env={**os.environ, "CHROME_PATH": weight.CHROMIUM},
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
        [weight.CHROMIUM, "--version"], capture_output=True, text=True
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
