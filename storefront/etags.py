"""Repeat visits: every page carries an ETag, and an unchanged page is a 304.

A phone coming back to a page it has (``Cache-Control: private, no-cache``: it
keeps it, asks first) sends the ETag; when the page is byte for byte what it has,
the answer is a 304 with no body. The view still runs (visits count, cookies
are set), only the download is saved, so this is right by construction.

For pages to repeat byte for byte, the form token must too: Flask-WTF signs a new
one (with a timestamp) on every request. The first signed token of a session is
kept in the session and used for the rest of it; it is as valid as any other, since
tokens never expire (``WTF_CSRF_TIME_LIMIT = None``) and belong to the session.
"""

from flask import Flask, g, request, session

#: Flask-WTF keeps the request's signed token in ``g.csrf_token`` and the
#: session's secret in ``session["csrf_token"]``.
FIELD = "csrf_token"
#: The session's signed token, kept for its pages.
KEPT = "csrf_signed"


def init_app(app: Flask) -> None:
    @app.before_request
    def steady_form_token() -> None:
        if FIELD in session and KEPT in session:
            setattr(g, FIELD, session[KEPT])

    @app.after_request
    def revalidate(response):
        token = g.get(FIELD)
        if token and session.get(KEPT) != token:
            session[KEPT] = token
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and response.mimetype == "text/html"
            and not response.is_streamed
        ):
            response.headers.setdefault("Cache-Control", "private, no-cache")
            response.add_etag(weak=True)
            response.make_conditional(request)
        return response
