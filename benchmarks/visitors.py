"""The requests the load benchmark sends, set up the way a phone's browser would.

``Phone`` is a browser on a phone: it sends a phone's headers (``Accept-Encoding:
gzip, br`` among them), keeps cookies, submits forms with the fields the page
gave it, and reads compressed answers. ``Setup`` uses phones to get each
endpoint's cookies and form fields (a returning visitor's cookies, a cart to
check out, a seller signed in) and makes the endpoint: a ``wrk.Shape`` and what
a right answer holds. ``check`` sends a shape once, exactly as wrk will, and
fails on a wrong status or a missing marker, so that a broken request is never
benchmarked.
"""

import gzip
import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser

import brotli

from benchmarks.wrk import Shape

#: A phone's browser. Not a bot to the app, so its visits count.
PHONE_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
    ),
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Encoding": "gzip, br",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
}
FORM = "application/x-www-form-urlencoded"
#: The customer who checks out and joins groups ({phone} differs each time).
CUSTOMER = {"name": "王芳", "address": "上海市浦东新区世纪大道 100 号 8 楼", "note": ""}
#: First digits of the customers' mobile numbers: networks the dataset's own
#: customers are not on, so every checkout and join is a new phone.
CHECKOUT_PHONES, JOIN_PHONES = "137", "159"


class RequestError(RuntimeError):
    """A request to set up or check an endpoint did not answer as it should."""


@dataclass(frozen=True)
class Picks:
    """What the endpoints are about, chosen from the dataset."""

    shop_slug: str
    shop_name: str
    #: How many products the shop page shows.
    items: int
    product_slug: str
    product_name: str
    #: A product that never runs out, for carts and checkouts.
    product_id: int
    #: Where the customer who checks out came from: a shop no other endpoint
    #: measures, so the orders it gets change no page measured.
    checkout_shop_slug: str
    seller_email: str
    seller_password: str
    group_codes: tuple[str, ...]


@dataclass
class Endpoint:
    """One line of the report: a request and what its right answer holds."""

    key: str
    label: str
    shape: Shape
    #: Text in the answer's (decoded) body, or in its Location for a redirect.
    marker: str
    #: A cookie (``name=``) the answer must set, if any.
    cookie: str = ""


