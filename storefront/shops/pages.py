"""Whole shop pages for visitors who are not signed in, kept in memory and
answered in front of Flask.

Such a visitor's shop page is the same for everyone but for three things: the
form token (twice), the number on the cart badge and the language. So the view
renders it once per change with a stand-in for the token and the count
(``Page``), keeps it per shop and language, and fills the stand-ins on each
view. Once Flask has answered a visitor from a kept page without changing their
session, ``KeptPages`` remembers what it found for them (``Visitor``: token,
count, language) under what decided it: their session cookie, language cookie
and ``Accept-Language``. A session cookie is signed content, so a different
session (a cart changed, a message waiting, signed in) is a different cookie.

When the same visitor comes back to that shop, ``KeptPages`` answers before
Flask does, the same page Flask would send, after:

- one query by the address: every shop column the page shows and its product
  list's version (``page_version``); a page made under another version is not
  used, so an edit shows at once, whichever process made it;
- checking their visit to the shop was counted today by this process (else
  Flask counts it) and that Flask still takes their session cookie (signed
  less than a session lifetime ago);
- a fresh referral cookie (last click wins), signed at most once a second.

The answer is gzip, each part of the page compressed once on its own, the
visitor's token and count in between as stored blocks; its ETag is the one
Flask gives the same page, so a repeat view is a 304 either way. Anything else
goes to Flask, which answers as always: a query string, htmx, HEAD, no gzip, a
remember-me cookie, first-click attribution, a visitor not seen yet, a database
error.

Why in front of Flask: a request through Flask costs about three times what
this one does in all (``benchmarks/RESULTS.md``), and a shared shop link is
what a seller's friends open, again and again.
"""

import functools
import hashlib
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, make_response, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature
from sqlalchemy import Connection, Engine, Select, event, select
from sqlalchemy.exc import DBAPIError
from werkzeug.http import parse_accept_header, parse_cookie, parse_etags

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.shops import services
from storefront.shops.grid import Kept, grid, listed
from storefront.shops.models import Shop
from storefront.site import LANGUAGE_COOKIE
from storefront.templating import locale_code
from storefront.timeutil import day_start, local_day, utcnow

#: Stand-ins rendered into a kept page, filled per visitor.
TOKEN = "\x00token\x00"
COUNT = "\x00count\x00"
STAND_INS = re.compile(f"({TOKEN}|{COUNT})")
#: Where the view leaves the page and visitor it answered, for ``KeptPages``.
ANSWERED = "storefront.kept_page"
#: The path of a shop page.
SHOP_PATH = re.compile(r"/s/([^/]+)")
#: Headers of Flask's answer that are the visitor's own, not the page's.
OWN_HEADERS = {"set-cookie", "content-length", "content-encoding", "etag"}
#: Visitors each process remembers.
VISITORS = 10_000
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


@functools.cache
def page_statement() -> Select:
    """Everything a shop page shows that can change, for the shop at ``:slug``."""
    count, revisions = listed(Shop.id)
    return (
        select(
            Shop.id,
            Shop.slug,
            Shop.status,
            Shop.name,
            Shop.bio,
            Shop.contact,
            Shop.avatar_key,
            Shop.revision,
            User.name,
            count,
            revisions,
        )
        .join(User, User.id == Shop.owner_id)
        .where(Shop.slug == db.bindparam("slug"))
    )


def page_version(connection: Connection, slug: str) -> tuple | None:
    row = connection.execute(page_statement(), {"slug": slug}).one_or_none()
    return tuple(row) if row else None


@dataclass(frozen=True)
class Visitor:
    """What a shop page holds for one visitor."""

    token: str
    #: The cart badge's text: the count, or nothing for an empty cart.
    count: str
    locale: str
    #: When Flask stops accepting the session cookie (seconds since the epoch).
    expires: float

    def fill(self, stand_in: str) -> str:
        return self.token if stand_in == TOKEN else self.count


