"""Re-push documents' current statuses to Salesforce in sObject Collections upserts.

The reconciler and the pull refresh both write a document's *current* status
(its status now, with ``Sequence__c`` = the document's latest event sequence),
not a past event. The latest sequence is never lower than the one confirmed
in Salesforce, and each chunk re-reads the confirmed sequences under the
record locks the status deliveries of this process also take, so a push never
replaces a newer status. Each chunk holds up to 200 records and costs one API
call; each record's result is mapped back to its document.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from docrelay import clock
from docrelay.documents.statuses import STATUS_NAMES, DocumentStatus
from docrelay.runtime import Runtime
from docrelay.salesforce import repository
from docrelay.salesforce.budget import org_key
from docrelay.salesforce.client import SHARED_CACHE, ConnectionCache, SalesforceConnection
from docrelay.salesforce.credential import load_credential
from docrelay.salesforce.writer import (
    NAME_MAX,
    RecordMapping,
    Trace,
    salesforce_datetime,
    upsert_collection,
)
from docrelay.storage.models import Account, Document, Template

logger = logging.getLogger(__name__)

CHUNK = 200
"""Records per sObject Collections request, Salesforce's limit."""

LOCK_STRIPES = 64
RECORD_LOCKS = [threading.Lock() for _ in range(LOCK_STRIPES)]
"""Process-wide locks that serialise writes to one document record (by document id stripe)."""


def record_locks_for(document_ids: Iterable[str]) -> list[threading.Lock]:
    """Return the locks that cover these documents' records, in a fixed order (no deadlock)."""
    stripes = sorted({zlib.crc32(item.encode()) % LOCK_STRIPES for item in document_ids})
    return [RECORD_LOCKS[stripe] for stripe in stripes]


@dataclasses.dataclass(frozen=True, slots=True)
class LinkedDocument:
    """The facts a status push needs of one document linked to a Salesforce record."""

    id: str
    name: str
    status: str
    status_changed_at: dt.datetime
    sequence: int
    template_name: str
    crm_object_type: str | None
    crm_record_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class PushResult:
    """The outcome of one document's status push."""

    document_id: str
    status: str
    sequence: int
    outcome: str
    """``written``, ``skipped`` (Salesforce already has a newer status) or ``failed``."""
    error_class: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def linked_documents(
    runtime: Runtime, account_id: str, document_ids: list[str]
) -> list[LinkedDocument]:
    """Read the push facts of these documents of ``account_id``, in the order given."""
    found: dict[str, LinkedDocument] = {}
    with runtime.database.session() as session:
        for first in range(0, len(document_ids), 500):
            rows = session.execute(
                select(
                    Document.id,
                    Document.name,
                    Document.status,
                    Document.status_changed_at,
                    Document.sequence,
                    Template.name.label("template_name"),
                    Document.crm_object_type,
                    Document.crm_record_id,
                )
                .join(Template, Template.id == Document.template_id)
                .where(
                    Document.account_id == account_id,
                    Document.id.in_(document_ids[first : first + 500]),
                )
            ).all()
            for row in rows:
                found[row.id] = LinkedDocument(**row._asdict())
    return [found[item] for item in document_ids if item in found]


def connection_for_account(
    runtime: Runtime, account: Account, cache: ConnectionCache | None = None
) -> SalesforceConnection:
    """Return the shared logged-in connection of the account's current credential."""
    database = runtime.database
    settings = runtime.settings

    def usage_sink(used: int, allocation: int) -> None:
        repository.record_usage(
            database, org_key(account.id), account.id, used, allocation, clock.now()
        )

    return (cache or SHARED_CACHE).get(
        account.id,
        account.salesforce_credential_version,
        lambda: load_credential(
            runtime.secrets, account.id, account.salesforce_credential_encrypted
        ),
        route_to=settings.salesforce_route_url,
        connect_timeout=settings.salesforce_connect_timeout,
        read_timeout=settings.salesforce_read_timeout,
        usage_sink=usage_sink,
    )


