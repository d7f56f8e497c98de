"""The domain error base class and the friendly error pages."""

import contextlib

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from storefront.extensions import db


class DomainError(Exception):
    """A rule of the domain refused an action; the message is shown to the user."""


#: What each error page tells a visitor, by status code.
MESSAGES = {
    400: _l("That request could not be understood. Please go back and try again."),
    403: _l("You do not have access to this page."),
    404: _l("We could not find that page. The link may be old or mistyped."),
    405: _l("That action is not available here."),
    413: _l("That upload is too large."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    500: _l("Something went wrong on our side. Please try again in a moment."),
    503: _l("The shop is busy or down for a moment. Please try again in a minute."),
}
#: Seconds a browser or client is asked to wait when the database is away.
RETRY_AFTER = 30


#: No list is that long; larger page numbers would overflow SQL offsets.
MAX_PAGE = 100_000


def error_page(code: int, message=None):
    """Render the error page for ``code`` in the visitor's language."""
    text = message or MESSAGES.get(code) or MESSAGES[400 if code < 500 else 500]
    page = render_template("errors/error.html", code=code, message=text, back=back())
    return page, code


def back() -> str | None:
    """The page of this site a refused form was sent from (too large, expired,
    too many tries), for a link back to it."""
    referrer, site = request.referrer or "", request.host_url
    if request.method != "POST" or not referrer.startswith(site):
        return None
    return "/" + referrer.removeprefix(site)


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(
            400, _l("This form has expired. Please reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = error_page(error.code)
        if error.code == 405:
            return (*response, {"Allow": ", ".join(error.valid_methods or [])})
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        """The database is unreachable, locked past its timeout or failing: a
        503 the visitor can retry, on a page that reads nothing from it (not
        even who is signed in). Logged without the statement's values."""
        app.logger.error(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            error.orig,
        )
        with contextlib.suppress(Exception):
            db.session.rollback()
        from storefront.templating import locale_code

        # Rendered without the context processors: the sign-in one would ask
        # the database who is signed in.
        page = app.jinja_env.get_template("errors/unavailable.html").render(
            message=MESSAGES[503],
            shop_name=app.config["SHOP_NAME"],
            locale=locale_code(),
            again=request.full_path if request.query_string else request.path,
        )
        return page, 503, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()  # the page itself reads the database
        return error_page(500)

    @app.before_request
    def refuse_malformed_input():
        # No text we keep contains NUL, and PostgreSQL refuses it outright.
        values = [request.path, *request.args.values(), *request.form.values()]
        if any("\x00" in value for value in values):
            return error_page(400)
        page = request.args.get("page")
        if page is not None and not (page.isdigit() and 0 < int(page) <= MAX_PAGE):
            return error_page(404)