class Page:
    """A shop page rendered with stand-ins, split around them; each part also
    compressed on its own (raw deflate, ending on a byte boundary)."""

    def __init__(self, html: str) -> None:
        pieces = STAND_INS.split(html)
        self.parts = [piece.encode() for piece in pieces[::2]]
        self.stand_ins = pieces[1::2]
        self.digest = hashlib.sha1(html.encode()).hexdigest()
        #: The headers of Flask's answer from this page, once there was one.
        self.headers: list[tuple[str, str]] | None = None

    def html(self, visitor: Visitor) -> str:
        filled = [self.parts[0].decode()]
        for stand_in, part in zip(self.stand_ins, self.parts[1:], strict=True):
            filled += [visitor.fill(stand_in), part.decode()]
        return "".join(filled)

    @functools.cached_property
    def deflated(self) -> list[bytes]:
        """The parts compressed, once, when a page is first answered from here."""
        last = len(self.parts) - 1
        return [deflate(part, n == last) for n, part in enumerate(self.parts)]

    def gzip(self, visitor: Visitor) -> bytes:
        """The filled page as a gzip file, without compressing anything now."""
        body = [GZIP_HEADER, self.deflated[0]]
        crc = zlib.crc32(self.parts[0])
        size = len(self.parts[0])
        for stand_in, part, deflated in zip(
            self.stand_ins, self.parts[1:], self.deflated[1:], strict=True
        ):
            value = visitor.fill(stand_in).encode()
            body += [stored(value), deflated]
            crc = zlib.crc32(part, zlib.crc32(value, crc))
            size += len(value) + len(part)
        body.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(body)

    def etag(self, visitor: Visitor) -> str:
        """The filled page's (weak) ETag, without hashing the page again."""
        mixed = f"{self.digest}:{visitor.token}:{visitor.count}".encode()
        return hashlib.sha1(mixed).hexdigest()


def deflate(data: bytes, last: bool) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    )


def stored(data: bytes) -> bytes:
    """``data`` as a deflate block of its own, uncompressed (at most 64 KB)."""
    return struct.pack("<BHH", 0, len(data), len(data) ^ 0xFFFF) + data


# In Flask: the view's side


def for_anyone(shop: Shop) -> bool:
    """Whether this view of ``shop`` is the page anyone not signed in sees."""
    return (
        shop.is_open and not current_user.is_authenticated and "_flashes" not in session
    )


def kept_page(shop: Shop) -> ResponseReturnValue:
    """The shop page from the kept page, rendered first if it changed."""
    # Imported here: orders imports the shops.
    from storefront.orders.views import cart_quantities

    pages: Kept = current_app.extensions["kept_pages"].pages
    key = (shop.slug, locale_code())
    version = page_version(db.session.connection(), shop.slug)
    page = pages.get(key, version)
    token = generate_csrf()
    if page is None:
        html = render_template(
            "shops/shop.html",
            shop=shop,
            grid=grid(shop),
            csrf_token=lambda: TOKEN,
            cart_count=COUNT,
        )
        if token in html:  # a template took the token past the stand-in
            raise RuntimeError("a visitor's form token in a page kept for all")
        page = Page(html)
        pages.put(key, version, page)
    count = sum(cart_quantities().values())
    visitor = Visitor(
        token, str(count) if count else "", locale_code(), session_expires()
    )
    response = make_response(page.html(visitor))
    response.set_etag(page.etag(visitor), weak=True)
    request.environ[ANSWERED] = (page, visitor)
    return response


def session_expires() -> float:
    """When Flask stops taking this request's session cookie: its signing time
    plus the session lifetime (0 without a valid cookie)."""
    app = current_app._get_current_object()
    cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
    serializer = app.session_interface.get_signing_serializer(app)
    lifetime = app.permanent_session_lifetime.total_seconds()
    try:
        _data, signed = serializer.loads(
            cookie, max_age=lifetime, return_timestamp=True
        )
    except (TypeError, BadSignature):  # no cookie, or not one Flask would take
        return 0.0
    return signed.timestamp() + lifetime


# In front of Flask


