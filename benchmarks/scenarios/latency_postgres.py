"""P3: P2 on PostgreSQL with the worker in another process, NOTIFY on against NOTIFY off.

The harness process records status changes through ``record_event``; a separate
worker process (``benchmarks.worker_process``) delivers them. With NOTIFY on, the
status-change transaction runs ``pg_notify`` and the worker LISTENs; with it off, the
worker only polls, every second (DocRelay's default poll interval). Both processes run
on one machine here: the goal's "another machine" is approximated by another process
over loopback TCP to PostgreSQL.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import docrelay_app
from benchmarks.processes import ReceiverProcess, WorkerProcess, receiver_process
from benchmarks.receiver import ReceiverConfig
from benchmarks.runner import Context, Outcome, interleave
from benchmarks.scenarios.latency import DOCUMENTS, WORKER_MODULES, pending_deliveries
from benchmarks.stats import safe_ratio
from benchmarks.workloads import SteadyWriter, latencies_from_log

RATES = (100, 500)
FULL_SECONDS = 10.0
QUICK_SECONDS = 1.0
POLL_INTERVAL = 1.0
GOAL_NOTIFY_P99_MS = 100.0
DRAIN_TIMEOUT = 60.0


def _run_once(
    url: str,
    ids: list[str],
    work: Path,
    receiver: ReceiverProcess,
    rate: float,
    seconds: float,
    notify: bool,
) -> dict[str, Any]:
    mode = "on" if notify else "off"
    worker = WorkerProcess(
        [
            "--data-dir",
            str(work / "p3-worker"),
            "--database-url",
            url,
            "--notify",
            mode,
            "--poll-interval",
            str(POLL_INTERVAL),
        ]
    )
    runtime = docrelay_app.make_runtime(work / "p3-writer", url, notify_enabled=notify)
    try:
        writer = SteadyWriter(
            lambda doc: docrelay_app.record_status_change(runtime, doc), ids, rate, seconds
        )
        writer.start()
        writer.join()
        drained = _wait_drained(runtime)
    finally:
        runtime.close()
        worker.stop()
    log = work / f"p3-{mode}-log.jsonl"
    receiver.dump(log)
    figures = latencies_from_log(writer.committed, log)
    return {
        **figures,
        "offered": len(writer.committed),
        "late_writes": writer.late,
        "skipped_writes": writer.skipped,
        "achieved_per_second": round(len(writer.committed) / writer.seconds, 1),
        "drained": drained,
    }


def _wait_drained(runtime: Any) -> bool:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        if pending_deliveries(runtime) == 0:
            return True
        time.sleep(0.05)
    return False


def run(context: Context) -> list[Outcome]:
    docrelay_app.require(*WORKER_MODULES, "docrelay.delivery.listener")
    admin_url = context.postgres_url()
    seconds = context.duration or (QUICK_SECONDS if context.quick else FULL_SECONDS)
    outcomes = []
    with (
        receiver_process(ReceiverConfig()) as receiver,
        docrelay_app.postgres_database(admin_url) as url,
    ):
        runtime = docrelay_app.make_runtime(context.work_dir / "p3-setup", url)
        try:
            docrelay_app.migrate(runtime)
            _, ids = docrelay_app.seed_documents(
                runtime, DOCUMENTS, design_config=docrelay_app.webhook_config(receiver.url)
            )
        finally:
            runtime.close()
        version = docrelay_app.postgres_version(url)

        def pairs_at(rate: int) -> list[dict[str, Any]]:
            return interleave(
                context.pairs,
                lambda i: _run_once(url, ids, context.work_dir, receiver, rate, seconds, True),
                lambda i: _run_once(url, ids, context.work_dir, receiver, rate, seconds, False),
                lambda a, b: safe_ratio(a["p99_ms"], b["p99_ms"]),
            )

        for rate in RATES:
            pairs = pairs_at(rate)
            outcomes.append(_outcome(pairs, rate, seconds, version, receiver.pinned))
    return outcomes


def _outcome(
    pairs: list[dict[str, Any]], rate: int, seconds: float, version: str, pinned: bool
) -> Outcome:
    with_notify = [pair["a"]["p99_ms"] for pair in pairs if pair["a"]["p99_ms"] is not None]
    without = [pair["b"]["p99_ms"] for pair in pairs if pair["b"]["p99_ms"] is not None]
    clean = all(
        pair[side]["lost"] == 0 and pair[side]["order_violations"] == 0
        for pair in pairs
        for side in ("a", "b")
    )
    median_on = statistics.median(with_notify) if with_notify else None
    median_off = statistics.median(without) if without else None
    achieved = statistics.median(pair["a"]["achieved_per_second"] for pair in pairs)
    met = median_on is not None and median_on <= GOAL_NOTIFY_P99_MS and clean
    verdict = (
        f"median p99 with NOTIFY {median_on} ms vs goal <= {GOAL_NOTIFY_P99_MS} ms; "
        f"without NOTIFY {median_off} ms (poll interval {POLL_INTERVAL * 1000:.0f} ms); "
        f"the writer committed {achieved}/s of {rate}/s offered"
        + ("" if clean else "; losses or order violations")
    )
    return Outcome(
        a_label="NOTIFY on: worker process LISTENs, wakes at commit",
        b_label=f"NOTIFY off: worker process polls every {POLL_INTERVAL} s",
        ratio_name=f"p99 latency commit -> 2xx, NOTIFY on / off at {rate}/s (PostgreSQL)",
        pairs=pairs,
        goal_met=met,
        verdict=verdict,
        params={
            "rate_per_second": rate,
            "seconds": seconds,
            "documents": DOCUMENTS,
            "postgresql": version,
            "receiver_pinned": pinned,
        },
        columns=("p50_ms", "p99_ms", "max_ms", "skipped_writes"),
        variant=f"{rate}/s",
    )
