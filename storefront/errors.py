"""The domain error base class and the friendly error pages."""

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused an action; the message is shown to the user."""


class NotAllowed(DomainError):
    """The user may not do this to this object."""


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
        return error_page(500)
