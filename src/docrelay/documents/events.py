"""Recording document events: the one place a document's history grows.

Every state change calls :func:`record_event` inside the transaction that makes
the change. It bumps the document's ``sequence``, chains the event to its
predecessor by SHA-256, and writes the event's deliveries to the outbox in the
same transaction, so a crash can never keep the change and lose the delivery.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.storage.models import Document, Event
from docrelay.storage.types import new_id

logger = logging.getLogger(__name__)

EVENT_LABELS: dict[str, str] = {
    "document.created": "Document Created",
    "document.started": "Document Started",
    "step.started": "Before Step Started",
    "step.completed": "After Step Completed",
    "landing_page.visited": "Landing Page Visited",
    "document.completed": "Document Completed",
    "document.pre_expiration_warning": "Document Pre-Expiration Warning",
    "document.expired": "Document Expired",
    "document.cancelled": "Document Cancelled",
    "document.declined": "Document Declined",
    "signer.feedback_submitted": "Signer Feedback Submitted",
    "signer.authentication_failed": "Signer Authentication Failed",
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_LABELS)


def event_hash(prev_hash: str | None, fields: dict[str, Any]) -> str:
    """Return the SHA-256 that chains an event to its predecessor.

    The hash covers the previous hash and a canonical JSON form (sorted keys,
    no spaces) of the event's id, document, sequence, type, time, status and data.
    """
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(((prev_hash or "") + canonical).encode()).hexdigest()


def _hashed_fields(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "document_id": event.document_id,
        "sequence": event.sequence,
        "type": event.type,
        "occurred_at": clock.ensure_utc(event.occurred_at).isoformat(),
        "status": event.status,
        "data": event.data,
    }


def record_event(
    session: Session, document: Document, event_type: str, data: dict[str, Any] | None = None
) -> Event:
    """Append an event to ``document``'s history and enqueue its deliveries.

    The caller has already applied the state change to ``document`` (status,
    timestamps); this must run in the same transaction.
    """
    if event_type not in EVENT_LABELS:
        raise ValueError(f"unknown event type {event_type!r}")
    now = clock.now()
    document.sequence += 1
    document.updated_at = now
    event = Event(
        id=new_id(),
        account_id=document.account_id,
        document_id=document.id,
        sequence=document.sequence,
        type=event_type,
        occurred_at=now,
        status=document.status,
        data=dict(data or {}),
        prev_hash=document.last_event_hash,
    )
    event.hash = event_hash(event.prev_hash, _hashed_fields(event))
    document.last_event_hash = event.hash
    session.add(event)
    session.flush()

    from docrelay.delivery.outbox import enqueue_for_event

    enqueue_for_event(session, document, event)
    logger.info(
        "Document %s: %s (sequence %d)",
        document.id,
        event_type,
        event.sequence,
        extra={
            "action": "document_event",
            "document_id": document.id,
            "event": event_type,
            "sequence": event.sequence,
        },
    )
    return event


def verify_chain(events: Iterable[Event]) -> bool:
    """Return True when every event's hash matches its content and its predecessor."""
    previous: str | None = None
    expected_sequence = 1
    for event in events:
        if event.sequence != expected_sequence or event.prev_hash != previous:
            return False
        if event.hash != event_hash(previous, _hashed_fields(event)):
            return False
        previous = event.hash
        expected_sequence += 1
    return True


def history(session: Session, document_id: str) -> list[Event]:
    return list(
        session.scalars(
            select(Event).where(Event.document_id == document_id).order_by(Event.sequence)
        )
    )
