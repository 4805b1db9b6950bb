"""The worker against a real database: claims, order, retries, leases, pauses, resends, wake-up."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

from delivery_factory import (
    attempts_of,
    create_document,
    deliveries_of,
    design_id,
    move,
    record,
    set_tracking,
)
from recording_destination import RECORDER_KIND, Tracked
from sqlalchemy import select

from docrelay import clock
from docrelay.delivery import control, repository
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.worker import Worker, drain
from docrelay.runtime import Runtime
from docrelay.storage.models import Account, Alert, Design

STATUS_FLOW = [
    {"event": "document.created"},
    {"event": "document.started"},
    {"event": "document.completed"},
]


def _workflow(design: str, events: list[dict[str, str]] = STATUS_FLOW) -> list[dict[str, str]]:
    return [{**item, "design_id": design} for item in events]


def test_outbox_writes_one_delivery_per_assignment(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    move(runtime, document, "DSS")

    rows = deliveries_of(runtime, document)
    assert [(row.event_type, row.sequence, row.state) for row in rows] == [
        ("document.created", 1, "pending"),
        ("document.started", 2, "pending"),
    ]


def test_tracking_off_writes_no_deliveries(runtime: Runtime, tracked: Tracked) -> None:
    set_tracking(runtime, tracked.account_id, False)
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    assert deliveries_of(runtime, document) == []


def test_drain_delivers_in_sequence_per_document(runtime: Runtime, tracked: Tracked) -> None:
    tracked.recorder.delay = 0.01
    documents = [
        create_document(runtime, tracked.account_id, _workflow(tracked.design_id), name=f"Doc {n}")
        for n in range(4)
    ]
    for status in ("DSS", "DCO"):
        for document in documents:
            move(runtime, document, status)

    assert drain(runtime, 20, registry=tracked.registry) == 12

    for document in documents:
        sequences = [seq for doc, seq, _ in tracked.recorder.sent if doc == document]
        assert sequences == [1, 2, 3]
    assert tracked.recorder.overlaps == 0
    assert {row.state for document in documents for row in deliveries_of(runtime, document)} == {
        "delivered"
    }


def test_only_lowest_waiting_sequence_is_claimable(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    move(runtime, document, "DSS")
    move(runtime, document, "DCO")

    first = repository.claim_due(runtime.database, clock.now(), 60, 100)
    assert [item.sequence for item in first] == [1]
    assert repository.claim_due(runtime.database, clock.now(), 60, 100) == []


def test_retrying_delivery_blocks_later_until_it_fails(runtime: Runtime, tracked: Tracked) -> None:
    failures = {1: [OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.RETRY]}

    def decide(job):
        queue = failures.get(job.claimed.sequence)
        if queue:
            return AttemptOutcome(
                queue.pop(0), error_class="http_503", message="unavailable", response_status=503
            )
        return None

    tracked.recorder.decide = decide
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    move(runtime, document, "DSS")

    drain(runtime, 20, wait_for_retries=True, registry=tracked.registry)

    sent = [seq for _, seq, _ in tracked.recorder.sent]
    assert sent == [
        1,
        1,
        1,
        1,
        2,
    ]  # three retries allowed by the recorder design's policy, then failed
    first, second = deliveries_of(runtime, document)
    assert first.state == "failed"
    assert first.attempts == 4
    assert "Gave up after 4 attempts" in (first.last_error or "")
    assert second.state == "delivered"
    numbers = [(row.number, row.outcome) for row in attempts_of(runtime, first.id)]
    assert numbers == [(1, "retry"), (2, "retry"), (3, "retry"), (4, "failed")]
    assert attempts_of(runtime, first.id)[0].next_attempt_at is not None


def test_permanent_failure_does_not_block_next(runtime: Runtime, tracked: Tracked) -> None:
    tracked.recorder.outcomes = [
        AttemptOutcome(OutcomeKind.FAIL, error_class="INVALID_FIELD", message="No such column")
    ]
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    move(runtime, document, "DSS")

    drain(runtime, 10, registry=tracked.registry)

    first, second = deliveries_of(runtime, document)
    assert (first.state, first.last_error_class, first.last_error) == (
        "failed",
        "INVALID_FIELD",
        "No such column",
    )
    assert second.state == "delivered"


def test_expired_lease_is_claimed_again(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    killed = repository.claim_due(runtime.database, clock.now(), 30, 100)
    assert len(killed) == 1

    frozen.advance(seconds=10)
    assert repository.claim_due(runtime.database, clock.now(), 30, 100) == []  # lease still held

    frozen.advance(seconds=30)
    assert drain(runtime, 10, registry=tracked.registry) == 1
    (row,) = deliveries_of(runtime, document)
    assert row.state == "delivered"
    assert row.attempts == 2  # the killed worker's claim counts as an attempt
    assert len(tracked.recorder.sent) == 1


def test_completion_with_stale_claim_token_is_rejected(runtime: Runtime, tracked: Tracked) -> None:
    create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    (old,) = repository.claim_due(runtime.database, clock.now(), 30, 100)
    frozen.advance(seconds=31)
    (new,) = repository.claim_due(runtime.database, clock.now(), 30, 100)
    assert new.claim_token != old.claim_token

    failed = repository.Completion(
        repository.DeliveryState.FAILED, "failed", clock.now(), 5, error_class="x"
    )
    delivered = repository.Completion(
        repository.DeliveryState.DELIVERED, "delivered", clock.now(), 5
    )
    assert repository.complete(runtime.database, old, failed, clock.now()) is False
    assert repository.complete(runtime.database, new, delivered, clock.now()) is True
    assert repository.complete(runtime.database, old, failed, clock.now()) is False

    (row,) = deliveries_of(runtime, new.document_id)
    assert row.state == "delivered"
    assert len(attempts_of(runtime, row.id)) == 1


def test_pause_parks_destination_and_resume_keeps_order(runtime: Runtime, tracked: Tracked) -> None:
    salesforce = design_id(runtime, tracked.account_id, "salesforce_status")
    credential = {"valid": False}
    rejected = AttemptOutcome(
        OutcomeKind.PAUSE, error_class="INVALID_LOGIN", message="Invalid username, password"
    )
    tracked.recorder.decide = lambda job: None if credential["valid"] else rejected
    first_doc = create_document(runtime, tracked.account_id, _workflow(salesforce))
    second_doc = create_document(runtime, tracked.account_id, _workflow(salesforce))

    drain(runtime, 10, registry=tracked.registry)

    rows = deliveries_of(runtime, first_doc) + deliveries_of(runtime, second_doc)
    assert [(row.state, row.pause_reason, row.attempts) for row in rows] == [
        ("paused", "credential", 0)
    ] * 2
    with runtime.database.session() as session:
        alerts = repository.open_alerts(session, tracked.account_id)
    assert [alert.key for alert in alerts] == ["salesforce_credential"]
    logged = [attempt.outcome for row in rows for attempt in attempts_of(runtime, row.id)]
    assert logged == ["paused", "paused"]

    move(runtime, first_doc, "DSS")  # created while the credential is known bad
    assert deliveries_of(runtime, first_doc)[-1].state == "paused"

    credential["valid"] = True
    with runtime.database.transaction() as session:
        account = session.get(Account, tracked.account_id)
        assert (
            control.credential_changed(session, account) == 2
        )  # the DCR of first_doc was superseded
    drain(runtime, 10, registry=tracked.registry)

    states = [(row.sequence, row.state) for row in deliveries_of(runtime, first_doc)]
    assert states == [(1, "superseded"), (2, "delivered")]
    assert deliveries_of(runtime, second_doc)[0].state == "delivered"
    with runtime.database.session() as session:
        assert session.scalars(select(Alert).where(Alert.closed_at.is_(None))).all() == []


def test_tracking_switch_pauses_and_resumes(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    move(runtime, document, "DSS")

    set_tracking(runtime, tracked.account_id, False)
    assert {(row.state, row.pause_reason) for row in deliveries_of(runtime, document)} == {
        ("paused", "tracking_off")
    }
    assert drain(runtime, 5, registry=tracked.registry) == 0

    set_tracking(runtime, tracked.account_id, True)
    assert drain(runtime, 10, registry=tracked.registry) == 2
    assert [seq for _, seq, _ in tracked.recorder.sent] == [1, 2]


def test_status_only_delivery_supersedes_waiting_ones(runtime: Runtime, tracked: Tracked) -> None:
    salesforce = design_id(runtime, tracked.account_id, "salesforce_status")
    document = create_document(runtime, tracked.account_id, _workflow(salesforce))
    move(runtime, document, "DSS")
    move(runtime, document, "DCO")

    assert [row.state for row in deliveries_of(runtime, document)] == [
        "superseded",
        "superseded",
        "pending",
    ]
    drain(runtime, 10, registry=tracked.registry)
    assert [seq for _, seq, _ in tracked.recorder.sent] == [3]


def test_resend_keeps_id_and_marks_attempts(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    drain(runtime, 10, registry=tracked.registry)
    (row,) = deliveries_of(runtime, document)

    with runtime.database.transaction() as session:
        assert repository.resend(session, tracked.account_id, row.id, clock.now()) is not None
    assert deliveries_of(runtime, document)[0].state == "pending"
    drain(runtime, 10, registry=tracked.registry)

    (again,) = deliveries_of(runtime, document)
    assert again.id == row.id
    assert again.state == "delivered"
    assert [(a.number, a.resend) for a in attempts_of(runtime, row.id)] == [(1, False), (2, True)]


def test_unknown_kind_fails_permanently(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    registry = type(tracked.registry)()
    drain(runtime, 10, registry=registry)
    (row,) = deliveries_of(runtime, document)
    assert (row.state, row.last_error_class) == ("failed", "no_destination")


def test_wake_signal_delivers_before_poll_interval(runtime: Runtime, tracked: Tracked) -> None:
    runtime.settings.poll_interval = 30.0
    worker = Worker(runtime, tracked.registry)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(0.2)  # the worker is now idle, waiting up to 30 s
        started = time.monotonic()
        thread = threading.Thread(
            target=create_document, args=(runtime, tracked.account_id, _workflow(tracked.design_id))
        )
        thread.start()
        while not tracked.recorder.sent and time.monotonic() - started < 5:
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        stop.set()
        await task
        thread.join()
        return elapsed

    try:
        elapsed = asyncio.run(scenario())
    finally:
        worker.close()
    assert tracked.recorder.sent, "the delivery was not sent"
    assert elapsed < 2.0


def test_retry_not_before_is_honoured(runtime: Runtime, tracked: Tracked) -> None:
    later = clock.now() + dt.timedelta(hours=1)
    tracked.recorder.outcomes = [
        AttemptOutcome(
            OutcomeKind.RETRY, error_class="REQUEST_LIMIT_EXCEEDED", retry_not_before=later
        )
    ]
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    drain(runtime, 10, registry=tracked.registry)
    (row,) = deliveries_of(runtime, document)
    assert row.state == "retrying"
    assert row.available_at >= later


def test_recorder_kind_is_not_status_only(runtime: Runtime, tracked: Tracked) -> None:
    document = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    record(runtime, document, "landing_page.visited", {"signatory": 1, "step": 1})
    (row,) = deliveries_of(runtime, document)
    assert (row.kind, row.status_only) == (RECORDER_KIND, False)


def test_breaker_holds_retries_until_success(runtime: Runtime, tracked: Tracked) -> None:
    down = {"value": True}
    unavailable = AttemptOutcome(OutcomeKind.RETRY, error_class="http_503", response_status=503)
    tracked.recorder.decide = lambda job: unavailable if down["value"] else None
    with runtime.database.transaction() as session:
        design = session.get(Design, tracked.design_id)
        assert design is not None
        design.retry_policy = {"delays_seconds": [10, 10, 10], "jitter": 0}
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    documents = [
        create_document(runtime, tracked.account_id, _workflow(tracked.design_id), name=f"Doc {n}")
        for n in range(5)
    ]
    drain(runtime, 10, registry=tracked.registry)
    frozen.advance(seconds=20)
    assert drain(runtime, 10, registry=tracked.registry) == 0  # due, but held by the open breaker

    assert [deliveries_of(runtime, doc)[0].state for doc in documents] == ["retrying"] * 5
    assert len(tracked.recorder.sent) == 5
    with runtime.database.session() as session:
        keys = [alert.key for alert in repository.open_alerts(session, tracked.account_id)]
    assert keys == [repository.breaker_alert_key(tracked.design_id)]

    down["value"] = False
    newcomer = create_document(runtime, tracked.account_id, _workflow(tracked.design_id))
    drain(runtime, 10, registry=tracked.registry)

    assert (
        tracked.recorder.sent[5][0] == newcomer
    )  # a first attempt goes out and closes the breaker
    assert [deliveries_of(runtime, doc)[0].state for doc in documents] == ["delivered"] * 5
    with runtime.database.session() as session:
        assert repository.open_alerts(session, tracked.account_id) == []
