"""Alerts an admin should see: a paused credential, deliveries parked by the engine.

An alert is identified by its account and ``key``. Opening one that is
already open updates its message instead of adding a second row. Closing
it sets ``closed_at``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from docrelay.delivery.outbox import SALESFORCE_KINDS
from docrelay.storage.models import Account, Alert
from docrelay.storage.types import new_id

if TYPE_CHECKING:
    from docrelay.delivery.outcome import AttemptOutcome
    from docrelay.delivery.repository import DeliveryJob

logger = logging.getLogger(__name__)

SALESFORCE_CREDENTIAL_KEY = "salesforce_credential"

alerts = cast(Table, Alert.__table__)
accounts = cast(Table, Account.__table__)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert to open (or refresh) for an account."""

    account_id: str
    key: str
    kind: str
    message: str
    details: dict[str, Any]


def credential_alert_key(kind: str, design_id: str) -> str:
    """Return the alert key of the credential a delivery of this design kind uses."""
    if kind in SALESFORCE_KINDS:
        return SALESFORCE_CREDENTIAL_KEY
    return f"design:{design_id}:credential"


def credential_alert(job: DeliveryJob | None, outcome: AttemptOutcome) -> AlertSpec | None:
    """Describe the alert for a rejected credential found by ``job``'s attempt."""
    if job is None:
        return None
    salesforce = job.claimed.kind in SALESFORCE_KINDS
    what = (
        "The Salesforce credential"
        if salesforce
        else f"The credential of design {job.design.name!r}"
    )
    fix = (
        "Update it with PUT /api/v1/settings/salesforce-credential"
        if salesforce
        else "Update the design's authentication settings"
    )
    message = (
        f"{what} was rejected ({outcome.error_class}: {outcome.message}). "
        f"Deliveries that use it are paused and spend no attempts. {fix}; the paused deliveries then resume in order."
    )
    return AlertSpec(
        account_id=job.claimed.account_id,
        key=credential_alert_key(job.claimed.kind, job.claimed.design_id),
        kind="credential_rejected",
        message=message,
        details={
            "error_class": outcome.error_class,
            "destination_key": job.claimed.destination_key,
        },
    )


# --- SQL ----------------------------------------------------------------------------------


def open_alert(session: Session, spec: AlertSpec, now: dt.datetime) -> None:
    """Open ``spec``'s alert, or refresh its message when it is already open.

    The account row is locked first (on PostgreSQL), so two workers pausing
    the same credential at once cannot both insert an alert.
    """
    lock_account(session, spec.account_id)
    existing = session.execute(
        select(alerts.c.id).where(
            alerts.c.account_id == spec.account_id,
            alerts.c.key == spec.key,
            alerts.c.closed_at.is_(None),
        )
    ).first()
    if existing is not None:
        session.execute(
            update(alerts)
            .where(alerts.c.id == existing.id)
            .values(message=spec.message, details=spec.details, kind=spec.kind, updated_at=now)
        )
        return
    session.execute(
        insert(alerts).values(
            id=new_id(),
            account_id=spec.account_id,
            key=spec.key,
            kind=spec.kind,
            message=spec.message,
            details=spec.details,
            opened_at=now,
            updated_at=now,
        )
    )
    logger.warning(
        "Alert opened for account %s: %s",
        spec.account_id,
        spec.message,
        extra={"action": "alert_opened", "account_id": spec.account_id, "alert_key": spec.key},
    )


def lock_account(session: Session, account_id: str) -> None:
    """Take the account row's lock until commit; SQLite's BEGIN IMMEDIATE already serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())


def close_alert(session: Session, account_id: str, key: str, now: dt.datetime) -> int:
    """Close the open alert ``key`` of an account; return how many rows were closed."""
    result = session.execute(
        update(alerts)
        .where(alerts.c.account_id == account_id, alerts.c.key == key, alerts.c.closed_at.is_(None))
        .values(closed_at=now, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def open_alerts(session: Session, account_id: str) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.account_id == account_id, Alert.closed_at.is_(None))
            .order_by(Alert.opened_at, Alert.id)
        )
    )
