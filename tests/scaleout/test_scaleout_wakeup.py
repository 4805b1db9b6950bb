"""How fast a worker in another process picks up a delivery an API process just committed.

With LISTEN/NOTIFY the commit's notification wakes the worker at once (p99
under 100 ms). With NOTIFY off, as behind PgBouncer's transaction pooling,
the worker's poll finds it within one poll cycle (p99 under the poll interval
plus 250 ms: the 100 ms asked of a quiet machine is measured by the P3
benchmark, and the extra slack keeps this check from failing on a loaded
2-core machine, where one cycle's processing alone can take over 100 ms).
These are behaviour checks of the wake-up path, not benchmarks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scaleout_procs import ProcessGroup, process_environment, runtime_settings
from scaleout_receiver import Receiver
from scaleout_seed import record_one, seed_documents

from docrelay.runtime import Runtime

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DELIVERIES = 200
WARM_UP = 20
POLL_INTERVAL = 0.5


@pytest.fixture(params=[True, False], ids=["notify", "poll-only"])
def notify(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def writer(pg_url: str, tmp_path: Path, notify: bool) -> Iterator[Runtime]:
    """The API process's side: a runtime that commits status changes (and NOTIFYs when on)."""
    settings = runtime_settings(pg_url, tmp_path / "data").model_copy(
        update={"notify_enabled": notify}
    )
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def test_remote_worker_wakeup_latency(
    notify: bool,
    pg_url: str,
    writer: Runtime,
    receiver: Receiver,
    processes: ProcessGroup,
    tmp_path: Path,
) -> None:
    seeded = seed_documents(writer, receiver.url, WARM_UP + DELIVERIES)
    environment = process_environment(
        pg_url, tmp_path / "data", notify_enabled=notify, poll_interval=POLL_INTERVAL
    )
    processes.start("worker", ["worker"], environment)

    # A burst of warm-up deliveries proves the worker runs and makes its thread pools open
    # their database connections, which would otherwise land in the measured tail.
    warm_up, documents = seeded.document_ids[:WARM_UP], seeded.document_ids[WARM_UP:]
    for document_id in warm_up:
        record_one(writer, document_id)
    assert receiver.wait_for(lambda hits: len(hits) == WARM_UP, timeout=60), processes.logs()
    time.sleep(0.5)

    committed: dict[str, float] = {}
    rng = random.Random(7)
    for document_id in documents:
        record_one(writer, document_id)
        committed[document_id] = time.monotonic()
        # Spaced so that the worker is idle when each change lands: this measures the
        # wake-up, not how a queue of changes drains on a busy machine.
        time.sleep(rng.uniform(0.03, 0.07))
    assert receiver.wait_for(lambda hits: len(hits) == WARM_UP + DELIVERIES, timeout=30), (
        processes.logs()
    )

    latencies = [
        hit.received_at - committed[hit.document_id]
        for hit in receiver.snapshot()
        if hit.document_id in committed
    ]
    assert len(latencies) == DELIVERIES
    p99 = _p99(latencies)
    limit = 0.1 if notify else POLL_INTERVAL + 0.25
    ordered = sorted(latencies)
    print(
        f"wake-up p50 {ordered[len(ordered) // 2] * 1000:.0f} ms p99 {p99 * 1000:.0f} ms max {ordered[-1] * 1000:.0f} ms (notify={notify})"
    )
    assert p99 < limit, f"p99 {p99 * 1000:.0f} ms is over {limit * 1000:.0f} ms"
