"""Several ``docrelay worker`` processes drain one PostgreSQL outbox together.

Each delivery must reach the receiver exactly once when nothing fails, and
every document's deliveries must arrive in sequence order, whichever worker
sends them.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
from scaleout_procs import ProcessGroup, process_environment
from scaleout_receiver import Receiver, order_violations
from scaleout_seed import bulk_backlog, seed_documents
from sqlalchemy import func, select

from docrelay.runtime import Runtime
from docrelay.storage.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOCUMENTS = 1000
PER_DOCUMENT = 5


def delivery_states(runtime: Runtime) -> dict[str, int]:
    with runtime.database.session() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: int(count) for state, count in rows}


def delivery_ids(runtime: Runtime) -> set[str]:
    with runtime.database.session() as session:
        return set(session.scalars(select(Delivery.id)))


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_deliver_once_in_order(
    workers: int,
    pg_url: str,
    pg_runtime: Runtime,
    receiver: Receiver,
    processes: ProcessGroup,
    tmp_path: Path,
) -> None:
    seeded = seed_documents(pg_runtime, receiver.url, DOCUMENTS)
    expected = bulk_backlog(pg_runtime, seeded, PER_DOCUMENT)
    total = DOCUMENTS * PER_DOCUMENT
    assert delivery_states(pg_runtime) == {"pending": total}

    environment = process_environment(pg_url, tmp_path / "data", poll_interval=0.5)
    started = time.monotonic()
    for index in range(workers):
        processes.start(f"worker-{index}", ["worker"], environment)

    drained = receiver.wait_for(lambda hits: len(hits) >= total, timeout=120)
    assert drained, f"{receiver.count()} of {total} received\n{processes.logs()}"
    elapsed = time.monotonic() - started
    # Give a duplicate that would arrive late the time to show up.
    time.sleep(0.5)
    hits = receiver.snapshot()

    by_id = collections.Counter(hit.webhook_id for hit in hits)
    duplicates = {webhook_id: n for webhook_id, n in by_id.items() if n > 1}
    assert duplicates == {}, f"delivered more than once: {list(duplicates.items())[:5]}"
    assert set(by_id) == delivery_ids(pg_runtime), "webhook-id must be the delivery id"
    received_pairs = {(hit.document_id, hit.sequence) for hit in hits}
    expected_pairs = {
        (document_id, sequence)
        for document_id, highest in expected.items()
        for sequence in range(1, highest + 1)
    }
    assert received_pairs == expected_pairs
    assert order_violations(hits) == []
    assert all(process.alive() for process in processes.processes), processes.logs()
    print(f"{workers} workers drained {total} deliveries in {elapsed:.1f} s")
    assert _eventually_all_delivered(pg_runtime, total), delivery_states(pg_runtime)


def _eventually_all_delivered(runtime: Runtime, total: int) -> bool:
    # The receiver answers before the worker writes its result, so the last rows lag a little.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if delivery_states(runtime) == {"delivered": total}:
            return True
        time.sleep(0.1)
    return False
