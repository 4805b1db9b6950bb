from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from docrelay.runtime import Runtime
from docrelay.storage.models import Account


def test_reader_does_not_wait_for_a_writer(runtime: Runtime) -> None:
    """A read session sees the last committed state while a write transaction holds the lock."""
    if runtime.database.dialect != "sqlite":
        pytest.skip("the BEGIN IMMEDIATE / BEGIN split is specific to SQLite")
    writer_started = threading.Event()
    release_writer = threading.Event()

    def write() -> None:
        with runtime.database.transaction() as session:
            session.execute(text("SELECT 1"))
            writer_started.set()
            release_writer.wait(10)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert writer_started.wait(5)
        with runtime.database.session() as session:
            # Under BEGIN IMMEDIATE this read would block until the writer ends.
            assert session.scalars(select(Account)).all() == []
    finally:
        release_writer.set()
        thread.join(10)


def test_two_writers_queue_instead_of_failing(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def bump(name: str) -> None:
        try:
            for index in range(20):
                with runtime.database.transaction() as session:
                    session.execute(
                        text("INSERT INTO periodic_leases (name, holder) VALUES (:name, NULL)"),
                        {"name": f"{name}-{index}"},
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(f"job{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with runtime.database.session() as session:
        assert session.scalar(text("SELECT count(*) FROM periodic_leases")) == 80