class KeptPages:
    """The app's WSGI callable, answering what it can from kept pages."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.pages = Kept(app.config["SHOP_PAGE_CACHE"])
        self.visitors = Kept(VISITORS)
        #: The query of ``page_statement``, compiled for the database.
        self.query: tuple[str, Callable[[str], object]] | None = None
        self._engine: Engine | None = None
        #: Each thread's own connection, and all of them, to close with the engine.
        self.connections = threading.local()
        self.held: list = []
        #: The shop's calendar day and the moment (seconds) it ends.
        self.day: tuple[object, float] = (None, 0.0)
        #: Per shop and scheme: the second it was made and the referral cookie.
        self.referrals: dict[tuple[int, bool], tuple[int, str]] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        match = SHOP_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if (
            match is None
            or environ["REQUEST_METHOD"] != "GET"
            or environ.get("QUERY_STRING")
            or "HTTP_HX_REQUEST" in environ
        ):
            return self.wsgi_app(environ, start_response)
        cookies = parse_cookie(environ)
        key = (
            cookies.get(self.app.config["SESSION_COOKIE_NAME"]),
            cookies.get(LANGUAGE_COOKIE),
            environ.get("HTTP_ACCEPT_LANGUAGE"),
        )
        answer = self.answer(environ, match.group(1), cookies, key)
        if answer is None:
            return self.learn(environ, start_response, key)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def answer(self, environ, slug, cookies, key) -> tuple | None:
        """Status, headers and body for this shop page, or None to ask Flask."""
        config = self.app.config
        if (
            key[0] is None
            or config["REFERRAL_CLICK"] != "last"
            or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
            or not accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        ):
            return None
        visitor: Visitor | None = self.visitors.get(key, ())
        if visitor is None or time.time() >= visitor.expires:
            return None
        version = self.version(slug)
        page: Page | None = version and self.pages.get((slug, visitor.locale), version)
        if page is None or page.headers is None:
            return None
        shop_id = version[0]
        visitor_id = cookies.get(services.VISITOR_COOKIE, "")
        if not (
            services.VISITOR_ID.match(visitor_id)
            and services.counted_lately(
                services.visit_key(shop_id, None, visitor_id, self.today())
            )
        ):
            return None
        secure = environ["wsgi.url_scheme"] == "https"
        etag = page.etag(visitor)
        headers = [
            *page.headers,
            ("ETag", f'W/"{etag}"'),
            ("Set-Cookie", self.referral(shop_id, secure)),
        ]
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(etag):
            return "304 NOT MODIFIED", headers, b""
        body = page.gzip(visitor)
        headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        return "200 OK", headers, body

    def learn(self, environ, start_response, key) -> Iterable[bytes]:
        """Let Flask answer; remember the visitor if it answered from a kept
        page and kept their session as it was."""
        session_cookie = self.app.config["SESSION_COOKIE_NAME"] + "="

        def start(status: str, headers: list, exc_info=None):
            answered = environ.get(ANSWERED)
            if answered and status.startswith("200 ") and key[0] is not None:
                page, visitor = answered
                if not any(
                    name.lower() == "set-cookie" and value.startswith(session_cookie)
                    for name, value in headers
                ):
                    self.visitors.put(key, (), visitor)
                    page.headers = [
                        (name, value)
                        for name, value in headers
                        if name.lower() not in OWN_HEADERS
                    ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)

    def version(self, slug: str) -> tuple | None:
        """``page_version``, past SQLAlchemy's statement machinery: the query
        compiled once, run by the driver on this thread's own connection (out
        of the pool, committing each statement: no transaction stays open).
        None when the database fails; Flask then answers as it would."""
        engine = self.engine()
        if self.query is None:
            compiled = page_statement().compile(dialect=engine.dialect)
            names = compiled.positiontup if compiled.positional else None

            def params(slug: str):
                values = compiled.construct_params({"slug": slug})
                return values if names is None else tuple(values[n] for n in names)

            self.query = (compiled.string, params)
        sql, params = self.query
        connection = getattr(self.connections, "connection", None)
        try:
            if connection is None:
                connection = engine.raw_connection()
                connection.detach()
                if engine.dialect.name == "postgresql":  # SQLite's is already
                    connection.dbapi_connection.autocommit = True
                self.connections.connection = connection
                with self.lock:
                    self.held.append(connection)
            cursor = connection.cursor()
            cursor.execute(sql, params(slug))
            row = cursor.fetchone()
            cursor.close()
        except (DBAPIError, engine.dialect.loaded_dbapi.Error):  # connecting, or since
            self.connections.connection = None
            if connection is not None:
                with self.lock:
                    if connection in self.held:  # not closed with the engine meanwhile
                        self.held.remove(connection)
                connection.invalidate()
            return None
        return tuple(row) if row else None

    def engine(self) -> Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
            event.listen(self._engine, "engine_disposed", self.close)
        return self._engine

    def close(self, _engine=None) -> None:
        """Close the threads' connections (as the engine closes its own)."""
        with self.lock:
            held, self.held = self.held, []
            self.connections = threading.local()
        for connection in held:
            connection.close()

    def today(self):
        """The shop's calendar day, worked out again only when one ends."""
        day, ends = self.day
        if time.time() >= ends:
            with self.app.app_context():
                day = local_day(utcnow())
                end = day_start(day + timedelta(days=1))
            ends = (end - utcnow()).total_seconds() + time.time()
            self.day = (day, ends)
        return day

    def referral(self, shop_id: int, secure: bool) -> str:
        """The referral cookie for ``shop_id``, signed again each second."""
        now = int(time.time())
        made, cookie = self.referrals.get((shop_id, secure), (None, ""))
        if made != now:
            with self.app.app_context():
                cookie = services.referral_cookie(shop_id, secure)
            with self.lock:
                self.referrals[(shop_id, secure)] = (now, cookie)
        return cookie


@functools.lru_cache(maxsize=64)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (browsers send one of a
    few, so each is parsed once)."""
    return parse_accept_header(accept_encoding)["gzip"] > 0


def init_app(app: Flask) -> None:
    kept = app.extensions["kept_pages"] = KeptPages(app, app.wsgi_app)
    app.wsgi_app = kept
