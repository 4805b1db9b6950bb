"""Every SQL statement of the delivery engine: claim, complete, pause, resume, resend.

The worker's hot path (claim and complete) uses SQLAlchemy Core statements on
the ``deliveries`` table, each in its own short transaction. No transaction is
open while a delivery is being sent.

Claiming follows one rule per (document, design) pair: only the waiting
delivery with the lowest ``sequence`` is eligible, and none while another of
the pair is in flight. A paused delivery blocks the later ones of its pair too,
so order survives a pause. A failed, delivered or superseded delivery no
longer blocks anything.

A claim stamps the rows with a fresh claim token and a lease. Completion is a
conditional update on that token: a worker whose lease expired and whose
delivery another worker has claimed since cannot overwrite the newer result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from docrelay.delivery import alert_mail, breaker, ordering
from docrelay.delivery.alerts import (  # noqa: F401  (re-exported for callers of the engine's SQL)
    AlertSpec,
    close_alert,
    lock_account,
    open_alert,
    open_alerts,
)
from docrelay.delivery.states import DeliveryState
from docrelay.storage.db import Database
from docrelay.storage.models import (
    Account,
    Delivery,
    DeliveryAttempt,
    Design,
    Document,
    Event,
)
from docrelay.storage.types import UTCDateTime

logger = logging.getLogger(__name__)

deliveries = cast(Table, Delivery.__table__)
attempts_table = cast(Table, DeliveryAttempt.__table__)
designs = cast(Table, Design.__table__)
accounts = cast(Table, Account.__table__)

MAX_CLAIM_BATCH = 100
BREAKER_THRESHOLD = breaker.THRESHOLD
BREAKER_PROBE_SECONDS = breaker.PROBE_SECONDS
PAUSE_CREDENTIAL = "credential"
PAUSE_TRACKING_OFF = "tracking_off"

_WAITING = (DeliveryState.PENDING.value, DeliveryState.RETRYING.value)
_BLOCKING = (*_WAITING, DeliveryState.PAUSED.value)
_RESENDABLE = (
    DeliveryState.DELIVERED.value,
    DeliveryState.FAILED.value,
    DeliveryState.SUPERSEDED.value,
    DeliveryState.PAUSED.value,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery reserved for one worker until ``lease_until``."""

    id: str
    account_id: str
    document_id: str
    design_id: str
    event_id: str
    event_type: str
    sequence: int
    kind: str
    destination_key: str
    status_only: bool
    attempt_number: int
    """Counted attempts including this one."""
    claim_token: str
    lease_until: dt.datetime
    resend: bool
    """The delivery was resent by hand; its attempts are logged as resends."""


@dataclasses.dataclass(frozen=True, slots=True)
class Completion:
    """The record of one finished attempt: the delivery's new state and its attempt row."""

    state: DeliveryState
    outcome: str
    started_at: dt.datetime
    duration_ms: int
    available_at: dt.datetime | None = None
    counts: bool = True
    """False when the attempt does not spend one of the policy's attempts (a pause)."""
    error_class: str | None = None
    error_message: str | None = None
    request_summary: str | None = None
    response_status: int | None = None
    response_excerpt: str | None = None
    result: dict[str, Any] | None = None
    pause_reason: str | None = None
    transient_failure: bool = False
    """The attempt failed passingly (a retry outcome); counts toward the design's breaker."""


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


# --- claim --------------------------------------------------------------------------------


def _blocked_by_earlier() -> Any:
    """Return the EXISTS clause that is true when another delivery of the pair must go first."""
    other = deliveries.alias("other")
    return (
        select(literal(1))
        .where(
            other.c.document_id == deliveries.c.document_id,
            other.c.design_id == deliveries.c.design_id,
            other.c.id != deliveries.c.id,
            or_(
                and_(other.c.state.in_(_BLOCKING), other.c.sequence < deliveries.c.sequence),
                other.c.state == DeliveryState.IN_FLIGHT.value,
            ),
        )
        .exists()
    )


