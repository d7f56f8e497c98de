"""Counting the SQL a request runs: pages must not grow their queries with data."""

from sqlalchemy import event

from storefront.extensions import db


class CountQueries:
    """Counts (and keeps) the SQL statements run while it is active."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, _connection, _cursor, statement, *args):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def selects(self) -> int:
        return sum(s.lstrip().upper().startswith("SELECT") for s in self.statements)
