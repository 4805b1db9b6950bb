"""P1: drain a backlog of queued status-change deliveries with one worker.

Both sides start from a copy of the same-shaped backlog (documents x changes, queued
round-robin so a claim batch spans many documents) and send it to one receiver with
0 ms service time. DocRelay drains with ``Worker.run_until_idle``; the bare loop with
its own deliverer. The clock runs from the first claim to the last completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import bare_loop, docrelay_app, raw_client
from benchmarks.processes import ReceiverProcess, receiver_process
from benchmarks.receiver import ReceiverConfig
from benchmarks.runner import Context, Outcome, interleave, profiled
from benchmarks.scenarios.baselines import httpx_drain
from benchmarks.stats import safe_ratio
from benchmarks.workloads import (
    build_bare_backlog,
    interleaved_changes,
    receiver_check,
    run_bare_drain,
)

GOAL_RATIO = 0.8
WORKER_MODULES = (
    "docrelay.delivery.worker",
    "docrelay.webhooks.destination",
    "docrelay.salesforce.destination",
)


def build_docrelay_backlog(
    data_dir: Path, receiver_url: str, documents: int, per_document: int
) -> dict[str, int]:
    """Seed a DocRelay database with ``documents * per_document`` pending webhook deliveries."""
    runtime = docrelay_app.make_runtime(data_dir)
    try:
        docrelay_app.migrate(runtime)
        _, ids = docrelay_app.seed_documents(
            runtime, documents, design_config=docrelay_app.webhook_config(receiver_url)
        )
        docrelay_app.record_many(runtime, interleaved_changes(ids, per_document))
    finally:
        runtime.close()
    return dict.fromkeys(ids, per_document)


def run_docrelay_drain(
    template_dir: Path,
    work: Path,
    receiver: ReceiverProcess,
    expected: dict[str, int],
    context: Context,
    profile_name: str | None = None,
) -> dict[str, Any]:
    """Drain a copy of the DocRelay backlog with one worker; return deliveries/s and the check."""
    from docrelay.delivery.worker import Worker

    data_dir = work / "docrelay"
    shutil.rmtree(data_dir, ignore_errors=True)
    docrelay_app.copy_sqlite(template_dir / "docrelay.db", data_dir / "docrelay.db")
    runtime = docrelay_app.make_runtime(data_dir, poll_interval=0.05)

    async def drain() -> tuple[int, float]:
        worker = Worker(runtime)
        try:
            started = time.perf_counter()
            attempts = await worker.run_until_idle(timeout=600)
            return attempts, time.perf_counter() - started
        finally:
            await worker.registry.close()
            worker.close()

    try:
        with profiled(context, profile_name) if profile_name else contextlib.nullcontext():
            attempts, seconds = asyncio.run(drain())
        states = docrelay_app.count_by_state(runtime)
    finally:
        runtime.close()
    check = receiver_check(receiver, work / "docrelay-log.jsonl", expected)
    delivered = states.get("delivered", 0)
    return {
        "delivered": delivered,
        "attempts": attempts,
        "seconds": round(seconds, 3),
        "per_second": round(delivered / seconds, 1),
        "states": states,
        **{key: check[key] for key in ("lost", "duplicates", "order_violations", "accepted")},
    }


def run(context: Context) -> Outcome:
    docrelay_app.require(*WORKER_MODULES)
    # 500 x 10 = 5,000 deliveries keeps the full run short; --scale 4 gives the 20,000 of the goal.
    documents = context.size(500, 50)
    per_document = 10
    bare_template = context.work_dir / "p1-bare.db"
    expected_bare = build_bare_backlog(bare_template, documents, per_document)
    docrelay_template = context.work_dir / "p1-docrelay"
    with receiver_process(ReceiverConfig()) as receiver:
        expected = build_docrelay_backlog(docrelay_template, receiver.url, documents, per_document)
        pairs = interleave(
            context.pairs,
            lambda i: run_docrelay_drain(
                docrelay_template, context.work_dir, receiver, expected, context
            ),
            lambda i: run_bare_drain(
                bare_template, context.work_dir, receiver, bare_loop.AiohttpPoster, expected_bare
            ),
            lambda a, b: safe_ratio(a["per_second"], b["per_second"]),
        )
        references = _references(context, receiver, pairs)
        if context.profile_dir is not None:
            run_docrelay_drain(
                docrelay_template, context.work_dir, receiver, expected, context, "P1-docrelay"
            )
    ratios = [pair["ratio"] for pair in pairs if pair["ratio"] is not None]
    median = statistics.median(ratios) if ratios else None
    clean = all(pair["a"]["lost"] == 0 and pair["a"]["order_violations"] == 0 for pair in pairs)
    met = median is not None and median >= GOAL_RATIO and clean
    return Outcome(
        a_label=f"DocRelay Worker, {documents * per_document} webhook deliveries",
        b_label=f"bare loop (aiohttp, limit 32), {documents * per_document} deliveries",
        ratio_name="deliveries/s, DocRelay / bare aiohttp loop",
        pairs=pairs,
        goal_met=met,
        verdict=f"median ratio {median:.3f} vs goal >= {GOAL_RATIO}"
        + ("" if clean else "; losses or order violations seen")
        if median is not None
        else "no ratio",
        params={
            "documents": documents,
            "changes_per_document": per_document,
            "receiver_service_ms": 0,
            "receiver_pinned": receiver.pinned,
        },
        extra=references,
        columns=("per_second", "lost", "order_violations"),
    )


def _references(
    context: Context, receiver: ReceiverProcess, pairs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Measure the httpx loop and the raw ceiling once and divide DocRelay's median rate by them."""
    docrelay_rate = statistics.median(pair["a"]["per_second"] for pair in pairs)
    httpx = httpx_drain(context, receiver, context.size(200, 20), 10)
    ceiling = asyncio.run(raw_client.measure(receiver.url, 32, 1.0 if context.quick else 4.0))
    receiver.dump(context.work_dir / "p1-reference-log.jsonl")
    return {
        "httpx_loop": httpx,
        "docrelay_over_httpx_loop": safe_ratio(docrelay_rate, httpx.get("per_second")),
        "raw_ceiling_c32": ceiling,
        "docrelay_over_raw_ceiling": safe_ratio(docrelay_rate, ceiling["requests_per_second"]),
    }