def claim_due(
    database: Database, now: dt.datetime, lease_seconds: float, limit: int
) -> list[ClaimedDelivery]:
    """Reserve up to ``limit`` due deliveries in one short transaction and return them.

    Due means in flight with an expired lease (its worker died), or waiting
    with ``available_at`` reached. On PostgreSQL the candidate rows are
    locked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers take
    different rows; SQLite has a single writer (``BEGIN IMMEDIATE``).
    """
    limit = max(1, min(limit, MAX_CLAIM_BATCH))
    token = str(uuid.uuid4())
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    rows: list[Any] = []
    with database.transaction() as session:
        for candidates in (_expired_leases(now), _waiting(now)):
            remaining = limit - len(rows)
            if remaining <= 0:
                break
            chosen = candidates.limit(remaining)
            if database.dialect == "postgresql":
                chosen = chosen.with_for_update(skip_locked=True, of=deliveries)
            rows.extend(session.execute(_claim_statement(chosen, token, lease_until, now)).all())
        if len(rows) < limit:
            rows.extend(
                _claim_probes(session, database, now, token, lease_until, limit - len(rows))
            )
    rows = sorted(rows, key=lambda row: (row.available_at, row.id))
    return [
        ClaimedDelivery(
            id=row.id,
            account_id=row.account_id,
            document_id=row.document_id,
            design_id=row.design_id,
            event_id=row.event_id,
            event_type=row.event_type,
            sequence=row.sequence,
            kind=row.kind,
            destination_key=row.destination_key,
            status_only=row.status_only,
            attempt_number=row.attempts,
            claim_token=token,
            lease_until=lease_until,
            resend=bool((row.result or {}).get("resend")),
        )
        for row in rows
    ]


def _expired_leases(now: dt.datetime) -> Any:
    # The literal state test lets SQLite and PostgreSQL use the partial index ix_deliveries_in_flight.
    return (
        select(deliveries.c.id)
        .where(text("deliveries.state = 'in_flight'"), deliveries.c.lease_until < now)
        .order_by(deliveries.c.lease_until, deliveries.c.id)
    )


def _waiting(now: dt.datetime) -> Any:
    """Select waiting deliveries that are due, first in line for their pair, not held back.

    The literal state test matches the predicate of the partial index
    ix_deliveries_due on (available_at, id), so the scan reads only waiting
    rows in claim order, however many finished rows the table keeps. Bound
    parameters would hide that match from SQLite's planner.
    """
    # Deliveries of a destination whose breaker is open go out only as probes (_claim_probes).
    breaker_open = (
        select(literal(1))
        .where(designs.c.id == deliveries.c.design_id, designs.c.breaker_state == "open")
        .exists()
    )
    return _waiting_unbroken(now).where(~breaker_open)


def _waiting_unbroken(now: dt.datetime) -> Any:
    """Select due, unblocked waiting deliveries of accounts with tracking on, breakers aside."""
    tracking_on = (
        select(literal(1))
        .where(accounts.c.id == deliveries.c.account_id, accounts.c.tracking_enabled == true())
        .exists()
    )
    return (
        select(deliveries.c.id)
        .where(
            text("deliveries.state IN ('pending', 'retrying')"),
            deliveries.c.available_at <= now,
            tracking_on,
            ~_blocked_by_earlier(),
        )
        .order_by(deliveries.c.available_at, deliveries.c.id)
    )


def _claim_probes(
    session: Session,
    database: Database,
    now: dt.datetime,
    token: str,
    lease_until: dt.datetime,
    limit: int,
) -> list[Any]:
    """Claim at most one probe per destination whose breaker is open (see docrelay.delivery.breaker)."""
    rows: list[Any] = []
    for destination in breaker.open_destinations(session):
        if len(rows) >= limit:
            break
        chosen = breaker.probe_candidate(session, _waiting_unbroken(now), destination, now)
        if chosen is None:
            continue
        if database.dialect == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True, of=deliveries)
        rows.extend(session.execute(_claim_statement(chosen, token, lease_until, now)).all())
    return rows


def _claim_statement(
    candidates: Any, token: str, lease_until: dt.datetime, now: dt.datetime
) -> Any:
    return (
        update(deliveries)
        .where(deliveries.c.id.in_(candidates.scalar_subquery()))
        .values(
            state=DeliveryState.IN_FLIGHT.value,
            claim_token=token,
            lease_until=lease_until,
            attempts=deliveries.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            deliveries.c.id,
            deliveries.c.account_id,
            deliveries.c.document_id,
            deliveries.c.design_id,
            deliveries.c.event_id,
            deliveries.c.event_type,
            deliveries.c.sequence,
            deliveries.c.kind,
            deliveries.c.destination_key,
            deliveries.c.status_only,
            deliveries.c.attempts,
            deliveries.c.result,
            deliveries.c.available_at,
        )
    )


def next_available_at(database: Database) -> dt.datetime | None:
    """Return the earliest ``available_at`` of any waiting delivery, for the idle wait."""
    with database.session() as session:
        value: dt.datetime | None = session.scalar(
            select(func.min(deliveries.c.available_at)).where(deliveries.c.state.in_(_WAITING))
        )
    return value


