"""The circuit breaker of each destination (a web endpoint, or a Salesforce org).

A destination is what a delivery's ``destination_key`` names: ``design:<id>``
for a web notification, ``salesforce:<account id>`` for every Salesforce
design of an account, because they all write to the same org.

After :data:`THRESHOLD` passing failures in a row the breaker opens. While it
is open:

* queued retries wait: they are not claimed, so a destination that is down is
  not hammered by every retry that comes due;
* first attempts for new events still go out, one at a time, as probes: they
  tell us soonest when the destination is back, and a new event should not
  wait for a backlog;
* when no first attempt is waiting, one held retry is tried as a probe at most
  every :data:`PROBE_SECONDS` after the last failure, so a quiet destination is
  not held forever.

The first success closes the breaker and releases the held retries: each
becomes due now (or keeps an earlier due time), so they go out in their
original order.

The state is stored in the ``breaker_state``, ``breaker_since`` and
``consecutive_failures`` columns of every design that shares the destination,
and they are all updated together. ``breaker_since`` is when the breaker opened. The time
of the last failure while open is the ``updated_at`` of the open breaker
alert, which each failure refreshes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import Table, and_, func, literal, select, text, update
from sqlalchemy.orm import Session

from docrelay.delivery.alerts import AlertSpec, close_alert, open_alert
from docrelay.delivery.outbox import SALESFORCE_KINDS
from docrelay.storage.models import Alert, Delivery, Design

logger = logging.getLogger(__name__)

THRESHOLD = 5
"""Consecutive passing failures of a destination after which its queued retries wait."""
PROBE_SECONDS = 60.0
"""While open and without new events, a held retry is tried this long after the last failure."""

deliveries = cast(Table, Delivery.__table__)
designs = cast(Table, Design.__table__)
alerts = cast(Table, Alert.__table__)


def alert_key(destination_key: str) -> str:
    return f"breaker:{destination_key}"


def destination_designs(destination_key: str) -> Any:
    """Return the condition on ``designs`` that selects every design sharing ``destination_key``.

    NOTE: a Salesforce design created while the org's breaker is open starts
    closed, so its deliveries are not held until the next failure counts.
    """
    kind, _, rest = destination_key.partition(":")
    if kind == "salesforce":
        return and_(designs.c.account_id == rest, designs.c.kind.in_(SALESFORCE_KINDS))
    design_id = rest.split(":", 1)[0]
    return designs.c.id == design_id


def key_of(kind: str, account_id: str, design_id: str) -> str:
    """Return the destination key of a design, as the outbox assigns it."""
    if kind in SALESFORCE_KINDS:
        return f"salesforce:{account_id}"
    return f"design:{design_id}"


# --- recording outcomes -------------------------------------------------------------------


def record_success(
    session: Session, account_id: str, destination_key: str, now: dt.datetime
) -> bool:
    """Reset the failure count; close an open breaker and release its retries. Return whether it was open."""
    closed = session.execute(
        update(designs)
        .where(destination_designs(destination_key), designs.c.breaker_state == "open")
        .values(breaker_state="closed", breaker_since=None, consecutive_failures=0)
    )
    if int(closed.rowcount):  # type: ignore[attr-defined]
        released = release_held(session, destination_key, now)
        close_alert(session, account_id, alert_key(destination_key), now)
        logger.info(
            "Circuit breaker of %s closed after a success; %d held retries released",
            destination_key,
            released,
            extra={"action": "breaker_closed", "destination_key": destination_key},
        )
        return True
    session.execute(
        update(designs)
        .where(destination_designs(destination_key), designs.c.consecutive_failures != 0)
        .values(consecutive_failures=0)
    )
    return False


def release_held(session: Session, destination_key: str, now: dt.datetime) -> int:
    """Make the destination's held retries due now, keeping earlier due times (and so their order)."""
    earliest = (
        func.min(deliveries.c.available_at, now)
        if session.get_bind().dialect.name == "sqlite"
        else func.least(deliveries.c.available_at, now)
    )
    result = session.execute(
        update(deliveries)
        .where(deliveries.c.destination_key == destination_key, deliveries.c.state == "retrying")
        .values(available_at=earliest)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_failure(
    session: Session, account_id: str, destination_key: str, now: dt.datetime
) -> None:
    """Count a passing failure; open the breaker at the threshold, or refresh the open alert."""
    matches = destination_designs(destination_key)
    session.execute(
        update(designs)
        .where(matches)
        .values(consecutive_failures=designs.c.consecutive_failures + 1)
    )
    row = session.execute(
        select(
            func.max(designs.c.consecutive_failures).label("failures"),
            func.max(designs.c.breaker_state).label("state"),
            func.min(designs.c.name).label("name"),
        ).where(matches)
    ).one()
    if row.failures is None:
        return
    if row.state != "open" and row.failures < THRESHOLD:
        return
    if row.state != "open":
        session.execute(
            update(designs).where(matches).values(breaker_state="open", breaker_since=now)
        )
        logger.warning(
            "Circuit breaker of %s opened after %d failures in a row",
            destination_key,
            row.failures,
            extra={"action": "breaker_opened", "destination_key": destination_key},
        )
    open_alert(session, _alert(account_id, destination_key, row.name, int(row.failures)), now)


def _alert(account_id: str, destination_key: str, name: str, failures: int) -> AlertSpec:
    what = (
        "The Salesforce org"
        if destination_key.startswith("salesforce:")
        else f"The endpoint of design {name!r}"
    )
    return AlertSpec(
        account_id=account_id,
        key=alert_key(destination_key),
        kind="breaker_open",
        message=(
            f"{what} failed {failures} times in a row. Its queued retries wait until a delivery "
            "succeeds; first attempts for new events are still sent, one at a time."
        ),
        details={"destination_key": destination_key, "consecutive_failures": failures},
    )


# --- probes -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OpenDestination:
    account_id: str
    destination_key: str


def open_destinations(session: Session) -> list[OpenDestination]:
    """Return every destination whose breaker is open."""
    rows = session.execute(
        select(designs.c.account_id, designs.c.kind, designs.c.id).where(
            designs.c.breaker_state == "open"
        )
    ).all()
    found = {key_of(row.kind, row.account_id, row.id): row.account_id for row in rows}
    return [OpenDestination(account, key) for key, account in sorted(found.items())]


def probe_candidate(
    session: Session, waiting: Any, destination: OpenDestination, now: dt.datetime
) -> Any | None:
    """Return a select of the one delivery to send as this destination's probe, or None.

    ``waiting`` is the claim query of due, unblocked deliveries without the
    breaker filter. Nothing is chosen while a delivery of the destination is
    in flight. On PostgreSQL a transaction-scoped advisory lock per
    destination comes first, so two workers cannot both start a probe for
    one destination. Only this function takes that lock, and its holder waits
    for no other lock, so it cannot deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"breaker-probe:{destination.destination_key}"},
        )
    busy = session.scalar(
        select(deliveries.c.id)
        .where(
            deliveries.c.state == "in_flight",
            deliveries.c.destination_key == destination.destination_key,
        )
        .limit(1)
    )
    if busy is not None:
        return None
    probe_before = now - dt.timedelta(seconds=PROBE_SECONDS)
    quiet = (
        select(literal(1))
        .where(
            alerts.c.account_id == destination.account_id,
            alerts.c.key == alert_key(destination.destination_key),
            alerts.c.closed_at.is_(None),
            alerts.c.updated_at <= probe_before,
        )
        .exists()
    )
    is_retry = deliveries.c.state == "retrying"
    return (
        waiting.where(
            deliveries.c.destination_key == destination.destination_key,
            (deliveries.c.state == "pending") | (is_retry & quiet),
        )
        .order_by(None)
        .order_by(is_retry, deliveries.c.available_at, deliveries.c.id)
        .limit(1)
    )


def design_breaker_view(design: Design) -> dict[str, Any]:
    """Return the breaker part of a design's API view."""
    return {
        "state": design.breaker_state,
        "since": design.breaker_since.isoformat() if design.breaker_since else None,
        "consecutive_failures": design.consecutive_failures,
        "threshold": THRESHOLD,
    }
