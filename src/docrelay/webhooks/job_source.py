"""Read what one web notification needs from the database: merge data and the decrypted design.

Everything here is synchronous and read-only. The destination runs it in a
worker thread, so the event loop never waits on the database or on blob reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay.crypto import SecretBox
from docrelay.delivery.designs import read_secrets
from docrelay.documents.statuses import STATUS_NAMES, DocumentStatus
from docrelay.salesforce.credential import CredentialMissing, load_credential
from docrelay.storage.blobs import BlobStore
from docrelay.storage.models import Account, Design, Document, Event, Signatory, Template
from docrelay.webhooks.attempt import WebhookDesign
from docrelay.webhooks.checks import DEFAULT_CHECKS, ResponseCheck
from docrelay.webhooks.merge_fields import MergeSource, SignatoryValues

logger = logging.getLogger(__name__)

MAX_TIMEOUT_SECONDS = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class TrackingCredential:
    """The account's tracking credential as web notifications use it."""

    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)


def tracking_credential(box: SecretBox, account: Account) -> TrackingCredential:
    """Return the username and password of the account's Salesforce credential, or empties."""
    try:
        credential = load_credential(box, account.id, account.salesforce_credential_encrypted)
    except CredentialMissing:
        return TrackingCredential()
    return TrackingCredential(credential.username, credential.password)


def status_name(code: str) -> str:
    """Return the human name of a status code, or the code when it is unknown."""
    try:
        return STATUS_NAMES[DocumentStatus(code)]
    except ValueError:
        return code


def merge_source(
    session: Session,
    blobs: BlobStore,
    event: Event,
    document: Document,
    account: Account,
    tracking: TrackingCredential,
) -> MergeSource:
    """Build the merge data of ``event`` from the rows as they are now."""
    template_name = session.scalar(select(Template.name).where(Template.id == document.template_id))
    signatories = session.scalars(
        select(Signatory).where(Signatory.document_id == document.id).order_by(Signatory.position)
    ).all()
    data: Mapping[str, Any] = event.data or {}
    completed_pdf = None
    if event.type == "document.completed" and document.completed_blob:
        completed_pdf = blobs.get(document.completed_blob)

    return MergeSource(
        event_type=event.type,
        event_id=event.id,
        event_time=_utc(event.occurred_at),
        sequence=event.sequence,
        event_data=dict(data),
        document_id=document.id,
        document_name=document.name,
        order_number=document.order_number,
        status=event.status,
        status_name=status_name(event.status),
        created_at=_utc(document.created_at),
        started_at=_utc_or_none(document.sent_at),
        completed_at=_utc_or_none(document.completed_at),
        expires_at=_utc_or_none(document.expires_at),
        template_name=template_name or "",
        company_name=account.name,
        account_context_id=account.context_id,
        sender_username=document.sender or "",
        sender_full_name=document.sender or "",
        crm_object_type=document.crm_object_type,
        crm_record_id=document.crm_record_id,
        signatories=tuple(
            SignatoryValues(item.name, item.email, item.status, item.phone) for item in signatories
        ),
        parameters={str(key): _text(value) for key, value in (document.parameters or {}).items()},
        decline_reason=_optional_text(data.get("reason")),
        feedback=_optional_text(data.get("feedback")),
        completed_pdf=completed_pdf,
        tracking_username=tracking.username,
        tracking_password=tracking.password,
    )


def webhook_design(box: SecretBox, design: Design, tracking: TrackingCredential) -> WebhookDesign:
    """Turn a stored web-notification design into the settings one attempt uses, secrets decrypted."""
    config: Mapping[str, Any] = design.config or {}
    secrets = read_secrets(box, design)
    signing = [secrets.get("signing_secret"), secrets.get("previous_signing_secret")]

    auth: Mapping[str, Any] = config.get("auth") or {}
    auth_type = auth.get("type", "none")
    username, password, token = auth.get("username"), secrets.get("auth_password"), None
    if auth.get("use_account_credential"):
        username, password = tracking.username, tracking.password
        token = tracking.password
    else:
        token = secrets.get("auth_token")

    checks = tuple(
        ResponseCheck.model_validate(item) for item in config.get("response_checks") or ()
    )
    return WebhookDesign(
        url=str(config.get("url", "")),
        signing_secrets=tuple(str(secret) for secret in signing if secret),
        method=str(config.get("method", "POST")),
        content_type=str(config.get("content_type", "application/json")),
        headers=dict(config.get("headers") or {}),
        body_template=str(config.get("body_template", "")),
        soap_action=config.get("soap_action"),
        timeout_seconds=min(float(config.get("timeout_seconds", 15)), MAX_TIMEOUT_SECONDS),
        auth_type=auth_type,
        username=username,
        password=password,
        token=token,
        response_checks=checks or DEFAULT_CHECKS,
    )


def uses_account_credential(design: Design) -> bool:
    """Tell whether the design authenticates with the account's tracking credential."""
    auth = (design.config or {}).get("auth") or {}
    return bool(auth.get("use_account_credential")) and auth.get("type", "none") != "none"


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
