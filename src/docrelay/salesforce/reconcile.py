"""The reconciler: bring Salesforce back in line with documents whose status never arrived.

A document is *behind* when the status Salesforce last confirmed
(``document.salesforce_confirmed_sequence``) is not its current one: nothing
was confirmed yet, or an event at or after the confirmed sequence carries
another status. That happens when a status delivery failed permanently, gave
up after its retries, or was lost with its receiver's data. The reconciler
pushes the current status of each behind document in Collections batches
(:mod:`docrelay.salesforce.push`), never an older one.

Only documents linked to a Salesforce record that had Salesforce deliveries
are considered, and none whose Salesforce delivery is still pending,
retrying, in flight or paused: the engine is still working on those. An
account whose credential is paused is skipped, and one over its API budget
(:mod:`docrelay.salesforce.budget`) waits for the next run.

One worker at a time runs it, under the ``reconcile`` periodic lease, every
``settings.reconcile_interval`` seconds; ``docrelay reconcile`` runs it now.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, exists, or_, select

from docrelay import clock
from docrelay.delivery.alerts import SALESFORCE_CREDENTIAL_KEY
from docrelay.delivery.outbox import SALESFORCE_KINDS
from docrelay.runtime import Runtime
from docrelay.salesforce import repository
from docrelay.salesforce.budget import budget_allows_background_work, org_key, over_budget
from docrelay.salesforce.push import (
    PushResult,
    connection_for_account,
    linked_documents,
    push_statuses,
)
from docrelay.storage import leases
from docrelay.storage.models import Account, Alert, Delivery, Document, Event

logger = logging.getLogger(__name__)

LEASE_NAME = "reconcile"
ACTIVE_STATES = ("pending", "in_flight", "retrying", "paused")
"""Delivery states in which the engine still owns a document's Salesforce status."""

Progress = Callable[[str, int, int], None]
"""Receives (account id, documents handled so far, documents behind) after each batch."""


@dataclasses.dataclass
class AccountRun:
    """One account's part of a reconciler run."""

    account_id: str
    state: str = "done"
    """``done``, ``paused_budget``, ``credential_paused`` or ``failed``."""
    behind: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    error: str | None = None
    results: list[PushResult] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        view = dataclasses.asdict(self)
        view.pop("results")
        return view


@dataclasses.dataclass
class ReconcileReport:
    """The result of one reconciler run, per account."""

    accounts: list[AccountRun] = dataclasses.field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(item.written for item in self.accounts)


def behind_documents(runtime: Runtime, account_id: str) -> list[str]:
    """Return the ids of the account's linked documents whose confirmed status is behind."""
    salesforce_delivery = and_(
        Delivery.document_id == Document.id, Delivery.kind.in_(SALESFORCE_KINDS)
    )
    other_status_since_confirmed = exists().where(
        Event.document_id == Document.id,
        Event.sequence >= Document.salesforce_confirmed_sequence,
        Event.status != Document.status,
    )
    query = (
        select(Document.id)
        .where(
            Document.account_id == account_id,
            Document.crm_system == "salesforce",
            Document.crm_record_id.is_not(None),
            or_(Document.salesforce_confirmed_sequence == 0, other_status_since_confirmed),
            exists().where(salesforce_delivery),
            ~exists().where(salesforce_delivery, Delivery.state.in_(ACTIVE_STATES)),
        )
        .order_by(Document.id)
    )
    with runtime.database.session() as session:
        return list(session.scalars(query))


