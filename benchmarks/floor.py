"""The floor of the load benchmark: the shop page's bytes as a constant response.

gunicorn serves one of these with the app's own config, side by side with the
app, so that the shop page's throughput reads against the most the same stack
does with the same bytes:

- ``plain()``: a bare WSGI callable, no Flask at all;
- ``app()``: the real app (``create_app()``: its settings, extensions and
  request hooks) plus one route, ``FLOOR_PATH``, answering the bytes without a
  template or a query.

Both are factories for gunicorn (``benchmarks.floor:plain()``) and answer the
response ``save`` wrote into the directory named by the ``BENCH_FLOOR``
environment variable: body, content type and content encoding, as the shop page
sent them.
"""

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

#: The environment variable naming the directory of the saved response.
ENV = "BENCH_FLOOR"
FLOOR_PATH = "/floor"


@dataclass(frozen=True)
class Constant:
    """A response to send again and again."""

    body: bytes
    content_type: str
    content_encoding: str | None

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
        ]
        if self.content_encoding:
            headers.append(("Content-Encoding", self.content_encoding))
        return headers


def save(directory: Path, constant: Constant) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "body").write_bytes(constant.body)
    meta = {name: value for name, value in asdict(constant).items() if name != "body"}
    (directory / "headers.json").write_text(json.dumps(meta))


def load() -> Constant:
    directory = Path(os.environ[ENV])
    meta = json.loads((directory / "headers.json").read_text())
    return Constant(body=(directory / "body").read_bytes(), **meta)


def plain() -> Callable[[dict, Callable], Iterable[bytes]]:
    """A WSGI callable answering the saved response to every request."""
    constant = load()
    headers = constant.headers()

    def respond(environ: dict, start_response: Callable) -> Iterable[bytes]:
        start_response("200 OK", headers)
        return [constant.body]

    return respond


def app() -> "Flask":
    """The app, configured as ``wsgi:app`` is, answering the saved response at
    ``FLOOR_PATH`` (compression leaves a body with a Content-Encoding alone)."""
    # Imported here: the plain floor's workers load no Flask and no app.
    from flask import Response

    from storefront import create_app

    constant = load()
    floor_app = create_app()

    @floor_app.get(FLOOR_PATH)
    def floor():
        """The saved response, as it is."""
        return Response(constant.body, headers=constant.headers())

    return floor_app
