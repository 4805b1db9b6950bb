"""JSON views of documents, signatories and events, as the API returns them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from docrelay.documents.events import EVENT_LABELS
from docrelay.documents.service import signatories_of
from docrelay.documents.statuses import DocumentStatus
from docrelay.storage.models import Document, Event, Signatory, TemplateVersion


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def signatory_view(signatory: Signatory) -> dict[str, Any]:
    return {
        "number": signatory.position,
        "step": signatory.step,
        "name": signatory.name,
        "email": signatory.email,
        "phone": signatory.phone,
        "access_code_set": signatory.access_code_hash is not None,
        "status": signatory.status,
        "viewed_at": _time(signatory.viewed_at),
        "signed_at": _time(signatory.signed_at),
        "decline_reason": signatory.decline_reason,
    }


def document_view(
    session: Session, document: Document, *, with_signatories: bool = True
) -> dict[str, Any]:
    version = session.get(TemplateVersion, document.template_version_id)
    view: dict[str, Any] = {
        "id": document.id,
        "name": document.name,
        "order_number": document.order_number,
        "status": document.status,
        "status_name": DocumentStatus(document.status).label,
        "status_changed_at": _time(document.status_changed_at),
        "sequence": document.sequence,
        "template_id": document.template_id,
        "template_version": version.version if version else None,
        "parameters": document.parameters,
        "sender": document.sender,
        "crm": (
            {
                "system": document.crm_system,
                "object_type": document.crm_object_type,
                "record_id": document.crm_record_id,
            }
            if document.crm_system
            else None
        ),
        "current_step": document.current_step,
        "expires_at": _time(document.expires_at),
        "created_at": _time(document.created_at),
        "sent_at": _time(document.sent_at),
        "completed_at": _time(document.completed_at),
        "updated_at": _time(document.updated_at),
        "remarks": document.remarks,
        "completed_sha256": document.completed_sha256,
    }
    if with_signatories:
        view["signatories"] = [signatory_view(item) for item in signatories_of(session, document)]
    return view


def event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "sequence": event.sequence,
        "event": event.type,
        "label": EVENT_LABELS.get(event.type, event.type),
        "occurred_at": _time(event.occurred_at),
        "status": event.status,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
