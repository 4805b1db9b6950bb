"""Baselines alone: the raw-streams ceiling and the bare outbox loop with aiohttp and httpx."""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks import bare_loop, raw_client
from benchmarks.bare_httpx_loop import HttpxPoster, load_httpx
from benchmarks.processes import ReceiverProcess, receiver_process
from benchmarks.receiver import ReceiverConfig
from benchmarks.runner import Context, Outcome, interleave
from benchmarks.stats import safe_ratio
from benchmarks.workloads import build_bare_backlog, run_bare_drain


def raw_ceiling(receiver: ReceiverProcess, context: Context) -> dict[str, Any]:
    seconds = 1.0 if context.quick else 4.0
    return {
        f"c{concurrency}": asyncio.run(raw_client.measure(receiver.url, concurrency, seconds))
        for concurrency in ((16,) if context.quick else (1, 16, 64))
    }


def httpx_drain(
    context: Context, receiver: ReceiverProcess, documents: int, per_document: int
) -> dict[str, Any]:
    """Drain a small backlog with the httpx bare loop; httpx is too slow for the full size."""
    module, label = load_httpx()
    if module is None:
        return {"client": label}
    template = context.work_dir / "httpx-backlog.db"
    if not template.exists():
        build_bare_backlog(template, documents, per_document)
    expected = dict.fromkeys([f"doc-{i:06d}" for i in range(documents)], per_document)
    result = run_bare_drain(
        template, context.work_dir / "httpx", receiver, lambda: HttpxPoster(module), expected
    )
    return {"client": label, **result}


def run(context: Context) -> Outcome:
    documents, per_document = (50, 10) if context.quick else (2_000, 10)
    small_documents = 20 if context.quick else 200
    template = context.work_dir / "bare-backlog.db"
    expected = build_bare_backlog(template, documents, per_document)
    with receiver_process(ReceiverConfig()) as receiver:
        ceiling = raw_ceiling(receiver, context)
        receiver.dump(context.work_dir / "ceiling-log.jsonl")
        pairs = interleave(
            context.pairs,
            lambda i: run_bare_drain(
                template, context.work_dir / "aiohttp", receiver, bare_loop.AiohttpPoster, expected
            ),
            lambda i: httpx_drain(context, receiver, small_documents, per_document),
            lambda a, b: safe_ratio(a.get("per_second"), b.get("per_second")),
        )
    httpx_label = pairs[0]["b"]["client"]
    return Outcome(
        a_label=f"bare loop, aiohttp, {documents * per_document} deliveries",
        b_label=f"bare loop, {httpx_label}, {small_documents * per_document} deliveries",
        ratio_name="deliveries/s, aiohttp loop / httpx loop",
        pairs=pairs,
        goal_met=None,
        verdict="reported only",
        params={
            "documents": documents,
            "changes_per_document": per_document,
            "bare_loop": bare_loop.describe(),
        },
        extra={"raw_ceiling": ceiling, "receiver_pinned": receiver.pinned},
        columns=("per_second", "lost", "order_violations"),
    )
