"""Completing a document after its last signature: stamp, append the audit trail, seal, store.

The PDF is built between two transactions. The first reads what the PDF
needs. The build runs outside any transaction, because SQLite would otherwise
hold its write lock for seconds. The second transaction re-checks that the
document is still in signing with every signatory signed, stores the files
and records ``document.completed``. A build that fails leaves the document in DSS with
every signature kept, and :func:`complete_stalled_documents` retries it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.documents.events import history, record_event
from docrelay.documents.files import discard_files, put_file
from docrelay.documents.service import definition_of, signatories_of
from docrelay.documents.statuses import DocumentStatus, check_transition
from docrelay.pdf.audit import AuditAction, AuditEvent, AuditSignatory, AuditTrail
from docrelay.pdf.complete import CompletedPdf, complete_document
from docrelay.pdf.stamp import FieldPlacement
from docrelay.runtime import Runtime
from docrelay.signing.context import field_value
from docrelay.storage.models import Account, Document, Signatory, Template, TemplateVersion
from docrelay.templates.definition import FieldType

logger = logging.getLogger(__name__)

STALL_GRACE = dt.timedelta(minutes=2)
"""How long a fully signed document may wait in DSS before the periodic pass retries its completion."""
STALLED_BATCH = 20


@dataclass(frozen=True)
class CompletionInput:
    """Everything the completed PDF is built from, read in one transaction."""

    account_id: str
    source_key: str
    placements: list[FieldPlacement]
    trail: AuditTrail


def complete_now(runtime: Runtime, document_id: str) -> bool:
    """Build, seal and store a fully signed document; return True when it reached DCO."""
    from docrelay.accounts.sealing import sealing_identity

    work = _read_input(runtime, document_id)
    if work is None:
        return False
    try:
        identity = sealing_identity(runtime, work.account_id)
        result = complete_document(
            runtime.blobs.get(work.source_key), work.placements, work.trail, identity
        )
    except Exception:
        logger.exception(
            "Building the completed PDF of document %s failed; it will be retried",
            document_id,
            extra={"action": "document_completion_failed", "document_id": document_id},
        )
        return False
    return _store_result(runtime, document_id, work.account_id, result)


def _read_input(runtime: Runtime, document_id: str) -> CompletionInput | None:
    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        if document is None or document.status != DocumentStatus.STARTED.value:
            return None
        signatories = signatories_of(session, document)
        if any(item.status != "signed" for item in signatories):
            return None
        version = session.get(TemplateVersion, document.template_version_id)
        template = session.get(Template, document.template_id)
        account = session.get(Account, document.account_id)
        assert version is not None
        assert template is not None
        assert account is not None
        placements = _placements(runtime, document, version, signatories)
        trail = _trail(session, document, version, template, account, signatories)
        return CompletionInput(document.account_id, version.source_blob, placements, trail)


def _placements(
    runtime: Runtime, document: Document, version: TemplateVersion, signatories: list[Signatory]
) -> list[FieldPlacement]:
    result = []
    for item in definition_of(version).fields:
        signatory = signatories[item.signatory - 1]
        place = functools.partial(
            FieldPlacement, item.page, item.x, item.y, item.width, item.height, item.type.value
        )
        if item.type in (FieldType.SIGNATURE, FieldType.INITIALS):
            signature = item.type is FieldType.SIGNATURE
            key = signatory.signature_blob if signature else signatory.initials_blob
            image = runtime.blobs.get(key) if key else None
            result.append(place(text=signatory.name, image_png=image))
        elif item.type is FieldType.CHECKBOX:
            result.append(place(checked=field_value(document, signatory, item) is True))
        else:
            value = field_value(document, signatory, item)
            if isinstance(value, str) and value:
                result.append(place(text=value))
    return result


def _trail(
    session: Session,
    document: Document,
    version: TemplateVersion,
    template: Template,
    account: Account,
    signatories: list[Signatory],
) -> AuditTrail:
    people = [
        AuditSignatory(
            name=item.name,
            email=item.email,
            status=item.status,
            actions=[
                AuditAction(
                    action=action["action"],
                    occurred_at=dt.datetime.fromisoformat(action["at"]),
                    ip_address=action.get("ip"),
                    user_agent=action.get("user_agent"),
                    detail=action.get("detail"),
                )
                for action in item.actions
            ],
        )
        for item in signatories
    ]
    events = [
        AuditEvent(
            sequence=event.sequence,
            occurred_at=clock.ensure_utc(event.occurred_at),
            type=event.type,
            data=json.dumps(event.data, sort_keys=True, ensure_ascii=False),
            hash=event.hash,
        )
        for event in history(session, document.id)
    ]
    return AuditTrail(
        document_id=document.id,
        document_name=document.name,
        template_name=template.name,
        template_version=version.version,
        account_name=account.name,
        source_sha256=version.source_sha256,
        signatories=people,
        events=events,
        generated_at=clock.now(),
    )


def _store_result(
    runtime: Runtime, document_id: str, account_id: str, result: CompletedPdf
) -> bool:
    # A fresh suffix per attempt, so a losing concurrent attempt deletes only its own files.
    suffix = uuid.uuid4().hex[:12]
    prefix = f"accounts/{account_id}/documents/{document_id}"
    completed_key, audit_key = f"{prefix}/completed-{suffix}.pdf", f"{prefix}/audit-{suffix}.pdf"
    written: list[str] = []
    try:
        with runtime.database.transaction() as session:
            document = session.scalar(
                select(Document).where(Document.id == document_id).with_for_update()
            )
            if document is None or not _still_completable(session, document):
                discard_files(runtime.blobs, written)
                return False
            written = [completed_key, audit_key]
            put_file(
                session,
                runtime.blobs,
                account_id=account_id,
                key=completed_key,
                data=result.pdf,
                content_type="application/pdf",
            )
            put_file(
                session,
                runtime.blobs,
                account_id=account_id,
                key=audit_key,
                data=result.audit_pdf,
                content_type="application/pdf",
            )
            check_transition(document.status, DocumentStatus.COMPLETED)
            now = clock.now()
            document.completed_blob = completed_key
            document.audit_blob = audit_key
            document.completed_sha256 = result.sha256
            document.status = DocumentStatus.COMPLETED.value
            document.status_changed_at = now
            document.completed_at = now
            document.expiry_check_at = None
            record_event(
                session, document, "document.completed", {"sha256": document.completed_sha256}
            )
    except BaseException:
        discard_files(runtime.blobs, written)
        raise
    return True


def _still_completable(session: Session, document: Document) -> bool:
    if document.status != DocumentStatus.STARTED.value:
        return False
    return all(item.status == "signed" for item in signatories_of(session, document))


def complete_stalled_documents(runtime: Runtime, *, limit: int = STALLED_BATCH) -> int:
    """Retry completion of documents left fully signed in DSS; return how many completed."""
    cutoff = clock.now() - STALL_GRACE
    unsigned = exists().where(Signatory.document_id == Document.id, Signatory.status != "signed")
    with runtime.database.transaction() as session:
        ids = list(
            session.scalars(
                select(Document.id)
                .where(
                    Document.status == DocumentStatus.STARTED.value,
                    Document.updated_at <= cutoff,
                    ~unsigned,
                )
                .order_by(Document.updated_at)
                .limit(limit)
            )
        )
    return sum(1 for document_id in ids if complete_now(runtime, document_id))
