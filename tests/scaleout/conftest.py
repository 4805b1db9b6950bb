"""Fixtures for the scale-out tests: a scratch PostgreSQL database, a runtime on it, a receiver,
and worker processes stopped after the test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from scaleout_procs import ProcessGroup, runtime_settings
from scaleout_receiver import Receiver
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from docrelay.runtime import Runtime

POSTGRES_URL = os.environ.get("DOCRELAY_TEST_POSTGRES_URL")


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty PostgreSQL database cloned from the session's template."""
    if POSTGRES_URL is None:
        pytest.skip("set DOCRELAY_TEST_POSTGRES_URL to run the scale-out tests")
    template = request.getfixturevalue("_postgres_template")
    name = f"docrelay_scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_runtime(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The test's own runtime on the scratch database: it writes documents and events."""
    runtime = Runtime.from_settings(runtime_settings(pg_url, tmp_path / "data"))
    yield runtime
    runtime.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(tmp_path)
    yield group
    group.stop_all()
