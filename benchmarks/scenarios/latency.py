"""P2: latency from a status change's commit to the receiver's 2xx, under steady load.

A writer thread records status changes at a fixed rate over 1,000 documents. It is an
open model, so it never waits for deliveries. The worker (DocRelay's ``Worker.run``,
woken by the runtime's in-process signal) or the bare loop's deliverer runs on the
event loop of the same process. Latency = the receiver's wall-clock time when it wrote the 2xx minus
the writer's wall-clock time right after the commit returned (one host, one clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import bare_loop, docrelay_app
from benchmarks.processes import ReceiverProcess, receiver_process
from benchmarks.receiver import ReceiverConfig
from benchmarks.runner import Context, Outcome, interleave, profiled
from benchmarks.stats import safe_ratio
from benchmarks.workloads import SteadyWriter, document_names, latencies_from_log

RATES = (100, 500)
DOCUMENTS = 1_000
FULL_SECONDS = 10.0
"""Shorter than the goal's 60 s so that ``all`` fits in 30 minutes; ``--duration 60`` restores it."""
QUICK_SECONDS = 1.0
FLOOR_MS = 25.0
WARM_UP_SECONDS = 0.5
DRAIN_TIMEOUT = 60.0
WORKER_MODULES = (
    "docrelay.delivery.worker",
    "docrelay.webhooks.destination",
    "docrelay.salesforce.destination",
)


def duration(context: Context) -> float:
    if context.duration is not None:
        return context.duration
    return QUICK_SECONDS if context.quick else FULL_SECONDS


def seed_template(data_dir: Path, receiver_url: str, database_url: str | None = None) -> list[str]:
    runtime = docrelay_app.make_runtime(data_dir, database_url)
    try:
        docrelay_app.migrate(runtime)
        _, ids = docrelay_app.seed_documents(
            runtime, DOCUMENTS, design_config=docrelay_app.webhook_config(receiver_url)
        )
    finally:
        runtime.close()
    return ids


def pending_deliveries(runtime: Any) -> int:
    states = docrelay_app.count_by_state(runtime)
    return sum(
        count
        for state, count in states.items()
        if state not in ("delivered", "failed", "superseded")
    )


def run_docrelay(
    template: Path,
    ids: list[str],
    work: Path,
    receiver: ReceiverProcess,
    rate: float,
    seconds: float,
    profile: contextlib.AbstractContextManager[None] | None = None,
) -> dict[str, Any]:
    """Offer ``rate`` changes/s to DocRelay with an in-process worker; return latency figures."""
    from docrelay.delivery.worker import Worker

    data_dir = work / "p2-docrelay"
    shutil.rmtree(data_dir, ignore_errors=True)
    docrelay_app.copy_sqlite(template / "docrelay.db", data_dir / "docrelay.db")
    runtime = docrelay_app.make_runtime(data_dir)
    writer = SteadyWriter(
        lambda doc: docrelay_app.record_status_change(runtime, doc), ids, rate, seconds
    )

    async def serve() -> bool:
        worker = Worker(runtime)
        _ = worker.registry  # Build the destinations (imports, pools) before the clock starts.
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        writer.start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, writer.finished.wait)
        drained = await _wait_drained(lambda: pending_deliveries(runtime) == 0)
        stop.set()
        await task
        worker.close()
        return drained

    try:
        with profile or contextlib.nullcontext():
            drained = asyncio.run(serve())
        writer.join()
    finally:
        runtime.close()
    receiver.dump(work / "p2-docrelay-log.jsonl")
    figures = latencies_from_log(writer.committed, work / "p2-docrelay-log.jsonl")
    return {
        **figures,
        "offered": len(writer.committed),
        "late_writes": writer.late,
        "skipped_writes": writer.skipped,
        "achieved_per_second": round(len(writer.committed) / writer.seconds, 1),
        "drained": drained,
    }


async def _wait_drained(check: Any) -> bool:
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        if await loop.run_in_executor(None, check):
            return True
        await asyncio.sleep(0.05)
    return False


