"""Alert emails: who is told about a failed delivery, when, and what the email contains.

Two audiences:

* a design's ``failure_contacts``, per its ``notify_on``: ``first`` (the
  first failed attempt of a delivery), ``final`` (a delivery failed for good)
  or ``all`` (every failed attempt);
* the account's ``technical_contacts``, when a rejected credential pauses
  deliveries or a destination's circuit breaker opens.

Each failure becomes an :class:`~docrelay.storage.models.AlertNotice` row,
written in the transaction that records the attempt. The periodic mail pass
(:func:`send_due`) turns the unsent notices of one key into one email, and
sends at most one email per key (one design, or one alert) every
:data:`THROTTLE`: failures in between wait in the database, so the summary
survives a restart, and go out together in the next email.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal, select, update
from sqlalchemy.orm import Session

from docrelay.delivery.mail import Mailer, build_message
from docrelay.delivery.outbox import SALESFORCE_KINDS
from docrelay.storage.db import Database
from docrelay.storage.models import Account, Alert, AlertNotice, Delivery, Design, Document

logger = logging.getLogger(__name__)

THROTTLE = dt.timedelta(minutes=15)
"""At most one email per key in this window; later failures are summarised in the next one."""
TECHNICAL_KINDS = ("credential_rejected", "breaker_open")
LISTED_FAILURES = 20

notices = cast(Table, AlertNotice.__table__)
alerts = cast(Table, Alert.__table__)
_URL = re.compile(r"https?://[^\s/\"'<>]+", re.IGNORECASE)


def design_key(design_id: str) -> str:
    return f"design:{design_id}"


def wants_email(notify_on: str, attempt_number: int, final: bool) -> bool:
    """Tell whether a failed attempt is one the design's contacts asked to hear about."""
    if notify_on == "all":
        return True
    if notify_on == "first":
        return attempt_number == 1
    return final


