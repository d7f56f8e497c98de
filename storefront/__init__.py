"""Storefront: a self-hosted social-commerce shop."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from htmx_flask import Htmx
from werkzeug.middleware.proxy_fix import ProxyFix

from storefront import assets, etags, logs, security
from storefront import config as defaults
from storefront.database import IdConverter, database_uri, init_database
from storefront.extensions import (
    babel,
    compress,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
)


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions, sent Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. Settings: defaults → instance/config.py → STOREFRONT_* → test."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        # STOREFRONT_INSTANCE_PATH keeps data outside the code, e.g. /var/lib/storefront
        instance_path=os.environ.get("STOREFRONT_INSTANCE_PATH") or None,
        template_folder="../templates",
        static_folder=None,  # served by storefront.assets
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("STOREFRONT")
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("UPLOAD_FOLDER", str(Path(app.instance_path) / "uploads"))
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(
        app.config["DATABASE_URL"], app.instance_path
    )
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))
    app.session_interface = SessionInterface()
    app.url_map.converters["int"] = IdConverter

    logs.init_app(app)
    init_extensions(app)
    # Around Flask, outermost last: kept shop pages and static files in front
    # of it, security headers on all, and the proxy's X-Forwarded-* read before
    # anything.
    from storefront.shops import pages

    pages.init_app(app)
    assets.init_app(app, str(Path(app.root_path).parent / "static"))
    app.wsgi_app = security.with_headers(app.wsgi_app)
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    # Error pages first: their guard against malformed input must run before
    # any blueprint's request hooks.
    from storefront.errors import register_error_pages

    register_error_pages(app)
    register_blueprints(app)

    from storefront.cli import register_commands
    from storefront.templating import register_template_helpers

    register_commands(app)
    register_template_helpers(app)
    return app


def instance_secret(instance: Path) -> str:
    """The secret key kept in ``instance/secret_key``, made on first run (0600)."""
    path = instance / "secret_key"
    if not path.exists():
        # Written aside and linked into place, so workers starting together all
        # read the one complete key.
        draft = instance / f".secret_key.{secrets.token_hex(4)}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def init_extensions(app: Flask) -> None:
    from storefront.site import select_locale

    init_database(app)
    migrate.init_app(app, db)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.unauthorized_handler(sign_in_again)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    compress.init_app(app)  # zstd, brotli or gzip, as the browser accepts
    etags.init_app(app)  # before compression: a 304 compresses nothing
    Htmx(app)  # request.htmx


def sign_in_again():
    """Send a visitor whose session is missing or ended to the sign-in page. For
    htmx, a full-page redirect: swapping the login page into a region helps no one."""
    from flask import redirect, url_for

    target = url_for("accounts.login", next=request.full_path.rstrip("?"))
    if request.htmx:
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        page = current.path + (f"?{current.query}" if current.query else "")
        target = url_for("accounts.login", next=page or "/")
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def register_blueprints(app: Flask) -> None:
    from storefront import (
        accounts,
        admin,
        analytics,
        catalog,
        groupbuy,
        ledger,
        orders,
        shops,
        site,
    )
    from storefront.groupbuy.services import on_order_event as group_events
    from storefront.ledger.services import on_order_event as ledger_events
    from storefront.orders import events

    blueprints = (
        site.bp,
        accounts.bp,
        catalog.bp,
        shops.bp,
        analytics.bp,
        orders.bp,
        groupbuy.bp,
        ledger.bp,
        admin.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    events.subscribe(ledger_events)
    events.subscribe(group_events)
