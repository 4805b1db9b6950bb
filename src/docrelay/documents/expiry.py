"""Expiry and pre-expiration warnings for documents in signing.

When a document is sent, :func:`schedule_expiry_checks` sets
``expiry_check_at`` to the time the next warning or the expiry is due, so the
periodic pass finds due documents through an index instead of scanning every
document in signing. The warning days of a document are the union of its
template version's ``pre_expiration_warning_days`` and the
``pre_expiration_days`` of its workflow assignments for
``document.pre_expiration_warning``. A warning whose time had already passed
when the document was sent is skipped, because it would arrive late.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.documents.events import record_event
from docrelay.documents.statuses import DocumentStatus, check_transition
from docrelay.runtime import Runtime
from docrelay.storage.models import Document, Signatory, TemplateVersion

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
WARNING_EVENT = "document.pre_expiration_warning"


def warning_days(document: Document, version: TemplateVersion) -> list[int]:
    """Return the N values (days before expiry) at which this document warns."""
    days = {int(item) for item in version.definition.get("pre_expiration_warning_days") or []}
    for assignment in document.workflow:
        value = assignment.get("pre_expiration_days")
        if assignment.get("event") == WARNING_EVENT and value:
            days.add(int(value))
    return sorted(day for day in days if day > 0)


def _pending_warnings(document: Document, version: TemplateVersion) -> list[int]:
    if document.expires_at is None or document.sent_at is None:
        return []
    expires_at, sent_at = clock.ensure_utc(document.expires_at), clock.ensure_utc(document.sent_at)
    sent = set(document.warnings_sent or [])
    return [
        day
        for day in warning_days(document, version)
        if day not in sent and expires_at - dt.timedelta(days=day) > sent_at
    ]


def schedule_expiry_checks(document: Document, version: TemplateVersion) -> None:
    """Set ``expiry_check_at`` to the next warning time, or to the expiry when no warning is left."""
    if document.expires_at is None:
        document.expiry_check_at = None
        return
    expires_at = clock.ensure_utc(document.expires_at)
    times = [expires_at - dt.timedelta(days=day) for day in _pending_warnings(document, version)]
    document.expiry_check_at = min([*times, expires_at])


def run_expiry_pass(runtime: Runtime, *, batch_size: int = BATCH_SIZE) -> int:
    """Expire and warn every document whose check is due; return the number of events recorded.

    Runs in batches of ``batch_size`` documents, one transaction per batch.
    PostgreSQL rows are locked with SKIP LOCKED, so two workers running the
    pass at once share the work instead of recording a warning twice.
    """
    from docrelay.signing.completion import complete_stalled_documents

    recorded = complete_stalled_documents(runtime)
    while True:
        with runtime.database.transaction() as session:
            batch = _due_batch(session, batch_size)
            for document in batch:
                recorded += _process(session, document)
        if len(batch) < batch_size:
            break
    return recorded


def _due_batch(session: Session, batch_size: int) -> list[Document]:
    query = (
        select(Document)
        .where(
            Document.status == DocumentStatus.STARTED.value, Document.expiry_check_at <= clock.now()
        )
        .order_by(Document.expiry_check_at, Document.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def _process(session: Session, document: Document) -> int:
    version = session.get(TemplateVersion, document.template_version_id)
    assert version is not None and document.expires_at is not None
    now = clock.now()
    if _everyone_signed(session, document):
        # Completion is under way or will be retried; a fully signed document never expires.
        document.expiry_check_at = None
        return 0
    if now >= clock.ensure_utc(document.expires_at):
        check_transition(document.status, DocumentStatus.EXPIRED)
        document.status = DocumentStatus.EXPIRED.value
        document.status_changed_at = now
        document.expiry_check_at = None
        record_event(session, document, "document.expired")
        return 1

    expires_at = clock.ensure_utc(document.expires_at)
    due = [
        day
        for day in _pending_warnings(document, version)
        if expires_at - dt.timedelta(days=day) <= now
    ]
    for day in sorted(due, reverse=True):
        document.warnings_sent = [*document.warnings_sent, day]
        record_event(session, document, WARNING_EVENT, {"days_before": day})
    schedule_expiry_checks(document, version)
    return len(due)


def _everyone_signed(session: Session, document: Document) -> bool:
    unsigned = session.scalar(
        select(func.count())
        .select_from(Signatory)
        .where(Signatory.document_id == document.id, Signatory.status != "signed")
    )
    return unsigned == 0