def run_bare(work: Path, receiver: ReceiverProcess, rate: float, seconds: float) -> dict[str, Any]:
    """Offer ``rate`` changes/s to the bare loop; return latency figures."""
    path = work / "p2-bare.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    names = document_names(DOCUMENTS)
    setup = bare_loop.connect(path)
    bare_loop.create_documents(setup, names)
    setup.close()
    writer_connection = bare_loop.connect(path)
    deliverer_connection = bare_loop.connect(path)
    writer = SteadyWriter(
        lambda doc: bare_loop.record_change(writer_connection, doc, "DSS"), names, rate, seconds
    )

    async def serve() -> None:
        poster = bare_loop.AiohttpPoster()
        writer.start()
        try:
            # Check the outbox after the writer finished: its last commit may follow the last claim.
            await bare_loop.deliver(
                deliverer_connection,
                receiver.url,
                poster,
                lambda: (
                    writer.finished.is_set() and bare_loop.pending_count(deliverer_connection) == 0
                ),
            )
        finally:
            await poster.close()

    asyncio.run(serve())
    writer.join()
    writer_connection.close()
    deliverer_connection.close()
    receiver.dump(work / "p2-bare-log.jsonl")
    figures = latencies_from_log(writer.committed, work / "p2-bare-log.jsonl")
    return {
        **figures,
        "offered": len(writer.committed),
        "late_writes": writer.late,
        "skipped_writes": writer.skipped,
        "achieved_per_second": round(len(writer.committed) / writer.seconds, 1),
        "drained": True,
    }


def judge(outcome: Outcome, floor_ms: float = FLOOR_MS) -> None:
    """Set the verdict: DocRelay's median p99 against max(floor, 3 x the bare loop's median p99)."""
    a_p99 = [pair["a"]["p99_ms"] for pair in outcome.pairs if pair["a"]["p99_ms"] is not None]
    b_p99 = [pair["b"]["p99_ms"] for pair in outcome.pairs if pair["b"]["p99_ms"] is not None]
    if not a_p99 or not b_p99:
        outcome.goal_met, outcome.verdict = False, "no latency samples"
        return
    limit = max(floor_ms, 3 * statistics.median(b_p99))
    docrelay = statistics.median(a_p99)
    clean = all(
        pair["a"]["lost"] == 0 and pair["a"]["order_violations"] == 0 for pair in outcome.pairs
    )
    achieved = statistics.median(pair["a"]["achieved_per_second"] for pair in outcome.pairs)
    outcome.goal_met = docrelay <= limit and clean
    outcome.verdict = (
        f"DocRelay median p99 {docrelay:.1f} ms vs limit {limit:.1f} ms;"
        f" DocRelay's writer committed {achieved}/s of the offered rate"
        + ("" if clean else "; losses or order violations")
    )


def run_sqlite(context: Context) -> list[Outcome]:
    docrelay_app.require(*WORKER_MODULES)
    seconds = duration(context)
    outcomes = []
    with receiver_process(ReceiverConfig()) as receiver:
        template = context.work_dir / "p2-template"
        ids = seed_template(template, receiver.url)
        # One short unmeasured run per side loads modules and warms caches before pair 1.
        run_docrelay(template, ids, context.work_dir, receiver, RATES[0], WARM_UP_SECONDS)
        run_bare(context.work_dir, receiver, RATES[0], WARM_UP_SECONDS)

        def pairs_at(rate: int) -> list[dict[str, Any]]:
            return interleave(
                context.pairs,
                lambda i: run_docrelay(template, ids, context.work_dir, receiver, rate, seconds),
                lambda i: run_bare(context.work_dir, receiver, rate, seconds),
                lambda a, b: safe_ratio(a["p99_ms"], b["p99_ms"]),
            )

        for rate in RATES:
            pairs = pairs_at(rate)
            outcome = Outcome(
                a_label="DocRelay: record_event in a transaction + in-process Worker (SQLite)",
                b_label="bare loop: sqlite3 outbox + aiohttp deliverer, 5 ms idle poll",
                ratio_name=f"p99 latency commit -> 2xx, DocRelay / bare loop at {rate}/s",
                pairs=pairs,
                goal_met=None,
                verdict="",
                params={
                    "rate_per_second": rate,
                    "seconds": seconds,
                    "documents": DOCUMENTS,
                    "receiver_pinned": receiver.pinned,
                },
                columns=("p50_ms", "p99_ms", "max_ms", "skipped_writes"),
                variant=f"{rate}/s",
            )
            judge(outcome)
            outcomes.append(outcome)
        if context.profile_dir is not None:
            profile = profiled(context, f"P2-docrelay-{RATES[0]}")
            run_docrelay(template, ids, context.work_dir, receiver, RATES[0], seconds, profile)
    return outcomes
