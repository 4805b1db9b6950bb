"""Account settings: read, update, the Salesforce credential and the Document Storage Location.

Secrets are write-only: :func:`settings_view` reports whether each is set,
its non-secret fields and when it last changed, never the secret itself.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import zoneinfo
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.accounts.sealing import certificate_view
from docrelay.documents.requests import check_email, single_line
from docrelay.errors import ValidationError
from docrelay.runtime import Runtime
from docrelay.salesforce.credential import (
    AUTH_METHODS,
    credential_purpose,
    load_credential,
    parse_credential,
)
from docrelay.storage.models import Account
from docrelay.templates.definition import check_storage_location

logger = logging.getLogger(__name__)

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_KEY_PREFIX = re.compile(r"^[A-Za-z0-9]{3}$")
MAPPING_FIELD_KEYS = (
    "name",
    "status",
    "status_name",
    "status_changed_at",
    "sequence",
    "template_name",
    "related_record_id",
)
CREDENTIAL_KEYS = {
    "password": {"auth_method", "username", "password", "security_token", "login_host"},
    "jwt": {"auth_method", "username", "consumer_key", "private_key", "login_host"},
    "client_credentials": {"auth_method", "consumer_key", "consumer_secret", "my_domain"},
}
PUBLIC_CREDENTIAL_FIELDS = ("username", "login_host", "my_domain")


class StorageLocationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(pattern="^(file|attachment|document)$")
    folder_id: str | None = None


class SettingsUpdate(BaseModel):
    """A partial update: only the keys present change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)
    technical_contacts: list[str] | None = Field(default=None, max_length=20)
    tracking_enabled: bool | None = None
    storage_location: StorageLocationInput | None = None
    salesforce_mapping: dict[str, Any] | None = None
    salesforce_budget_pause_percent: int | None = Field(default=None, ge=1, le=100)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value)

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("technical_contacts")
    @classmethod
    def _check_contacts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for item in value:
            check_email(item)
        return value


def settings_view(runtime: Runtime, account: Account) -> dict[str, Any]:
    return {
        "context_id": account.context_id,
        "name": account.name,
        "time_zone": account.time_zone,
        "technical_contacts": list(account.technical_contacts),
        "tracking_enabled": account.tracking_enabled,
        "storage_location": {
            "location": account.storage_location,
            "folder_id": account.storage_folder_id,
        },
        "salesforce_mapping": account.salesforce_mapping,
        "salesforce_budget_pause_percent": account.salesforce_budget_pause_percent,
        "salesforce_credential": credential_view(runtime, account),
        "sealing_certificate": certificate_view(account),
        "updated_at": account.updated_at.isoformat(),
    }


def credential_view(runtime: Runtime, account: Account) -> dict[str, Any]:
    """Describe the stored credential with its non-secret fields only."""
    view: dict[str, Any] = {
        "set": account.salesforce_credential_encrypted is not None,
        "auth_method": account.salesforce_auth_method,
        "changed_at": account.salesforce_credential_changed_at.isoformat()
        if account.salesforce_credential_changed_at
        else None,
        "version": account.salesforce_credential_version,
    }
    if account.salesforce_credential_encrypted:
        try:
            credential = load_credential(
                runtime.secrets, account.id, account.salesforce_credential_encrypted
            )
        except Exception:
            view["readable"] = False
        else:
            view["readable"] = True
            for name in PUBLIC_CREDENTIAL_FIELDS:
                value = getattr(credential, name)
                if value:
                    view[name] = value
    return view


def update_settings(session: Session, account: Account, update: SettingsUpdate) -> None:
    changes = update.model_dump(exclude_unset=True)
    if "name" in changes and update.name is not None:
        account.name = update.name
    if "time_zone" in changes and update.time_zone is not None:
        account.time_zone = update.time_zone
    if "technical_contacts" in changes and update.technical_contacts is not None:
        account.technical_contacts = list(update.technical_contacts)
    if update.storage_location is not None:
        location = update.storage_location
        folder = check_storage_location(location.location, location.folder_id, "storage_location")
        account.storage_location = location.location
        account.storage_folder_id = folder
    if update.salesforce_mapping is not None:
        account.salesforce_mapping = merged_mapping(
            account.salesforce_mapping, update.salesforce_mapping
        )
    if update.salesforce_budget_pause_percent is not None:
        account.salesforce_budget_pause_percent = update.salesforce_budget_pause_percent
    if update.tracking_enabled is not None and update.tracking_enabled != account.tracking_enabled:
        account.tracking_enabled = update.tracking_enabled
        from docrelay.delivery import control

        control.tracking_switched(session, account, update.tracking_enabled)
        logger.info(
            "Tracking switched %s for account %s",
            "on" if update.tracking_enabled else "off",
            account.id,
            extra={"action": "tracking_switched", "account_id": account.id},
        )
    account.updated_at = clock.now()


