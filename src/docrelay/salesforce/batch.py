"""Status updates for one org that are due together go out in one sObject Collections upsert.

The worker sends many deliveries at once. Status-only deliveries of one
credential are queued here. While the org's previous request is running, the
queue fills, and the next request upserts up to 200 records with
``PATCH /composite/sobjects/{Object}/{ExternalIdField}``. One status update
on its own still goes as a single-record upsert. Each record's result in the
response becomes that delivery's outcome, so one bad record fails only its
own delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from docrelay import clock
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind, excerpt
from docrelay.delivery.repository import DeliveryJob
from docrelay.salesforce import repository
from docrelay.salesforce.client import SalesforceConnection
from docrelay.salesforce.errors import classify_code
from docrelay.salesforce.writer import STALE_MARKER, RecordMapping, Trace, upsert_collection

if TYPE_CHECKING:
    from docrelay.salesforce.destination import SalesforceDestination

logger = logging.getLogger(__name__)

MAX_BATCH = 200
"""Records per sObject Collections request, Salesforce's limit."""

LINGER_SECONDS = 0.05
LINGER_STEP = 0.005

_Queued = tuple[DeliveryJob, "asyncio.Future[AttemptOutcome]"]


class StatusBatcher:
    """Per-credential queues of status updates, each drained by one request at a time."""

    def __init__(self, destination: SalesforceDestination) -> None:
        self._destination = destination
        self._queues: dict[tuple[str, int], list[_Queued]] = {}
        self._flushers: dict[tuple[str, int], asyncio.Task[None]] = {}

    async def submit(self, job: DeliveryJob) -> AttemptOutcome:
        key = (job.account.id, job.account.salesforce_credential_version)
        future: asyncio.Future[AttemptOutcome] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, []).append((job, future))
        flusher = self._flushers.get(key)
        if flusher is None or flusher.done():
            self._flushers[key] = asyncio.create_task(self._flush(key))
        return await future

    async def _flush(self, key: tuple[str, int]) -> None:
        # Deliveries started in the same loop pass reach submit() before this runs on.
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        await self._linger(key)
        while self._queues.get(key):
            queue = self._queues[key]
            batch, self._queues[key] = queue[:MAX_BATCH], queue[MAX_BATCH:]
            jobs = [job for job, _ in batch]
            try:
                outcomes = await loop.run_in_executor(
                    self._destination.pool, self._destination.send_status_batch, jobs
                )
            except Exception as exc:
                logger.exception(
                    "Salesforce status batch failed unexpectedly",
                    extra={"action": "salesforce_batch_crashed", "account_id": key[0]},
                )
                failed = AttemptOutcome(
                    OutcomeKind.RETRY,
                    error_class="internal_error",
                    message=f"{type(exc).__name__}: {exc}",
                )
                outcomes = [failed] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
        self._queues.pop(key, None)

    async def _linger(self, key: tuple[str, int]) -> None:
        """Give a building backlog a moment to fill the request before the first one goes out.

        A lone update goes at once. When two or more are due together, the
        worker may still be starting the rest of a claimed batch; the request
        waits while the queue keeps growing, at most ``LINGER_SECONDS``, so
        stragglers of one claim do not cost a second API call.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        size = len(self._queues.get(key, ()))
        while 1 < size < MAX_BATCH and loop.time() < deadline:
            await asyncio.sleep(LINGER_STEP)
            grown = len(self._queues.get(key, ()))
            if grown == size:
                return
            size = grown


def write_batch(
    destination: SalesforceDestination, connection: SalesforceConnection, jobs: list[DeliveryJob]
) -> list[AttemptOutcome]:
    """Upsert the status records of ``jobs`` in one request and return one outcome per job.

    Runs in a pool thread. Stale deliveries (a higher sequence is already
    confirmed, or a later delivery of the same document is in this batch)
    are delivered as stale without being written.
    """
    mapping = RecordMapping.from_account(jobs[0].account.salesforce_mapping or {})
    database = destination.runtime.database
    trace = Trace()
    outcomes: dict[str, AttemptOutcome] = {}

    newest: dict[str, DeliveryJob] = {}
    for job in jobs:
        current = newest.get(job.document.id)
        if current is None or job.claimed.sequence > current.claimed.sequence:
            newest[job.document.id] = job

    with contextlib.ExitStack() as stack:
        for lock in destination.record_locks_for(list(newest)):
            stack.enter_context(lock)
        facts = repository.write_facts_many(
            database, [(job.document.id, job.document.template_id) for job in jobs]
        )
        writers = [
            job for job in newest.values() if job.claimed.sequence >= facts[job.document.id][0]
        ]
        results = (
            _upsert_records(destination, connection, trace, mapping, writers, facts)
            if writers
            else []
        )
        confirmed = [
            (job.document.id, job.claimed.sequence)
            for job, result in zip(writers, results, strict=True)
            if result.get("success")
        ]
        repository.confirm_sequences(database, confirmed, clock.now())

    written = dict(zip((job.document.id for job in writers), results, strict=True))
    for job in jobs:
        outcomes[job.claimed.id] = _outcome_for(
            job, newest[job.document.id], written, facts, trace, len(writers)
        )
    return [outcomes[job.claimed.id] for job in jobs]


def _upsert_records(
    destination: SalesforceDestination,
    connection: SalesforceConnection,
    trace: Trace,
    mapping: RecordMapping,
    writers: list[DeliveryJob],
    facts: dict[str, tuple[int, str]],
) -> list[dict[str, Any]]:
    records = [
        {
            "attributes": {"type": mapping.object},
            mapping.external_id_field: job.document.id,
            **destination.record_values(mapping, job, facts[job.document.id][1]),
        }
        for job in writers
    ]
    return upsert_collection(connection, trace, mapping, records)


def _outcome_for(
    job: DeliveryJob,
    newest: DeliveryJob,
    written: dict[str, dict[str, Any]],
    facts: dict[str, tuple[int, str]],
    trace: Trace,
    batch_size: int,
) -> AttemptOutcome:
    sequence = job.claimed.sequence
    common: dict[str, Any] = {
        "request_summary": trace.summary() or None,
        "response_status": trace.last_status,
    }
    entry = written.get(job.document.id)
    if entry is None or sequence < newest.claimed.sequence:
        stale: dict[str, object] = {
            "sequence": sequence,
            "stale": True,
            "confirmed_sequence": max(facts[job.document.id][0], newest.claimed.sequence),
        }
        return AttemptOutcome(
            OutcomeKind.DELIVERED,
            message="Skipped: Salesforce already has a newer status of this document",
            result=stale,
            **common,
        )
    if entry.get("success"):
        result = {
            "sequence": sequence,
            "stale": False,
            "record_id": entry.get("id"),
            "batch_size": batch_size,
        }
        return AttemptOutcome(OutcomeKind.DELIVERED, result=result, **common)

    errors = entry.get("errors") or [{}]
    code = str(errors[0].get("statusCode") or errors[0].get("errorCode") or "UNKNOWN_EXCEPTION")
    message = str(errors[0].get("message") or "")
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION" and STALE_MARKER in message:
        return AttemptOutcome(
            OutcomeKind.DELIVERED, result={"sequence": sequence, "stale": True}, **common
        )
    outcome = classify_code(code, message, None, json.dumps(entry), clock.now(), trace.summary())
    return AttemptOutcome(
        outcome.kind,
        error_class=outcome.error_class,
        message=outcome.message,
        response_status=trace.last_status,
        response_excerpt=excerpt(json.dumps(entry)),
        request_summary=trace.summary(),
        retry_not_before=outcome.retry_not_before,
    )
