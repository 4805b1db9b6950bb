"""The web-notification destination the delivery worker sends ``webhook`` deliveries through.

One aiohttp session per worker carries every request, with a per-host
connection limit so one slow receiver cannot take every connection. For each
delivery the destination reads the merge data and the design in a worker
thread, renders, signs and sends with :func:`~docrelay.webhooks.attempt.attempt_delivery`,
and returns the outcome. The ``webhook-id`` is the delivery id, so it stays
the same across retries and resends and receivers can deduplicate on it.

Pauses and their release are the engine's: a 401 or 403 from a design with
auth parks the deliveries of that design's destination key only, and a
change to the design's credentials resumes them (see
:func:`design_credentials_changed`). A 410 disables the design here and
opens an alert, because the receiver reported that it is gone for good.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

import aiohttp
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import DecryptionError
from docrelay.delivery import repository
from docrelay.delivery.alerts import AlertSpec, credential_alert_key
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.repository import DeliveryJob
from docrelay.runtime import DELIVERIES_CREATED, Runtime
from docrelay.storage.models import Design
from docrelay.webhooks.attempt import AttemptReport, WebhookDesign, attempt_delivery
from docrelay.webhooks.job_source import (
    merge_source,
    tracking_credential,
    uses_account_credential,
    webhook_design,
)
from docrelay.webhooks.merge_fields import build_merge_values
from docrelay.webhooks.sender import make_client_session

logger = logging.getLogger(__name__)

LIMIT_PER_HOST = 16
"""Connections one worker keeps open to one receiver host."""
DB_THREADS = 2


def gone_alert_key(design_id: str) -> str:
    """Return the key of the alert opened when a receiver responds 410 Gone."""
    return f"design:{design_id}:gone"


class WebhookDestination:
    """Sends ``webhook`` deliveries; create it with :func:`create_destination`."""

    def __init__(self, runtime: Runtime, *, limit_per_host: int = LIMIT_PER_HOST) -> None:
        self.runtime = runtime
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            DB_THREADS, thread_name_prefix="docrelay-webhook"
        )

    def _client(self) -> aiohttp.ClientSession:
        # aiohttp sessions belong to the loop that made them, so make it on first use.
        if self._session is None or self._session.closed:
            self._session = make_client_session(
                self.runtime.settings.allowed_networks, limit_per_host=self._limit_per_host
            )
        return self._session

    async def send(self, job: DeliveryJob) -> AttemptOutcome:
        """Send one delivery and return its classified outcome."""
        report = await self.attempt(job)
        if report.outcome.disable_design:
            await self._in_thread(self._disable_design, job, report.outcome)
        return report.outcome

    async def attempt(self, job: DeliveryJob) -> AttemptReport:
        """Make one attempt for ``job`` and return the full report."""
        try:
            design, values = await self._in_thread(self._prepare, job)
        except (DecryptionError, PydanticValidationError) as exc:
            # Retrying cannot repair stored settings; an admin must save the design again.
            logger.error(
                "Design %s cannot be used: %s",
                job.design.id,
                type(exc).__name__,
                extra={"action": "webhook_design_unusable", "design_id": job.design.id},
            )
            message = (
                "The design's stored settings or secrets cannot be read "
                f"({type(exc).__name__}); save the design again, then resend"
            )
            outcome = AttemptOutcome(
                OutcomeKind.FAIL, error_class="design_invalid", message=message
            )
            return AttemptReport(outcome, None, None, ())
        return await attempt_delivery(self._client(), design, values, job.claimed.id, clock.now())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._pool.shutdown(wait=False)

    async def _in_thread(self, function: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, function, *args)

    def _prepare(self, job: DeliveryJob) -> tuple[WebhookDesign, dict[str, str]]:
        box = self.runtime.secrets
        tracking = tracking_credential(box, job.account)
        with self.runtime.database.session() as session:
            source = merge_source(
                session, self.runtime.blobs, job.event, job.document, job.account, tracking
            )
        return webhook_design(box, job.design, tracking), build_merge_values(source)

    def _disable_design(self, job: DeliveryJob, outcome: AttemptOutcome) -> None:
        now = clock.now()
        reason = outcome.message or "the receiver responded with 410 Gone"
        with self.runtime.database.transaction() as session:
            design = session.get(Design, job.design.id)
            if design is None:
                return
            design.enabled = False
            design.disabled_reason = reason
            design.updated_at = now
            spec = AlertSpec(
                account_id=design.account_id,
                key=gone_alert_key(design.id),
                kind="design_disabled",
                message=(
                    f"Design {design.name!r} was disabled because {job.design.config.get('url')} "
                    "answered 410 Gone. Fix the URL and enable the design again; "
                    "failed deliveries can then be resent."
                ),
                details={"design_id": design.id, "delivery_id": job.claimed.id},
            )
            repository.open_alert(session, spec, now)
        logger.warning(
            "Design %s disabled after 410 Gone",
            job.design.id,
            extra={"action": "design_disabled", "design_id": job.design.id},
        )


def create_destination(runtime: Runtime) -> WebhookDestination:
    """Return the destination :func:`~docrelay.delivery.destinations.base.build_registry` registers."""
    return WebhookDestination(runtime)


def design_credentials_changed(session: Session, design: Design) -> int:
    """Resume the deliveries of ``design`` parked for a rejected credential and close its alert.

    Call it in the transaction that changes the design's auth settings or
    secrets. Returns how many deliveries were resumed.
    """
    now = clock.now()
    count = repository.resume_paused(
        session,
        design.account_id,
        repository.PAUSE_CREDENTIAL,
        now,
        destination_key_prefix=f"design:{design.id}",
    )
    repository.close_alert(
        session, design.account_id, credential_alert_key(design.kind, design.id), now
    )
    if count:
        session.info[DELIVERIES_CREATED] = True
    logger.info(
        "Credentials of design %s changed: %d paused deliveries resumed",
        design.id,
        count,
        extra={"action": "design_credential_resumed", "design_id": design.id, "count": count},
    )
    return count


def account_credential_changed(session: Session, account_id: str) -> int:
    """Resume web notifications paused while they used the account's tracking credential.

    Call it in the transaction that stores a new Salesforce credential.
    Returns how many deliveries were resumed.
    """
    designs = session.scalars(
        select(Design).where(Design.account_id == account_id, Design.kind == "webhook")
    ).all()
    return sum(
        design_credentials_changed(session, design)
        for design in designs
        if uses_account_credential(design)
    )
