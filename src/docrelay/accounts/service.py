"""Accounts and API keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import hash_token, new_api_key
from docrelay.errors import AuthenticationError
from docrelay.storage.models import Account, ApiKey, Design
from docrelay.storage.types import new_id

logger = logging.getLogger(__name__)

DEFAULT_SALESFORCE_MAPPING: dict[str, object] = {
    "object": "DocRelay_Document__c",
    "external_id_field": "DocRelay_Id__c",
    "fields": {
        "name": "Name",
        "status": "Status__c",
        "status_name": "Status_Name__c",
        "status_changed_at": "Status_Changed_At__c",
        "sequence": "Sequence__c",
        "template_name": "Template_Name__c",
        "related_record_id": "Related_Record_Id__c",
    },
    "lookups": {
        "Lead": "Lead__c",
        "Account": "Account__c",
        "Contact": "Contact__c",
        "Opportunity": "Opportunity__c",
    },
    "related_status_field": None,
}

BUILTIN_DESIGNS = (
    ("Salesforce Status Update", "salesforce_status"),
    ("Salesforce Status Update With Document", "salesforce_status_with_document"),
)


@dataclass(frozen=True)
class NewApiKey:
    """A freshly created API key; ``secret`` is shown once and never stored."""

    id: str
    name: str
    secret: str


def create_account(
    session: Session,
    name: str,
    *,
    time_zone: str = "UTC",
    technical_contacts: list[str] | None = None,
) -> Account:
    """Create an account with the default settings and its two built-in Salesforce designs."""
    now = clock.now()
    account = Account(
        id=new_id(),
        context_id=new_id(),
        name=name,
        time_zone=time_zone,
        technical_contacts=list(technical_contacts or []),
        tracking_enabled=False,
        storage_location="file",
        salesforce_mapping=dict(DEFAULT_SALESFORCE_MAPPING),
        salesforce_budget_pause_percent=90,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    for design_name, kind in BUILTIN_DESIGNS:
        session.add(
            Design(
                id=new_id(),
                account_id=account.id,
                name=design_name,
                kind=kind,
                enabled=True,
                builtin=True,
                config={},
                failure_contacts=[],
                notify_on="final",
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    logger.info(
        "Created account %r with context id %s",
        account.name,
        account.context_id,
        extra={
            "action": "account_created",
            "account_id": account.id,
            "context_id": account.context_id,
        },
    )
    return account


def create_api_key(session: Session, account: Account, name: str = "default") -> NewApiKey:
    secret = new_api_key()
    key = ApiKey(
        id=new_id(),
        account_id=account.id,
        name=name,
        key_hash=hash_token(secret),
        key_prefix=secret[:12],
        created_at=clock.now(),
    )
    session.add(key)
    session.flush()
    logger.info(
        "Created API key %s",
        key.key_prefix,
        extra={"action": "api_key_created", "account_id": account.id},
    )
    return NewApiKey(id=key.id, name=name, secret=secret)


def authenticate_api_key(session: Session, secret: str) -> Account:
    """Return the account an API key belongs to, or raise AuthenticationError."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(secret)))
    if key is None or key.revoked_at is not None:
        raise AuthenticationError("Invalid or revoked API key")
    account = session.get(Account, key.account_id)
    if account is None:
        raise AuthenticationError("Invalid or revoked API key")
    return account