# --- complete -----------------------------------------------------------------------------


def complete(
    database: Database,
    claimed: ClaimedDelivery,
    completion: Completion,
    now: dt.datetime,
    alert: AlertSpec | None = None,
) -> bool:
    """Write an attempt's result if the claim of ``claimed`` is still current; return whether it was.

    A pause for a rejected credential also parks every waiting delivery of the
    same destination and opens ``alert``, in the same transaction.
    """
    return complete_many(database, [(claimed, completion, alert)], now)[0]


def complete_many(
    database: Database,
    items: list[tuple[ClaimedDelivery, Completion, AlertSpec | None]],
    now: dt.datetime,
) -> list[bool]:
    """Write several attempts' results in one transaction; return for each whether its claim was current.

    The delivery updates and attempt inserts go out as two executemany
    statements, so a batch costs a few round trips rather than a few per
    delivery.
    """
    # A fixed order (design, then delivery) makes concurrent batches take design row locks
    # in the same order, which avoids most deadlocks between workers on PostgreSQL.
    order = sorted(
        range(len(items)), key=lambda index: (items[index][0].design_id, items[index][0].id)
    )
    with database.transaction() as session:
        current = _current_claims(session, [items[index][0] for index in order])
        accepted = [
            _superseded_if_replaced(session, *items[index])
            for index in order
            if items[index][0].id in current
        ]
        if accepted:
            session.execute(
                _COMPLETE_DELIVERY,
                [
                    _completion_parameters(claimed, completion, now)
                    for claimed, completion, _ in accepted
                ],
            )
            numbers = _last_attempt_numbers(session, [claimed.id for claimed, _, _ in accepted])
            session.execute(
                insert(attempts_table),
                [
                    _attempt_row(claimed, completion, numbers.get(claimed.id, 0) + 1)
                    for claimed, completion, _ in accepted
                ],
            )
            healthy: set[str] = set()
            for claimed, completion, alert in accepted:
                _after_completion(session, claimed, completion, alert, now, healthy)
    return [claimed.id in current for claimed, _, _ in items]


def _superseded_if_replaced(
    session: Session, claimed: ClaimedDelivery, completion: Completion, alert: AlertSpec | None
) -> tuple[ClaimedDelivery, Completion, AlertSpec | None]:
    """Mark a status-only delivery superseded instead of retrying when a newer one of its pair exists.

    Rule and reason: docrelay.delivery.ordering. A retry would hold back the
    newer delivery, which carries the current status, only to send an older one.
    """
    if completion.state is DeliveryState.RETRYING and ordering.superseded_on_retry(
        session, claimed
    ):
        completion = dataclasses.replace(completion, state=DeliveryState.SUPERSEDED)
    return claimed, completion, alert


def _current_claims(session: Session, claimed: list[ClaimedDelivery]) -> set[str]:
    """Return the ids whose claim token is still the one ``claimed`` holds (locking them on PostgreSQL)."""
    statement = select(deliveries.c.id, deliveries.c.claim_token).where(
        deliveries.c.id.in_([item.id for item in claimed]),
        deliveries.c.state == DeliveryState.IN_FLIGHT.value,
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    tokens = {row.id: row.claim_token for row in session.execute(statement)}
    return {item.id for item in claimed if tokens.get(item.id) == item.claim_token}


_COMPLETE_DELIVERY = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        claim_token=None,
        lease_until=None,
        last_error_class=bindparam("b_error_class"),
        last_error=bindparam("b_error"),
        pause_reason=bindparam("b_pause_reason"),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        attempts=deliveries.c.attempts - bindparam("b_uncounted", type_=Integer()),
        available_at=func.coalesce(
            bindparam("b_available_at", type_=UTCDateTime()), deliveries.c.available_at
        ),
        delivered_at=func.coalesce(
            bindparam("b_delivered_at", type_=UTCDateTime()), deliveries.c.delivered_at
        ),
        result=case(
            (bindparam("b_has_result", type_=Integer()) == 1, bindparam("b_result", type_=JSON())),
            else_=deliveries.c.result,
        ),
    )
)
"""One statement shape for every completion, so a batch runs as one executemany."""


