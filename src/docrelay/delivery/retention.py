"""Attempt retention: the attempt log is kept for a while, events and delivery outcomes forever.

Each attempt row contains a request summary and a response excerpt, which
have served their purpose after ``settings.attempt_retention_days``
(default 90). The delivery row keeps its final state, attempt count, last error
and result, and the event stays in the document's hash-chained history, so
pruning attempts loses no fact about what happened. Sent alert notices are
pruned on the same schedule.

Rows are deleted in batches of :data:`BATCH`, each in its own short
transaction, so pruning a large backlog never holds a long lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import Table, delete, select

from docrelay.storage.db import Database
from docrelay.storage.models import AlertNotice, DeliveryAttempt

logger = logging.getLogger(__name__)

BATCH = 1000

attempts = cast(Table, DeliveryAttempt.__table__)
notices = cast(Table, AlertNotice.__table__)


def prune_attempts(
    database: Database, now: dt.datetime, retention_days: int, *, batch: int = BATCH
) -> int:
    """Delete attempt rows that started before the retention window; return how many."""
    cutoff = now - dt.timedelta(days=retention_days)
    removed = _prune(database, attempts, attempts.c.started_at < cutoff, batch)
    removed_notices = _prune(database, notices, notices.c.sent_at < cutoff, batch)
    if removed or removed_notices:
        logger.info(
            "Pruned %d delivery attempts and %d sent alert notices older than %d days",
            removed,
            removed_notices,
            retention_days,
            extra={"action": "attempts_pruned", "count": removed},
        )
    return removed


def _prune(database: Database, table: Table, older: Any, batch: int) -> int:
    total = 0
    while True:
        with database.transaction() as session:
            ids = list(session.scalars(select(table.c.id).where(older).limit(batch)))
            if ids:
                session.execute(delete(table).where(table.c.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total
