"""Database engine and sessions, for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous`` from settings (NORMAL by default:
durable across process crashes, not across power loss). Write transactions
(:meth:`Database.transaction`) start with ``BEGIN IMMEDIATE`` so two writers
queue on the lock at the start instead of failing with "database is locked"
halfway through. Read-only sessions (:meth:`Database.session`, which never
commit) start with a plain ``BEGIN``, so readers do not queue behind writers:
in WAL mode they read a snapshot while a write is in progress.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from docrelay.config import Settings

logger = logging.getLogger(__name__)

READ_ONLY_OPTION = "docrelay_read_only"


class Database:
    """An engine plus a session factory; one per process (or per test)."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _create_engine(url, sqlite_synchronous=sqlite_synchronous, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """Return a session for reading; it must not be committed (writes go through :meth:`transaction`)."""
        return self._read_sessions()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session in a transaction; commit on success, roll back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, *, sqlite_synchronous: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling would defer BEGIN until the first
    # write; take over so every transaction starts with BEGIN IMMEDIATE.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