def _completion_parameters(
    claimed: ClaimedDelivery, completion: Completion, now: dt.datetime
) -> dict[str, Any]:
    delivered = completion.state is DeliveryState.DELIVERED
    result = {**(completion.result or {}), **({"resend": True} if claimed.resend else {})}
    return {
        "b_id": claimed.id,
        "b_state": completion.state.value,
        "b_error_class": completion.error_class,
        "b_error": completion.error_message,
        "b_pause_reason": completion.pause_reason,
        "b_now": now,
        "b_uncounted": 0 if completion.counts else 1,
        "b_available_at": completion.available_at,
        "b_delivered_at": now if delivered else None,
        "b_has_result": 1 if delivered else 0,
        "b_result": result if delivered else None,
    }


def _last_attempt_numbers(session: Session, delivery_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(attempts_table.c.delivery_id, func.max(attempts_table.c.number))
        .where(attempts_table.c.delivery_id.in_(delivery_ids))
        .group_by(attempts_table.c.delivery_id)
    )
    return {delivery_id: int(number or 0) for delivery_id, number in rows}


def _attempt_row(claimed: ClaimedDelivery, completion: Completion, number: int) -> dict[str, Any]:
    return {
        "delivery_id": claimed.id,
        "account_id": claimed.account_id,
        "number": number,
        "started_at": completion.started_at,
        "duration_ms": completion.duration_ms,
        "outcome": completion.outcome,
        "request_summary": completion.request_summary,
        "response_status": completion.response_status,
        "response_excerpt": completion.response_excerpt,
        "error_class": completion.error_class,
        "error_message": completion.error_message,
        "next_attempt_at": completion.available_at
        if completion.state is DeliveryState.RETRYING
        else None,
        "resend": claimed.resend,
    }


def _after_completion(
    session: Session,
    claimed: ClaimedDelivery,
    completion: Completion,
    alert: AlertSpec | None,
    now: dt.datetime,
    healthy: set[str],
) -> None:
    """Update the destination's breaker, queue alert emails and, for a rejected credential, park its other deliveries.

    ``healthy`` collects the destinations whose breaker this batch already reset.
    """
    key = claimed.destination_key
    if completion.state is DeliveryState.DELIVERED:
        if key not in healthy:
            breaker.record_success(session, claimed.account_id, key, now)
            healthy.add(key)
    elif completion.transient_failure:
        breaker.record_failure(session, claimed.account_id, key, now)
        healthy.discard(key)
    if completion.state in (DeliveryState.RETRYING, DeliveryState.FAILED):
        _note_failure(session, claimed, completion, now)
    if completion.state is DeliveryState.PAUSED and completion.pause_reason == PAUSE_CREDENTIAL:
        # Lock the account row before the waiting rows, so concurrent pauses of one
        # account queue here instead of deadlocking on each other's rows.
        lock_account(session, claimed.account_id)
        pause_waiting(
            session,
            claimed.account_id,
            PAUSE_CREDENTIAL,
            now,
            destination_key=claimed.destination_key,
        )
        if alert is not None:
            open_alert(session, alert, now)


# --- circuit breaker and alert emails ------------------------------------------------------
#
# The breaker is kept per destination in docrelay.delivery.breaker.
#
# NOTE: failures count per delivery, so one failed sObject Collections request
# of five or more status updates opens the breaker at once.


def breaker_alert_key(design_id: str) -> str:
    """Return the breaker alert key of a web notification design (one destination per design)."""
    return breaker.alert_key(f"design:{design_id}")


def _note_failure(
    session: Session, claimed: ClaimedDelivery, completion: Completion, now: dt.datetime
) -> None:
    alert_mail.note_failure(
        session,
        {
            "id": claimed.id,
            "design_id": claimed.design_id,
            "document_id": claimed.document_id,
            "event_type": claimed.event_type,
            "sequence": claimed.sequence,
            "destination_key": claimed.destination_key,
            "attempt_number": claimed.attempt_number,
        },
        {
            "state": completion.state.value,
            "error_class": completion.error_class,
            "error_message": completion.error_message,
            "request_summary": completion.request_summary,
            "next_attempt_at": completion.available_at
            if completion.state is DeliveryState.RETRYING
            else None,
        },
        now,
    )


# --- pause, resume, resend ----------------------------------------------------------------


def pause_waiting(
    session: Session,
    account_id: str,
    reason: str,
    now: dt.datetime,
    *,
    destination_key: str | None = None,
) -> int:
    """Park the account's waiting deliveries (optionally of one destination); return how many."""
    conditions = [deliveries.c.account_id == account_id, deliveries.c.state.in_(_WAITING)]
    if destination_key is not None:
        conditions.append(deliveries.c.destination_key == destination_key)
    result = session.execute(
        update(deliveries)
        .where(*conditions)
        .values(state=DeliveryState.PAUSED.value, pause_reason=reason, updated_at=now)
    )
    return _rowcount(result)


