"""Workloads shared by scenarios: backlogs, drains and steady open-model load."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks import bare_loop
from benchmarks.processes import ReceiverProcess
from benchmarks.receiver import check_log, read_log
from benchmarks.stats import latency_summary

STATUSES = ("DSS", "DCO")


def interleaved_changes(document_ids: list[str], per_document: int) -> list[str]:
    """Return status changes round-robin over documents, as concurrent traffic arrives."""
    return [document_id for _ in range(per_document) for document_id in document_ids]


def document_names(count: int) -> list[str]:
    return [f"doc-{index:06d}" for index in range(count)]


def build_bare_backlog(path: Path, documents: int, per_document: int) -> dict[str, int]:
    """Create a bare-loop database holding ``documents * per_document`` pending rows."""
    connection = bare_loop.connect(path)
    names = document_names(documents)
    bare_loop.create_documents(connection, names)
    for index, document_id in enumerate(interleaved_changes(names, per_document)):
        bare_loop.record_change(connection, document_id, STATUSES[index % 2])
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return dict.fromkeys(names, per_document)


def copy_database(template: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


def receiver_check(receiver: ReceiverProcess, log_path: Path, expected: Any) -> dict[str, Any]:
    """Dump the receiver's log for one run and check it against what should have arrived."""
    receiver.dump(log_path)
    check = check_log(read_log(log_path), expected)
    return check.as_dict()


PosterFactory = Callable[[], Any]


def run_bare_drain(
    template: Path,
    work: Path,
    receiver: ReceiverProcess,
    make_poster: PosterFactory,
    expected: dict[str, int],
) -> dict[str, Any]:
    """Drain a copy of a bare-loop backlog; return deliveries/s and the receiver's verdict."""
    database = copy_database(template, work / "bare.db")
    connection = bare_loop.connect(database)

    async def drain() -> tuple[int, float]:
        poster = make_poster()
        try:
            started = time.perf_counter()
            delivered = await bare_loop.deliver(connection, receiver.url, poster, lambda: True)
            return delivered, time.perf_counter() - started
        finally:
            await poster.close()

    delivered, seconds = asyncio.run(drain())
    connection.close()
    check = receiver_check(receiver, work / "bare-log.jsonl", expected)
    database.unlink()
    return {
        "delivered": delivered,
        "seconds": round(seconds, 3),
        "per_second": round(delivered / seconds, 1),
        **_check_fields(check),
    }


def _check_fields(check: dict[str, Any]) -> dict[str, Any]:
    return {key: check[key] for key in ("lost", "duplicates", "order_violations", "accepted")}


class SteadyWriter:
    """Record status changes at a fixed arrival rate from a thread (an open load model).

    Each change's commit time is kept per ``(document_id, sequence)``, so latency can be
    joined with the receiver's log. A change that falls behind schedule is issued at
    once, and the writer never waits for deliveries. When the commits themselves are too
    slow for the rate, the writer stops at the end of the window and counts the changes
    it did not issue in ``skipped``.
    """

    def __init__(
        self, record: Callable[[str], int], document_ids: list[str], rate: float, seconds: float
    ) -> None:
        self.record = record
        self.document_ids = document_ids
        self.rate = rate
        self.seconds = seconds
        self.committed: dict[tuple[str, int], float] = {}
        self.late = 0
        self.skipped = 0
        """Changes not issued because the window ended first (the writer itself fell behind)."""
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            total = int(self.rate * self.seconds)
            started = time.perf_counter()
            for index in range(total):
                due = started + index / self.rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -0.01:
                    self.late += 1
                if time.perf_counter() - started > self.seconds:
                    # The system under test cannot take the offered rate; stop at the window's end.
                    self.skipped = total - index
                    break
                document_id = self.document_ids[index % len(self.document_ids)]
                sequence = self.record(document_id)
                self.committed[(document_id, sequence)] = time.time()
        except BaseException as exc:
            self.error = exc
        finally:
            self.finished.set()


def latencies_from_log(committed: dict[tuple[str, int], float], log_path: Path) -> dict[str, Any]:
    """Join commit times with first 2xx receipts; return latency percentiles and the check."""
    records = read_log(log_path)
    first_accept: dict[tuple[str, int], float] = {}
    for document_id, sequence, _webhook_id, received_at, status in records:
        if 200 <= status < 300 and document_id is not None and sequence is not None:
            first_accept.setdefault((document_id, sequence), received_at)
    latencies = [first_accept[pair] - at for pair, at in committed.items() if pair in first_accept]
    check = check_log(records, set(committed))
    return {**latency_summary(latencies), **_check_fields(check.as_dict())}


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float, interval: float = 0.01
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return True
        await asyncio.sleep(interval)
    return False
