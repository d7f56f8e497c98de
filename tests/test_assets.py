"""Static files and compression: what keeps a repeat visit to a few kilobytes."""

import gzip
import re

import brotli

from tests.conftest import EN

PHONE = {**EN, "Accept-Encoding": "gzip, deflate, br, zstd"}


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_pages_link_static_files_by_fingerprint(client):
    urls = static_urls(client.get("/", headers=EN).get_data(as_text=True))
    assert any(u.startswith("/static/css/app.css?v=") for u in urls)
    assert any(u.startswith("/static/vendor/htmx.min.js?v=") for u in urls)
    assert all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in urls)


def test_a_fingerprinted_file_is_cached_for_a_year(client):
    for url in static_urls(client.get("/", headers=EN).get_data(as_text=True)):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == (
            "public, max-age=31536000, immutable"
        )
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")


def test_an_old_or_missing_fingerprint_must_revalidate(client):
    stale = client.get("/static/css/app.css?v=000000000000")
    assert stale.headers["Cache-Control"] == "no-cache"
    again = client.get(
        "/static/css/app.css", headers={"If-None-Match": stale.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_a_changed_file_gets_a_new_fingerprint(app, client, tmp_path, monkeypatch):
    css = tmp_path / "app.css"
    css.write_text("body{color:red}")
    assets = app.extensions["assets"]
    monkeypatch.setattr(assets, "folder", str(tmp_path))
    with app.test_request_context():
        from flask import url_for

        first = url_for("static", filename="app.css")
        css.write_text("body{color:blue;margin:0}")
        second = url_for("static", filename="app.css")
    assert first != second
    assert client.get(second).data == b"body{color:blue;margin:0}"


def test_static_files_come_compressed_as_the_browser_accepts(client):
    url = "/static/vendor/htmx.min.js"
    plain = client.get(url).data
    assert len(plain) > 30_000
    br = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == plain and len(br.data) < len(plain) / 3
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data) == plain
    assert "Accept-Encoding" in gz.headers["Vary"]
    assert gz.headers["ETag"] != br.headers["ETag"]


def test_unknown_and_escaping_static_paths_are_404(client):
    for url in ("/static/nope.css", "/static/../storefront/config.py", "/static/css"):
        assert client.get(url).status_code == 404
    assert client.post("/static/css/app.css").status_code == 405


def test_pages_come_compressed(client):
    response = client.get("/", headers=PHONE)
    assert response.headers["Content-Encoding"] in ("zstd", "br", "gzip")
    assert "Accept-Encoding" in response.headers["Vary"]
    gz = client.get("/", headers={**EN, "Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert b"</html>" in gzip.decompress(gz.data)
