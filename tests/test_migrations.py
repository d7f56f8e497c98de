"""Migrations build the schema from nothing, on SQLite and PostgreSQL alike, and
match the models (a model change without its migration fails here)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from storefront import create_app
from storefront.extensions import db
from tests.conftest import database_url_for


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    """An app on an empty database (no create_all), cleaned up afterwards."""
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": database_url_for(tmp_path)}
    )
    yield app
    with app.app_context():
        downgrade(revision="base")
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.engine.dispose()


def test_upgrade_from_empty_builds_every_table(empty_app):
    with empty_app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) | {"alembic_version"} == tables


def test_migrations_match_models(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []
