"""Resending deliveries by hand: one by id, or many by filter as a background job.

A resend resets a delivery in a final state (delivered, failed, superseded)
or a paused one to pending, keeping its id, so receivers that deduplicate on
the ``webhook-id`` see the same id again. The ordering rule holds for resends
too. A status-only delivery whose (document, design) pair has a newer
delivery is not resent, because the receiver would get an older status after
a newer one. The newer delivery is the one to resend.

The API and the ``docrelay deliveries`` command both go through this module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from docrelay.delivery import ordering, repository
from docrelay.documents.events import EVENT_TYPES
from docrelay.errors import ConflictError, NotFoundError
from docrelay.runtime import DELIVERIES_CREATED
from docrelay.storage.models import Delivery, Design, Document

ResendableState = Literal["delivered", "failed", "superseded", "paused"]
DEFAULT_RATE_PER_SECOND = 10.0
MAX_RATE_PER_SECOND = 1000.0


def _default_states() -> list[ResendableState]:
    return ["failed"]


class ResendFilters(BaseModel):
    """Filters that select the deliveries a bulk resend sends again (every given one must match)."""

    model_config = ConfigDict(extra="forbid")

    document_id: str | None = None
    design_id: str | None = None
    state: list[ResendableState] = Field(
        default_factory=_default_states,
        description="States to resend; default failed. Allowed: delivered, failed, superseded, paused.",
    )
    event: str | None = Field(default=None, description="Event type, e.g. document.completed.")
    created_after: dt.datetime | None = Field(
        default=None, description="Only deliveries created at or after this time (with offset)."
    )
    created_before: dt.datetime | None = Field(
        default=None, description="Only deliveries created before this time (with offset)."
    )

    @field_validator("state")
    @classmethod
    def _some_state(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('name at least one state, e.g. ["failed"]')
        return sorted(set(value))

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str | None) -> str | None:
        if value is not None and value not in EVENT_TYPES:
            raise ValueError(f"unknown event {value!r}; expected one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("created_after", "created_before")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("add a UTC offset, e.g. 2026-12-01T00:00:00Z")
        return value.astimezone(dt.UTC) if value is not None else None


class BulkResendInput(ResendFilters):
    """The body of ``POST /api/v1/deliveries/resend``."""

    dry_run: bool = Field(default=False, description="Only count what would be resent.")
    rate_per_second: float = Field(
        default=DEFAULT_RATE_PER_SECOND,
        gt=0,
        le=MAX_RATE_PER_SECOND,
        description="Maximum deliveries released per second and destination.",
    )

    def filters(self) -> ResendFilters:
        return ResendFilters.model_validate(
            self.model_dump(include=set(ResendFilters.model_fields))
        )


# --- selection ----------------------------------------------------------------------------


def _newer_in_pair() -> Any:
    newer = aliased(Delivery)
    return exists().where(
        newer.document_id == Delivery.document_id,
        newer.design_id == Delivery.design_id,
        newer.sequence > Delivery.sequence,
        # A web notification's body need not carry the status: only a newer status counts there.
        or_(Delivery.kind != "webhook", newer.status_only),
    )


def matching(account_id: str, filters: ResendFilters) -> Any:
    """Return the select of the account's deliveries that ``filters`` name, oldest first."""
    conditions = [Delivery.account_id == account_id, Delivery.state.in_(filters.state)]
    if filters.document_id:
        conditions.append(Delivery.document_id == filters.document_id)
    if filters.design_id:
        conditions.append(Delivery.design_id == filters.design_id)
    if filters.event:
        conditions.append(Delivery.event_type == filters.event)
    if filters.created_after:
        conditions.append(Delivery.created_at >= filters.created_after)
    if filters.created_before:
        conditions.append(Delivery.created_at < filters.created_before)
    return select(Delivery).where(*conditions).order_by(Delivery.created_at, Delivery.id)


def resendable(statement: Any) -> Any:
    """Narrow ``statement`` to deliveries the ordering rule lets through."""
    return statement.where(~and_(Delivery.status_only, _newer_in_pair()))


def count(session: Session, account_id: str, filters: ResendFilters) -> dict[str, int]:
    """Return how many deliveries match and how many of them would be resent."""
    statement = matching(account_id, filters).order_by(None)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    sendable = (
        session.scalar(select(func.count()).select_from(resendable(statement).subquery())) or 0
    )
    return {"matching": int(total), "count": int(sendable), "skipped": int(total - sendable)}


def check_references(session: Session, account_id: str, filters: ResendFilters) -> None:
    """Raise NotFoundError when a filter names a document or design outside the account."""
    if filters.document_id:
        document = session.get(Document, filters.document_id)
        if document is None or document.account_id != account_id:
            raise NotFoundError(f"No document {filters.document_id} in this account")
    if filters.design_id:
        design = session.get(Design, filters.design_id)
        if design is None or design.account_id != account_id:
            raise NotFoundError(f"No design {filters.design_id} in this account")


# --- one delivery -------------------------------------------------------------------------


def resend_one(
    session: Session,
    account_id: str,
    delivery: Delivery,
    now: dt.datetime,
    *,
    available_at: dt.datetime | None = None,
) -> Delivery:
    """Reset one delivery to pending (due at ``available_at``, default now); raise ConflictError if it cannot be."""
    if delivery.status_only:
        newer = ordering.newer_exists(
            session,
            delivery.document_id,
            delivery.design_id,
            delivery.sequence,
            status_only=delivery.kind == "webhook",
        )
        if newer is not None:
            raise ConflictError(
                f"Delivery {delivery.id} carries only a status and a newer delivery of the same "
                f"document and design exists ({newer}); resend that one instead, so the receiver "
                "does not get an older status after a newer one",
                newer_delivery_id=newer,
            )
    resent = repository.resend(session, account_id, delivery.id, now)
    if resent is None:
        raise ConflictError(
            f"Delivery {delivery.id} is {delivery.state}; only delivered, failed, superseded "
            "or paused deliveries can be resent",
            state=delivery.state,
        )
    if available_at is not None and available_at > now:
        resent.available_at = available_at
    session.info[DELIVERIES_CREATED] = True
    return resent
