"""The delivery log as the API shows it: deliveries, their attempts, alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from docrelay.delivery.states import DeliveryState
from docrelay.documents.pagination import decode_cursor, page
from docrelay.errors import NotFoundError, ValidationError
from docrelay.storage.models import Alert, Delivery, DeliveryAttempt, Design, Document


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_view(delivery: Delivery, design_name: str | None = None) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "document_id": delivery.document_id,
        "design_id": delivery.design_id,
        "design_name": design_name,
        "event_id": delivery.event_id,
        "event": delivery.event_type,
        "sequence": delivery.sequence,
        "kind": delivery.kind,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "available_at": _iso(delivery.available_at),
        "pause_reason": delivery.pause_reason,
        "last_error_class": delivery.last_error_class,
        "last_error": delivery.last_error,
        "result": delivery.result,
        "created_at": _iso(delivery.created_at),
        "updated_at": _iso(delivery.updated_at),
        "delivered_at": _iso(delivery.delivered_at),
    }


def attempt_view(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": _iso(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "outcome": attempt.outcome,
        "request_summary": attempt.request_summary,
        "response_status": attempt.response_status,
        "response_excerpt": attempt.response_excerpt,
        "error_class": attempt.error_class,
        "error_message": attempt.error_message,
        "next_attempt_at": _iso(attempt.next_attempt_at),
        "resend": attempt.resend,
    }


def alert_view(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "key": alert.key,
        "kind": alert.kind,
        "message": alert.message,
        "details": alert.details,
        "opened_at": _iso(alert.opened_at),
        "updated_at": _iso(alert.updated_at),
    }


def _with_design_names(session: Session, statement: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        statement.add_columns(Design.name).join(Design, Design.id == Delivery.design_id)
    ).all()
    return [delivery_view(delivery, name) for delivery, name in rows]


def document_deliveries(
    session: Session, account_id: str, document_id: str
) -> list[dict[str, Any]]:
    document = session.get(Document, document_id)
    if document is None or document.account_id != account_id:
        raise NotFoundError(f"No document {document_id} in this account")
    statement = (
        select(Delivery)
        .where(Delivery.document_id == document_id)
        .order_by(Delivery.sequence, Delivery.created_at)
    )
    return _with_design_names(session, statement)


def list_deliveries(
    session: Session,
    account_id: str,
    *,
    states: list[str],
    document_id: str | None,
    design_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return one page of the account's deliveries, newest first, and the next page's cursor."""
    known = {state.value for state in DeliveryState}
    for state in states:
        if state not in known:
            raise ValidationError.for_field(
                "state", f"unknown state {state!r}; expected one of {', '.join(sorted(known))}"
            )
    statement = select(Delivery).where(Delivery.account_id == account_id)
    if states:
        statement = statement.where(Delivery.state.in_(states))
    if document_id:
        statement = statement.where(Delivery.document_id == document_id)
    if design_id:
        statement = statement.where(Delivery.design_id == design_id)
    position = decode_cursor(cursor)
    if position is not None:
        statement = statement.where(
            or_(
                Delivery.created_at < position.at,
                and_(Delivery.created_at == position.at, Delivery.id < position.id),
            )
        )
    statement = statement.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1)
    items = _with_design_names(session, statement)
    return page(items, limit, key=lambda item: (_parse(item["created_at"]), item["id"]))


def _parse(value: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value)


def get_delivery(session: Session, account_id: str, delivery_id: str) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.account_id != account_id:
        raise NotFoundError(f"No delivery {delivery_id} in this account")
    return delivery


def delivery_with_attempts(session: Session, account_id: str, delivery_id: str) -> dict[str, Any]:
    delivery = get_delivery(session, account_id, delivery_id)
    design = session.get(Design, delivery.design_id)
    attempts = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery.id)
        .order_by(DeliveryAttempt.id)
    )
    view = delivery_view(delivery, design.name if design else None)
    view["attempt_log"] = [attempt_view(attempt) for attempt in attempts]
    return view
