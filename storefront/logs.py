"""Logs: one JSON object per line, with no secret in them.

- The app's own records (errors, warnings) go to stderr as JSON with the time,
  level, logger, process, message, the request's method and path, and the
  traceback; so do the rate limiter's (a Redis server gone away, for one).
- gunicorn's own lines (starting, workers booting, exiting or killed) are the
  same JSON (``AccessLogger.setup``).
- gunicorn's access log (``gunicorn.conf.py`` names ``AccessLogger``) keeps its
  configurable format, whose default there is JSON too; every value is escaped
  for it.
- An order's page is reached by a secret link (``/o/<number>/<token>``): the token
  is cut out of every logged path, query and referrer, so whoever reads the logs
  cannot open customers' orders. Database errors are logged without their
  statements' values (``hide_parameters``), so no password hash or token either.
"""

import json
import logging
import re

from flask import Flask, has_request_context, request
from flask.logging import default_handler
from gunicorn.glogging import Logger, SafeAtoms

#: The secret part of an order's link.
ORDER_TOKEN = re.compile(r"(/o/[^/?#\s]+/)[^/?#\s]+")


def redact(text: str) -> str:
    return ORDER_TOKEN.sub(r"\1[token]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": redact(record.getMessage()),
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = redact(request.path)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


#: Libraries whose records an operator needs to see.
LIBRARY_LOGGERS = ("flask-limiter",)


def init_app(app: Flask) -> None:
    """The app's and its libraries' records as JSON lines on stderr (tests keep
    pytest's capture)."""
    if app.testing:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    app.logger.removeHandler(default_handler)
    for logger in (app.logger, *map(logging.getLogger, LIBRARY_LOGGERS)):
        logger.addHandler(handler)


class JsonAtoms(SafeAtoms):
    """gunicorn's log values, each escaped for a JSON string as the format reads
    it (gunicorn's own wrapper escapes only quotes, and every value up front)."""

    def __init__(self, atoms: dict) -> None:
        dict.__init__(self, atoms)

    def __getitem__(self, key: str):
        value = super().__getitem__(key)
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)[1:-1]
        return value


class AccessLogger(Logger):
    """gunicorn's logger: its own lines as JSON, order tokens cut out of the
    access log and values escaped for a JSON format."""

    atoms_wrapper_class = JsonAtoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{referer}i", "{raw_uri}e", "{path_info}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
