"""Static files: fingerprinted URLs, a year in the browser's cache, compressed once.

Every ``url_for("static", filename=...)`` carries ``?v=<fingerprint>``, a hash of the
file's content: a changed file gets a new URL, so a browser may keep what it fetched
under one URL for a year and a repeat visit downloads none of it. Each file is read
(and compressed with brotli and gzip) once, and again only when it changes on disk, so
serving it costs no compression. Requests without the current fingerprint are answered
too, with ``no-cache`` (the browser revalidates with the ETag and gets a 304).
"""

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.security import safe_join
from werkzeug.wrappers import Request, Response

#: Cache-Control of a fingerprinted URL: the content behind it never changes.
FOREVER = "public, max-age=31536000, immutable"
#: Types worth compressing; images and fonts are compressed already.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg")


@dataclass(frozen=True)
class Asset:
    """One static file as read from disk, with its compressed forms."""

    body: bytes
    mimetype: str
    fingerprint: str
    #: Content-Encoding → compressed body, for the encodings worth sending.
    encoded: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "Asset":
        body = path.read_bytes()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        encoded = {}
        if mimetype.startswith(COMPRESSIBLE):
            for encoding, smaller in (
                ("br", brotli.compress(body, quality=11)),
                ("gzip", gzip.compress(body, compresslevel=9, mtime=0)),
            ):
                if len(smaller) < len(body):
                    encoded[encoding] = smaller
        fingerprint = hashlib.sha256(body).hexdigest()[:12]
        return cls(body, mimetype, fingerprint, encoded)


class Assets:
    """The files under one folder, each read when first asked for and again when
    its modification time or size changes."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files: dict[str, tuple[tuple[int, int], Asset]] = {}
        self.lock = threading.Lock()

    def get(self, filename: str) -> Asset | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        known = self.files.get(filename)
        if known is None or known[0] != version:
            if not Path(path).is_file():
                return None
            asset = Asset.read(Path(path))
            with self.lock:
                self.files[filename] = (version, asset)
            return asset
        return known[1]

    def __call__(self, environ, start_response):
        """The WSGI app under /static: no session, no cookies, no Vary on them."""
        request = Request(environ)
        if request.method not in ("GET", "HEAD"):
            return MethodNotAllowed(["GET", "HEAD"])(environ, start_response)
        asset = self.get(request.path.lstrip("/"))
        if asset is None:
            return NotFound()(environ, start_response)
        return respond(asset, request)(environ, start_response)


def respond(asset: Asset, request: Request) -> Response:
    """``asset`` compressed as the browser accepts, cached for a year when asked
    for by its current fingerprint, 304 when the browser has it already."""
    accepted = request.accept_encodings.best_match([*asset.encoded, "identity"])
    encoding = accepted or "identity"
    body = asset.encoded.get(encoding, asset.body)
    response = Response(body, mimetype=asset.mimetype)
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    if asset.encoded:
        response.vary.add("Accept-Encoding")
    current = request.args.get("v") == asset.fingerprint
    response.headers["Cache-Control"] = FOREVER if current else "no-cache"
    response.set_etag(f"{asset.fingerprint}-{encoding}")
    return response.make_conditional(request)


def init_app(app: Flask, folder: str) -> None:
    """Serve ``folder`` at /static, in front of the app, and fingerprint every URL
    made for it."""
    assets = app.extensions["assets"] = Assets(folder)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/static": assets})
    app.add_url_rule("/static/<path:filename>", "static", build_only=True)

    @app.url_defaults
    def fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            asset = assets.get(values.get("filename", ""))
            if asset is not None:
                values["v"] = asset.fingerprint
