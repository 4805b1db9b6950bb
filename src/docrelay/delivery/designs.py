"""Notification designs: create, read, update, copy and delete, with their secrets sealed.

A design's secrets (web notification auth password or token, signing
secrets) are stored encrypted in ``design.secrets_encrypted`` as JSON with
the purpose ``design-secrets:<design id>``::

    {"auth_password": ..., "auth_token": ..., "signing_secret": "whsec_...",
     "previous_signing_secret": ..., "previous_signing_secret_until": "<ISO time>"}

They are never returned by the API; the signing secret is shown once, in the
response that creates it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import secrets as _secrets
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import SecretBox
from docrelay.delivery.breaker import design_breaker_view
from docrelay.delivery.retry import RetryPolicy
from docrelay.documents.events import EVENT_TYPES
from docrelay.errors import ConflictError, NotFoundError, ValidationError
from docrelay.storage.models import Delivery, Design, WorkflowAssignment
from docrelay.storage.types import new_id
from docrelay.webhooks.design_rules import validate_webhook_design
from docrelay.webhooks.egress import IPNetwork

logger = logging.getLogger(__name__)

DESIGN_KINDS = ("salesforce_status", "salesforce_status_with_document", "webhook")
FILE_KINDS = frozenset({"salesforce_status_with_document", "sftp", "ftps"})
"""Kinds that carry files: they may only be attached to ``document.completed``."""
NotifyOn = Literal["first", "final", "all"]


def secrets_purpose(design_id: str) -> str:
    return f"design-secrets:{design_id}"


class WebhookAuth(BaseModel):
    """The authentication settings of a web notification (secrets are write-only)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["none", "basic", "bearer"] = "none"
    use_account_credential: bool = False
    credentials: Literal["design", "account"] | None = None
    """Whose credential authenticates; ``account`` equals ``use_account_credential: true``."""
    username: str | None = None
    password: str | None = None
    token: str | None = None


class WebhookConfig(BaseModel):
    """The request a web notification sends (see the design documentation for merge fields)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    content_type: Literal["application/json", "application/xml", "text/xml", "text/plain"] = (
        "application/json"
    )
    headers: dict[str, str] = Field(default_factory=dict)
    body_template: str = ""
    soap_action: str | None = None
    timeout_seconds: float = Field(default=15, gt=0, le=60)
    auth: WebhookAuth = Field(default_factory=WebhookAuth)
    response_checks: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class DesignInput(BaseModel):
    """The writable fields of a design (create and full update)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str = "webhook"
    enabled: bool = True
    allowed_events: list[str] | None = None
    failure_contacts: list[str] = Field(default_factory=list)
    notify_on: NotifyOn = "final"
    retry_policy: dict[str, Any] | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _single_line(cls, value: str) -> str:
        if any(char in value for char in "\r\n\u2028\u0085"):
            raise ValueError("must be a single line")
        return value.strip()


class CopyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)


def design_view(design: Design, *, signing_secret: str | None = None) -> dict[str, Any]:
    """Return the API form of a design; secrets appear only as ``has_*`` flags."""
    config = dict(design.config or {})
    view: dict[str, Any] = {
        "id": design.id,
        "name": design.name,
        "kind": design.kind,
        "builtin": design.builtin,
        "enabled": design.enabled,
        "allowed_events": design.allowed_events,
        "failure_contacts": design.failure_contacts,
        "notify_on": design.notify_on,
        "retry_policy": design.retry_policy,
        "config": config,
        "has_secrets": design.secrets_encrypted is not None,
        "breaker": design_breaker_view(design),
        "created_at": design.created_at.isoformat(),
        "updated_at": design.updated_at.isoformat(),
    }
    if signing_secret is not None:
        view["signing_secret"] = signing_secret
    return view


def get_design(session: Session, account_id: str, design_id: str) -> Design:
    design = session.get(Design, design_id)
    if design is None or design.account_id != account_id:
        raise NotFoundError(f"No design {design_id} in this account")
    return design


def list_designs(session: Session, account_id: str) -> list[Design]:
    return list(
        session.scalars(
            select(Design).where(Design.account_id == account_id).order_by(Design.name, Design.id)
        )
    )


