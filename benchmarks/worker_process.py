"""Run one DocRelay delivery worker in its own process until SIGTERM (P3, P5, P9).

It uses only DocRelay's public entry points: ``Runtime.from_settings``,
``docrelay.delivery.listener.start_listener`` (LISTEN/NOTIFY on PostgreSQL when
``DOCRELAY_NOTIFY_ENABLED`` is true) and ``Worker.run``. It prints ``READY`` once
the worker loop runs and, with ``--rss-file``, writes its peak resident memory there
on exit.

    python -m benchmarks.worker_process --data-dir DIR [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

from benchmarks import docrelay_app


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_process")
    parser.add_argument("--data-dir", type=Path, required=True, help="DocRelay data directory")
    parser.add_argument("--database-url", help="SQLAlchemy URL; SQLite in --data-dir when omitted")
    parser.add_argument(
        "--notify", choices=("on", "off"), default="on", help="PostgreSQL LISTEN/NOTIFY wake-up"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between polls without a wake-up"
    )
    parser.add_argument(
        "--concurrency", type=int, help="deliveries sent at once (default: DocRelay's setting)"
    )
    parser.add_argument(
        "--webhook-limit-per-host",
        type=int,
        help="connections per receiver host for web notifications (default: DocRelay's)",
    )
    parser.add_argument(
        "--rss-file", type=Path, help="write peak and sampled resident memory here as JSON on exit"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=1800.0, help="exit after this long at most"
    )
    return parser.parse_args(argv)


async def _sample_rss(samples: list[int], stop: asyncio.Event) -> None:
    import psutil

    process = psutil.Process()
    while not stop.is_set():
        samples.append(process.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.05)


def _registry(runtime: Any, limit_per_host: int | None) -> Any:
    """Return None (the worker builds DocRelay's default registry) or one with a wider webhook pool."""
    if limit_per_host is None:
        return None
    from docrelay.delivery.destinations.base import build_registry
    from docrelay.webhooks.destination import WebhookDestination

    registry = build_registry(runtime)
    registry.register("webhook", WebhookDestination(runtime, limit_per_host=limit_per_host))
    return registry


async def _serve(args: argparse.Namespace) -> dict[str, Any]:
    from docrelay.delivery.listener import start_listener
    from docrelay.delivery.worker import Worker

    overrides: dict[str, Any] = {
        "notify_enabled": args.notify == "on",
        "poll_interval": args.poll_interval,
    }
    if args.concurrency:
        overrides["worker_concurrency"] = args.concurrency
    runtime = docrelay_app.make_runtime(args.data_dir, args.database_url, **overrides)
    listener = start_listener(runtime)
    worker = Worker(runtime, _registry(runtime, args.webhook_limit_per_host))
    _ = worker.registry  # Build the destinations (imports, pools) before reporting READY.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.call_later(args.max_seconds, stop.set)
    samples: list[int] = []
    sampler = asyncio.create_task(_sample_rss(samples, stop)) if args.rss_file else None
    started = time.perf_counter()
    task = asyncio.create_task(worker.run(stop))
    if listener is not None:
        await loop.run_in_executor(None, listener.connected.wait, 10.0)
    print("READY", flush=True)
    await task
    if sampler is not None:
        await sampler
    worker.close()
    if listener is not None:
        listener.stop()
    runtime.close()
    return {
        "processed": worker.processed,
        "seconds": time.perf_counter() - started,
        "peak_rss_bytes": max(samples, default=0),
        "samples": len(samples),
    }


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    summary = asyncio.run(_serve(args))
    if args.rss_file is not None:
        args.rss_file.write_text(json.dumps(summary), encoding="utf-8")


if __name__ == "__main__":
    main()
