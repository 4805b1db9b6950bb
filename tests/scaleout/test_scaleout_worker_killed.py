"""A worker killed with SIGKILL while it holds claims loses nothing.

Its claimed deliveries stay in flight until their lease runs out; then
another worker claims and sends them. Only deliveries that were in flight at
the kill may reach the receiver twice, and then with the same ``webhook-id``.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pytest
from scaleout_procs import ProcessGroup, process_environment, wait_until
from scaleout_receiver import Receiver, order_violations
from scaleout_seed import bulk_backlog, seed_documents
from sqlalchemy import func, select

from docrelay.runtime import Runtime
from docrelay.storage.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = 3


def _in_flight(runtime: Runtime) -> dict[str, dt.datetime]:
    with runtime.database.session() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.lease_until).where(Delivery.state == "in_flight")
        )
        return {row.id: row.lease_until for row in rows}


def _delivered(runtime: Runtime) -> dict[str, dt.datetime]:
    with runtime.database.session() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.delivered_at).where(Delivery.state == "delivered")
        )
        return {row.id: row.delivered_at for row in rows}


def _count(runtime: Runtime) -> int:
    with runtime.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)


def test_killed_worker_claims_sent_after_lease(
    pg_url: str,
    pg_runtime: Runtime,
    receiver: Receiver,
    processes: ProcessGroup,
    tmp_path: Path,
) -> None:
    # Each response takes 0.2 s, so some requests are always waiting for one when the kill lands.
    receiver.delay = 0.2
    seeded = seed_documents(pg_runtime, receiver.url, 100)
    expected = bulk_backlog(pg_runtime, seeded, 4)
    total = _count(pg_runtime)
    environment = process_environment(
        pg_url,
        tmp_path / "data",
        lease_seconds=LEASE_SECONDS,
        worker_concurrency=8,
        poll_interval=0.2,
    )

    victim = processes.start("victim", ["worker"], environment)
    assert receiver.wait_for(lambda hits: len(hits) >= 12, timeout=60), processes.logs()
    victim.kill()
    held = _in_flight(pg_runtime)
    sent_before_kill = {hit.webhook_id for hit in receiver.snapshot()}
    assert held, "the killed worker held no claims"
    assert set(held) & sent_before_kill, "no request was in flight at the kill"

    processes.start("rescuer", ["worker"], environment)
    finished = wait_until(lambda: len(_delivered(pg_runtime)) == total, timeout=90, interval=0.2)
    assert finished, f"{len(_delivered(pg_runtime))} of {total} delivered\n{processes.logs()}"

    hits = receiver.snapshot()
    counts = collections.Counter(hit.webhook_id for hit in hits)
    twice = {webhook_id for webhook_id, n in counts.items() if n > 1}
    assert twice <= set(held), "only deliveries in flight at the kill may arrive twice"
    assert max(counts.values()) <= 2
    assert set(held) & sent_before_kill <= twice, "an interrupted delivery was not sent again"
    ids_per_pair: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    for hit in hits:
        ids_per_pair[(hit.document_id, hit.sequence)].add(hit.webhook_id)
    assert all(len(ids) == 1 for ids in ids_per_pair.values()), "a resent delivery changed id"
    assert set(ids_per_pair) == {
        (document_id, sequence)
        for document_id, highest in expected.items()
        for sequence in range(1, highest + 1)
    }
    assert order_violations(hits) == []

    delivered = _delivered(pg_runtime)
    early = [item for item, lease in held.items() if delivered[item] < lease]
    assert early == [], "a claim of the killed worker was taken before its lease ran out"