@dataclass
class Answer:
    status: int
    headers: Message
    #: The body as sent (compressed, when it was).
    raw: bytes

    @property
    def text(self) -> str:
        encoding = self.headers.get("Content-Encoding", "")
        body = self.raw
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            body = brotli.decompress(body)
        return body.decode(errors="replace")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back as they are: where they point is checked."""

    def redirect_request(self, *args, **kwargs):
        return None


def fetch(
    opener: urllib.request.OpenerDirector,
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with opener.open(request, timeout=30) as answer:
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:  # 3xx not followed, 4xx, 5xx
        with error:
            return Answer(error.code, error.headers, error.read())


class FormReader(HTMLParser):
    """The fields of each form on a page, as a browser would submit them:
    inputs with their values (radios and checkboxes only when checked) and
    textareas (empty)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "form":
            self.forms.append({})
            self._open = True
        elif self._open and tag in ("input", "textarea") and found.get("name"):
            kind = found.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in found:
                return
            if kind not in ("submit", "button", "file"):
                self.forms[-1].setdefault(found["name"], found.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = False


def form_with(page: str, field: str) -> dict[str, str]:
    """The fields of the first form on ``page`` that has ``field``."""
    reader = FormReader()
    reader.feed(page)
    for form in reader.forms:
        if field in form:
            return form
    raise RequestError(f"No form with a {field!r} field on the page.")


class Phone:
    """A phone's browser: a phone's headers, its own cookies, no redirects
    followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback only, whatever the shell says
            urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirects(),
        )
        self.opener.addheaders = list(PHONE_HEADERS.items())

    def get(self, path: str, expect: int = 200) -> Answer:
        return self.expect(expect, fetch(self.opener, self.base_url + path, "GET"))

    def post(self, path: str, fields: dict[str, str], expect: int = 302) -> Answer:
        body = urllib.parse.urlencode(fields).encode()
        answer = fetch(
            self.opener, self.base_url + path, "POST", {"Content-Type": FORM}, body
        )
        return self.expect(expect, answer)

    def expect(self, status: int, answer: Answer) -> Answer:
        if answer.status != status:
            raise RequestError(
                f"Setting up the load, an answer was {answer.status}, not {status}:\n"
                f"{answer.text[:2000]}"
            )
        return answer

    def cookies(self) -> str:
        """The Cookie header this phone sends."""
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)

    def headers(self, **extra: str) -> dict[str, str]:
        """A phone's request headers, with its cookies."""
        return {**PHONE_HEADERS, "Cookie": self.cookies(), **extra}


def form_body(fields: dict[str, str], **templates: str) -> str:
    """A form body: ``fields`` encoded, then ``templates`` as they are (their
    placeholders are filled per request)."""
    encoded = urllib.parse.urlencode(fields)
    return "&".join(
        [encoded, *(f"{name}={value}" for name, value in templates.items())]
    )


def customer_form(page: Answer, kind: str) -> str:
    """The body of a checkout or group-seat form from ``page``: what the page
    gave (CSRF token, total shown, payment method) and the customer's details,
    with a new mobile number and one-time key each request."""
    fields = form_with(page.text, "checkout_key")
    fields.update(CUSTOMER)
    if "quantity" in fields:
        fields["quantity"] = "1"
    del fields["checkout_key"], fields["phone"]
    return form_body(fields, phone="{phone}", checkout_key=f"load-{kind}-request-{{n}}")


class Setup:
    """Sets up each endpoint on a server: ``endpoint(key)``."""

    LABELS = {
        "shop": "shop page ({items} items), returning visitor",
        "shop-etag": "shop page, repeat visit with If-None-Match",
        "shop-new": "shop page, new visitor (a visit row each)",
        "product": "product page",
        "cart": "add to cart (htmx)",
        "checkout": "checkout POST (one item)",
        "join": "group join POST ({groups:,} open groups)",
        "dashboard": "seller dashboard /me (30 days)",
    }

    def __init__(self, base_url: str, picks: Picks):
        self.base_url = base_url
        self.picks = picks
        self.shop_path = f"/s/{picks.shop_slug}"
        self._visitor: tuple[Phone, Answer] | None = None

    def visitor(self) -> tuple[Phone, Answer]:
        """A visitor who has seen the shop page before, and that page. Twice
        before: the session cookie of a first visit changes once more on the
        second, as a browser coming back would have seen."""
        if self._visitor is None:
            phone = Phone(self.base_url)
            phone.get(self.shop_path)
            self._visitor = phone, phone.get(self.shop_path)
        return self._visitor

    def returning(self) -> dict[str, str]:
        """The request headers of the visitor coming back."""
        return self.visitor()[0].headers()

    def endpoint(self, key: str) -> Endpoint:
        picks = self.picks
        label = self.LABELS[key].format(
            items=picks.items, groups=len(picks.group_codes)
        )
        shape, marker, cookie = getattr(self, key.replace("-", "_"))()
        return Endpoint(key, label, shape, marker, cookie)

    def shop(self):
        shape = Shape("GET", self.shop_path, self.returning())
        return shape, self.picks.shop_name, ""

    def shop_etag(self):
        """As ``shop``; the caller adds If-None-Match once it has the ETag."""
        shape = Shape("GET", self.shop_path, self.returning(), expect=(200, 304))
        return shape, self.picks.shop_name, ""

    def shop_new(self):
        shape = Shape("GET", self.shop_path, dict(PHONE_HEADERS))
        return shape, self.picks.shop_name, "vid="

    def product(self):
        path = f"{self.shop_path}/p/{self.picks.product_slug}"
        return Shape("GET", path, self.returning()), self.picks.product_name, ""

    def cart(self):
        visitor, page = self.visitor()
        headers = visitor.headers(
            **{
                "Content-Type": FORM,
                "HX-Request": "true",
                "X-CSRFToken": form_with(page.text, "csrf_token")["csrf_token"],
            }
        )
        body = f"product_id={self.picks.product_id}&quantity=1"
        return Shape("POST", "/cart/add", headers, body), 'class="added"', ""

    def checkout(self):
        """A customer who came through a shop's link with one item in the cart
        (wrk keeps no cookies: every request checks out the same cart)."""
        buyer = Phone(self.base_url)
        page = buyer.get(f"/s/{self.picks.checkout_shop_slug}")
        token = form_with(page.text, "csrf_token")["csrf_token"]
        product = str(self.picks.product_id)
        buyer.post(
            "/cart/add", {"csrf_token": token, "product_id": product, "quantity": "1"}
        )
        body = customer_form(buyer.get("/checkout"), "checkout")
        shape = Shape(
            "POST",
            "/checkout",
            buyer.headers(**{"Content-Type": FORM}),
            body,
            expect=(302,),
            phone=CHECKOUT_PHONES,
        )
        return shape, "/o/", ""

    def join(self):
        """Someone who opened an invite; each request joins the next group."""
        if not self.picks.group_codes:
            raise RequestError("No open group to join: generate with --groups.")
        joiner = Phone(self.base_url)
        page = joiner.get(f"/g/{self.picks.group_codes[0]}/join")
        shape = Shape(
            "POST",
            "/g/{code}/join",
            joiner.headers(**{"Content-Type": FORM}),
            customer_form(page, "join"),
            expect=(302,),
            codes=self.picks.group_codes,
            phone=JOIN_PHONES,
        )
        return shape, "/o/", ""

    def dashboard(self):
        """The seller, signed in through /login as a browser does."""
        seller = Phone(self.base_url)
        login = form_with(seller.get("/login").text, "password")
        login.update(login=self.picks.seller_email, password=self.picks.seller_password)
        seller.post("/login", login)
        return Shape("GET", "/me", seller.headers()), 'id="report"', ""


def check(base_url: str, endpoint: Endpoint) -> Answer:
    """Send ``endpoint``'s next request once, as wrk will; raise
    ``RequestError`` unless the status is expected and the marker is in the
    body (or, for a redirect, in its Location)."""
    shape = endpoint.shape
    path, body = shape.filled()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects())
    answer = fetch(opener, base_url + path, shape.method, shape.headers, body)
    found = (
        answer.headers.get("Location", "")
        if 300 <= answer.status < 400
        else answer.text
    )
    cookies = " ".join(answer.headers.get_all("Set-Cookie") or [])
    if (
        answer.status not in shape.expect
        or (answer.status != 304 and endpoint.marker not in found)
        or endpoint.cookie not in cookies
    ):
        raise RequestError(
            f"{endpoint.label}: {shape.method} {path} answered {answer.status} "
            f"(expected {shape.expect}, with {endpoint.marker!r} and cookie "
            f"{endpoint.cookie!r}):\n{found[:2000]}"
        )
    return answer
