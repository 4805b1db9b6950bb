"""The Salesforce destination: status updates, and the completed PDF for the with-document design.

simple-salesforce and ``requests`` block, so each delivery runs in a thread
pool of ``settings.salesforce_max_in_flight`` threads; the worker's event
loop only awaits the result.

Stale writes: a status never replaces a higher ``Sequence__c``. This is a
read-compare against DocRelay's own record, not against Salesforce. Before
writing, the destination compares the delivery's sequence with the one
DocRelay has confirmed for the document (``document.salesforce_confirmed_sequence``),
under a per-document lock in this process. Reading the Salesforce record
instead would double the API calls per status update, while the confirmed
sequence costs no call. The engine already sends one delivery per
(document, design) at a time in sequence order, so the check covers the
remaining cases: a resend of an old delivery, and two designs writing the
same record. A validation rule in the org can also reject a lower sequence
(see :func:`docrelay.salesforce.writer.is_stale_refusal`).

NOTE: without that org rule, a lower sequence can still land last when two
worker processes write the same document through two different designs at
the same moment. Within one process the lock prevents it.

A skipped or rejected stale write counts as delivered, with ``result.stale`` set.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import threading
import zlib
from typing import Any

from docrelay import clock
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind, excerpt
from docrelay.delivery.repository import DeliveryJob
from docrelay.documents.statuses import STATUS_NAMES, DocumentStatus
from docrelay.runtime import Runtime
from docrelay.salesforce import repository
from docrelay.salesforce.batch import StatusBatcher, write_batch
from docrelay.salesforce.client import SHARED_CACHE, ConnectionCache, SalesforceConnection
from docrelay.salesforce.credential import load_credential
from docrelay.salesforce.errors import SalesforceApiError, classify
from docrelay.salesforce.ids import is_valid_id
from docrelay.salesforce.push import LOCK_STRIPES, RECORD_LOCKS
from docrelay.salesforce.writer import (
    API_NAME,
    LOCATIONS,
    NAME_MAX,
    RecordMapping,
    Trace,
    call_api,
    find_record_id,
    is_stale_refusal,
    salesforce_datetime,
    store_pdf,
    upsert_record,
)

logger = logging.getLogger(__name__)

WITH_DOCUMENT = "salesforce_status_with_document"
_LOCK_STRIPES = LOCK_STRIPES


class SalesforceDestination:
    """Sends ``salesforce_status`` and ``salesforce_status_with_document`` deliveries."""

    def __init__(self, runtime: Runtime, cache: ConnectionCache | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.cache = cache or SHARED_CACHE
        self.pool = concurrent.futures.ThreadPoolExecutor(
            self.settings.salesforce_max_in_flight, thread_name_prefix="docrelay-salesforce"
        )
        # Shared with the reconciler and the pull refresh of this process.
        self._record_locks = RECORD_LOCKS
        self._batcher = StatusBatcher(self)

    async def send(self, job: DeliveryJob) -> AttemptOutcome:
        if _batchable(job):
            return await self._batcher.submit(job)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self.send_blocking, job)

    async def close(self) -> None:
        self.pool.shutdown(wait=False)

    def record_locks_for(self, document_ids: list[str]) -> list[threading.Lock]:
        """Return the locks that serialise writes to these documents' records, in a fixed order."""
        stripes = sorted({_stripe(document_id) for document_id in document_ids})
        return [self._record_locks[stripe] for stripe in stripes]

    def send_status_batch(self, jobs: list[DeliveryJob]) -> list[AttemptOutcome]:
        """Send several status updates of one credential (in a pool thread); one outcome per job."""
        if len(jobs) == 1:
            return [self.send_blocking(jobs[0])]
        try:
            connection = self.connection_for(jobs[0])
            return write_batch(self, connection, jobs)
        except Exception as exc:
            return [classify(exc)] * len(jobs)

    def connection_for(self, job: DeliveryJob) -> SalesforceConnection:
        account = job.account
        database = self.runtime.database

        def usage_sink(used: int, allocation: int) -> None:
            repository.record_usage(
                database, f"salesforce:{account.id}", account.id, used, allocation, clock.now()
            )

        return self.cache.get(
            account.id,
            account.salesforce_credential_version,
            lambda: load_credential(
                self.runtime.secrets, account.id, account.salesforce_credential_encrypted
            ),
            route_to=self.settings.salesforce_route_url,
            connect_timeout=self.settings.salesforce_connect_timeout,
            read_timeout=self.settings.salesforce_read_timeout,
            usage_sink=usage_sink,
        )

    def send_blocking(self, job: DeliveryJob) -> AttemptOutcome:
        """Send one delivery (in a pool thread) and classify the result."""
        trace = Trace()
        try:
            connection = self.connection_for(job)
            result = self._write(connection, trace, job)
        except Exception as exc:
            outcome = classify(exc)
            if outcome.request_summary is None and trace.calls:
                return AttemptOutcome(
                    outcome.kind,
                    error_class=outcome.error_class,
                    message=outcome.message,
                    response_status=outcome.response_status or trace.last_status,
                    response_excerpt=outcome.response_excerpt or excerpt(trace.last_body),
                    request_summary=trace.summary(),
                    retry_not_before=outcome.retry_not_before,
                )
            return outcome
        return AttemptOutcome(
            OutcomeKind.DELIVERED,
            message="Skipped: Salesforce already has a newer status of this document"
            if result.get("stale")
            else None,
            response_status=trace.last_status,
            response_excerpt=excerpt(trace.last_body),
            request_summary=trace.summary() or None,
            result=result,
        )

    # --- the write -----------------------------------------------------------------------

    def _write(
        self, connection: SalesforceConnection, trace: Trace, job: DeliveryJob
    ) -> dict[str, Any]:
        mapping = RecordMapping.from_account(job.account.salesforce_mapping or {})
        document = job.document
        sequence = job.claimed.sequence
        result: dict[str, Any] = {"sequence": sequence, "stale": False}

        with self._record_locks[_stripe(document.id)]:
            confirmed, template_name = repository.write_facts(
                self.runtime.database, document.id, document.template_id
            )
            record_id: str | None = None
            if sequence < confirmed:
                result.update(stale=True, confirmed_sequence=confirmed)
            else:
                try:
                    record_id = upsert_record(
                        connection,
                        trace,
                        mapping,
                        document.id,
                        self.record_values(mapping, job, template_name),
                    )
                except SalesforceApiError as exc:
                    if not is_stale_refusal(exc):
                        raise
                    result.update(stale=True)
                else:
                    repository.confirm_sequence(
                        self.runtime.database, document.id, sequence, clock.now()
                    )
        if result["stale"]:
            logger.info(
                "Salesforce already has a newer status of document %s; sequence %d not written",
                document.id,
                sequence,
                extra={
                    "action": "salesforce_stale_skipped",
                    "document_id": document.id,
                    "sequence": sequence,
                },
            )

        if job.claimed.kind == WITH_DOCUMENT and job.event.type == "document.completed":
            record_id = record_id or find_record_id(connection, trace, mapping, document.id)
            result.update(self._store_pdf(connection, trace, job, record_id))
        if record_id:
            result["record_id"] = record_id
        if (
            mapping.related_status_field
            and document.crm_record_id
            and document.crm_object_type
            and not result["stale"]
        ):
            self._write_back_status(connection, trace, mapping, job)
        return result

    def record_values(
        self, mapping: RecordMapping, job: DeliveryJob, template_name: str
    ) -> dict[str, Any]:
        document, event = job.document, job.event
        status = DocumentStatus(event.status)
        changed_at = (
            document.status_changed_at if document.status == event.status else event.occurred_at
        )
        facts: dict[str, Any] = {
            "name": document.name[:NAME_MAX],
            "status": status.value,
            "status_name": STATUS_NAMES[status],
            "status_changed_at": salesforce_datetime(changed_at),
            "sequence": event.sequence,
            "template_name": template_name[:255],
            "related_record_id": document.crm_record_id,
        }
        values = {
            mapping.fields[key]: value for key, value in facts.items() if mapping.fields.get(key)
        }
        lookup = mapping.lookups.get(document.crm_object_type or "")
        if lookup and document.crm_record_id:
            values[lookup] = document.crm_record_id
        return values

    def _store_pdf(
        self, connection: SalesforceConnection, trace: Trace, job: DeliveryJob, record_id: str
    ) -> dict[str, Any]:
        document, account = job.document, job.account
        location = document.storage_location or account.storage_location or "file"
        if location not in LOCATIONS:
            raise SalesforceApiError(
                None,
                "mapping_invalid",
                f"Unknown Document Storage Location {location!r}; use file, attachment or document",
            )
        if not document.completed_blob:
            raise SalesforceApiError(
                None, "no_completed_pdf", "The document has no completed PDF to store"
            )
        pdf = self.runtime.blobs.get(document.completed_blob)
        digest = hashlib.sha256(pdf).hexdigest()

        existing = repository.stored_file(self.runtime.database, document.id, location, digest)
        if existing is not None:
            return {"file_id": existing, "file_location": location, "file_reused": True}
        file_id = store_pdf(
            connection,
            trace,
            location=location,
            pdf=pdf,
            title=document.name,
            record_id=record_id,
            related_id=document.crm_record_id,
            folder_id=document.storage_folder_id or account.storage_folder_id,
        )
        repository.record_file(
            self.runtime.database, account.id, document.id, location, digest, file_id, clock.now()
        )
        return {"file_id": file_id, "file_location": location, "file_reused": False}

    def _write_back_status(
        self,
        connection: SalesforceConnection,
        trace: Trace,
        mapping: RecordMapping,
        job: DeliveryJob,
    ) -> None:

        document = job.document
        assert mapping.related_status_field is not None
        if not (
            API_NAME.fullmatch(document.crm_object_type or "")
            and is_valid_id(document.crm_record_id)
        ):
            raise SalesforceApiError(
                None, "mapping_invalid", "The document's CRM object type or record id is not valid"
            )
        path = f"sobjects/{document.crm_object_type}/{document.crm_record_id}"
        call_api(
            connection, trace, "PATCH", path, json={mapping.related_status_field: job.event.status}
        )


def _stripe(document_id: str) -> int:
    return zlib.crc32(document_id.encode()) % _LOCK_STRIPES


def _batchable(job: DeliveryJob) -> bool:
    """Tell whether a delivery is a plain status update that may share a Collections request."""
    if job.claimed.kind != "salesforce_status":
        return False
    mapping = job.account.salesforce_mapping or {}
    return not mapping.get("related_status_field")