def resume_paused(
    session: Session,
    account_id: str,
    reason: str,
    now: dt.datetime,
    *,
    destination_key_prefix: str | None = None,
) -> int:
    """Make deliveries paused for ``reason`` due again; return how many.

    Each keeps its ``available_at`` when that is already past, so the claim
    order (``available_at``, then id) follows the order they were created in.
    One scheduled for a later retry becomes due now, because the pause, not
    the destination, was keeping it back.
    """
    conditions = [
        deliveries.c.account_id == account_id,
        deliveries.c.state == DeliveryState.PAUSED.value,
        deliveries.c.pause_reason == reason,
    ]
    if destination_key_prefix is not None:
        conditions.append(
            deliveries.c.destination_key.startswith(destination_key_prefix, autoescape=True)
        )
    result = session.execute(
        update(deliveries)
        .where(*conditions)
        .values(
            state=DeliveryState.PENDING.value,
            pause_reason=None,
            available_at=func.min(deliveries.c.available_at, now)
            if session.get_bind().dialect.name == "sqlite"
            else func.least(deliveries.c.available_at, now),
            updated_at=now,
        )
    )
    return _rowcount(result)


def is_destination_paused(session: Session, account_id: str, destination_key: str) -> bool:
    """Tell whether deliveries of ``destination_key`` are parked for a rejected credential."""
    found = session.scalar(
        select(deliveries.c.id)
        .where(
            deliveries.c.account_id == account_id,
            deliveries.c.state == DeliveryState.PAUSED.value,
            deliveries.c.destination_key == destination_key,
            deliveries.c.pause_reason == PAUSE_CREDENTIAL,
        )
        .limit(1)
    )
    return found is not None


def supersede_earlier(session: Session, delivery: Delivery, now: dt.datetime) -> int:
    """Mark the waiting status-only deliveries of ``delivery``'s pair that it replaces (see ordering)."""
    return ordering.supersede_earlier(session, delivery, now)


def resend(
    session: Session, account_id: str, delivery_id: str, now: dt.datetime
) -> Delivery | None:
    """Reset a final or paused delivery to pending now, keeping its id; None if it cannot be.

    Returns None when the delivery is not resendable (pending, retrying or in
    flight); callers check existence first.
    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.account_id != account_id or delivery.state not in _RESENDABLE:
        return None
    delivery.state = DeliveryState.PENDING.value
    delivery.attempts = 0
    delivery.available_at = now
    delivery.pause_reason = None
    delivery.claim_token = None
    delivery.lease_until = None
    delivery.result = {**(delivery.result or {}), "resend": True}
    delivery.updated_at = now
    return delivery


# --- reading ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A claimed delivery with the rows a destination needs to send it (detached ORM copies)."""

    claimed: ClaimedDelivery
    event: Event
    document: Document
    design: Design
    account: Account


def load_job(database: Database, claimed: ClaimedDelivery) -> DeliveryJob | None:
    """Read the event, document, design and account of a claimed delivery."""
    return load_jobs(database, [claimed]).get(claimed.id)


def load_jobs(database: Database, claimed: list[ClaimedDelivery]) -> dict[str, DeliveryJob]:
    """Read the rows of a claimed batch with one query per table; deliveries whose rows vanished are left out."""
    if not claimed:
        return {}
    with database.session() as session:
        events = _by_id(session, Event, {item.event_id for item in claimed})
        documents = _by_id(session, Document, {item.document_id for item in claimed})
        designs_found = _by_id(session, Design, {item.design_id for item in claimed})
        accounts_found = _by_id(session, Account, {item.account_id for item in claimed})
    jobs: dict[str, DeliveryJob] = {}
    for item in claimed:
        event = events.get(item.event_id)
        document = documents.get(item.document_id)
        design = designs_found.get(item.design_id)
        account = accounts_found.get(item.account_id)
        if event is None or document is None or design is None or account is None:
            continue
        jobs[item.id] = DeliveryJob(
            claimed=item, event=event, document=document, design=design, account=account
        )
    return jobs


def _by_id(session: Session, model: Any, ids: set[str]) -> dict[str, Any]:
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def state_counts(session: Session, account_id: str | None = None) -> dict[str, int]:
    """Count deliveries by state (all accounts when ``account_id`` is None)."""
    statement = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    if account_id is not None:
        statement = statement.where(deliveries.c.account_id == account_id)
    return {state: int(count) for state, count in session.execute(statement).all()}
