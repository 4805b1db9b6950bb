"""Rows for the scale-out tests: an account, a web notification design and documents.

Documents are inserted as rows. A single status change goes through
``record_event`` in its own transaction, the way an API request writes it, so
its delivery comes from the real outbox and its commit sends the NOTIFY.
Large backlogs are inserted in bulk with the same row contents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from typing import Any

from sqlalchemy import insert, text, update

from docrelay import clock
from docrelay.accounts.service import create_account
from docrelay.delivery.designs import DesignInput, create_design
from docrelay.documents.events import event_hash, record_event
from docrelay.runtime import Runtime
from docrelay.storage.models import Delivery, Document, Event, Template, TemplateVersion
from docrelay.storage.types import new_id

EVENT = "document.started"
"""The event each status change records; the engine treats every event type alike."""

BODY_TEMPLATE = '{"document_id": "[Document ID]", "sequence": "[Document Sequence]"}'


@dataclasses.dataclass
class Seeded:
    account_id: str
    design_id: str
    document_ids: list[str]


def webhook_config(url: str) -> dict[str, Any]:
    """Return a design config that POSTs the document id and sequence as JSON to ``url``."""
    return {
        "url": url,
        "method": "POST",
        "content_type": "application/json",
        "body_template": BODY_TEMPLATE,
        "timeout_seconds": 15,
    }


def seed_documents(runtime: Runtime, url: str, count: int) -> Seeded:
    """Create a tracking account, a design that POSTs to ``url`` and ``count`` documents using it."""
    now = clock.now()
    with runtime.database.transaction() as session:
        account = create_account(session, f"Scale-out {uuid.uuid4().hex[:6]}")
        account.tracking_enabled = True
        template = Template(
            id=new_id(), account_id=account.id, name="Scale-out", created_at=now, updated_at=now
        )
        version = TemplateVersion(
            id=new_id(),
            template_id=template.id,
            account_id=account.id,
            version=1,
            definition={},
            source_blob="scaleout/none.pdf",
            source_sha256=hashlib.sha256(b"").hexdigest(),
            source_filename="none.pdf",
            page_count=1,
            pages=[],
            created_at=now,
        )
        session.add_all([template, version])
        design, _secret = create_design(
            session,
            runtime.secrets,
            account.id,
            DesignInput(name="Scale-out receiver", kind="webhook", config=webhook_config(url)),
        )
        session.flush()
        workflow = [{"event": EVENT, "design_id": design.id}]
        document_ids = []
        for index in range(count):
            document = Document(
                id=new_id(),
                account_id=account.id,
                template_id=template.id,
                template_version_id=version.id,
                name=f"Scale-out document {index}",
                status="DSS",
                status_changed_at=now,
                sequence=0,
                workflow=workflow,
                created_at=now,
                updated_at=now,
            )
            session.add(document)
            document_ids.append(document.id)
        return Seeded(account.id, design.id, document_ids)


def bulk_backlog(runtime: Runtime, seeded: Seeded, per_document: int) -> dict[str, int]:
    """Write ``per_document`` events and their pending deliveries for every seeded document.

    The rows are those the outbox writes for a status change, inserted in
    bulk so that a backlog of thousands takes a second, not minutes. They are
    interleaved across documents in creation order, as concurrent traffic
    would leave them. Returns the highest sequence of each document.
    """
    base = clock.now()
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    last_hash: dict[str, str | None] = dict.fromkeys(seeded.document_ids)
    tick = 0
    for sequence in range(1, per_document + 1):
        for document_id in seeded.document_ids:
            tick += 1
            at = base + dt.timedelta(microseconds=tick)
            event_id = new_id()
            fields = {
                "id": event_id,
                "document_id": document_id,
                "sequence": sequence,
                "type": EVENT,
                "occurred_at": at.isoformat(),
                "status": "DSS",
                "data": {},
            }
            digest = event_hash(last_hash[document_id], fields)
            events.append(
                {
                    "id": event_id,
                    "account_id": seeded.account_id,
                    "document_id": document_id,
                    "sequence": sequence,
                    "type": EVENT,
                    "occurred_at": at,
                    "status": "DSS",
                    "data": {},
                    "prev_hash": last_hash[document_id],
                    "hash": digest,
                }
            )
            last_hash[document_id] = digest
            deliveries.append(
                {
                    "id": new_id(),
                    "account_id": seeded.account_id,
                    "document_id": document_id,
                    "design_id": seeded.design_id,
                    "event_id": event_id,
                    "event_type": EVENT,
                    "sequence": sequence,
                    "kind": "webhook",
                    "destination_key": f"design:{seeded.design_id}",
                    "status_only": False,
                    "state": "pending",
                    "attempts": 0,
                    "available_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    with runtime.database.transaction() as session:
        session.execute(insert(Event), events)
        session.execute(insert(Delivery), deliveries)
        session.execute(
            update(Document),
            [
                {"id": document_id, "sequence": per_document, "last_event_hash": digest}
                for document_id, digest in last_hash.items()
            ],
        )
        session.execute(text("ANALYZE deliveries"))
    return dict.fromkeys(seeded.document_ids, per_document)


def record_one(runtime: Runtime, document_id: str) -> int:
    """Record one event in its own transaction (as an API request does); return its sequence."""
    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return record_event(session, document, EVENT).sequence
