"""The outbox: deliveries written in the transaction that records their event."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.delivery.states import DeliveryState
from docrelay.runtime import DELIVERIES_CREATED
from docrelay.storage.models import Account, Delivery, Design, Document, Event
from docrelay.storage.types import new_id

logger = logging.getLogger(__name__)

SALESFORCE_KINDS = frozenset({"salesforce_status", "salesforce_status_with_document"})


def destination_key(design: Design) -> str:
    """Return the key of what a delivery talks to: a credential, an endpoint or an org."""
    if design.kind in SALESFORCE_KINDS:
        return f"salesforce:{design.account_id}"
    return f"design:{design.id}"


def assignment_matches(assignment: dict[str, Any], event: Event) -> bool:
    if assignment.get("event") != event.type:
        return False
    step = assignment.get("step")
    if step is not None and event.data.get("step") != step:
        return False
    days = assignment.get("pre_expiration_days")
    return not (
        event.type == "document.pre_expiration_warning"
        and days is not None
        and event.data.get("days_before") != days
    )


def enqueue_for_event(session: Session, document: Document, event: Event) -> list[Delivery]:
    """Insert one delivery per workflow assignment that matches ``event``.

    Nothing is enqueued while the account's tracking feature is off. A new
    delivery supersedes the waiting status-only deliveries of its
    (document, design) pair, because it carries the current status and the
    receiver only needs the latest one. A delivery whose destination is paused for a rejected credential
    starts paused, so it does not spend a login attempt on a known-bad
    credential.
    """
    from docrelay.delivery import ordering, repository

    account = session.get(Account, document.account_id)
    if account is None or not account.tracking_enabled:
        return []
    now = clock.now()
    created: list[Delivery] = []
    for assignment in document.workflow:
        if not assignment_matches(assignment, event):
            continue
        design = session.get(Design, assignment["design_id"])
        if design is None or design.account_id != document.account_id or not design.enabled:
            continue
        if design.allowed_events and event.type not in design.allowed_events:
            continue
        key = destination_key(design)
        paused = repository.is_destination_paused(session, document.account_id, key)
        delivery = Delivery(
            id=new_id(),
            account_id=document.account_id,
            document_id=document.id,
            design_id=design.id,
            event_id=event.id,
            event_type=event.type,
            sequence=event.sequence,
            kind=design.kind,
            destination_key=key,
            status_only=ordering.is_status_only(design.kind, event.type),
            state=(DeliveryState.PAUSED if paused else DeliveryState.PENDING).value,
            pause_reason=repository.PAUSE_CREDENTIAL if paused else None,
            attempts=0,
            available_at=now,
            created_at=now,
            updated_at=now,
        )
        # Every new delivery carries the current status, so it replaces the waiting
        # status-only ones of its pair (rule and reason: docrelay.delivery.ordering).
        ordering.supersede_earlier(session, delivery, now)
        session.add(delivery)
        created.append(delivery)
    if created:
        session.info[DELIVERIES_CREATED] = True
    return created
