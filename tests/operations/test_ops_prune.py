"""Attempt retention: old attempt rows go, newer ones and every delivery outcome stay."""

from __future__ import annotations

import datetime as dt

from delivery_factory import attempts_of, create_document, deliveries_of
from ops_destination import Ops
from sqlalchemy import func, select

from docrelay import clock
from docrelay.delivery import operations, retention
from docrelay.delivery.worker import drain
from docrelay.runtime import Runtime
from docrelay.storage import leases
from docrelay.storage.models import Delivery, DeliveryAttempt, Event


def _age_attempts(runtime: Runtime, delivery_ids: list[str], days: float) -> None:
    with runtime.database.transaction() as session:
        for attempt in session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        ):
            attempt.started_at = attempt.started_at - dt.timedelta(days=days)


def test_prune_deletes_only_attempts_past_retention(runtime: Runtime, ops: Ops) -> None:
    workflow = [{"event": "document.created", "design_id": ops.design_id}]
    old_documents = [create_document(runtime, ops.account_id, workflow) for _ in range(5)]
    recent = create_document(runtime, ops.account_id, workflow)
    drain(runtime, 10, registry=ops.registry)
    old_ids = [row.id for document in old_documents for row in deliveries_of(runtime, document)]
    (recent_delivery,) = deliveries_of(runtime, recent)
    _age_attempts(runtime, old_ids[:3], days=91)
    _age_attempts(runtime, old_ids[3:], days=89)

    removed = retention.prune_attempts(runtime.database, clock.now(), 90, batch=2)

    assert removed == 3
    assert [len(attempts_of(runtime, delivery_id)) for delivery_id in old_ids] == [0, 0, 0, 1, 1]
    assert len(attempts_of(runtime, recent_delivery.id)) == 1
    with runtime.database.session() as session:
        states = set(session.scalars(select(Delivery.state)))
        events = session.scalar(select(func.count()).select_from(Event))
    assert states == {"delivered"}
    assert events == 6


def test_prune_runs_on_one_process_and_at_most_hourly(runtime: Runtime, ops: Ops) -> None:
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    assert leases.try_acquire(
        runtime.database, operations.PRUNE_LEASE, "other-host:1", dt.timedelta(minutes=30)
    )
    assert operations.prune_if_due(runtime, "this-host:2") is None  # the other process holds it

    frozen.advance(minutes=31)  # the other process died; its lease expired
    assert operations.prune_if_due(runtime, "this-host:2") == 0
    assert operations.prune_if_due(runtime, "other-host:1") is None  # ran less than an hour ago
    frozen.advance(minutes=61)
    assert operations.prune_if_due(runtime, "other-host:1") == 0
