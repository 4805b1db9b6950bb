"""Bulk resend: dry run, a background job with progress, and a send rate the receiver can bear."""

from __future__ import annotations

import time

from delivery_factory import create_document, deliveries_of, design_id
from ops_destination import Ops
from worker_thread import WorkerThread

from docrelay.delivery import operations
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.worker import drain
from docrelay.runtime import Runtime

REJECTED = AttemptOutcome(OutcomeKind.FAIL, error_class="http_422", message="Unprocessable")


def _failed_documents(runtime: Runtime, ops: Ops, count: int) -> list[str]:
    ops.recorder.decide = lambda job: REJECTED
    workflow = [{"event": "document.created", "design_id": ops.design_id}]
    documents = [
        create_document(runtime, ops.account_id, workflow, name=f"Doc {n}") for n in range(count)
    ]
    drain(runtime, 20, registry=ops.registry)
    ops.recorder.decide = None
    ops.recorder.sent.clear()
    return documents


def _most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for other in times if start <= other < start + 1.0) for start in times)


def test_bulk_resend_runs_as_a_rate_limited_job(runtime: Runtime, ops: Ops, user) -> None:
    documents = _failed_documents(runtime, ops, 20)
    failed_ids = [deliveries_of(runtime, document)[0].id for document in documents]
    body = {"design_id": ops.design_id, "state": ["failed"]}

    dry = user.client.post("/api/v1/deliveries/resend", json={**body, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"dry_run": True, "matching": 20, "count": 20, "skipped": 0}
    assert {row.state for document in documents for row in deliveries_of(runtime, document)} == {
        "failed"
    }

    queued = user.client.post("/api/v1/deliveries/resend", json={**body, "rate_per_second": 8})
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["state"], job["total"], job["done"]) == ("queued", 20, 0)

    with WorkerThread(runtime, ops.registry):
        assert operations.run_next_job(runtime, "test-holder", lambda: False) == "succeeded"
        deadline = time.monotonic() + 10
        while len(ops.recorder.sent) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)

    times = sorted(item.at for item in ops.recorder.sent)
    assert len(times) == 20
    # 20 sends at 8 per second take at least 19 / 8 s; bursts stay near the limit.
    assert times[-1] - times[0] >= 19 / 8 * 0.85
    assert _most_in_one_second(times) <= 8 + 2
    assert sorted(item.delivery_id for item in ops.recorder.sent) == sorted(failed_ids)
    assert {deliveries_of(runtime, document)[0].state for document in documents} == {"delivered"}

    progress = user.client.get(f"/api/v1/jobs/{job['id']}").json()
    assert progress["state"] == "succeeded"
    assert (progress["total"], progress["done"], progress["resent"], progress["skipped"]) == (
        20,
        20,
        20,
        0,
    )
    assert progress["parameters"]["filters"]["design_id"] == ops.design_id
    assert operations.run_next_job(runtime, "test-holder", lambda: False) is None


def test_bulk_resend_skips_an_older_status_when_a_newer_exists(
    runtime: Runtime, ops: Ops, user
) -> None:
    salesforce = design_id(runtime, ops.account_id, "salesforce_status")
    ops.recorder.decide = lambda job: REJECTED
    document = create_document(
        runtime,
        ops.account_id,
        [{"event": "document.created", "design_id": salesforce}],
    )
    from delivery_factory import move

    with runtime.database.transaction() as session:
        from docrelay.storage.models import Document

        row = session.get(Document, document)
        assert row is not None
        row.workflow = [*row.workflow, {"event": "document.started", "design_id": salesforce}]
    drain(runtime, 10, registry=ops.registry)
    move(runtime, document, "DSS")
    drain(runtime, 10, registry=ops.registry)
    older, newer = deliveries_of(runtime, document)
    assert (older.state, newer.state) == ("failed", "failed")

    body = {"document_id": document, "dry_run": True}
    counted = user.client.post("/api/v1/deliveries/resend", json=body).json()
    assert (counted["matching"], counted["count"], counted["skipped"]) == (2, 1, 1)

    ops.recorder.decide = None
    ops.recorder.sent.clear()
    job = user.client.post("/api/v1/deliveries/resend", json={"document_id": document}).json()
    assert operations.run_next_job(runtime, "test-holder", lambda: False) == "succeeded"
    drain(runtime, 10, registry=ops.registry, wait_for_retries=True)
    assert [item.sequence for item in ops.recorder.sent] == [2]
    progress = user.client.get(f"/api/v1/jobs/{job['id']}").json()
    assert (progress["resent"], progress["skipped"]) == (1, 1)


def test_bulk_resend_rejects_bad_filters(runtime: Runtime, ops: Ops, user) -> None:
    bad_state = user.client.post("/api/v1/deliveries/resend", json={"state": ["retrying"]})
    assert bad_state.status_code == 422
    naive = user.client.post(
        "/api/v1/deliveries/resend", json={"created_after": "2026-12-01T00:00:00"}
    )
    assert naive.status_code == 422
    assert "UTC offset" in naive.text
    unknown = user.client.post("/api/v1/deliveries/resend", json={"design_id": "nope"})
    assert unknown.status_code == 404
    assert user.client.get("/api/v1/jobs/nope").status_code == 404


def test_background_loop_runs_queued_jobs(runtime: Runtime, ops: Ops, user) -> None:
    import asyncio

    from docrelay.delivery.operations import run_operations

    documents = _failed_documents(runtime, ops, 3)
    job = user.client.post("/api/v1/deliveries/resend", json={"design_id": ops.design_id}).json()

    async def run_until_finished() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(run_operations(runtime, stop))
        for _ in range(100):
            state = user.client.get(f"/api/v1/jobs/{job['id']}").json()["state"]
            if state == "succeeded":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await loop

    asyncio.run(run_until_finished())
    assert user.client.get(f"/api/v1/jobs/{job['id']}").json()["done"] == 3
    assert {deliveries_of(runtime, document)[0].state for document in documents} == {"pending"}


def test_bulk_resend_waits_while_salesforce_budget_is_spent(
    runtime: Runtime, ops: Ops, user
) -> None:
    from docrelay import clock
    from docrelay.salesforce.budget import org_key
    from docrelay.storage.models import SalesforceUsage

    salesforce = design_id(runtime, ops.account_id, "salesforce_status")
    ops.recorder.decide = lambda job: REJECTED
    document = create_document(
        runtime, ops.account_id, [{"event": "document.created", "design_id": salesforce}]
    )
    drain(runtime, 10, registry=ops.registry)
    with runtime.database.transaction() as session:
        session.add(
            SalesforceUsage(
                org_key=org_key(ops.account_id),
                account_id=ops.account_id,
                used=95_000,
                allocation=100_000,
                updated_at=clock.now(),
            )
        )
    job = user.client.post("/api/v1/deliveries/resend", json={"design_id": salesforce}).json()

    assert operations.run_next_job(runtime, "test-holder", lambda: False) == "waiting_for_budget"
    waiting = user.client.get(f"/api/v1/jobs/{job['id']}").json()
    assert (waiting["state"], waiting["done"]) == ("queued", 0)
    assert "API usage" in waiting["error"]
    assert deliveries_of(runtime, document)[0].state == "failed"

    with runtime.database.transaction() as session:
        usage = session.get(SalesforceUsage, org_key(ops.account_id))
        assert usage is not None
        usage.used = 10_000
    assert operations.run_next_job(runtime, "test-holder", lambda: False) == "succeeded"
    assert deliveries_of(runtime, document)[0].state == "pending"
    assert user.client.get(f"/api/v1/jobs/{job['id']}").json()["error"] is None
