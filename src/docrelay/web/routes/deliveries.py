"""The delivery log: deliveries per document, by state, one with its attempts; resend; alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from docrelay import clock
from docrelay.delivery import log, repository, resend
from docrelay.documents.pagination import DEFAULT_LIMIT, check_limit
from docrelay.web.deps import AccountDep, SessionDep

router = APIRouter(tags=["deliveries"])


@router.get(
    "/documents/{document_id}/deliveries", summary="List a document's deliveries in sequence order"
)
def document_deliveries(
    session: SessionDep, account: AccountDep, document_id: str
) -> dict[str, Any]:
    return {"items": log.document_deliveries(session, account.id, document_id)}


@router.get("/deliveries", summary="List deliveries, newest first")
def list_deliveries(
    session: SessionDep,
    account: AccountDep,
    state: Annotated[
        str | None, Query(description="Comma-separated states, e.g. failed,paused")
    ] = None,
    document_id: str | None = None,
    design_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(description="Page size, 1 to 200")] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    states = [item.strip() for item in (state or "").split(",") if item.strip()]
    items, next_cursor = log.list_deliveries(
        session,
        account.id,
        states=states,
        document_id=document_id,
        design_id=design_id,
        cursor=cursor,
        limit=check_limit(limit),
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/deliveries/{delivery_id}", summary="Read a delivery with its attempts")
def get_delivery(session: SessionDep, account: AccountDep, delivery_id: str) -> dict[str, Any]:
    return log.delivery_with_attempts(session, account.id, delivery_id)


@router.post(
    "/deliveries/{delivery_id}/resend",
    status_code=202,
    summary="Send a final or paused delivery again",
)
def resend_delivery(session: SessionDep, account: AccountDep, delivery_id: str) -> dict[str, Any]:
    delivery = log.get_delivery(session, account.id, delivery_id)
    # resend_one refuses an older status when a newer delivery of the pair exists (ordering rule).
    resent = resend.resend_one(session, account.id, delivery, clock.now())
    session.flush()
    return log.delivery_view(resent)


@router.get("/alerts", summary="List the account's open alerts")
def list_alerts(session: SessionDep, account: AccountDep) -> dict[str, Any]:
    return {
        "items": [log.alert_view(alert) for alert in repository.open_alerts(session, account.id)]
    }
