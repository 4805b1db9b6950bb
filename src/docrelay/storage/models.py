"""SQLAlchemy models: every table DocRelay stores.

Only the storage layer (this package and the ``*/repository.py`` modules) writes
SQL. Ids are UUID strings; times are aware UTC (:class:`UTCDateTime`); JSON
columns hold only non-secret data. Secrets live in ``*_encrypted`` columns,
sealed by :class:`docrelay.crypto.SecretBox`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from docrelay.storage.types import UTCDateTime, new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _id_column() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


class Account(Base):
    """A tenant. Nothing crosses accounts."""

    __tablename__ = "accounts"

    id: Mapped[str] = _id_column()
    context_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    technical_contacts: Mapped[list[Any]] = mapped_column(default=list)
    tracking_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    storage_location: Mapped[str] = mapped_column(String(20), default="file")
    storage_folder_id: Mapped[str | None] = mapped_column(String(18))
    salesforce_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    salesforce_budget_pause_percent: Mapped[int] = mapped_column(Integer, default=90)
    retry_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    salesforce_credential_encrypted: Mapped[str | None] = mapped_column(Text)
    salesforce_auth_method: Mapped[str | None] = mapped_column(String(32))
    salesforce_credential_changed_at: Mapped[dt.datetime | None]
    salesforce_credential_version: Mapped[int] = mapped_column(Integer, default=0)
    sealing_key_encrypted: Mapped[str | None] = mapped_column(Text)
    sealing_certificate_pem: Mapped[str | None] = mapped_column(Text)
    sealing_changed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ApiKey(Base):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Template(Base):
    """A template: a name and a pointer to its current version."""

    __tablename__ = "templates"

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    storage_location: Mapped[str | None] = mapped_column(String(20))
    storage_folder_id: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]


class TemplateVersion(Base):
    """An immutable version of a template's PDF and definition; documents keep theirs."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[str] = _id_column()
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column()
    source_blob: Mapped[str] = mapped_column(String(200))
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_filename: Mapped[str] = mapped_column(String(255))
    page_count: Mapped[int] = mapped_column(Integer)
    pages: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[dt.datetime]


