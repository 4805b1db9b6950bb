"""Completing a signed document: stamp the values, append the audit trail, seal."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter

from docrelay import clock
from docrelay.pdf.audit import AuditTrail, build_audit_trail
from docrelay.pdf.seal import SealingIdentity, seal_pdf
from docrelay.pdf.stamp import FieldPlacement, stamp_writer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompletedPdf:
    """A sealed completed document and the pieces stored beside it.

    ``unsealed_sha256`` is the SHA-256 of the document with its fields
    drawn, before the audit pages and the seal, and the audit trail records
    it. That document is the first revision of ``pdf``, so the bytes of
    ``pdf`` up to and including its first ``%%EOF`` line hash to this value.
    ``audit_pdf`` contains the audit trail pages alone, for download.
    """

    pdf: bytes
    sha256: str
    unsealed_sha256: str
    audit_pdf: bytes


def complete_document(
    source_pdf: bytes,
    placements: Sequence[FieldPlacement],
    trail: AuditTrail,
    identity: SealingIdentity,
) -> CompletedPdf:
    """Build the completed, sealed PDF of a document.

    ``source_pdf`` is the normalised template PDF. When ``trail`` carries no
    source SHA-256, the hash of ``source_pdf`` is recorded, and when it has
    no ``generated_at``, the current time is.
    """
    started = time.perf_counter()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source_pdf)))

    stamp_writer(writer, placements)
    stamped = _write(writer)
    unsealed_sha256 = _sha256(stamped)

    trail = dataclasses.replace(
        trail,
        source_sha256=trail.source_sha256 or _sha256(source_pdf),
        unsealed_sha256=unsealed_sha256,
        generated_at=trail.generated_at or clock.now(),
    )
    audit_pdf = build_audit_trail(trail)

    # The audit pages and the seal go into one incremental update, so the
    # stamped file stays a prefix of the result whose hash anyone can check.
    sealed = seal_pdf(stamped, identity, appended_pages=audit_pdf)

    logger.info(
        "Completed PDF for document %s",
        trail.document_id,
        extra={
            "action": "pdf_completed",
            "document_id": trail.document_id,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return CompletedPdf(sealed, _sha256(sealed), unsealed_sha256, audit_pdf)


def _write(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
