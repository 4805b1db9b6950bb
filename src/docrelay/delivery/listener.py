"""Cross-process wake-up on PostgreSQL with LISTEN/NOTIFY.

A transaction that writes deliveries also runs ``pg_notify`` on one channel
(see :class:`docrelay.runtime.Runtime`); PostgreSQL delivers the notification when,
and only if, the transaction commits, and folds identical notifications of one
transaction into one. Every worker process keeps a listening connection
(:class:`NotificationListener`) and turns each notification into a local
wake-up. This only cuts latency: workers still poll, so nothing is lost when a
notification is (for example behind PgBouncer's transaction pooling, which
drops LISTEN) or when the listening connection is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from docrelay.runtime import NOTIFY_CHANNEL, Runtime

logger = logging.getLogger(__name__)

CHANNEL = NOTIFY_CHANNEL


def libpq_dsn(sqlalchemy_url: str) -> str:
    """Turn ``postgresql+psycopg://...`` into a DSN that psycopg accepts."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class NotificationListener:
    """A daemon thread that LISTENs on the channel and calls ``on_notify`` for each notification.

    It reconnects by itself after a connection loss, waiting up to 5 s between tries.
    """

    def __init__(self, dsn: str, on_notify: Callable[[], None]) -> None:
        self._dsn = dsn
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="docrelay-listen", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    delay = 0.2
                    logger.info(
                        "Listening for delivery notifications",
                        extra={"action": "listener_connected"},
                    )
                    # A notification may have been missed while we were disconnected.
                    self._on_notify()
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self._on_notify()
            except psycopg.Error as exc:
                self.connected.clear()
                logger.warning(
                    "Notification listener lost its connection (%s); reconnecting in %.1f s",
                    type(exc).__name__,
                    delay,
                    extra={"action": "listener_reconnecting"},
                )
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
        self.connected.clear()


def start_listener(runtime: Runtime) -> NotificationListener | None:
    """Start a listener that fires the runtime's delivery signal, on PostgreSQL with NOTIFY enabled."""
    if runtime.database.dialect != "postgresql" or not runtime.settings.notify_enabled:
        return None
    listener = NotificationListener(libpq_dsn(runtime.database.url), runtime.signal.fire)
    listener.start()
    return listener
