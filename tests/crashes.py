"""Stopping a process at a chosen moment of its database work, to prove that
what it was in the middle of leaves nothing half-written."""

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from storefront.extensions import db

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def crash_at(
    engine: Engine, points: Sequence[str], act: Callable[[list[str]], None]
) -> Iterator[list[str]]:
    """While open, call ``act(statements so far)`` once the statements
    ``engine`` runs have started with each of ``points`` in turn ("COMMIT" is
    the moment of committing); yields the statements seen."""
    waiting = list(points)
    seen: list[str] = []

    def reached(statement: str) -> None:
        seen.append(statement)
        if waiting and statement.startswith(waiting[0]):
            waiting.pop(0)
            if not waiting:
                act(seen)

    def before_statement(conn, cursor, statement, parameters, context, many):
        reached(statement)

    def before_commit(conn):
        reached("COMMIT")

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "commit", before_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before_statement)
        event.remove(engine, "commit", before_commit)


#: A process run as ``python -c CHILD DATABASE_URL CALL POINTS [ARG...]``: it
#: makes the app on that database and, in an app context, calls ``CALL`` (a
#: ``module:function``) with the ARGs, SIGKILLing itself at ``POINTS`` (a JSON
#: list, as for ``crash_at``) after printing the statements it ran; it prints
#: "FINISHED" if it got through.
CHILD = """
import importlib, json, os, signal, sys
from storefront import create_app
from storefront.extensions import db
from tests.crashes import crash_at

database_url, call, points, *args = sys.argv[1:]
app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "child"})
module, function = call.split(":")


def die(seen):
    print("\\n".join(seen), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


with app.app_context(), crash_at(db.engine, json.loads(points), die):
    getattr(importlib.import_module(module), function)(*args)
print("FINISHED")
"""


def run_child(
    app, call: str, points: Sequence[str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``CHILD`` on ``app``'s database and instance folder (``app``'s pooled
    connections are closed first, so they hold nothing open meanwhile)."""
    with app.app_context():
        db.engine.dispose()
    return subprocess.run(
        [sys.executable, "-c", CHILD, app.config["DATABASE_URL"], call]
        + [json.dumps(list(points)), *args],
        cwd=ROOT,
        env={**os.environ, "STOREFRONT_INSTANCE_PATH": app.instance_path},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
