"""Bytes a phone downloads for a page: on a first visit and on a repeat visit.

Chromium (Debian's, through Playwright) opens the page at a phone's viewport in
a new browser context (an empty cache), waits until the network is idle, and adds
up what each request took over the wire as the browser reports it
(``Network.loadingFinished``'s ``encodedDataLength``: compressed bodies plus
headers; nothing for what the cache served). Then the same context opens the
same page again, as a visitor following a link back to it would, and adds up
again. Images are counted apart: the budget is for the page itself (HTML, CSS,
scripts), and which photo widths a phone picks from a srcset is its own choice.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from playwright.sync_api import Browser, BrowserContext

from tests.e2e.browser import PHONE

#: Chromium's resource types, grouped as the report shows them.
KINDS = {"Document": "html", "Stylesheet": "css", "Script": "js", "Image": "images"}


@dataclass
class Visit:
    """What one page load downloaded: bytes and requests by kind of resource."""

    bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def page_bytes(self) -> int:
        """Everything but images."""
        return sum(size for kind, size in self.bytes.items() if kind != "images")

    @property
    def page_requests(self) -> int:
        return sum(n for kind, n in self.requests.items() if kind != "images")


@dataclass(frozen=True)
class Weight:
    """A page's first and repeat visit."""

    url: str
    first: Visit
    repeat: Visit


def measure(browser: Browser, url: str) -> Weight:
    """Load ``url`` twice in one new phone context; what each load downloaded."""
    context = browser.new_context(**PHONE)
    try:
        return Weight(url, load(context, url), load(context, url))
    finally:
        context.close()


def load(context: BrowserContext, url: str) -> Visit:
    """Open ``url`` in a new tab of ``context`` and count the bytes that came
    over the network until it went quiet."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    kinds: dict[str, str] = {}
    visit = Visit()

    def on_response(event: dict) -> None:
        kinds[event["requestId"]] = KINDS.get(event["type"], "other")

    def on_finished(event: dict) -> None:
        size = int(event["encodedDataLength"])
        if size:  # nothing came over the network: served by the cache
            kind = kinds.get(event["requestId"], "other")
            visit.bytes[kind] += size
            visit.requests[kind] += 1

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.send("Network.enable")
    response = page.goto(url, wait_until="networkidle")
    if response is None or not response.ok:
        status = response.status if response else "no response"
        raise RuntimeError(f"{url} answered {status}")
    cdp.detach()
    page.close()
    return visit


def kilobytes(size: int) -> str:
    """Bytes as KB (1,024) to one decimal, as the budget counts them."""
    return f"{size / 1024:.1f}"
