"""Kept shop pages: a returning visitor who is not signed in is answered in
front of Flask, with the page Flask would send, never a stale one."""

import gzip
import re

import brotli
import pytest
from flask import request_started
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.shops import services
from storefront.shops.models import Shop, ShopStatus
from tests import factories
from tests.conftest import CSRF_INPUT, login

PHONE = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, br",
}
URL = "/s/mei-tea"


@pytest.fixture
def shop(app):
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea")
        tea = factories.product(name="Green tea", slug="green-tea", price=1250)
        services.set_note(services.add_product(shop, tea), "I drink it daily.")
        db.session.commit()
        return shop.id


@pytest.fixture
def flask_views(app):
    """The requests Flask itself handled."""
    seen = []

    def started(sender, **extra):
        from flask import request

        seen.append(request.path)

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


def text(response) -> str:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)  # checks the CRC and the length too
    elif encoding == "br":
        body = brotli.decompress(body)
    return body.decode()


def returning(client, url=URL, headers=PHONE):
    """Visit ``url`` until Flask has answered with the session unchanged (a
    new session takes two views to settle), so the next view can be kept."""
    for _ in range(3):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
    return response


def test_a_returning_visitor_gets_the_page_flask_would_send(
    app, client, shop, flask_views
):
    from_flask = returning(client)
    flask_views.clear()
    kept = client.get(URL, headers=PHONE)
    assert flask_views == []  # answered in front of Flask
    assert kept.status_code == 200
    assert kept.headers["Content-Encoding"] == "gzip"
    assert text(kept) == text(from_flask)
    assert "I drink it daily." in text(kept)
    assert "¥12.50" in text(kept)
    same = ("Content-Type", "Vary", "Cache-Control", "ETag", "X-Frame-Options")
    for name in same:
        assert kept.headers.get(name) == from_flask.headers.get(name), name
    assert kept.headers["Content-Security-Policy"]
    # The referral cookie is set again (last click wins), naming this shop.
    cookie = kept.headers["Set-Cookie"]
    assert cookie.startswith(f"{services.REFERRAL_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with app.test_request_context():
        assert services.referring_shop(client.get_cookie("ref").value).id == shop


def test_each_visitor_gets_their_own_form_token(app, client, shop, flask_views):
    others = app.test_client()
    returning(client)
    returning(others)
    flask_views.clear()
    mine, theirs = client.get(URL, headers=PHONE), others.get(URL, headers=PHONE)
    assert flask_views == []
    my_tokens = set(CSRF_INPUT.findall(text(mine)))
    their_tokens = set(CSRF_INPUT.findall(text(theirs)))
    assert len(my_tokens) == len(their_tokens) == 1
    assert my_tokens != their_tokens
    assert f'"X-CSRFToken": "{my_tokens.pop()}"' in text(mine)
    # The kept page's token works: the language switch posts with it.
    token = CSRF_INPUT.search(text(theirs)).group(1)
    switched = others.post(
        "/lang", data={"lang": "zh_CN", "next": URL, "csrf_token": token}, csrf=False
    )
    assert switched.status_code == 302


def test_the_cart_badge_and_language_are_the_visitors(app, client, shop, flask_views):
    returning(client)
    with app.app_context():
        tea = db.session.scalar(select(Product.id).filter_by(slug="green-tea"))
    client.post("/cart/add", data={"product_id": tea, "quantity": 2})
    returning(client)
    flask_views.clear()
    kept = client.get(URL, headers=PHONE)
    assert flask_views == []
    assert '<span id="cart-badge" class="cart-badge">2</span>' in text(kept)
    chinese = {**PHONE, "Accept-Language": "zh-CN,zh;q=0.9"}
    returning(client, headers=chinese)
    flask_views.clear()
    kept = client.get(URL, headers=chinese)
    assert flask_views == []
    assert '<html lang="zh-CN">' in text(kept) and "购物车" in text(kept)


def test_an_edit_shows_at_once(app, client, shop, flask_views):
    """Whatever changes on the page (a price, a note, the shop's name, the
    seller's name), the next view shows it."""
    returning(client)
    changes = [
        (lambda s: setattr(s.scalar(select(Product)), "price", 990), "¥9.90"),
        (
            lambda s: services.set_note(s.get(Shop, shop).items[0], "New note"),
            "New note",
        ),
        (lambda s: setattr(s.get(Shop, shop), "bio", "Tea from home"), "Tea from home"),
        (lambda s: setattr(s.scalar(select(User)), "name", "Mei Li"), "by Mei Li"),
    ]
    for change, shown in changes:
        with app.app_context():
            change(db.session)
            db.session.commit()
        assert shown in text(client.get(URL, headers=PHONE))
        # And the page is kept again under its new version.
        returning(client)
        flask_views.clear()
        assert shown in text(client.get(URL, headers=PHONE))
        assert flask_views == []
    with app.app_context():
        services.set_status(db.session.get(Shop, shop), ShopStatus.SUSPENDED)
        db.session.commit()
    assert "This shop is closed for now." in text(client.get(URL, headers=PHONE))


def test_a_repeat_view_with_the_etag_is_a_304(app, client, shop, flask_views):
    etag = returning(client).headers["ETag"]
    flask_views.clear()
    again = client.get(URL, headers={**PHONE, "If-None-Match": etag})
    assert flask_views == []
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag


def test_flask_answers_what_the_kept_page_cannot(app, client, shop, flask_views):
    returning(client)
    cases = [
        ("?via=qr", PHONE),  # a query string: attribution to record
        ("", {**PHONE, "HX-Request": "true"}),
        ("", {**PHONE, "Accept-Encoding": "br"}),
        ("", {**PHONE, "Accept-Encoding": "gzip;q=0, br"}),
    ]
    for query, headers in cases:
        flask_views.clear()
        response = client.get(URL + query, headers=headers)
        assert response.status_code == 200
        assert flask_views == [URL], (query, headers)
    # A visit this process has not counted today goes to Flask, which counts it.
    services.recent_visits.clear()
    flask_views.clear()
    client.get(URL, headers=PHONE)
    assert flask_views == [URL]
    # A seller who signs in sees their own header, never the kept one.
    with app.app_context():
        factories.shop("wang@example.com", "Wang's")
    login(client, "wang@example.com")
    html = text(client.get(URL, headers=PHONE))
    assert "Sign out" in html and "My shop" in html


def test_first_click_attribution_is_left_to_flask(app, client, shop, flask_views):
    app.config["REFERRAL_CLICK"] = "first"
    returning(client)
    flask_views.clear()
    client.get(URL, headers=PHONE)
    assert flask_views == [URL]


def test_the_kept_gzip_is_well_formed(app, client, shop):
    """Parts compressed on their own with stored blocks between them make one
    gzip file that strict decoders take (checksum and length included)."""
    import zlib

    returning(client)
    body = client.get(URL, headers=PHONE).get_data()
    whole = zlib.decompressobj(wbits=31)
    html = whole.decompress(body)
    assert whole.eof and whole.unused_data == b""
    assert html.endswith(b"</html>") and html.count(b"csrf_token") == 1
    assert re.search(rb'name="csrf_token" value="[^"\x00]{20,}"', html)


def test_a_database_error_leaves_the_answer_to_flask(app, client, shop, flask_views):
    """The thread's connection failing (the database restarted, say) sends the
    view to Flask, and the next one reconnects."""
    returning(client)
    client.get(URL, headers=PHONE)
    kept = app.extensions["kept_pages"]
    kept.connections.connection.dbapi_connection.close()
    flask_views.clear()
    assert "Green tea" in text(client.get(URL, headers=PHONE))
    assert flask_views == [URL]
    flask_views.clear()
    assert "Green tea" in text(client.get(URL, headers=PHONE))
    assert flask_views == []


def test_no_database_to_connect_to_leaves_the_answer_to_flask(
    app, client, shop, flask_views, monkeypatch
):
    """A thread that cannot connect (the database is away) hands the view to
    Flask, which answers as it does without a database (a 503 page asking to
    try again in a minute), never with a bare error."""
    from sqlalchemy.exc import OperationalError

    returning(client)
    kept = app.extensions["kept_pages"]
    kept.close()

    def refused():
        raise OperationalError("connect", {}, ConnectionRefusedError())

    monkeypatch.setattr(kept.engine(), "raw_connection", refused)
    flask_views.clear()
    away = client.get(URL, headers=PHONE)
    assert flask_views == [URL]
    assert away.status_code == 503 and "try again in a minute" in text(away)
    monkeypatch.undo()
    assert "Green tea" in text(client.get(URL, headers=PHONE))


def test_a_session_past_its_lifetime_goes_to_flask(
    app, client, shop, flask_views, monkeypatch
):
    """Flask stops taking a session cookie a lifetime (30 days) after it was
    signed; the kept page stops with it."""
    import time
    from types import SimpleNamespace

    from storefront.shops import pages

    returning(client)
    later = time.time() + app.permanent_session_lifetime.total_seconds()
    monkeypatch.setattr(pages, "time", SimpleNamespace(time=lambda: later - 60))
    flask_views.clear()
    client.get(URL, headers=PHONE)
    assert flask_views == []
    monkeypatch.setattr(pages, "time", SimpleNamespace(time=lambda: later + 1))
    client.get(URL, headers=PHONE)
    assert flask_views == [URL]