def reconcile(
    runtime: Runtime,
    *,
    account_ids: list[str] | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Re-push the current status of every behind document, account by account."""
    report = ReconcileReport()
    for account in _accounts(runtime, account_ids):
        run = AccountRun(account.id)
        report.accounts.append(run)
        try:
            _reconcile_account(runtime, account, run, progress)
        except Exception as exc:
            run.state, run.error = "failed", f"{type(exc).__name__}: {exc}"
            logger.warning(
                "Reconciling Salesforce statuses of account %s failed: %s",
                account.id,
                run.error,
                extra={"action": "reconcile_failed", "account_id": account.id},
            )
    return report


def _accounts(runtime: Runtime, account_ids: list[str] | None) -> list[Account]:
    query = select(Account).where(
        Account.tracking_enabled.is_(True), Account.salesforce_credential_encrypted.is_not(None)
    )
    if account_ids is not None:
        query = query.where(Account.id.in_(account_ids))
    with runtime.database.session() as session:
        return list(session.scalars(query.order_by(Account.id)))


def _reconcile_account(
    runtime: Runtime, account: Account, run: AccountRun, progress: Progress | None
) -> None:
    with runtime.database.transaction() as session:
        if _credential_paused(session, account.id):
            run.state = "credential_paused"
            return
        if not budget_allows_background_work(session, account):
            run.state = "paused_budget"
            return
    behind = behind_documents(runtime, account.id)
    run.behind = len(behind)
    if progress is not None:
        progress(account.id, 0, run.behind)
    if not behind:
        return

    connection = connection_for_account(runtime, account)
    percent = account.salesforce_budget_pause_percent or 90

    def after_chunk(chunk: list[PushResult]) -> bool:
        run.results += chunk
        if progress is not None:
            progress(account.id, len(run.results), run.behind)
        usage = connection.usage
        if usage is not None and over_budget(usage[0], usage[1], percent):
            run.state = "paused_budget"
            return False
        return True

    try:
        push_statuses(
            runtime,
            connection,
            account,
            linked_documents(runtime, account.id, behind),
            on_chunk=after_chunk,
        )
    finally:
        _count(run)
        if connection.usage is not None:
            used, allocation = connection.usage
            repository.record_usage(
                runtime.database, org_key(account.id), account.id, used, allocation, clock.now()
            )
    if run.state == "paused_budget":
        with runtime.database.transaction() as session:
            budget_allows_background_work(session, account)
    logger.info(
        "Reconciled Salesforce statuses of account %s: %d behind, %d written, %d failed",
        account.id,
        run.behind,
        run.written,
        run.failed,
        extra={"action": "reconcile_done", "account_id": account.id, "written": run.written},
    )


def _count(run: AccountRun) -> None:
    run.written = sum(item.outcome == "written" for item in run.results)
    run.skipped = sum(item.outcome == "skipped" for item in run.results)
    run.failed = sum(item.outcome == "failed" for item in run.results)


def _credential_paused(session: Any, account_id: str) -> bool:
    found = session.scalar(
        select(Alert.id).where(
            Alert.account_id == account_id,
            Alert.key == SALESFORCE_CREDENTIAL_KEY,
            Alert.closed_at.is_(None),
        )
    )
    return found is not None


# --- periodic run --------------------------------------------------------------------------


def reconcile_leased(runtime: Runtime, holder: str, ttl: dt.timedelta) -> ReconcileReport | None:
    """Run the reconciler if ``holder`` gets the ``reconcile`` lease; None when another worker has it."""
    if not leases.try_acquire(runtime.database, LEASE_NAME, holder, ttl):
        return None
    report = reconcile(runtime)
    leases.mark_run(runtime.database, LEASE_NAME, holder)
    return report


async def run_reconcile_loop(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the reconciler every ``settings.reconcile_interval`` seconds until ``stop`` is set.

    The first run waits one interval, so a starting worker first drains
    what the engine already has queued.
    """
    interval = runtime.settings.reconcile_interval
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    ttl = dt.timedelta(seconds=max(interval * 2, 120))
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                break
            try:
                await asyncio.to_thread(reconcile_leased, runtime, holder, ttl)
            except Exception:
                logger.exception(
                    "The Salesforce reconciler failed; it runs again next interval",
                    extra={"action": "reconcile_crashed"},
                )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(leases.release, runtime.database, LEASE_NAME, holder)
