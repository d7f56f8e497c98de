"""Fixtures: an app with its own database per test, clients with CSRF on, logins.

Set STOREFRONT_TEST_DATABASE_URL to run the suite on PostgreSQL (``make test`` does,
with a server it starts itself); otherwise each test gets a SQLite file.
"""

import os
import re

import pytest
from flask.testing import FlaskClient

from storefront import create_app
from storefront.extensions import db, limiter
from tests import factories
from tests.live_server import live_server  # noqa: F401

TEST_DATABASE_URL = os.environ.get("STOREFRONT_TEST_DATABASE_URL", "")
#: Request headers: an English page, and a phone's browser (whose shop visits
#: count and set the referral cookie).
EN = {"Accept-Language": "en"}
PHONE_UA = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile",
    "Accept-Language": "en",
}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def require(available: bool, what: str) -> None:
    """Skip a test whose system tool is missing on a developer's machine; in CI
    (CI set), where .ci/run installs every tool, fail instead."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} is not installed")


def database_url_for(tmp_path) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.db'}"


class Client(FlaskClient):
    """A test client that fills in the CSRF token of its session on every POST,
    as the browser does from the page's form (pass ``csrf=False`` to leave it out)."""

    def post(self, *args, csrf: bool = True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            kwargs["data"] = {"csrf_token": self.csrf_token(), **(data or {})}
        return super().post(*args, **kwargs)

    def csrf_token(self) -> str:
        html = self.get("/").get_data(as_text=True)
        return CSRF_INPUT.search(html).group(1)


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url_for(tmp_path),
            "BABEL_DEFAULT_LOCALE": "en",
            "SHOP_NAME": "Test Shop",
        }
    )
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def hx() -> dict:
    """Headers of an htmx request that swaps a region."""
    return {"HX-Request": "true"}


@pytest.fixture
def operator(app):
    with app.app_context():
        return factories.user_row(role="operator", email="op@example.com")


@pytest.fixture
def seller(app):
    with app.app_context():
        return factories.user_row(role="seller", email="seller@example.com")


def login(client: Client, email: str, password: str = factories.PASSWORD):
    return client.post("/login", data={"login": email, "password": password})


@pytest.fixture
def as_operator(client, operator) -> Client:
    assert login(client, "op@example.com").status_code == 302
    return client


@pytest.fixture
def as_seller(client, seller) -> Client:
    assert login(client, "seller@example.com").status_code == 302
    return client
