"""Status updates due together share sObject Collections requests; each record keeps its own result."""

from __future__ import annotations

import asyncio
import datetime as dt

from depth_factory import create_documents
from salesforce_org import Org
from sqlalchemy import func, select

from docrelay.delivery.worker import Worker, drain
from docrelay.runtime import Runtime
from docrelay.storage.models import Delivery, Document
from engine.delivery_factory import create_document, deliveries_of, design_id


def _states(org: Org) -> dict[str, int]:
    with org.runtime.database.session() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: count for state, count in rows}


def test_collections_validation_error_fails_one_record(org: Org) -> None:
    runtime = org.runtime
    documents = create_documents(runtime, org.account_id, 5, record_id=org.lead_id)
    org.emulator.add_fault(
        "validation",
        field="Status_Name__c",
        object="DocRelay_Document__c",
        message="Status name is locked by an admin rule",
        times=1,
    )
    drain(runtime, 15)

    assert org.call_kinds() == ["soap_login", "composite_sobjects"]
    deliveries = {document: deliveries_of(runtime, document)[0] for document in documents}
    failed = [document for document, row in deliveries.items() if row.state == "failed"]
    assert len(failed) == 1
    (bad,) = failed
    assert deliveries[bad].last_error_class == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "locked by an admin rule" in (deliveries[bad].last_error or "")
    written = {row["DocRelay_Id__c"] for row in org.document_records()}
    assert written == set(documents) - {bad}
    with runtime.database.session() as session:
        confirmed = dict(
            session.execute(
                select(Document.id, Document.salesforce_confirmed_sequence).where(
                    Document.id.in_(documents)
                )
            ).all()
        )
    assert confirmed == {document: 0 if document == bad else 1 for document in documents}


async def _run_worker_until_delivered(runtime: Runtime, count: int, timeout: float) -> None:
    """Run the worker loop as ``docrelay worker`` does until ``count`` deliveries are delivered."""
    worker = Worker(runtime)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while await asyncio.to_thread(_delivered, runtime) < count:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
        worker.close()


def _delivered(runtime: Runtime) -> int:
    with runtime.database.session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state == "delivered")
            )
            or 0
        )


def test_collections_thousand_updates_ten_calls(org: Org) -> None:
    runtime = org.runtime
    # Deliveries waiting for a shared Collections request hold worker slots.
    runtime.settings.worker_concurrency = 400
    documents = create_documents(runtime, org.account_id, 1000, record_id=org.lead_id)

    drain(runtime, 60)

    calls = org.emulator.calls()
    assert _states(org) == {"delivered": 1000}
    assert len(org.document_records()) == len(documents)
    assert calls["counts"].get("soap_login", 0) + calls["counts"].get("oauth_token", 0) <= 1
    assert set(calls["counts"]) <= {"soap_login", "composite_sobjects"}
    assert calls["api_calls"] / len(documents) <= 0.01


def _max_overlap(calls: list[dict[str, object]]) -> int:
    """Return how many of the logged calls were being served at the same moment, at most."""
    edges = []
    for call in calls:
        end = dt.datetime.fromisoformat(str(call["time"]))
        start = end - dt.timedelta(milliseconds=float(str(call["duration_ms"])))
        edges += [(start, 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(edges):
        running += step
        peak = max(peak, running)
    return peak


def test_requests_in_flight_per_org_stay_bounded(org: Org) -> None:
    runtime = org.runtime
    runtime.settings.salesforce_max_in_flight = 4
    org.emulator.update_settings(latency_ms=80)
    with_document = design_id(runtime, org.account_id, "salesforce_status_with_document")
    workflow = [{"event": "document.created", "design_id": with_document}]
    for number in range(16):
        create_document(
            runtime, org.account_id, workflow, crm=("Lead", org.lead_id), name=f"Doc {number}"
        )

    drain(runtime, 30)

    calls = [call for call in org.emulator.calls()["calls"] if call["kind"] == "sobject_upsert"]
    assert len(calls) == 16
    peak = _max_overlap(calls)
    assert peak <= 4
    assert peak >= 2
