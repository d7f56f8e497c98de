"""The app factory: configuration order, secrets, database settings, health, errors."""

import stat

import pytest
from sqlalchemy import text

from storefront import create_app
from storefront.database import database_uri
from storefront.extensions import db
from tests.conftest import CSRF_INPUT


@pytest.fixture
def instance(tmp_path, monkeypatch):
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(path))
    for name in (
        "STOREFRONT_SHOP_NAME",
        "STOREFRONT_CURRENCY",
        "STOREFRONT_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    return path


def test_config_order_defaults_instance_env_test(instance, monkeypatch):
    """Each later source overrides the one before it, key by key."""
    assert create_app().config["SHOP_NAME"] == "Storefront"  # default

    (instance / "config.py").write_text('SHOP_NAME = "From file"\nCURRENCY = "USD"\n')
    app = create_app()
    assert (app.config["SHOP_NAME"], app.config["CURRENCY"]) == ("From file", "USD")

    monkeypatch.setenv("STOREFRONT_SHOP_NAME", "From env")
    monkeypatch.setenv("STOREFRONT_PROXY_COUNT", "1")  # parsed as JSON
    app = create_app()
    assert app.config["SHOP_NAME"] == "From env"
    assert app.config["CURRENCY"] == "USD"
    assert app.config["PROXY_COUNT"] == 1

    app = create_app({"SHOP_NAME": "From test"})
    assert app.config["SHOP_NAME"] == "From test"
    assert app.config["CURRENCY"] == "USD"


def test_secret_key_generated_once_into_instance(instance):
    first = create_app().config["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert len(first) == 64 and key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first  # stable across restarts
    assert create_app({"SECRET_KEY": None}).config["SECRET_KEY"] == first
    assert list(instance.glob(".secret_key.*")) == []  # no drafts left behind


def test_database_uri():
    assert database_uri("", "/srv/inst") == "sqlite:////srv/inst/storefront.db"
    assert database_uri("postgres://u:p@h/db", "/x") == "postgresql+psycopg://u:p@h/db"
    assert database_uri("postgresql://h/db", "/x") == "postgresql+psycopg://h/db"
    assert database_uri("sqlite:////tmp/a.db", "/x") == "sqlite:////tmp/a.db"


def test_sqlite_runs_in_wal_with_busy_timeout(instance, tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/wal.db"})
    with app.app_context():
        pragmas = {
            name: db.session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        }
        db.engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 10000,
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
    }


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok"}


def test_healthz_reports_unreachable_database(instance, tmp_path):
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db", "SECRET_KEY": "k"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "db": "error"}


@pytest.mark.parametrize(
    ("path", "method", "status", "words"),
    [
        ("/no-such-page", "get", 404, "could not find that page"),
        ("/healthz", "post", 405, "not available here"),
    ],
)
def test_friendly_error_pages(client, path, method, status, words):
    response = getattr(client, method)(path, headers={"Accept-Language": "en"})
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
    assert "<html" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"login": "a@b.cd"}, csrf=False)
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)


def test_session_cookie_flags(client, operator):
    response = client.post(
        "/login", data={"login": "op@example.com", "password": "correct horse battery"}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.status_code == 302
    assert "Secure" not in cookie  # plain http in development


def test_session_cookie_secure_over_https(client, operator):
    page = client.get("/", base_url="https://shop.example").get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    response = client.post(
        "/login",
        base_url="https://shop.example",
        data={
            "login": "op@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
        },
        headers={"Referer": "https://shop.example/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_unexpected_error_gets_the_friendly_500_page_in_both_languages(app):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    client = app.test_client()
    english = client.get("/broken", headers={"Accept-Language": "en"})
    assert english.status_code == 500
    assert "Something went wrong on our side" in english.get_data(as_text=True)
    chinese = client.get("/broken", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 500
    assert 'lang="zh-CN"' in chinese.get_data(as_text=True)
    assert "Something went wrong" not in chinese.get_data(as_text=True)


def test_pages_answer_503_while_the_database_is_away(instance, tmp_path):
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db", "SECRET_KEY": "k"}
    )
    client = app.test_client()
    for url in ("/", "/s/some-shop", "/p/some-product"):
        response = client.get(url, headers={"Accept-Language": "en"})
        assert response.status_code == 503, url
        assert response.headers["Retry-After"] == "30"
        assert "down for a moment" in response.get_data(as_text=True)
    chinese = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "稍后" in chinese.get_data(as_text=True)


def test_a_signed_in_seller_gets_503_then_the_page_once_the_database_is_back(
    instance, tmp_path
):
    from tests import factories
    from tests.conftest import Client, login

    folder = tmp_path / "data"
    folder.mkdir()
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/x.db", "SECRET_KEY": "k"})
    with app.app_context():
        db.create_all()
        factories.shop("mei@example.com", "Mei Tea")
    app.test_client_class = Client  # fills in the form token
    client = app.test_client()
    assert login(client, "mei@example.com").status_code == 302
    assert client.get("/me/products").status_code == 200
    folder.rename(tmp_path / "away")  # the disk or server is gone
    with app.app_context():
        db.engine.dispose()
    assert client.get("/me/products").status_code == 503
    assert client.get("/healthz").status_code == 503
    (tmp_path / "away").rename(folder)  # and back
    assert client.get("/me/products").status_code == 200
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()
