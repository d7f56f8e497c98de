"""The domain error base class and the friendly error pages."""

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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
}


#: No list is that long; larger page numbers would overflow SQL offsets.
MAX_PAGE = 100_000


def error_page(code: int, message=None):
    """Render the error page for ``code`` in the visitor's language."""
    text = message or MESSAGES.get(code) or MESSAGES[400 if code < 500 else 500]
    return render_template("errors/error.html", code=code, message=text), code


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
