"""Database URL handling and the SQLite settings that let several workers write."""

import enum
from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter

from storefront.extensions import db

#: Methods whose requests may write; their SQLite transactions take the write lock
#: up front instead of failing to upgrade a read lock later.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def database_uri(url: str, instance_path: str) -> str:
    """Return the SQLAlchemy URI for ``DATABASE_URL`` (empty means the instance file).

    PostgreSQL URLs are pointed at the psycopg 3 driver whatever scheme they use.
    """
    if not url:
        return f"sqlite:///{Path(instance_path) / 'storefront.db'}"
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes on a SQLite engine.

    A deferred transaction that reads and then writes cannot wait for the lock once
    another worker has written (SQLite answers "database is locked" at once), so any
    transaction that may write begins IMMEDIATE and waits its turn instead.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        mode = "IMMEDIATE" if may_write() else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def may_write() -> bool:
    """True outside requests (commands, tests), for requests that change data
    and for views marked ``writes``."""
    if not has_request_context() or request.method in WRITE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "writes", False)


def writes(view):
    """Mark a GET view that may write (it settles what has fallen due as it
    reads), so its SQLite transaction takes the write lock from the start."""
    view.writes = True
    return view


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A column type storing a ``StrEnum`` by its values as plain text (no
    database enum type, so adding a member needs no migration of the type)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


#: Largest id a URL may name: the range of an SQL integer column.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes, bounded to what the database can hold, so a huge
    number is a 404 rather than an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def add_unique(row) -> bool:
    """Insert ``row`` in a savepoint. False, with the row discarded and the
    request's transaction intact, when it clashes with a unique constraint: the
    race two requests checking "is this free?" at once can lose."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def init_database(app: Flask) -> None:
    """Bind ``db`` to the app and tune SQLite engines."""
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
