"""Security headers: on pages, static files, uploads and error pages alike."""

import pytest

from storefront.security import CSP
from tests.conftest import EN

URLS = ["/", "/login", "/static/css/app.css", "/no-such-page", "/media/nope.webp"]


@pytest.mark.parametrize("url", URLS)
def test_every_response_carries_the_headers(client, url):
    headers = client.get(url, headers=EN).headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # plain http


def test_the_policy_allows_no_inline_script_and_no_framing():
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["default-src"] == "'self'"
    assert "script-src" not in directives  # so scripts fall back to 'self' only
    assert [d for d, value in directives.items() if "unsafe" in value] == ["style-src"]
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("url", ["/", "/static/css/app.css"])
def test_https_responses_ask_for_https_from_now_on(client, url):
    headers = client.get(url, base_url="https://shop.example.com").headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_proxy_https_is_read_from_x_forwarded_proto(app):
    from storefront import create_app

    proxied = create_app({**app.config, "PROXY_COUNT": 1})
    headers = (
        proxied.test_client()
        .get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"})
        .headers
    )
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
