"""Background work that runs beside the API (or alone in ``docrelay worker``).

Two loops share one event loop: the delivery worker, and a scheduler that
runs the expiry pass (expired documents, pre-expiration warnings) every
``settings.scheduler_interval`` seconds. The Salesforce reconciler runs every
``settings.reconcile_interval`` seconds beside them. With several processes, a
periodic lease lets one of them at a time run each pass. On PostgreSQL a LISTEN
connection wakes the worker when another process commits deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import os
import socket
import uuid
from collections.abc import Callable

from docrelay.delivery.listener import start_listener
from docrelay.delivery.operations import run_operations
from docrelay.delivery.worker import Worker
from docrelay.runtime import Runtime
from docrelay.salesforce.reconcile import run_reconcile_loop
from docrelay.storage import leases

logger = logging.getLogger(__name__)

EXPIRY_LEASE = "expiry_pass"


async def run_background(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the delivery worker and the periodic jobs until ``stop`` is set."""
    worker = Worker(runtime)
    listener = start_listener(runtime)
    try:
        await asyncio.gather(
            worker.run(stop),
            run_scheduler(runtime, stop),
            run_reconcile_loop(runtime, stop),
            run_operations(runtime, stop),
        )
    finally:
        if listener is not None:
            listener.stop()
        worker.close()


def _expiry_pass() -> Callable[[Runtime], object] | None:
    try:
        module = importlib.import_module("docrelay.documents.expiry")
    except ModuleNotFoundError as exc:
        if exc.name != "docrelay.documents.expiry":
            raise
        return None
    return getattr(module, "run_expiry_pass", None)


async def run_scheduler(runtime: Runtime, stop: asyncio.Event) -> None:
    """Call the expiry pass every ``scheduler_interval`` seconds (in a thread) until ``stop`` is set."""
    interval = runtime.settings.scheduler_interval
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    ttl = dt.timedelta(seconds=max(interval * 3, 60))
    warned = False
    try:
        while not stop.is_set():
            expiry = _expiry_pass()
            if expiry is None:
                if not warned:
                    logger.warning(
                        "docrelay.documents.expiry.run_expiry_pass is not available; expiry checks are skipped",
                        extra={"action": "scheduler_job_missing"},
                    )
                    warned = True
            else:
                await _run_leased(runtime, expiry, holder, ttl)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(leases.release, runtime.database, EXPIRY_LEASE, holder)


async def _run_leased(
    runtime: Runtime, job: Callable[[Runtime], object], holder: str, ttl: dt.timedelta
) -> None:
    try:
        if not await asyncio.to_thread(
            leases.try_acquire, runtime.database, EXPIRY_LEASE, holder, ttl
        ):
            return
        await asyncio.to_thread(job, runtime)
        await asyncio.to_thread(leases.mark_run, runtime.database, EXPIRY_LEASE, holder)
    except Exception:
        logger.exception(
            "The expiry pass failed; it runs again next interval",
            extra={"action": "expiry_pass_failed"},
        )