def status_values(mapping: RecordMapping, document: LinkedDocument) -> dict[str, Any]:
    """Return the document record's field values for the document's current status."""
    status = DocumentStatus(document.status)
    facts: dict[str, Any] = {
        "name": document.name[:NAME_MAX],
        "status": status.value,
        "status_name": STATUS_NAMES[status],
        "status_changed_at": salesforce_datetime(document.status_changed_at),
        "sequence": document.sequence,
        "template_name": document.template_name[:255],
        "related_record_id": document.crm_record_id,
    }
    values = {mapping.fields[key]: value for key, value in facts.items() if mapping.fields.get(key)}
    lookup = mapping.lookups.get(document.crm_object_type or "")
    if lookup and document.crm_record_id:
        values[lookup] = document.crm_record_id
    return values


def push_statuses(
    runtime: Runtime,
    connection: SalesforceConnection,
    account: Account,
    documents: list[LinkedDocument],
    *,
    on_chunk: Callable[[list[PushResult]], bool] | None = None,
) -> list[PushResult]:
    """Upsert the current status of ``documents`` in chunks of 200 and return one result each.

    ``on_chunk`` receives each chunk's results. When it returns False, no
    further chunk is sent (the budget check uses this). A request that fails as a whole
    (network, credential, limit) raises after the chunks already written.
    """
    mapping = RecordMapping.from_account(account.salesforce_mapping or {})
    results: list[PushResult] = []
    for first in range(0, len(documents), CHUNK):
        chunk = _push_chunk(runtime, connection, mapping, documents[first : first + CHUNK])
        results += chunk
        if on_chunk is not None and not on_chunk(chunk):
            break
    return results


def _push_chunk(
    runtime: Runtime,
    connection: SalesforceConnection,
    mapping: RecordMapping,
    documents: list[LinkedDocument],
) -> list[PushResult]:
    database = runtime.database
    with contextlib.ExitStack() as stack:
        for lock in record_locks_for(item.id for item in documents):
            stack.enter_context(lock)
        confirmed = _confirmed_sequences(runtime, [item.id for item in documents])
        writers = [item for item in documents if item.sequence >= confirmed.get(item.id, 0)]
        entries = _upsert(connection, mapping, writers) if writers else []
        by_id = dict(zip((item.id for item in writers), entries, strict=True))
        written = [
            (item.id, item.sequence) for item in writers if by_id[item.id].get("success") is True
        ]
        repository.confirm_sequences(database, written, clock.now())
    return [_result(item, by_id.get(item.id)) for item in documents]


def _confirmed_sequences(runtime: Runtime, document_ids: list[str]) -> dict[str, int]:
    with runtime.database.session() as session:
        rows = session.execute(
            select(Document.id, Document.salesforce_confirmed_sequence).where(
                Document.id.in_(document_ids)
            )
        ).all()
    return {row.id: int(row.salesforce_confirmed_sequence or 0) for row in rows}


def _upsert(
    connection: SalesforceConnection, mapping: RecordMapping, writers: list[LinkedDocument]
) -> list[dict[str, Any]]:
    records = [
        {
            "attributes": {"type": mapping.object},
            mapping.external_id_field: item.id,
            **status_values(mapping, item),
        }
        for item in writers
    ]
    return upsert_collection(connection, Trace(), mapping, records)


def _result(document: LinkedDocument, entry: dict[str, Any] | None) -> PushResult:
    def result(
        outcome: str, error_class: str | None = None, message: str | None = None
    ) -> PushResult:
        return PushResult(
            document.id, document.status, document.sequence, outcome, error_class, message
        )

    if entry is None:
        return result(
            "skipped", message="Skipped: Salesforce already has a newer status of this document"
        )
    if entry.get("success") is True:
        return result("written")
    errors = entry.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_EXCEPTION")
    return result("failed", code, str(first.get("message") or ""))
