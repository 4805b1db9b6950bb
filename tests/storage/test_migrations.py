from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from docrelay.storage import migrate
from docrelay.storage.db import Database
from docrelay.storage.models import Base


def test_migration_head_matches_models(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert migrate.is_current(database)
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], f"models and migrations differ: {differences}"
    finally:
        database.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        migrate.upgrade(database)
        assert migrate.current_revision(database) == migrate.head_revision()
    finally:
        database.dispose()
