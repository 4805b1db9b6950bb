"""The org's daily API budget: background work pauses before Salesforce starts refusing calls.

Every Salesforce response carries ``Sforce-Limit-Info: api-usage=used/allocation``
for the org's rolling 24 hours. The connection stores the last values in
``salesforce_usage``. Above ``account.salesforce_budget_pause_percent`` (90 by
default) the work that can wait, the reconciler and bulk resends, stops for
that org, and an alert shows the admin why. Status deliveries keep going: they
are what users look at, and Salesforce refuses them itself with
``REQUEST_LIMIT_EXCEEDED`` when the allocation is used up, which the engine
retries later.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.delivery.alerts import AlertSpec, close_alert, open_alert
from docrelay.storage.models import Account, SalesforceUsage

logger = logging.getLogger(__name__)

BUDGET_ALERT_KEY = "salesforce_budget"


def org_key(account_id: str) -> str:
    """Return the ``salesforce_usage`` key of the org an account's credential logs in to."""
    return f"salesforce:{account_id}"


def over_budget(used: int, allocation: int, pause_percent: int) -> bool:
    """Tell whether ``used`` of ``allocation`` reaches the pause threshold."""
    if allocation <= 0:
        return False
    return used * 100 >= allocation * pause_percent


def budget_allows_background_work(session: Session, account: Account) -> bool:
    """Tell whether the reconciler or a bulk resend may spend this account's Salesforce API calls.

    Returns False while the last recorded usage of the account's org is at or
    above ``account.salesforce_budget_pause_percent``, and opens (or refreshes)
    the ``salesforce_budget`` alert in ``session``. Once usage drops below the
    threshold it returns True and closes that alert. An org with no recorded
    usage yet is within budget.
    """
    row = session.execute(
        select(SalesforceUsage.used, SalesforceUsage.allocation).where(
            SalesforceUsage.org_key == org_key(account.id)
        )
    ).first()
    percent = account.salesforce_budget_pause_percent or 90
    now = clock.now()
    if row is None or not over_budget(row.used, row.allocation, percent):
        if close_alert(session, account.id, BUDGET_ALERT_KEY, now):
            logger.info(
                "Salesforce API usage is below the pause threshold again; background work resumes",
                extra={"action": "salesforce_budget_resumed", "account_id": account.id},
            )
        return True
    open_alert(session, budget_alert(account.id, row.used, row.allocation, percent), now)
    return False


def budget_alert(account_id: str, used: int, allocation: int, percent: int) -> AlertSpec:
    """Describe the alert shown while background Salesforce work is paused for the budget."""
    share = used * 100 / allocation
    message = (
        f"The Salesforce org has used {used:,} of its {allocation:,} daily API requests "
        f"({share:.0f}%, pause threshold {percent}%). The reconciler and bulk resends wait until "
        "usage drops; status deliveries continue. Raise salesforce_budget_pause_percent in the "
        "account settings or ask Salesforce for a larger allocation if this happens often."
    )
    return AlertSpec(
        account_id=account_id,
        key=BUDGET_ALERT_KEY,
        kind="salesforce_budget",
        message=message,
        details={"used": used, "allocation": allocation, "pause_percent": percent},
    )
