"""Actions on a saved web-notification design: rotate its signing secret, and test it.

A test renders the design for one event of a chosen document (or for sample
data), sends it once, and reports the request as sent with every secret
masked, the response and each check's verdict. It goes through the same
:func:`~docrelay.webhooks.attempt.attempt_delivery` as real deliveries, but
creates no delivery and records no attempt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import SecretBox
from docrelay.delivery.designs import get_design, read_secrets, secrets_purpose
from docrelay.errors import NotFoundError, ValidationError
from docrelay.runtime import Runtime
from docrelay.storage.models import Account, Design, Document, Event
from docrelay.webhooks.attempt import AttemptReport, WebhookDesign, attempt_delivery
from docrelay.webhooks.events import EVENT_TYPES
from docrelay.webhooks.job_source import (
    TrackingCredential,
    merge_source,
    tracking_credential,
    webhook_design,
)
from docrelay.webhooks.merge_fields import MergeSource, build_merge_values, sample_merge_source
from docrelay.webhooks.sender import make_client_session
from docrelay.webhooks.signature import generate_secret

logger = logging.getLogger(__name__)

ROTATION_OVERLAP = dt.timedelta(hours=24)
"""How long the previous signing secret keeps signing after a rotation."""
MASK = "***"
_SHOWN_RESPONSE_BYTES = 2048


class DesignTestRequest(BaseModel):
    """The event and optional document a design test renders."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(
        default="document.completed", description="Event to render, e.g. document.completed."
    )
    document_id: str | None = Field(
        default=None,
        description="Document whose data fills the merge fields; omit to use sample data.",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedTest:
    design: WebhookDesign
    values: dict[str, str]
    secrets: tuple[str, ...]
    """Every secret value that must not appear in the report."""


def _webhook_design_row(session: Session, account_id: str, design_id: str) -> Design:
    design = get_design(session, account_id, design_id)
    if design.kind != "webhook":
        raise ValidationError.for_field(
            "kind",
            f"design {design.name!r} is a {design.kind} design; only webhook designs can do this",
        )
    return design


def rotate_secret(
    session: Session, box: SecretBox, account_id: str, design_id: str
) -> dict[str, Any]:
    """Give the design a new signing secret; the previous one keeps signing for 24 hours.

    Returns the new secret, shown this once, and when the previous one stops.
    """
    design = _webhook_design_row(session, account_id, design_id)
    values = read_secrets(box, design)
    now = clock.now()
    new_secret = generate_secret()
    until = now + ROTATION_OVERLAP
    if values.get("signing_secret"):
        values["previous_signing_secret"] = values["signing_secret"]
        values["previous_signing_secret_until"] = until.isoformat()
    values["signing_secret"] = new_secret
    design.secrets_encrypted = box.encrypt_json(values, secrets_purpose(design.id))
    design.updated_at = now
    logger.info(
        "Rotated the signing secret of design %s",
        design.id,
        extra={"action": "design_secret_rotated", "design_id": design.id},
    )
    return {
        "design_id": design.id,
        "signing_secret": new_secret,
        "previous_secret_valid_until": until.isoformat()
        if "previous_signing_secret" in values
        else None,
    }


def prepare_test(
    runtime: Runtime, account_id: str, design_id: str, request: DesignTestRequest
) -> PreparedTest:
    """Read the design and the merge data of the test (in a worker thread)."""
    if request.event not in EVENT_TYPES:
        raise ValidationError.for_field(
            "event", f"unknown event; expected one of {', '.join(EVENT_TYPES)}"
        )
    box = runtime.secrets
    with runtime.database.session() as session:
        design_row = _webhook_design_row(session, account_id, design_id)
        account = session.get(Account, account_id)
        assert account is not None
        tracking = tracking_credential(box, account)
        design = webhook_design(box, design_row, tracking)
        if request.document_id is None:
            source = _sample_source(request.event, tracking)
        else:
            source = _document_source(session, runtime, account, request, tracking)
        stored = read_secrets(box, design_row)
    secrets = _secret_values(stored, tracking, design)
    return PreparedTest(design, build_merge_values(source), secrets)


def _sample_source(event: str, tracking: TrackingCredential) -> MergeSource:
    source = sample_merge_source(event)
    if tracking.username is None:
        return source
    return dataclasses.replace(
        source, tracking_username=tracking.username, tracking_password=tracking.password
    )


def _document_source(
    session: Session,
    runtime: Runtime,
    account: Account,
    request: DesignTestRequest,
    tracking: TrackingCredential,
) -> MergeSource:
    document = session.get(Document, request.document_id)
    if document is None or document.account_id != account.id:
        raise NotFoundError(f"No document {request.document_id} in this account")
    event = session.scalar(
        select(Event)
        .where(Event.document_id == document.id, Event.type == request.event)
        .order_by(Event.sequence.desc())
        .limit(1)
    )
    if event is None:
        # The document has not reached this event yet: render it as if it had, now.
        sample = sample_merge_source(request.event)
        event = Event(
            id=f"evt_test_{uuid.uuid4().hex[:16]}",
            account_id=account.id,
            document_id=document.id,
            sequence=document.sequence,
            type=request.event,
            occurred_at=clock.now(),
            status=document.status,
            data=dict(sample.event_data),
        )
    return merge_source(session, runtime.blobs, event, document, account, tracking)


def _secret_values(
    stored: dict[str, Any], tracking: TrackingCredential, design: WebhookDesign
) -> tuple[str, ...]:
    candidates: Iterable[object] = (
        stored.get("auth_password"),
        stored.get("auth_token"),
        stored.get("signing_secret"),
        stored.get("previous_signing_secret"),
        tracking.password,
        design.password,
        design.token,
    )
    # Mask longer secrets first, so a secret that contains another is masked whole.
    found = {str(value) for value in candidates if value}
    return tuple(sorted(found, key=len, reverse=True))


async def send_test(runtime: Runtime, prepared: PreparedTest) -> dict[str, Any]:
    """Send the prepared test once through a fresh vetted session and describe what happened."""
    test_id = f"test_{uuid.uuid4().hex}"
    async with make_client_session(runtime.settings.allowed_networks) as session:
        report = await attempt_delivery(
            session, prepared.design, prepared.values, test_id, clock.now()
        )
    return report_view(report, prepared.secrets)


def report_view(report: AttemptReport, secrets: tuple[str, ...]) -> dict[str, Any]:
    """Describe an attempt for the API, with every secret value and credential header masked."""
    outcome = report.outcome
    view: dict[str, Any] = {
        "outcome": outcome.kind.value,
        "passed": outcome.delivered,
        "error_class": outcome.error_class,
        "message": _mask(outcome.message, secrets),
        "request": None,
        "response": None,
        "checks": [
            {
                "source": verdict.check.source,
                "expression": verdict.check.expression,
                "operator": verdict.check.operator,
                "value": verdict.check.value,
                "passed": verdict.passed,
                "actual": _mask(verdict.actual, secrets),
                "message": _mask(verdict.message, secrets),
            }
            for verdict in report.verdicts
        ],
    }
    if report.request is not None:
        request = report.request
        view["request"] = {
            "method": request.method,
            "url": _mask(request.url, secrets),
            "headers": {
                name: _mask_header(name, value, secrets) for name, value in request.headers.items()
            },
            "body": _mask(request.body.decode("utf-8", "replace"), secrets),
        }
    result = report.result
    if result is not None and result.status is not None:
        body = result.body[:_SHOWN_RESPONSE_BYTES].decode("utf-8", "replace")
        view["response"] = {
            "status": result.status,
            "headers": dict(result.headers),
            "body": _mask(body, secrets),
            "body_truncated": result.body_truncated or len(result.body) > _SHOWN_RESPONSE_BYTES,
            "duration_ms": result.duration_ms,
        }
    elif result is not None:
        view["error"] = {
            "class": result.error_class,
            "message": _mask(result.error_message, secrets),
        }
    return view


def _mask_header(name: str, value: str, secrets: tuple[str, ...]) -> str:
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.partition(" ")
        return f"{scheme} {MASK}" if credentials else MASK
    return _mask(value, secrets) or ""


def _mask(text: str | None, secrets: tuple[str, ...]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
