"""P9: a worker's resident memory with 500 deliveries in flight.

The receiver delays every response by 2 s, so deliveries pile up in flight. The worker
runs in its own process (``benchmarks.worker_process``, SQLite) with a concurrency of
500 and a web notification pool of 500 connections per host. DocRelay's default of 16
per host would cap deliveries in flight to one receiver at 16. The worker samples its
own RSS every 50 ms. The receiver reports the most requests it kept open at once,
which shows whether 500 were really in flight. Each pair compares the
loaded worker (A) with the same worker idle (B); the ratio is peak RSS loaded / idle.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks import docrelay_app
from benchmarks.processes import (
    HARNESS_CPU,
    ReceiverProcess,
    WorkerProcess,
    receiver_process,
    wait_until,
)
from benchmarks.receiver import ReceiverConfig
from benchmarks.runner import Context, Outcome, interleave
from benchmarks.scenarios.latency import WORKER_MODULES
from benchmarks.stats import safe_ratio

HOLD_MS = 2_000.0
IN_FLIGHT = 500
GOAL_MB = 150.0
LOAD_SECONDS = 10


def _build(template: Path, receiver_url: str, deliveries: int) -> None:
    runtime = docrelay_app.make_runtime(template)
    try:
        docrelay_app.migrate(runtime)
        _, ids = docrelay_app.seed_documents(
            runtime, deliveries, design_config=docrelay_app.webhook_config(receiver_url)
        )
        docrelay_app.record_many(runtime, ids)
    finally:
        runtime.close()


def _measure(
    context: Context, template: Path, receiver: ReceiverProcess, loaded: bool, deliveries: int
) -> dict[str, Any]:
    name = "loaded" if loaded else "idle"
    data_dir = context.work_dir / f"p9-{name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    if loaded:
        docrelay_app.copy_sqlite(template / "docrelay.db", data_dir / "docrelay.db")
    else:
        runtime = docrelay_app.make_runtime(data_dir)
        docrelay_app.migrate(runtime)
        runtime.close()
    rss_file = context.work_dir / f"p9-{name}-rss.json"
    # The receiver's request counter runs over the whole scenario.
    before = receiver.stats()["requests"]
    worker = WorkerProcess(
        [
            "--data-dir",
            str(data_dir),
            "--concurrency",
            str(IN_FLIGHT),
            "--webhook-limit-per-host",
            str(IN_FLIGHT),
            "--rss-file",
            str(rss_file),
        ],
        cpu=HARNESS_CPU,
    )
    try:
        if loaded:
            # Give the worker a bounded time to put every delivery in flight.
            wait_until(
                lambda: receiver.stats()["requests"] - before >= deliveries,
                context.size(LOAD_SECONDS, 3),
                0.05,
            )
        else:
            time.sleep(HOLD_MS / 1000)
        wait_until(lambda: receiver.stats()["held"] == 0, HOLD_MS / 1000 + 30, 0.05)
        stats = receiver.stats()
    finally:
        worker.stop()
    summary = json.loads(rss_file.read_text(encoding="utf-8"))
    receiver.dump(context.work_dir / f"p9-{name}-log.jsonl")
    return {
        "peak_rss_mb": round(summary["peak_rss_bytes"] / 2**20, 1),
        "max_in_flight": stats["max_held"],
        "requests": stats["requests"] - before,
    }


def run(context: Context) -> Outcome:
    docrelay_app.require(*WORKER_MODULES)
    deliveries = context.size(IN_FLIGHT, 50)
    with receiver_process(ReceiverConfig(service_ms=HOLD_MS)) as receiver:
        template = context.work_dir / "p9-template"
        _build(template, receiver.url, deliveries)
        pairs = interleave(
            context.pairs,
            lambda i: _measure(context, template, receiver, True, deliveries),
            lambda i: _measure(context, template, receiver, False, deliveries),
            lambda a, b: safe_ratio(a["peak_rss_mb"], b["peak_rss_mb"]),
        )
    peaks = [pair["a"]["peak_rss_mb"] for pair in pairs]
    in_flight = min(pair["a"]["max_in_flight"] for pair in pairs)
    worst = max(peaks)
    met = worst <= GOAL_MB and in_flight >= deliveries
    return Outcome(
        a_label=f"worker with {deliveries} deliveries held 2 s by the receiver (concurrency {IN_FLIGHT})",
        b_label="the same worker idle",
        ratio_name="peak RSS, loaded / idle",
        pairs=pairs,
        goal_met=met,
        verdict=f"worst peak RSS {worst} MB vs goal <= {GOAL_MB} MB; at least {in_flight} of {deliveries} in flight at once",
        params={"deliveries": deliveries, "hold_ms": HOLD_MS, "worker_concurrency": IN_FLIGHT},
        columns=("peak_rss_mb", "max_in_flight"),
    )