def merged_mapping(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge a partial Salesforce mapping into the current one and check every name in the result."""
    result = copy.deepcopy(current)
    for key, value in patch.items():
        if key in ("fields", "lookups", "key_prefixes") and isinstance(value, dict):
            result[key] = {**result.get(key, {}), **value}
        elif key in ("object", "external_id_field", "related_status_field"):
            result[key] = value
        else:
            raise ValidationError.for_field(f"salesforce_mapping.{key}", "is not a mapping setting")
    _check_mapping(result)
    return result


def _check_mapping(mapping: dict[str, Any]) -> None:
    errors: list[tuple[str, str]] = []

    def check_name(path: str, value: Any, optional: bool = False) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not _API_NAME.match(value):
            errors.append((path, f"{value!r} is not a Salesforce API name such as Status__c"))

    check_name("salesforce_mapping.object", mapping.get("object"))
    check_name("salesforce_mapping.external_id_field", mapping.get("external_id_field"))
    check_name(
        "salesforce_mapping.related_status_field",
        mapping.get("related_status_field"),
        optional=True,
    )
    for key, value in (mapping.get("fields") or {}).items():
        if key not in MAPPING_FIELD_KEYS:
            errors.append(
                (
                    f"salesforce_mapping.fields.{key}",
                    f"is not a mapped value; use {', '.join(MAPPING_FIELD_KEYS)}",
                )
            )
        else:
            check_name(f"salesforce_mapping.fields.{key}", value, optional=True)
    for key, value in (mapping.get("lookups") or {}).items():
        check_name(f"salesforce_mapping.lookups.{key}", key)
        check_name(f"salesforce_mapping.lookups.{key}", value, optional=True)
    for key, value in (mapping.get("key_prefixes") or {}).items():
        check_name(f"salesforce_mapping.key_prefixes.{key}", key)
        if not isinstance(value, str) or not _KEY_PREFIX.match(value):
            errors.append(
                (
                    f"salesforce_mapping.key_prefixes.{key}",
                    "must be the 3-character key prefix of the object",
                )
            )
    if errors:
        raise ValidationError(None, errors)


def store_credential(runtime: Runtime, session: Session, account: Account, body: Any) -> None:
    """Validate and store a Salesforce credential; resumes deliveries paused for the old one."""
    if not isinstance(body, dict):
        raise ValidationError.for_field("body", "must be a JSON object")
    method = body.get("auth_method")
    if method not in AUTH_METHODS:
        raise ValidationError.for_field("auth_method", f"must be one of {', '.join(AUTH_METHODS)}")
    unknown = sorted(set(body) - CREDENTIAL_KEYS[method])
    if unknown:
        raise ValidationError(
            None, [(name, f"is not used by auth_method {method}") for name in unknown]
        )
    credential = parse_credential(body)
    _check_credential_details(credential)

    stored = {
        key: value for key, value in dataclasses.asdict(credential).items() if value is not None
    }
    account.salesforce_credential_encrypted = runtime.secrets.encrypt_json(
        stored, credential_purpose(account.id)
    )
    _credential_changed(session, account, method)

    from docrelay.delivery import control

    control.credential_changed(session, account)


def delete_credential(session: Session, account: Account) -> None:
    account.salesforce_credential_encrypted = None
    _credential_changed(session, account, None)


def _credential_changed(session: Session, account: Account, method: str | None) -> None:
    now = clock.now()
    account.salesforce_auth_method = method
    account.salesforce_credential_changed_at = now
    account.salesforce_credential_version += 1
    account.updated_at = now
    logger.info(
        "Salesforce credential %s for account %s (version %d)",
        "stored" if method else "deleted",
        account.id,
        account.salesforce_credential_version,
        extra={"action": "salesforce_credential_changed", "account_id": account.id},
    )


def _check_credential_details(credential: Any) -> None:
    if credential.username is not None:
        try:
            check_email(credential.username)
        except ValueError:
            raise ValidationError.for_field(
                "username", "must be a Salesforce username, which has the form of an email address"
            ) from None
    for name in ("password", "security_token", "consumer_key", "consumer_secret"):
        value = getattr(credential, name)
        if value is not None and (len(value) > 4000 or any(char in value for char in "\r\n")):
            raise ValidationError.for_field(name, "must be one line of at most 4000 characters")
    if credential.auth_method == "jwt":
        try:
            key = serialization.load_pem_private_key(credential.private_key.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValidationError.for_field(
                "private_key", "could not be read as an unencrypted PEM private key"
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValidationError.for_field(
                "private_key", "must be an RSA key, as Salesforce's JWT bearer flow uses RS256"
            )
