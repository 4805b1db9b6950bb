"""The delivery worker: claim due deliveries, send them, record each attempt.

One asyncio loop per process. Database calls are short and run in a small
thread pool, so the loop itself never blocks on the database. Destinations
that use blocking clients run them in their own pools. A committed delivery
wakes the loop at once through ``runtime.signal``; polling every
``settings.poll_interval`` seconds is the fallback (other processes, retries
coming due).

Sending reads as: claim -> load the job -> destination.send -> decide the
next state from the outcome and the retry policy -> complete on the claim
token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from docrelay import clock, metrics
from docrelay.delivery import repository
from docrelay.delivery.alerts import AlertSpec, credential_alert
from docrelay.delivery.destinations.base import (
    DestinationRegistry,
    build_registry,
    unknown_kind_outcome,
)
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.repository import ClaimedDelivery, Completion, DeliveryJob
from docrelay.delivery.retry import DEFAULT_POLICY, RetryPolicy, effective_policy
from docrelay.delivery.states import DeliveryState
from docrelay.errors import ValidationError
from docrelay.runtime import Runtime

logger = logging.getLogger(__name__)

T = TypeVar("T")
_PendingCompletion = tuple[ClaimedDelivery, Completion, "AlertSpec | None", "asyncio.Future[bool]"]
DB_THREADS = 4


def decide(
    outcome: AttemptOutcome,
    claimed: ClaimedDelivery,
    policy: RetryPolicy,
    started_at: Any,
    duration_ms: int,
    rng: random.Random,
) -> Completion:
    """Turn an attempt's outcome into the delivery's next state and its attempt row."""
    now = clock.now()
    common: dict[str, Any] = {
        "started_at": started_at,
        "duration_ms": duration_ms,
        "error_class": outcome.error_class,
        "error_message": outcome.message,
        "request_summary": outcome.request_summary,
        "response_status": outcome.response_status,
        "response_excerpt": outcome.response_excerpt,
    }
    if outcome.kind is OutcomeKind.DELIVERED:
        return Completion(DeliveryState.DELIVERED, "delivered", result=outcome.result, **common)
    if outcome.kind is OutcomeKind.PAUSE:
        return Completion(
            DeliveryState.PAUSED,
            "paused",
            counts=False,
            pause_reason=repository.PAUSE_CREDENTIAL,
            **common,
        )
    if outcome.kind is OutcomeKind.FAIL:
        return Completion(DeliveryState.FAILED, "failed", **common)

    common["transient_failure"] = True
    next_at = policy.next_attempt(claimed.attempt_number, now, rng)
    if next_at is None:
        common["error_message"] = (
            f"Gave up after {claimed.attempt_number} attempts: {outcome.message or outcome.error_class}"
        )
        return Completion(DeliveryState.FAILED, "failed", **common)
    if outcome.retry_not_before is not None and outcome.retry_not_before > next_at:
        next_at = outcome.retry_not_before
    return Completion(DeliveryState.RETRYING, "retry", available_at=next_at, **common)


class Worker:
    """Claims and sends deliveries until stopped; ``run_until_idle`` drains what is due."""

    def __init__(
        self,
        runtime: Runtime,
        registry: DestinationRegistry | None = None,
        *,
        rng: random.Random | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._registry = registry
        self._rng = rng or random.Random()
        self._concurrency = concurrency or self.settings.worker_concurrency
        self._db_pool = concurrent.futures.ThreadPoolExecutor(
            DB_THREADS, thread_name_prefix="docrelay-db"
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._completions: list[_PendingCompletion] = []
        self._flusher: asyncio.Task[None] | None = None
        self.processed = 0

    @property
    def registry(self) -> DestinationRegistry:
        if self._registry is None:
            self._registry = build_registry(self.runtime)
        return self._registry

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, function, *args)

    # --- loops ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then let in-flight sends finish (up to the lease)."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def on_signal() -> None:
            loop.call_soon_threadsafe(wake.set)

        unsubscribe = self.runtime.signal.subscribe(on_signal)
        logger.info("Delivery worker started", extra={"action": "worker_started"})
        try:
            while not stop.is_set():
                wake.clear()
                full_batch = await self._claim_and_start()
                metrics.worker_ticked()
                if full_batch:
                    continue
                await self._wait(wake, stop, self.settings.poll_interval)
        finally:
            unsubscribe()
            await self._finish_in_flight()
            logger.info("Delivery worker stopped", extra={"action": "worker_stopped"})

    async def run_until_idle(self, timeout: float = 30.0, *, wait_for_retries: bool = False) -> int:
        """Send everything due now and return how many attempts were made.

        With ``wait_for_retries`` it also waits for retries that come due
        before ``timeout`` runs out. Raises TimeoutError when work is still
        in flight at the deadline.
        """
        deadline = time.monotonic() + timeout
        before = self.processed
        while True:
            started_any = await self._claim_and_start()
            if self._tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"deliveries still in flight after {timeout} s")
                await asyncio.wait(
                    self._tasks, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                continue
            if started_any:
                continue
            if not wait_for_retries:
                return self.processed - before
            next_at = await self._db(repository.next_available_at, self.runtime.database)
            if next_at is None:
                return self.processed - before
            pause = (next_at - clock.now()).total_seconds()
            if time.monotonic() + max(pause, 0) > deadline:
                return self.processed - before
            await asyncio.sleep(min(max(pause, 0.005), 1.0))

    async def _claim_and_start(self) -> bool:
        """Claim what fits in the free slots and start sending it; True when the batch was full."""
        free = self._concurrency - len(self._tasks)
        if free <= 0 or (self._tasks and free < self._concurrency // 4):
            # Claiming one slot at a time costs a transaction per delivery; wait for a few.
            return False
        limit = min(free, repository.MAX_CLAIM_BATCH)
        database = self.runtime.database
        try:
            claimed = await self._db(
                repository.claim_due, database, clock.now(), self.settings.lease_seconds, limit
            )
            jobs = await self._db(repository.load_jobs, database, claimed)
        except Exception:
            # Claims already taken are not lost: their leases expire and they are claimed again.
            logger.exception(
                "Claiming deliveries failed; trying again after the poll interval",
                extra={"action": "claim_failed"},
            )
            return False
        for item in claimed:
            task = asyncio.create_task(
                self._process(item, jobs.get(item.id)), name=f"delivery-{item.id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed) == limit

    async def _wait(self, wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
        waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(
                waiters | self._tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _finish_in_flight(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.lease_seconds)
        for task in list(self._tasks):
            task.cancel()
        if self._registry is not None:
            await self._registry.close()

    def close(self) -> None:
        """Release the database threads; the worker must not be used afterwards."""
        self._db_pool.shutdown(wait=True)

    # --- one delivery --------------------------------------------------------------------

    async def _process(self, claimed: ClaimedDelivery, job: DeliveryJob | None) -> None:
        try:
            await self._process_claimed(claimed, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The claim stays in flight; its lease expires and a worker claims it again.
            logger.exception(
                "Delivery %s could not be completed; it is retried after its lease expires",
                claimed.id,
                extra={"action": "delivery_completion_failed", **_log_extra(claimed)},
            )

    async def _process_claimed(self, claimed: ClaimedDelivery, job: DeliveryJob | None) -> None:
        started_at = clock.now()
        started = time.perf_counter()
        log_extra = _log_extra(claimed)
        logger.debug(
            "Sending delivery %s",
            claimed.id,
            extra={"action": "delivery_attempt_started", **log_extra},
        )

        outcome = await self._send(job, claimed)
        duration_ms = int((time.perf_counter() - started) * 1000)
        policy = _policy_for(job)
        completion = decide(outcome, claimed, policy, started_at, duration_ms, self._rng)
        alert = credential_alert(job, outcome) if completion.state is DeliveryState.PAUSED else None

        written = await self._complete(claimed, completion, alert)
        self.processed += 1
        if written:
            metrics.observe_attempt(claimed.kind, completion.outcome, duration_ms / 1000)
        _log_completion(claimed, completion, written, {**log_extra, "duration_ms": duration_ms})

    async def _complete(
        self, claimed: ClaimedDelivery, completion: Completion, alert: AlertSpec | None
    ) -> bool:
        """Queue a completion for the next batched write and wait for its result.

        Completions that finish while a write is running go together in the
        next transaction, which saves one commit per delivery under load.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._completions.append((claimed, completion, alert, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_completions())
        return await future

    async def _flush_completions(self) -> None:
        while self._completions:
            batch, self._completions = self._completions, []
            items = [(claimed, completion, alert) for claimed, completion, alert, _ in batch]
            try:
                results = await self._db(
                    repository.complete_many, self.runtime.database, items, clock.now()
                )
            except Exception:
                if len(batch) == 1:
                    logger.exception(
                        "Writing the result of delivery %s failed",
                        batch[0][0].id,
                        extra={"action": "completion_failed", **_log_extra(batch[0][0])},
                    )
                    raise_into = batch
                else:
                    # One item's failure (a deadlock with another worker, say) must not sink
                    # the whole batch: write each in its own transaction instead.
                    logger.warning(
                        "Batched completion of %d deliveries failed; writing them one by one",
                        len(batch),
                        extra={"action": "completion_batch_failed"},
                    )
                    raise_into = await self._complete_one_by_one(batch)
                for *_, future in raise_into:
                    if not future.done():
                        future.set_exception(RuntimeError("writing the delivery result failed"))
                continue
            for (*_, future), written in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(written)

    async def _complete_one_by_one(
        self, batch: list[_PendingCompletion]
    ) -> list[_PendingCompletion]:
        """Write each completion alone; return the ones that failed again."""
        failed: list[_PendingCompletion] = []
        for item in batch:
            claimed, completion, alert, future = item
            try:
                written = await self._db(
                    repository.complete,
                    self.runtime.database,
                    claimed,
                    completion,
                    clock.now(),
                    alert,
                )
            except Exception:
                failed.append(item)
                continue
            if not future.done():
                future.set_result(written)
        return failed

    async def _send(self, job: DeliveryJob | None, claimed: ClaimedDelivery) -> AttemptOutcome:
        if job is None:
            return AttemptOutcome(
                OutcomeKind.FAIL,
                error_class="missing_rows",
                message="The delivery's document, event or design no longer exists.",
            )
        destination = self.registry.get(claimed.kind)
        if destination is None:
            return unknown_kind_outcome(claimed.kind)
        try:
            return await destination.send(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception(
                "Destination raised instead of returning an outcome",
                extra={"action": "destination_crashed", **_log_extra(claimed)},
            )
            return AttemptOutcome(
                OutcomeKind.RETRY,
                error_class="internal_error",
                message=f"{type(exc).__name__}: {exc}",
            )


def _policy_for(job: DeliveryJob | None) -> RetryPolicy:
    if job is None:
        return DEFAULT_POLICY
    try:
        return effective_policy(job.account.retry_policy, job.design.retry_policy)
    except ValidationError:
        logger.warning(
            "Stored retry policy is invalid; using the default",
            extra={"action": "retry_policy_invalid", "design_id": job.design.id},
        )
        return DEFAULT_POLICY


def _log_extra(claimed: ClaimedDelivery) -> dict[str, Any]:
    return {
        "delivery_id": claimed.id,
        "document_id": claimed.document_id,
        "design_id": claimed.design_id,
        "attempt": claimed.attempt_number,
    }


_LOG_ACTIONS = {
    DeliveryState.DELIVERED: (logging.INFO, "delivery_succeeded"),
    DeliveryState.RETRYING: (logging.WARNING, "delivery_retry_scheduled"),
    DeliveryState.PAUSED: (logging.WARNING, "delivery_paused"),
    DeliveryState.FAILED: (logging.ERROR, "delivery_failed"),
}


def _log_completion(
    claimed: ClaimedDelivery, completion: Completion, written: bool, extra: dict[str, Any]
) -> None:
    if not written:
        logger.warning(
            "Delivery %s: result discarded because the claim expired and another worker took it over",
            claimed.id,
            extra={"action": "delivery_claim_lost", **extra},
        )
        return
    level, action = _LOG_ACTIONS[completion.state]
    logger.log(
        level,
        "Delivery %s %s (%s)",
        claimed.id,
        completion.state.value,
        completion.error_class or "ok",
        extra={"action": action, "status_code": completion.response_status, **extra},
    )


async def _drain_once(
    runtime: Runtime, timeout: float, wait_for_retries: bool, registry: DestinationRegistry | None
) -> int:
    worker = Worker(runtime, registry)
    try:
        return await worker.run_until_idle(timeout, wait_for_retries=wait_for_retries)
    finally:
        if registry is None and worker._registry is not None:
            await worker._registry.close()
        worker.close()


def drain(
    runtime: Runtime,
    timeout: float = 30.0,
    *,
    wait_for_retries: bool = False,
    registry: DestinationRegistry | None = None,
) -> int:
    """Send every due delivery from synchronous code (tests, the demo) and return the attempt count.

    Must not be called from inside a running event loop; use
    ``Worker.run_until_idle`` there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "drain() cannot run inside an event loop; await Worker.run_until_idle() instead"
        )
    return asyncio.run(_drain_once(runtime, timeout, wait_for_retries, registry))