def create_design(
    session: Session,
    box: SecretBox,
    account_id: str,
    data: DesignInput,
    *,
    allowed_networks: Sequence[IPNetwork] | None = None,
) -> tuple[Design, str | None]:
    """Create a design; return it with its new signing secret (web notifications), shown once."""
    _check_common(session, account_id, data, None)
    now = clock.now()
    design = Design(
        id=new_id(),
        account_id=account_id,
        name=data.name,
        kind=data.kind,
        enabled=data.enabled,
        builtin=False,
        allowed_events=data.allowed_events,
        failure_contacts=data.failure_contacts,
        notify_on=data.notify_on,
        retry_policy=data.retry_policy,
        created_at=now,
        updated_at=now,
    )
    signing_secret = None
    if data.kind == "webhook":
        config, secret_values = _webhook_config(session, account_id, data, {}, allowed_networks)
        signing_secret = _new_signing_secret()
        secret_values["signing_secret"] = signing_secret
        design.config = config
        design.secrets_encrypted = box.encrypt_json(secret_values, secrets_purpose(design.id))
    else:
        design.config = _salesforce_config(data)
    session.add(design)
    session.flush()
    logger.info(
        "Created design %s (%s)",
        design.id,
        design.kind,
        extra={"action": "design_created", "design_id": design.id},
    )
    return design, signing_secret


def update_design(
    session: Session,
    box: SecretBox,
    account_id: str,
    design_id: str,
    data: DesignInput,
    *,
    allowed_networks: Sequence[IPNetwork] | None = None,
) -> Design:
    """Replace a design's settings; secrets not sent again are kept."""
    design = get_design(session, account_id, design_id)
    if data.kind != design.kind:
        raise ValidationError.for_field(
            "kind", f"cannot change from {design.kind}; create a new design instead"
        )
    _check_common(session, account_id, data, design.id)
    if design.kind == "webhook":
        current = _read_secrets(box, design)
        config, secret_values = _webhook_config(
            session, account_id, data, current, allowed_networks
        )
        credential_changed = _auth_part(config, secret_values) != _auth_part(
            design.config or {}, current
        )
        design.config = config
        design.secrets_encrypted = box.encrypt_json(secret_values, secrets_purpose(design.id))
        if credential_changed:
            from docrelay.webhooks.destination import design_credentials_changed

            design_credentials_changed(session, design)
    else:
        design.config = _salesforce_config(data)
    design.name = data.name
    if data.enabled and not design.enabled:
        _reenabled(session, design)
    design.enabled = data.enabled
    design.allowed_events = data.allowed_events
    design.failure_contacts = data.failure_contacts
    design.notify_on = data.notify_on
    design.retry_policy = data.retry_policy
    design.updated_at = clock.now()
    session.flush()
    return design


def copy_design(
    session: Session, box: SecretBox, account_id: str, design_id: str, data: CopyInput
) -> tuple[Design, str | None]:
    """Copy a design under a new name; a web notification copy gets its own signing secret."""
    source = get_design(session, account_id, design_id)
    name = data.name or _free_copy_name(session, account_id, source.name)
    _check_name(session, account_id, name, None)
    now = clock.now()
    copy = Design(
        id=new_id(),
        account_id=account_id,
        name=name,
        kind=source.kind,
        enabled=source.enabled,
        builtin=False,
        config=dict(source.config or {}),
        allowed_events=source.allowed_events,
        failure_contacts=list(source.failure_contacts or []),
        notify_on=source.notify_on,
        retry_policy=source.retry_policy,
        created_at=now,
        updated_at=now,
    )
    signing_secret = None
    if source.secrets_encrypted is not None:
        values = {
            key: value
            for key, value in _read_secrets(box, source).items()
            if not key.startswith("previous_")
        }
        if source.kind == "webhook":
            signing_secret = values["signing_secret"] = _new_signing_secret()
        copy.secrets_encrypted = box.encrypt_json(values, secrets_purpose(copy.id))
    session.add(copy)
    session.flush()
    return copy, signing_secret


def delete_design(session: Session, account_id: str, design_id: str) -> None:
    """Delete a design that no template uses and that has no delivery history."""
    design = get_design(session, account_id, design_id)
    used_by = session.scalars(
        select(WorkflowAssignment.template_id)
        .where(WorkflowAssignment.design_id == design.id)
        .distinct()
    ).all()
    if used_by:
        raise ConflictError(
            f"Design {design.name!r} is used by {len(used_by)} template workflow(s); remove it from them first",
            template_ids=list(used_by),
        )
    if (
        session.scalar(select(Delivery.id).where(Delivery.design_id == design.id).limit(1))
        is not None
    ):
        raise ConflictError(
            f"Design {design.name!r} has delivery history, which keeps it; disable it (enabled: false) instead"
        )
    session.delete(design)
    session.flush()


# --- validation ---------------------------------------------------------------------------


