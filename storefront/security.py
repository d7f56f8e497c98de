"""Security headers on every response, static files and error pages included.

- ``Content-Security-Policy``: scripts, fonts and connections from this site
  only (no inline script, no ``eval``: htmx runs with ``allowEval`` off);
  stylesheets from here, and inline style attributes, which htmx sets as it
  swaps some regions (our templates have none); images from here or ``data:``
  URLs; no plugins; forms post only here; no other site may frame a page
  (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older browsers);
- ``X-Content-Type-Options: nosniff``: a file is what its type says;
- ``Referrer-Policy``: other sites learn the origin, never a page's path or query
  (shop links carry referral and share codes);
- ``Strict-Transport-Security`` for a year, on responses to https requests only
  (behind a proxy, set ``PROXY_COUNT`` so the app knows the request was https).
"""

from collections.abc import Callable, Iterable

CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
]
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def with_headers(wsgi_app: Callable) -> Callable:
    """``wsgi_app`` with the headers above added to each response that lacks them."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        wanted = HEADERS + ([HSTS] if environ.get("wsgi.url_scheme") == "https" else [])

        def start(status: str, headers: list, exc_info=None):
            present = {name.lower() for name, _ in headers}
            extra = [(n, v) for n, v in wanted if n.lower() not in present]
            return start_response(status, headers + extra, exc_info)

        return wsgi_app(environ, start)

    return app
