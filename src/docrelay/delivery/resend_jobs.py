"""Bulk resend as a background job: queued by the API or the CLI, run by one worker.

A job stores its filters, the number of deliveries they matched when it was
queued (``total``) and how many it has handled (``done``). Of those,
``resent`` went out again and ``skipped`` did not, because a newer status
exists or the delivery changed state meanwhile. The worker's background loop claims
queued jobs with a lease and runs them; a worker that dies leaves the lease
to expire, and another worker picks the job up where its cursor stands.

The job releases deliveries at most ``rate_per_second`` per destination: each
released delivery is due one slot after the previous one of its destination,
so a recovering endpoint receives a steady trickle instead of the whole
backlog at once. The job runs at most :data:`HORIZON_SECONDS` ahead of the
slots it hands out, so ``done`` tracks what is really due.

Before releasing a Salesforce delivery the job checks the org's API budget
(:mod:`docrelay.salesforce.budget`). Above the pause threshold it goes back
to the queue with ``error`` saying why, and is tried again a few seconds
later, so status deliveries keep the remaining calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select, update

from docrelay import clock
from docrelay.delivery import resend
from docrelay.errors import ConflictError, NotFoundError
from docrelay.storage.db import Database
from docrelay.storage.models import Account, Delivery, Job
from docrelay.storage.types import new_id

logger = logging.getLogger(__name__)

KIND = "bulk_resend"
LEASE = dt.timedelta(seconds=60)
CHUNK = 100
HORIZON_SECONDS = 0.5
FINISHED_STATES = ("succeeded", "failed", "cancelled")
BUDGET_WAIT = "waiting: the Salesforce org's API usage is above its pause threshold"


class _BudgetPaused(Exception):
    """The org's API budget does not allow background work now; the job waits and tries again."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_view(job: Job) -> dict[str, Any]:
    """Return the API form of a job with its progress."""
    parameters = dict(job.parameters or {})
    progress = parameters.pop("progress", {}) or {}
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "parameters": parameters,
        "total": job.total,
        "done": job.done,
        "resent": int(progress.get("resent", 0)),
        "skipped": int(progress.get("skipped", 0)),
        "error": job.error,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "finished_at": _iso(job.finished_at),
    }


def get_job(session: Any, account_id: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.account_id != account_id:
        raise NotFoundError(f"No job {job_id} in this account")
    return job


def create_job(session: Any, account_id: str, body: resend.BulkResendInput) -> Job:
    """Queue a bulk resend of what ``body`` names; the worker runs it."""
    filters = body.filters()
    resend.check_references(session, account_id, filters)
    now = clock.now()
    if filters.created_before is None:
        # Deliveries that fail after the job was queued are not part of it.
        filters = filters.model_copy(update={"created_before": now})
    counted = resend.count(session, account_id, filters)
    job = Job(
        id=new_id(),
        account_id=account_id,
        kind=KIND,
        state="queued",
        parameters={
            "filters": filters.model_dump(mode="json"),
            "rate_per_second": body.rate_per_second,
            "progress": {"resent": 0, "skipped": 0, "cursor": None},
        },
        total=counted["matching"],
        done=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    logger.info(
        "Bulk resend job %s queued for %d deliveries",
        job.id,
        job.total,
        extra={"action": "bulk_resend_queued", "account_id": account_id, "count": job.total},
    )
    return job


# --- running ------------------------------------------------------------------------------


def claim_next(database: Database, holder: str) -> str | None:
    """Take the oldest queued (or abandoned) bulk resend job for ``holder``; return its id."""
    now = clock.now()
    claimable = and_(
        Job.kind == KIND,
        or_(Job.state == "queued", and_(Job.state == "running", Job.lease_until < now)),
    )
    with database.transaction() as session:
        job_id = session.scalar(
            select(Job.id).where(claimable).order_by(Job.created_at, Job.id).limit(1)
        )
        if job_id is None:
            return None
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(state="running", lease_until=now + LEASE, updated_at=now)
        )
        return job_id if int(claimed.rowcount) == 1 else None  # type: ignore[attr-defined]


def claim_job(database: Database, job_id: str) -> bool:
    """Take one queued job by id (the CLI runs the job it just created)."""
    now = clock.now()
    with database.transaction() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", lease_until=now + LEASE, updated_at=now)
        )
        return int(claimed.rowcount) == 1  # type: ignore[attr-defined]


