"""Account-level switches that park and release deliveries.

Called by the settings service in the transaction that changes the setting,
so the switch and its effect on deliveries commit together.
"""

from __future__ import annotations

import importlib
import logging

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.delivery import repository
from docrelay.delivery.alerts import SALESFORCE_CREDENTIAL_KEY
from docrelay.runtime import DELIVERIES_CREATED
from docrelay.storage.models import Account

logger = logging.getLogger(__name__)


def tracking_switched(session: Session, account: Account, enabled: bool) -> int:
    """Park the account's waiting deliveries when tracking goes off; release them when it comes on.

    Returns how many deliveries changed state. Deliveries parked for a
    rejected credential stay parked either way.
    """
    now = clock.now()
    if enabled:
        count = repository.resume_paused(session, account.id, repository.PAUSE_TRACKING_OFF, now)
        if count:
            session.info[DELIVERIES_CREATED] = True
        action = "tracking_resumed"
    else:
        count = repository.pause_waiting(session, account.id, repository.PAUSE_TRACKING_OFF, now)
        action = "tracking_paused"
    logger.info(
        "Tracking %s for account %s: %d deliveries %s",
        "on" if enabled else "off",
        account.id,
        count,
        "resumed" if enabled else "paused",
        extra={"action": action, "account_id": account.id, "count": count},
    )
    return count


def credential_changed(session: Session, account: Account) -> int:
    """Release deliveries parked for the rejected Salesforce credential and close its alert.

    Web notifications that authenticate with the account's credential are
    released too.

    Returns how many deliveries were resumed. They keep their original order:
    per document and design by ``sequence``, across documents by creation time.
    """
    now = clock.now()
    count = repository.resume_paused(
        session, account.id, repository.PAUSE_CREDENTIAL, now, destination_key_prefix="salesforce:"
    )
    repository.close_alert(session, account.id, SALESFORCE_CREDENTIAL_KEY, now)
    count += _resume_webhooks_on_account_credential(session, account.id)
    if count:
        session.info[DELIVERIES_CREATED] = True
    logger.info(
        "Salesforce credential of account %s changed: %d paused deliveries resumed",
        account.id,
        count,
        extra={"action": "credential_resumed", "account_id": account.id, "count": count},
    )
    return count


def _resume_webhooks_on_account_credential(session: Session, account_id: str) -> int:
    try:
        webhooks = importlib.import_module("docrelay.webhooks.destination")
    except ModuleNotFoundError as exc:
        if exc.name != "docrelay.webhooks.destination":
            raise
        return 0
    resume = getattr(webhooks, "account_credential_changed", None)
    return int(resume(session, account_id)) if resume is not None else 0
