from __future__ import annotations

import threading

import pytest

from docrelay.config import Settings
from docrelay.delivery.listener import start_listener
from docrelay.runtime import DELIVERIES_CREATED, Runtime


def test_commit_with_deliveries_wakes_another_process(settings: Settings, runtime: Runtime) -> None:
    if runtime.database.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY exists on PostgreSQL only")
    other = Runtime.from_settings(settings)  # its own engine: stands for another process
    woken = threading.Event()
    other.signal.subscribe(woken.set)
    listener = start_listener(other)
    assert listener is not None
    try:
        assert listener.connected.wait(5), "listener did not connect"
        woken.clear()  # the listener fires once on connect to cover a missed notification
        with runtime.database.transaction() as session:
            session.info[DELIVERIES_CREATED] = True
        assert woken.wait(5), "no wake-up arrived through NOTIFY"

        woken.clear()
        with runtime.database.transaction() as session:
            session.info[DELIVERIES_CREATED] = False
        assert not woken.wait(0.5), "a transaction without deliveries must not notify"
    finally:
        listener.stop()
        other.close()


def test_no_listener_on_sqlite_or_with_notify_off(settings: Settings, runtime: Runtime) -> None:
    if runtime.database.dialect == "postgresql":
        off = Runtime.from_settings(settings.model_copy(update={"notify_enabled": False}))
        try:
            assert start_listener(off) is None
        finally:
            off.close()
    else:
        assert start_listener(runtime) is None
