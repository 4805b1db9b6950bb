"""Alembic environment: runs migrations on the connection DocRelay hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from docrelay.storage.models import Base

target_metadata = Base.metadata
config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as new_connection:
        _run(new_connection)
