"""The catalogue of document events that notifications report.

Each event has a stable machine name (used in the API, in payloads and in
workflow assignments), a label for the UI, and a payload model. Every payload
carries the common fields of :class:`EventPayload`; some events add their own
data. The payload models are pydantic models so the API can publish them in
its OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The machine names and labels live with the event recorder, the one place events are written.
from docrelay.documents.events import EVENT_LABELS as EVENT_LABELS
from docrelay.documents.events import EVENT_TYPES as EVENT_TYPES

FILE_EVENTS: frozenset[str] = frozenset({"document.completed"})
"""Events after which the sealed PDF exists, so file-carrying designs may attach to them."""

STATUS_EVENTS: frozenset[str] = frozenset(
    {
        "document.created",
        "document.started",
        "document.completed",
        "document.expired",
        "document.cancelled",
        "document.declined",
    }
)
"""Events that move the document to a new status.

A later status delivery may supersede a waiting earlier one, because the
receiver needs only the latest status. ``document.completed`` is also the file
event, so :func:`is_supersedable` excludes it.
"""

FACT_EVENTS: frozenset[str] = frozenset(EVENT_TYPES) - STATUS_EVENTS
"""Events that report a fact without changing the status; never superseded."""

STEP_EVENTS: frozenset[str] = frozenset({"step.started", "step.completed"})
"""Events that workflow assignments bind to a particular signing step."""

EventType = Literal[
    "document.created",
    "document.started",
    "step.started",
    "step.completed",
    "landing_page.visited",
    "document.completed",
    "document.pre_expiration_warning",
    "document.expired",
    "document.cancelled",
    "document.declined",
    "signer.feedback_submitted",
    "signer.authentication_failed",
]

StatusCode = Literal["DCR", "DSS", "DCO", "DEX", "DCA", "DSD"]


class AccountRef(BaseModel):
    """The account a document belongs to."""

    model_config = ConfigDict(extra="forbid")

    context_id: str = Field(description="Public account identifier (UUID).")


class CrmLink(BaseModel):
    """The CRM record a document was created for."""

    model_config = ConfigDict(extra="forbid")

    system: Literal["salesforce"] = "salesforce"
    object_type: str = Field(description="CRM object type, e.g. Opportunity.")
    record_id: str = Field(description="CRM record id.")


class EventPayload(BaseModel):
    """Fields every event payload carries."""

    model_config = ConfigDict(extra="forbid")

    event_id: str
    event: EventType
    occurred_at: dt.datetime = Field(description="UTC time of the event, ISO 8601.")
    document_id: str
    sequence: int = Field(ge=1, description="Per-document counter, one higher on every event.")
    status: StatusCode = Field(description="Document status code after the event.")
    status_name: str
    account: AccountRef
    crm: CrmLink | None = Field(default=None, description="Present when the document has one.")


class StepData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=1, description="Signing step, 1-based.")


class LandingPageData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signatory: int = Field(ge=1, description="Signatory number, 1-based.")
    step: int = Field(ge=1, description="Signing step, 1-based.")


class DeclinedData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signatory: int = Field(ge=1)
    reason: str


class PreExpirationData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days_before: int = Field(ge=1, description="Days left before the document expires.")


class FeedbackData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signatory: int = Field(ge=1)
    feedback: str


class SignatoryData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signatory: int = Field(ge=1)


class DocumentCreatedPayload(EventPayload):
    event: Literal["document.created"] = "document.created"


class DocumentStartedPayload(EventPayload):
    event: Literal["document.started"] = "document.started"


class StepStartedPayload(EventPayload):
    event: Literal["step.started"] = "step.started"
    data: StepData


class StepCompletedPayload(EventPayload):
    event: Literal["step.completed"] = "step.completed"
    data: StepData


class LandingPageVisitedPayload(EventPayload):
    event: Literal["landing_page.visited"] = "landing_page.visited"
    data: LandingPageData


class DocumentCompletedPayload(EventPayload):
    event: Literal["document.completed"] = "document.completed"


class PreExpirationWarningPayload(EventPayload):
    event: Literal["document.pre_expiration_warning"] = "document.pre_expiration_warning"
    data: PreExpirationData


class DocumentExpiredPayload(EventPayload):
    event: Literal["document.expired"] = "document.expired"


class DocumentCancelledPayload(EventPayload):
    event: Literal["document.cancelled"] = "document.cancelled"


class DocumentDeclinedPayload(EventPayload):
    event: Literal["document.declined"] = "document.declined"
    data: DeclinedData


class FeedbackSubmittedPayload(EventPayload):
    event: Literal["signer.feedback_submitted"] = "signer.feedback_submitted"
    data: FeedbackData


class AuthenticationFailedPayload(EventPayload):
    event: Literal["signer.authentication_failed"] = "signer.authentication_failed"
    data: SignatoryData


PAYLOAD_MODELS: dict[str, type[EventPayload]] = {
    "document.created": DocumentCreatedPayload,
    "document.started": DocumentStartedPayload,
    "step.started": StepStartedPayload,
    "step.completed": StepCompletedPayload,
    "landing_page.visited": LandingPageVisitedPayload,
    "document.completed": DocumentCompletedPayload,
    "document.pre_expiration_warning": PreExpirationWarningPayload,
    "document.expired": DocumentExpiredPayload,
    "document.cancelled": DocumentCancelledPayload,
    "document.declined": DocumentDeclinedPayload,
    "signer.feedback_submitted": FeedbackSubmittedPayload,
    "signer.authentication_failed": AuthenticationFailedPayload,
}


def event_data_fields(event_type: str) -> tuple[str, ...]:
    """Return the names of the event-specific ``data`` fields of ``event_type``."""
    model = PAYLOAD_MODELS[event_type]
    data_field = model.model_fields.get("data")
    if data_field is None or data_field.annotation is None:
        return ()
    data_model = data_field.annotation
    assert isinstance(data_model, type) and issubclass(data_model, BaseModel)
    return tuple(data_model.model_fields)


def is_supersedable(event_type: str) -> bool:
    """Tell whether a status-only delivery of ``event_type`` may be superseded by a later one."""
    return event_type in STATUS_EVENTS and event_type not in FILE_EVENTS