def _check_common(
    session: Session, account_id: str, data: DesignInput, design_id: str | None
) -> None:
    errors: list[tuple[str, str]] = []
    if data.kind not in DESIGN_KINDS:
        errors.append(("kind", f"must be one of {', '.join(DESIGN_KINDS)}"))
    for index, event in enumerate(data.allowed_events or []):
        if event not in EVENT_TYPES:
            errors.append(
                (
                    f"allowed_events[{index}]",
                    f"unknown event {event!r}; expected one of {', '.join(EVENT_TYPES)}",
                )
            )
    for index, email in enumerate(data.failure_contacts):
        if "@" not in email or any(char in email for char in " \r\n,;<>"):
            errors.append((f"failure_contacts[{index}]", f"{email!r} is not an email address"))
    if data.retry_policy is not None:
        try:
            RetryPolicy.from_dict(data.retry_policy)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors=errors)
    _check_name(session, account_id, data.name, design_id)


def _check_name(session: Session, account_id: str, name: str, design_id: str | None) -> None:
    clash = session.scalar(
        select(Design.id).where(Design.account_id == account_id, Design.name == name)
    )
    if clash is not None and clash != design_id:
        raise ValidationError.for_field(
            "name", f"a design named {name!r} already exists; choose another name"
        )


def _free_copy_name(session: Session, account_id: str, name: str) -> str:
    taken = set(session.scalars(select(Design.name).where(Design.account_id == account_id)))
    candidate = f"Copy of {name}"[:200]
    number = 2
    while candidate in taken:
        candidate = f"Copy {number} of {name}"[:200]
        number += 1
    return candidate


def _salesforce_config(data: DesignInput) -> dict[str, Any]:
    if data.config:
        raise ValidationError.for_field(
            "config",
            f"{data.kind} designs take no config; the account's Salesforce mapping applies",
        )
    return {}


def _reenabled(session: Session, design: Design) -> None:
    """Clear why the design was disabled and close the alert that reported it."""
    from docrelay.delivery.repository import close_alert
    from docrelay.webhooks.destination import gone_alert_key

    design.disabled_reason = None
    close_alert(session, design.account_id, gone_alert_key(design.id), clock.now())


def _auth_part(config: dict[str, Any], secret_values: dict[str, Any]) -> tuple[Any, ...]:
    """Return what decides how a web notification authenticates, to detect credential changes."""
    auth = config.get("auth") or {}
    return (
        auth.get("type"),
        auth.get("use_account_credential"),
        auth.get("username"),
        secret_values.get("auth_password"),
        secret_values.get("auth_token"),
    )


def _webhook_config(
    session: Session,
    account_id: str,
    data: DesignInput,
    current_secrets: dict[str, Any],
    allowed_networks: Sequence[IPNetwork] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a web notification config; return (stored config without secrets, secrets)."""
    try:
        config = WebhookConfig.model_validate(data.config)
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            raise ValidationError(
                errors=[
                    ("config." + ".".join(str(part) for part in item["loc"]), item["msg"])
                    for item in errors()
                ]
            ) from None
        raise
    validate_webhook_design(
        session, account_id, config.model_dump(), data.allowed_events, allowed_networks
    )
    if config.auth.credentials == "account":
        config.auth.use_account_credential = True

    secret_values = dict(current_secrets)
    auth = config.auth
    if auth.password is not None:
        secret_values["auth_password"] = auth.password
    if auth.token is not None:
        secret_values["auth_token"] = auth.token
    if auth.type == "basic" and not auth.use_account_credential and not auth.username:
        raise ValidationError.for_field("config.auth.username", "is required for basic auth")
    if (
        auth.type == "bearer"
        and not auth.use_account_credential
        and not secret_values.get("auth_token")
    ):
        raise ValidationError.for_field("config.auth.token", "is required for bearer auth")
    stored = config.model_dump()
    stored["auth"] = {
        "type": auth.type,
        "use_account_credential": auth.use_account_credential,
        "username": auth.username,
    }
    return stored, secret_values


def _read_secrets(box: SecretBox, design: Design) -> dict[str, Any]:
    if design.secrets_encrypted is None:
        return {}
    value = box.decrypt_json(design.secrets_encrypted, secrets_purpose(design.id))
    return dict(value) if isinstance(value, dict) else {}


def read_secrets(box: SecretBox, design: Design) -> dict[str, Any]:
    """Return a design's decrypted secrets (for destinations; never for the API)."""
    values = _read_secrets(box, design)
    until = values.get("previous_signing_secret_until")
    if until and dt.datetime.fromisoformat(until) < clock.now():
        values.pop("previous_signing_secret", None)
    return values


def _new_signing_secret() -> str:
    try:
        signature = importlib.import_module("docrelay.webhooks.signature")
        return str(signature.generate_secret())
    except (ModuleNotFoundError, AttributeError):
        import base64

        return "whsec_" + base64.b64encode(_secrets.token_bytes(32)).decode()
