"""The documents linked to one Salesforce record, as an "Existing Documents" view shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay.documents.statuses import DocumentStatus
from docrelay.errors import ValidationError
from docrelay.salesforce.ids import is_valid_id, to_18
from docrelay.storage.models import Document, Signatory, Template

MAX_LIST = 1000


def checked_record_id(value: str) -> str:
    """Return the 18-character form of a Salesforce record id; raise ValidationError naming ``record_id``."""
    if not is_valid_id(value):
        raise ValidationError.for_field(
            "record_id",
            f"{value[:40]!r} is not a Salesforce record id: use the 15 or 18 character id "
            "from the record's URL (letters and digits, with a valid checksum when 18 long)",
        )
    return to_18(value[:15])


def linked_document_rows(session: Session, account_id: str, record_id18: str) -> list[Document]:
    """Return the account's documents linked to the record, newest first (at most 1,000)."""
    forms = [record_id18, record_id18[:15]]
    return list(
        session.scalars(
            select(Document)
            .where(
                Document.account_id == account_id,
                Document.crm_system == "salesforce",
                Document.crm_record_id.in_(forms),
            )
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(MAX_LIST)
        )
    )


def documents_view(
    session: Session, documents: list[Document], base_url: str
) -> list[dict[str, Any]]:
    """Return the listing entries of ``documents`` (two queries, whatever their number)."""
    ids = [document.id for document in documents]
    signatories: dict[str, list[Signatory]] = {}
    template_names: dict[str, str] = {}
    if ids:
        for signatory in session.scalars(
            select(Signatory)
            .where(Signatory.document_id.in_(ids))
            .order_by(Signatory.document_id, Signatory.position)
        ):
            signatories.setdefault(signatory.document_id, []).append(signatory)
        template_ids = {document.template_id for document in documents}
        rows = session.execute(
            select(Template.id, Template.name).where(Template.id.in_(template_ids))
        ).all()
        template_names = {row.id: row.name for row in rows}
    return [
        _entry(document, template_names, signatories.get(document.id, []), base_url)
        for document in documents
    ]


def _entry(
    document: Document,
    template_names: dict[str, str],
    signatories: list[Signatory],
    base_url: str,
) -> dict[str, Any]:
    download = f"{base_url.rstrip('/')}/api/v1/documents/{document.id}/download?type="
    return {
        "id": document.id,
        "name": document.name,
        "status": document.status,
        "status_name": DocumentStatus(document.status).label,
        "status_changed_at": _time(document.status_changed_at),
        "sequence": document.sequence,
        "salesforce_confirmed_sequence": document.salesforce_confirmed_sequence,
        "template_name": template_names.get(document.template_id),
        "object_type": document.crm_object_type,
        "record_id": document.crm_record_id,
        "created_at": _time(document.created_at),
        "sent_at": _time(document.sent_at),
        "completed_at": _time(document.completed_at),
        "expires_at": _time(document.expires_at),
        "signatories": [
            {
                "number": signatory.position,
                "name": signatory.name,
                "email": signatory.email,
                "status": signatory.status,
                "viewed_at": _time(signatory.viewed_at),
                "signed_at": _time(signatory.signed_at),
            }
            for signatory in signatories
        ],
        "downloads": {
            "original": download + "original",
            "completed": download + "completed" if document.completed_blob else None,
            "audit": download + "audit" if document.audit_blob else None,
        },
    }


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
