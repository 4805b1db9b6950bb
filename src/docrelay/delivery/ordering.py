"""Order and supersession of the deliveries of one (document, design) pair.

The rule: for one document and one design, deliveries are attempted in
``sequence`` order, one at a time. A delivery that carries only the
document's status ("status-only") and is still waiting (pending, retrying or
paused) when a newer delivery of the same pair is created becomes
``superseded`` and is never sent: every delivery carries the document's current
status, so the newer one tells the receiver everything the older one would
have, and sending both would only risk the older status landing last.

Deliveries that carry a file or a fact beyond the status (the completed PDF,
a decline reason, signer feedback, step and page-visit events, expiry
warnings) are never superseded: the receiver would lose that fact. For web
notifications only a newer status-only delivery supersedes, because a
design's body template decides what a fact event carries and need not
include the status.

A retrying delivery keeps blocking the later ones of its pair, except that a
superseding status update replaces it: when a status-only attempt fails
passingly while a newer delivery of its pair already exists, it is marked
superseded instead of scheduled again. A permanently failed delivery stops
blocking. Resending a status-only delivery whose pair has a newer delivery is
refused, so no receiver gets an older status after a newer one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, select, true, update
from sqlalchemy.orm import Session

from docrelay.delivery.states import DeliveryState
from docrelay.storage.models import Delivery

deliveries = cast(Table, Delivery.__table__)

SUPERSEDABLE_WEB_EVENTS = frozenset(
    {"document.created", "document.started", "document.expired", "document.cancelled"}
)
"""Web notification events that carry nothing but the new status.

``document.completed`` is left out because its payload carries the sealed
PDF's link and checksums; ``document.declined`` because it carries the reason.
"""
FILE_EVENT = "document.completed"
_SUPERSEDABLE_STATES = (
    DeliveryState.PENDING.value,
    DeliveryState.RETRYING.value,
    DeliveryState.PAUSED.value,
)


def is_status_only(kind: str, event_type: str) -> bool:
    """Tell whether a delivery of ``kind`` for ``event_type`` carries only the status."""
    if kind == "salesforce_status":
        # This design writes the status fields of the document record and nothing else.
        return True
    if kind == "salesforce_status_with_document":
        return event_type != FILE_EVENT
    if kind == "webhook":
        return event_type in SUPERSEDABLE_WEB_EVENTS
    return False


def supersede_earlier(session: Session, delivery: Delivery, now: dt.datetime) -> int:
    """Mark the waiting status-only deliveries of ``delivery``'s pair superseded; return how many.

    Any newer delivery supersedes them, whether or not it is status-only
    itself, because it carries the current status too. An in-flight delivery
    is left alone: its result decides (see :func:`superseded_on_retry`).
    A web notification is the exception: only a newer status-only one
    supersedes, because a design's body need not carry the status at all.
    """
    if delivery.kind == "webhook" and not delivery.status_only:
        return 0
    result = session.execute(
        update(deliveries)
        .where(
            deliveries.c.document_id == delivery.document_id,
            deliveries.c.design_id == delivery.design_id,
            deliveries.c.sequence < delivery.sequence,
            deliveries.c.status_only == true(),
            deliveries.c.state.in_(_SUPERSEDABLE_STATES),
        )
        .values(state=DeliveryState.SUPERSEDED.value, pause_reason=None, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def newer_exists(
    session: Session,
    document_id: str,
    design_id: str,
    sequence: int,
    *,
    status_only: bool = False,
) -> str | None:
    """Return the id of a newer delivery of the pair (only status-only ones if asked), if any."""
    conditions = [
        deliveries.c.document_id == document_id,
        deliveries.c.design_id == design_id,
        deliveries.c.sequence > sequence,
    ]
    if status_only:
        conditions.append(deliveries.c.status_only == true())
    found: str | None = session.scalar(
        select(deliveries.c.id).where(*conditions).order_by(deliveries.c.sequence.desc()).limit(1)
    )
    return found


def superseded_on_retry(session: Session, claimed: Any) -> bool:
    """Tell whether a status-only delivery that just failed passingly is replaced by a newer one.

    ``claimed`` is the worker's claimed delivery (it has ``status_only``,
    ``document_id``, ``design_id`` and ``sequence``).
    """
    if not claimed.status_only:
        return False
    newer = newer_exists(
        session,
        claimed.document_id,
        claimed.design_id,
        claimed.sequence,
        status_only=claimed.kind == "webhook",
    )
    return newer is not None
