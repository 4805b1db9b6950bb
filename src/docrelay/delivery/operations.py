"""The delivery engine's periodic work beside the worker: alert emails, attempt pruning, bulk resends.

Each periodic job runs on exactly one process at a time: before a run the
process takes the job's lease (:func:`docrelay.storage.leases.try_acquire`),
and a process that cannot take it skips the run. Bulk resend jobs carry their
own lease in the ``jobs`` table, so several processes can run different jobs
side by side but never the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from docrelay import clock
from docrelay.delivery import alert_mail, resend_jobs, retention
from docrelay.delivery.mail import Mailer
from docrelay.runtime import Runtime
from docrelay.storage import leases

logger = logging.getLogger(__name__)

MAIL_LEASE = "alert_mail"
PRUNE_LEASE = "attempt_prune"
MAIL_INTERVAL_SECONDS = 10.0
PRUNE_INTERVAL = dt.timedelta(hours=1)
JOB_POLL_SECONDS = 2.0
TICK_SECONDS = 1.0


def process_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_alert_mails(runtime: Runtime, holder: str) -> int:
    """Send the alert emails that are due, if this process holds the mail lease; return how many."""
    ttl = dt.timedelta(seconds=max(MAIL_INTERVAL_SECONDS * 6, 60))
    if not leases.try_acquire(runtime.database, MAIL_LEASE, holder, ttl):
        return 0
    sent = alert_mail.send_due(
        runtime.database, Mailer.from_settings(runtime.settings), clock.now()
    )
    leases.mark_run(runtime.database, MAIL_LEASE, holder)
    return sent


def prune_if_due(runtime: Runtime, holder: str) -> int | None:
    """Prune old attempts if an hour has passed since the last prune anywhere; None when skipped."""
    last = leases.last_run(runtime.database, PRUNE_LEASE)
    now = clock.now()
    if last is not None and now - clock.ensure_utc(last) < PRUNE_INTERVAL:
        return None
    if not leases.try_acquire(runtime.database, PRUNE_LEASE, holder, dt.timedelta(minutes=30)):
        return None
    try:
        return retention.prune_attempts(
            runtime.database, now, runtime.settings.attempt_retention_days
        )
    finally:
        leases.mark_run(runtime.database, PRUNE_LEASE, holder)
        leases.release(runtime.database, PRUNE_LEASE, holder)


def run_next_job(runtime: Runtime, holder: str, should_stop: Callable[[], bool]) -> str | None:
    """Claim and run the oldest queued bulk resend job; return its final state, None if none waited."""
    try:
        job_id = resend_jobs.claim_next(runtime.database, holder)
    except Exception:
        logger.exception(
            "Claiming a bulk resend job failed; trying again shortly",
            extra={"action": "job_claim_failed"},
        )
        return None
    if job_id is None:
        return None
    return resend_jobs.run_job(runtime.database, job_id, should_stop=should_stop)


async def run_operations(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the mail pass, the prune and bulk resend jobs until ``stop`` is set."""
    holder = process_holder()
    halted = threading.Event()
    job: asyncio.Task[str | None] | None = None
    next_mail = next_prune = next_job = time.monotonic()
    try:
        while not stop.is_set():
            now = time.monotonic()
            if (job is None or job.done()) and now >= next_job:
                job = asyncio.create_task(
                    asyncio.to_thread(run_next_job, runtime, holder, halted.is_set)
                )
                next_job = now + JOB_POLL_SECONDS
            if now >= next_mail:
                await _guarded("alert emails", send_alert_mails, runtime, holder)
                next_mail = now + MAIL_INTERVAL_SECONDS
            if now >= next_prune:
                await _guarded("attempt pruning", prune_if_due, runtime, holder)
                next_prune = now + 60
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)
    finally:
        halted.set()
        if job is not None:
            with contextlib.suppress(Exception):
                await job
        with contextlib.suppress(Exception):
            await asyncio.to_thread(leases.release, runtime.database, MAIL_LEASE, holder)


async def _guarded(what: str, function: Callable[..., object], *args: object) -> None:
    try:
        await asyncio.to_thread(function, *args)
    except Exception:
        logger.exception(
            "Periodic %s failed; it runs again next interval",
            what,
            extra={"action": "periodic_job_failed"},
        )
