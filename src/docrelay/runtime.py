"""The objects one DocRelay process shares: settings, database, blobs, secrets, wake-up signal."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from docrelay.config import Settings
from docrelay.crypto import SecretBox, load_secret_box
from docrelay.storage.blobs import BlobStore, FileSystemBlobStore
from docrelay.storage.db import Database

logger = logging.getLogger(__name__)

DELIVERIES_CREATED = "docrelay.deliveries_created"
"""Key in ``Session.info`` set by the outbox when a transaction wrote deliveries."""

NOTIFY_CHANNEL = "docrelay_deliveries"
"""PostgreSQL channel notified by every transaction that wrote deliveries."""


class DeliverySignal:
    """Tells in-process workers that new deliveries were committed.

    Subscribers are called from whichever thread committed, after the commit,
    so a worker must hand the call over to its own event loop
    (``loop.call_soon_threadsafe``).
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def fire(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:
                logger.exception(
                    "Delivery wake-up subscriber failed", extra={"action": "signal_failed"}
                )


@dataclasses.dataclass
class Runtime:
    settings: Settings
    database: Database
    blobs: BlobStore
    secrets: SecretBox
    signal: DeliverySignal

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        database = Database.from_settings(settings)
        settings.blob_dir.mkdir(parents=True, exist_ok=True)
        runtime = cls(
            settings=settings,
            database=database,
            blobs=FileSystemBlobStore(settings.blob_dir),
            secrets=load_secret_box(settings),
            signal=DeliverySignal(),
        )
        runtime._watch_commits()
        return runtime

    def _watch_commits(self) -> None:
        signal = self.signal

        @event.listens_for(self.database._sessions, "after_commit")
        def _after_commit(session: Session) -> None:
            if session.info.pop(DELIVERIES_CREATED, False):
                signal.fire()

        if self.database.dialect == "postgresql" and self.settings.notify_enabled:
            # Workers in other processes LISTEN on this channel (docrelay.delivery.listener).
            # PostgreSQL sends the notification only if the transaction commits.
            @event.listens_for(self.database._sessions, "before_commit")
            def _notify(session: Session) -> None:
                if session.info.get(DELIVERIES_CREATED):
                    session.execute(
                        text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL}
                    )

        @event.listens_for(self.database._sessions, "after_rollback")
        def _after_rollback(session: Session) -> None:
            session.info.pop(DELIVERIES_CREATED, None)

    def close(self) -> None:
        self.database.dispose()