def note_failure(
    session: Session,
    delivery: dict[str, Any],
    failure: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """Queue an email notice for a failed attempt when the design's ``notify_on`` requests it.

    ``delivery`` contains the delivery's ``id``, ``design_id``, ``document_id``,
    ``event_type``, ``sequence``, ``destination_key`` and ``attempt_number``;
    ``failure`` contains ``state`` (``retrying`` or ``failed``), ``error_class``,
    ``error_message``, ``request_summary`` and ``next_attempt_at``. Returns
    whether a notice was written.
    """
    design = session.get(Design, delivery["design_id"])
    if design is None or not design.failure_contacts:
        return False
    final = failure["state"] == "failed"
    if not wants_email(design.notify_on, int(delivery["attempt_number"]), final):
        return False
    document = session.get(Document, delivery["document_id"])
    next_at = failure.get("next_attempt_at")
    facts = {
        "delivery_id": delivery["id"],
        "design_id": design.id,
        "design_name": design.name,
        "design_kind": design.kind,
        "document_id": delivery["document_id"],
        "document_name": document.name if document is not None else None,
        "event": delivery["event_type"],
        "sequence": delivery["sequence"],
        "attempt": delivery["attempt_number"],
        "state": failure["state"],
        "destination_key": delivery["destination_key"],
        "endpoint_host": endpoint_host(design, failure.get("request_summary")),
        "error_class": failure.get("error_class"),
        "error_message": failure.get("error_message"),
        "salesforce_error_code": failure.get("error_class")
        if design.kind in SALESFORCE_KINDS
        else None,
        "next_attempt_at": next_at.isoformat() if next_at is not None else None,
        "occurred_at": now.isoformat(),
    }
    session.execute(
        insert(notices).values(
            account_id=design.account_id,
            key=design_key(design.id),
            kind="delivery_failed",
            recipients=list(design.failure_contacts),
            facts=facts,
            created_at=now,
        )
    )
    return True


def endpoint_host(design: Design, request_summary: str | None) -> str | None:
    """Return the host the attempt talked to, from its request summary or the design's URL."""
    for text in (request_summary, str((design.config or {}).get("url") or "")):
        if not text:
            continue
        found = _URL.search(text)
        if found:
            return urllib.parse.urlsplit(found.group(0)).hostname
    return None


# --- the mail pass ------------------------------------------------------------------------


def send_due(database: Database, mailer: Mailer, now: dt.datetime) -> int:
    """Send one email per key whose notices wait and whose throttle window has passed; return how many."""
    with database.transaction() as session:
        _notice_new_technical_alerts(session, now)
        keys = list(
            session.scalars(select(notices.c.key).where(notices.c.sent_at.is_(None)).distinct())
        )
    sent = 0
    for key in keys:
        if _send_key(database, mailer, key, now):
            sent += 1
    return sent


def _notice_new_technical_alerts(session: Session, now: dt.datetime) -> None:
    """Write a notice for each open credential or breaker alert that has none yet."""
    noticed = select(literal(1)).where(notices.c.key == literal("alert:") + alerts.c.id).exists()
    rows = session.execute(
        select(Alert).where(Alert.closed_at.is_(None), Alert.kind.in_(TECHNICAL_KINDS), ~noticed)
    ).scalars()
    for alert in rows:
        account = session.get(Account, alert.account_id)
        contacts = list(account.technical_contacts or []) if account is not None else []
        session.execute(
            insert(notices).values(
                account_id=alert.account_id,
                key=f"alert:{alert.id}",
                kind=alert.kind,
                recipients=contacts,
                facts={
                    "message": alert.message,
                    "details": alert.details,
                    "opened_at": alert.opened_at.isoformat(),
                },
                created_at=now,
                # An account without technical contacts has no recipient, so the notice counts as sent.
                sent_at=None if contacts else now,
            )
        )


def _send_key(database: Database, mailer: Mailer, key: str, now: dt.datetime) -> bool:
    with database.session() as session:
        last_sent = session.scalar(select(func.max(notices.c.sent_at)).where(notices.c.key == key))
        if last_sent is not None and now - last_sent < THROTTLE:
            return False
        pending = list(
            session.scalars(
                select(AlertNotice)
                .where(AlertNotice.key == key, AlertNotice.sent_at.is_(None))
                .order_by(AlertNotice.id)
            )
        )
        if not pending:
            return False
        waiting = _waiting_count(session, pending[0])
    subject, body = compose(pending, waiting)
    recipients = sorted({address for notice in pending for address in notice.recipients})
    try:
        message = build_message(
            sender=mailer.sender, recipients=recipients, subject=subject, body=body, now=now
        )
        where = mailer.send(message)
    except Exception:
        # The notices stay unsent, so the next pass tries again with everything still in them.
        logger.exception(
            "Sending the alert email for %s failed", key, extra={"action": "alert_mail_failed"}
        )
        return False
    with database.transaction() as session:
        session.execute(
            update(notices)
            .where(notices.c.id.in_([notice.id for notice in pending]))
            .values(sent_at=now)
        )
    logger.info(
        "Alert email for %s sent to %d recipients (%d failures)",
        key,
        len(recipients),
        len(pending),
        extra={"action": "alert_mail_sent", "alert_key": key, "target": where},
    )
    return True


def _waiting_count(session: Session, notice: AlertNotice) -> int:
    facts = notice.facts or {}
    destination = facts.get("destination_key") or (facts.get("details") or {}).get(
        "destination_key"
    )
    statement = select(func.count()).where(
        Delivery.account_id == notice.account_id,
        Delivery.state.in_(("pending", "retrying", "paused")),
    )
    if destination:
        statement = statement.where(Delivery.destination_key == destination)
    elif (facts.get("details") or {}).get("design_id"):
        statement = statement.where(Delivery.design_id == facts["details"]["design_id"])
    return int(session.scalar(statement) or 0)


# --- composing ----------------------------------------------------------------------------


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def compose(pending: list[AlertNotice], waiting: int) -> tuple[str, str]:
    """Return the subject and body of the email that reports ``pending`` (oldest first)."""
    first = pending[0]
    if first.kind == "delivery_failed":
        return _compose_failures(pending, waiting)
    return _compose_technical(first, waiting)


def _compose_failures(pending: list[AlertNotice], waiting: int) -> tuple[str, str]:
    facts = pending[-1].facts
    name = _one_line(facts["design_name"])
    final = [notice for notice in pending if notice.facts.get("state") == "failed"]
    subject = (
        f"DocRelay: {len(pending)} failed deliveries for design {name}"
        if len(pending) > 1
        else f"DocRelay: a delivery for design {name} failed"
    )
    lines = [
        "DocRelay could not deliver a document event.",
        "",
        *_failure_block(facts),
        "",
        f"Deliveries waiting for this destination: {waiting}",
    ]
    earlier = pending[:-1]
    if earlier:
        lines += ["", f"Earlier failures since the last email ({len(earlier)}):"]
        for notice in earlier[-LISTED_FAILURES:]:
            item = notice.facts
            lines.append(
                f"  - {item['occurred_at']}  document {item['document_id']}  {item['event']}"
                f"  attempt {item['attempt']}  {item['state']}:"
                f" {_one_line(item.get('error_class') or '')} {_one_line(item.get('error_message') or '')}"
            )
        if len(earlier) > LISTED_FAILURES:
            lines.append(f"  ... and {len(earlier) - LISTED_FAILURES} more")
    lines += ["", "What to do:", *_failure_advice(facts, bool(final))]
    return subject, "\n".join(lines) + "\n"


def _failure_block(facts: dict[str, Any]) -> list[str]:
    document = facts.get("document_name") or ""
    state = facts["state"]
    if state == "retrying" and facts.get("next_attempt_at"):
        state = f"retrying, next attempt at {facts['next_attempt_at']}"
    lines = [
        f"Design:        {_one_line(facts['design_name'])} ({facts['design_kind']})",
        f"Document:      {_one_line(document)} ({facts['document_id']})",
        f"Event:         {facts['event']} (sequence {facts['sequence']})",
        f"Delivery:      {facts['delivery_id']}, attempt {facts['attempt']}, now {state}",
        f"Endpoint host: {facts.get('endpoint_host') or 'unknown'}",
        f"Error:         {facts.get('error_class') or 'unknown'}: {_one_line(facts.get('error_message') or '')}",
    ]
    if facts.get("salesforce_error_code"):
        lines.append(f"Salesforce error code: {facts['salesforce_error_code']}")
    return lines


def _failure_advice(facts: dict[str, Any], any_final: bool) -> list[str]:
    if not any_final:
        return [
            "Nothing yet: DocRelay retries on its schedule. If the endpoint stays down,",
            "check that it is reachable and answers; waiting deliveries go out in order once it does.",
        ]
    return [
        "Fix the cause named in the error above (the receiver's data, mapping or validation rule),",
        "then send the failed deliveries again:",
        f"  POST /api/v1/deliveries/{facts['delivery_id']}/resend   (this delivery)",
        f'  POST /api/v1/deliveries/resend  {{"design_id": "{facts["design_id"]}", "state": ["failed"]}}',
        f"  docrelay deliveries resend --account CONTEXT_ID --design {facts['design_id']} --state failed",
    ]


def _compose_technical(notice: AlertNotice, waiting: int) -> tuple[str, str]:
    facts = notice.facts
    details = facts.get("details") or {}
    if notice.kind == "credential_rejected":
        subject = "DocRelay: a credential was rejected; deliveries are paused"
        advice = [
            "Update the credential: PUT /api/v1/settings/salesforce-credential for Salesforce,",
            "or the design's authentication settings for a web notification.",
            "The paused deliveries then resume in their original order; none of their attempts were spent.",
        ]
    else:
        subject = "DocRelay: a destination keeps failing; its retries are held"
        advice = [
            "Check that the destination is up and accepts requests. New events are still sent one",
            "at a time as probes; the first success releases the held retries in order.",
        ]
    lines = [
        _one_line(facts.get("message") or ""),
        "",
        f"Error class:   {details.get('error_class') or 'see the message above'}",
        f"Destination:   {details.get('destination_key') or details.get('design_id') or 'unknown'}",
        f"Deliveries waiting for this destination: {waiting}",
        f"Since:         {facts.get('opened_at')}",
        "",
        "What to do:",
        *advice,
    ]
    return subject, "\n".join(lines) + "\n"