class _Pacer:
    """Hands out send slots ``1 / rate`` seconds apart per destination."""

    def __init__(self, rate_per_second: float) -> None:
        self.interval = dt.timedelta(seconds=1.0 / rate_per_second)
        self.next_slot: dict[str, dt.datetime] = {}

    def peek(self, destination_key: str, now: dt.datetime) -> dt.datetime:
        """Return the next free slot of ``destination_key`` without taking it."""
        return max(now, self.next_slot.get(destination_key, now))

    def take(self, destination_key: str, slot: dt.datetime) -> None:
        self.next_slot[destination_key] = slot + self.interval


def run_job(
    database: Database,
    job_id: str,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run a claimed bulk resend job to its end (or until ``should_stop``); return its final state."""
    with database.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return "missing"
        parameters = dict(job.parameters)
        account_id = job.account_id
    filters = resend.ResendFilters.model_validate(parameters["filters"])
    progress = dict(parameters.get("progress") or {})
    pacer = _Pacer(float(parameters.get("rate_per_second", resend.DEFAULT_RATE_PER_SECOND)))
    try:
        while not should_stop():
            handled = _run_chunk(database, job_id, account_id, filters, progress, pacer, sleep)
            if on_progress is not None:
                with database.session() as session:
                    current = session.get(Job, job_id)
                    if current is not None:
                        on_progress(current.done, current.total)
            if handled == 0:
                return _finish(database, job_id, "succeeded", None)
        _requeue(database, job_id, None)
        return "queued"
    except _BudgetPaused:
        # Another worker (or this one) claims the queued job again within seconds and checks anew.
        _requeue(database, job_id, BUDGET_WAIT)
        return "waiting_for_budget"
    except Exception as exc:
        logger.exception(
            "Bulk resend job %s failed", job_id, extra={"action": "bulk_resend_failed"}
        )
        return _finish(database, job_id, "failed", f"{type(exc).__name__}: {exc}")


def _run_chunk(
    database: Database,
    job_id: str,
    account_id: str,
    filters: resend.ResendFilters,
    progress: dict[str, Any],
    pacer: _Pacer,
    sleep: Callable[[float], None],
) -> int:
    """Resend the next chunk after the cursor; return how many deliveries it handled."""
    statement = resend.matching(account_id, filters)
    cursor = progress.get("cursor")
    if cursor:
        at = dt.datetime.fromisoformat(cursor[0])
        statement = statement.where(
            or_(Delivery.created_at > at, and_(Delivery.created_at == at, Delivery.id > cursor[1]))
        )
    with database.session() as session:
        batch = [(row.id, row.destination_key) for row in session.scalars(statement.limit(CHUNK))]
    handled = 0
    for delivery_id, destination_key in batch:
        now = clock.now()
        slot = pacer.peek(destination_key, now)
        ahead = (slot - now).total_seconds() - HORIZON_SECONDS
        if ahead > 0:
            sleep(ahead)
        if destination_key.startswith("salesforce:") and not _budget_allows(database, account_id):
            raise _BudgetPaused
        with database.transaction() as session:
            delivery = session.get(Delivery, delivery_id)
            resent = False
            if delivery is not None and delivery.state in filters.state:
                try:
                    resend.resend_one(session, account_id, delivery, clock.now(), available_at=slot)
                    resent = True
                except ConflictError:
                    resent = False
            if resent:
                # Only a delivery that goes out again takes a slot of its destination.
                pacer.take(destination_key, slot)
            progress["resent" if resent else "skipped"] = (
                int(progress.get("resent" if resent else "skipped", 0)) + 1
            )
            if delivery is not None:
                progress["cursor"] = [delivery.created_at.isoformat(), delivery.id]
            _save_progress(session, job_id, progress)
        handled += 1
    return handled


def _save_progress(session: Any, job_id: str, progress: dict[str, Any]) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    now = clock.now()
    job.parameters = {**job.parameters, "progress": dict(progress)}
    job.done += 1
    job.lease_until = now + LEASE
    job.updated_at = now


def _finish(database: Database, job_id: str, state: str, error: str | None) -> str:
    now = clock.now()
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.state = state
            job.error = error
            job.lease_until = None
            job.finished_at = now
            job.updated_at = now
            if state == "succeeded":
                job.total = max(job.total, job.done)
    logger.info("Bulk resend job %s %s", job_id, state, extra={"action": f"bulk_resend_{state}"})
    return state


def _requeue(database: Database, job_id: str, reason: str | None) -> None:
    with database.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(state="queued", error=reason, lease_until=None, updated_at=clock.now())
        )


def _budget_allows(database: Database, account_id: str) -> bool:
    """Tell whether the account's Salesforce API budget allows a bulk resend to spend calls now."""
    from docrelay.salesforce.budget import budget_allows_background_work

    with database.transaction() as session:
        account = session.get(Account, account_id)
        return account is None or budget_allows_background_work(session, account)
