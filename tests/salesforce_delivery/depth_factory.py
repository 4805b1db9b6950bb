"""Many linked documents at once, for the batching, reconciler and pull tests.

The rows (document, ``document.created`` event, one pending Salesforce status
delivery) are written with bulk inserts in one transaction, the same rows
``record_event`` writes, so a thousand documents take a fraction of a second.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from docrelay import clock
from docrelay.documents.events import event_hash
from docrelay.runtime import Runtime
from docrelay.storage.models import Delivery, Document, Event, TemplateVersion
from docrelay.storage.types import new_id
from engine.delivery_factory import design_id, make_template


def status_workflow(runtime: Runtime, account_id: str) -> list[dict[str, Any]]:
    """Return a workflow that sends every status change to the Salesforce status design."""
    status = design_id(runtime, account_id, "salesforce_status")
    return [
        {"id": new_id(), "step": None, "pre_expiration_days": None, "event": event}
        | {"design_id": status}
        for event in ("document.created", "document.started", "document.completed")
    ]


def create_documents(
    runtime: Runtime, account_id: str, count: int, *, record_id: str, object_type: str = "Lead"
) -> list[str]:
    """Create ``count`` documents in DCR linked to one record, each with a pending status delivery."""
    workflow = status_workflow(runtime, account_id)
    design = workflow[0]["design_id"]
    now = clock.now()
    documents, events, deliveries = [], [], []
    with runtime.database.transaction() as session:
        template = make_template(session, account_id)
        version_id = session.scalar(
            select(TemplateVersion.id).where(TemplateVersion.template_id == template.id)
        )
        for number in range(count):
            document_id, event_id = new_id(), new_id()
            fields = {
                "id": event_id,
                "document_id": document_id,
                "sequence": 1,
                "type": "document.created",
                "occurred_at": now.isoformat(),
                "status": "DCR",
                "data": {},
            }
            digest = event_hash(None, fields)
            documents.append(
                {
                    "id": document_id,
                    "account_id": account_id,
                    "template_id": template.id,
                    "template_version_id": version_id,
                    "name": f"Contract {number:04d}",
                    "parameters": {},
                    "crm_system": "salesforce",
                    "crm_object_type": object_type,
                    "crm_record_id": record_id,
                    "status": "DCR",
                    "status_changed_at": now,
                    "sequence": 1,
                    "current_step": 0,
                    "workflow": workflow,
                    "warnings_sent": [],
                    "last_event_hash": digest,
                    "salesforce_confirmed_sequence": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            events.append(
                {**fields, "account_id": account_id, "occurred_at": now, "hash": digest}
                | {"prev_hash": None}
            )
            deliveries.append(
                {
                    "id": new_id(),
                    "account_id": account_id,
                    "document_id": document_id,
                    "design_id": design,
                    "event_id": event_id,
                    "event_type": "document.created",
                    "sequence": 1,
                    "kind": "salesforce_status",
                    "destination_key": f"salesforce:{account_id}",
                    "status_only": True,
                    "state": "pending",
                    "attempts": 0,
                    "available_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        session.execute(insert(Document), documents)
        session.execute(insert(Event), events)
        session.execute(insert(Delivery), deliveries)
    return [row["id"] for row in documents]