class WorkflowAssignment(Base):
    """One row of a template's workflow: an event (and step) sent with a design."""

    __tablename__ = "workflow_assignments"

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[str] = mapped_column(
        ForeignKey("templates.id", ondelete="CASCADE"), index=True
    )
    design_id: Mapped[str] = mapped_column(ForeignKey("designs.id"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    step: Mapped[int | None] = mapped_column(Integer)
    pre_expiration_days: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Design(Base):
    """A notification design: how to tell another system about an event."""

    __tablename__ = "designs"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    credential_version: Mapped[int] = mapped_column(Integer, default=0)
    allowed_events: Mapped[list[Any] | None] = mapped_column(JSON)
    failure_contacts: Mapped[list[Any]] = mapped_column(default=list)
    notify_on: Mapped[str] = mapped_column(String(10), default="final")
    retry_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    breaker_state: Mapped[str] = mapped_column(String(10), default="closed")
    breaker_since: Mapped[dt.datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Document(Base):
    """One signing instance of a template version."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_account_updated", "account_id", "updated_at", "id"),
        Index("ix_documents_crm", "account_id", "crm_record_id"),
        Index("ix_documents_expiry", "status", "expires_at"),
        Index("ix_documents_expiry_check", "status", "expiry_check_at"),
    )

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"), index=True)
    template_version_id: Mapped[str] = mapped_column(ForeignKey("template_versions.id"))
    name: Mapped[str] = mapped_column(String(200))
    order_number: Mapped[str | None] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sender: Mapped[str | None] = mapped_column(String(200))
    crm_system: Mapped[str | None] = mapped_column(String(20))
    crm_object_type: Mapped[str | None] = mapped_column(String(80))
    crm_record_id: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(3))
    status_changed_at: Mapped[dt.datetime]
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime | None]
    expiry_check_at: Mapped[dt.datetime | None]
    """When the expiry job next has work for this document: a pre-expiration warning or the expiry."""
    workflow: Mapped[list[Any]] = mapped_column(default=list)
    """The template's assignments as they were when the document was created."""
    storage_location: Mapped[str | None] = mapped_column(String(20))
    storage_folder_id: Mapped[str | None] = mapped_column(String(18))
    last_event_hash: Mapped[str | None] = mapped_column(String(64))
    completed_blob: Mapped[str | None] = mapped_column(String(200))
    completed_sha256: Mapped[str | None] = mapped_column(String(64))
    audit_blob: Mapped[str | None] = mapped_column(String(200))
    warnings_sent: Mapped[list[Any]] = mapped_column(default=list)
    salesforce_confirmed_sequence: Mapped[int] = mapped_column(Integer, default=0)
    remarks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


class Signatory(Base):
    """A person who signs one document, with their own link and status."""

    __tablename__ = "signatories"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[str] = _id_column()
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    access_code_hash: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    failed_access_attempts: Mapped[int] = mapped_column(Integer, default=0)
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    field_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    signature_blob: Mapped[str | None] = mapped_column(String(200))
    initials_blob: Mapped[str | None] = mapped_column(String(200))
    actions: Mapped[list[Any]] = mapped_column(default=list)
    """Audit facts: [{action, at, ip, user_agent}]."""
    decline_reason: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    viewed_at: Mapped[dt.datetime | None]
    signed_at: Mapped[dt.datetime | None]


class Event(Base):
    """An immutable fact in a document's life, hash-chained to its predecessor."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("document_id", "sequence"),)

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(3))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Delivery(Base):
    """One attempt-tracked job: an event sent with one design (the outbox row)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_pair", "document_id", "design_id", "sequence"),
        Index(
            "ix_deliveries_due",
            "available_at",
            "id",
            sqlite_where=text("state IN ('pending', 'retrying')"),
            postgresql_where=text("state IN ('pending', 'retrying')"),
        ),
        Index(
            "ix_deliveries_in_flight",
            "lease_until",
            sqlite_where=text("state = 'in_flight'"),
            postgresql_where=text("state = 'in_flight'"),
        ),
        Index("ix_deliveries_account_state", "account_id", "state", "created_at"),
    )

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    design_id: Mapped[str] = mapped_column(ForeignKey("designs.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    destination_key: Mapped[str] = mapped_column(String(200))
    """Groups deliveries that share a credential or endpoint (pause, breaker, budget)."""
    status_only: Mapped[bool] = mapped_column(Boolean, default=True)
    """True when the delivery carries only the current status and may be superseded."""
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    pause_reason: Mapped[str | None] = mapped_column(Text)
    last_error_class: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]


class DeliveryAttempt(Base):
    """One try at sending a delivery, as the delivery log shows it."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "number"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    request_summary: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None]
    resend: Mapped[bool] = mapped_column(Boolean, default=False)


class Alert(Base):
    """An open or closed problem an admin should see (paused credential, open breaker, ...)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "account_id", "key", "closed_at"),)

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    """Identifies the cause, e.g. ``salesforce_credential`` or ``design:<id>:breaker``."""
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]


class AlertNotice(Base):
    """A failure an alert email must report; unsent notices are the pending summary of their key."""

    __tablename__ = "alert_notices"
    __table_args__ = (Index("ix_alert_notices_pending", "sent_at", "key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    """The throttle key: ``design:<id>`` for failure emails, ``alert:<id>`` for technical ones."""
    kind: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class SalesforceFile(Base):
    """A file already stored in Salesforce for a document, so a resend does not upload it twice."""

    __tablename__ = "salesforce_files"
    __table_args__ = (UniqueConstraint("document_id", "location", "sha256"),)

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    location: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    salesforce_id: Mapped[str] = mapped_column(String(18))
    created_at: Mapped[dt.datetime]


class SalesforceUsage(Base):
    """The last ``Sforce-Limit-Info`` seen for an org."""

    __tablename__ = "salesforce_usage"

    org_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    used: Mapped[int] = mapped_column(Integer)
    allocation: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime]


class Job(Base):
    """A background job (bulk resend, reconcile) with its progress."""

    __tablename__ = "jobs"

    id: Mapped[str] = _id_column()
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="queued")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class PeriodicLease(Base):
    """The lease of a periodic job (expiry, reconciler, prune): its current holder and expiry."""

    __tablename__ = "periodic_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None]
    last_run_at: Mapped[dt.datetime | None]


class Blob(Base):
    """Metadata of a stored blob (the bytes live in the blob store)."""

    __tablename__ = "blobs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]


__all__ = [
    "Account",
    "Alert",
    "AlertNotice",
    "ApiKey",
    "Base",
    "Blob",
    "Delivery",
    "DeliveryAttempt",
    "Design",
    "Document",
    "Event",
    "Job",
    "PeriodicLease",
    "SalesforceFile",
    "SalesforceUsage",
    "Signatory",
    "Template",
    "TemplateVersion",
    "WorkflowAssignment",
]
