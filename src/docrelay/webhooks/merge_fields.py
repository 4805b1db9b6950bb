"""The merge-field catalogue and the values each tag takes for one event.

A design's templates name merge fields as ``[Field Name]`` tags. This module
lists every tag DocRelay supports, states for which events each one is available,
and computes the value of every tag from a :class:`MergeSource`: plain data the
tracking engine fills from the document, the event and the account.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Mapping

from docrelay.webhooks.events import EVENT_LABELS, EVENT_TYPES

MAX_SIGNATORIES = 50

_SIGNATORY_EVENTS = frozenset(
    {
        "landing_page.visited",
        "document.declined",
        "signer.feedback_submitted",
        "signer.authentication_failed",
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class MergeField:
    """One catalogue entry."""

    name: str
    """Tag text without brackets; ``N`` stands for the signatory number in signatory fields."""
    description: str
    events: frozenset[str] | None = None
    """Events the field is available for; ``None`` means every event."""
    in_headers: bool = True
    """Whether a header value may use the field (large values may not)."""


_COMMON_FIELDS = (
    MergeField("Document ID", "DocRelay document id"),
    MergeField("Document Name", "Document name"),
    MergeField("Order Number", "Order number given at creation, or empty"),
    MergeField("Document Status", "Status code after the event, e.g. DCO"),
    MergeField("Document Status Name", "Status name after the event, e.g. Completed"),
    MergeField("Document Sequence", "Per-document event counter"),
    MergeField("Event", "Event machine name, e.g. document.completed"),
    MergeField("Event Name", "Event label, e.g. Document Completed"),
    MergeField("Event ID", "Event id"),
    MergeField("Event Time", "Event time, UTC, ISO 8601"),
    MergeField("Document Creation Date", "Creation time, UTC, ISO 8601"),
    MergeField("Document Start Date", "Time the document was sent, or empty"),
    MergeField("Completion Date", "Completion time, or empty"),
    MergeField("Expiration Date", "Expiration time, or empty"),
    MergeField("Template Name", "Name of the document's template"),
    MergeField("Company Name", "Account name"),
    MergeField("Account Context ID", "Public account identifier"),
    MergeField("Sender Username", "Username of the sender"),
    MergeField("Sender Full Name", "Full name of the sender"),
    MergeField("CRM Object Type", "CRM object type, or empty"),
    MergeField("CRM Record ID", "CRM record id, or empty"),
    MergeField("Authentication - Username", "Username of the account tracking credential"),
    MergeField("Authentication - Password", "Password of the account tracking credential"),
)

_EVENT_FIELDS = (
    MergeField(
        "Step",
        "Signing step of the event, 1-based",
        frozenset({"step.started", "step.completed", "landing_page.visited"}),
    ),
    MergeField("Decline Reason", "Reason the signatory gave", frozenset({"document.declined"})),
    MergeField("Feedback", "Feedback the signatory left", frozenset({"signer.feedback_submitted"})),
    MergeField(
        "Days Before Expiration",
        "Days left before expiry",
        frozenset({"document.pre_expiration_warning"}),
    ),
    MergeField("Acting Signatory Number", "Signatory the event is about", _SIGNATORY_EVENTS),
    MergeField("Acting Signatory Full Name", "Name of that signatory", _SIGNATORY_EVENTS),
    MergeField("Acting Signatory Email Address", "Email of that signatory", _SIGNATORY_EVENTS),
    MergeField(
        "Completed Document Base64",
        "The sealed PDF, base64-encoded",
        frozenset({"document.completed"}),
        in_headers=False,
    ),
    MergeField(
        "Completed Document SHA-256",
        "SHA-256 of the sealed PDF, hexadecimal",
        frozenset({"document.completed"}),
    ),
)

_SIGNATORY_FIELDS = (
    MergeField("Signatory N Full Name", "Full name of signatory N (1 to 50)"),
    MergeField("Signatory N Email Address", "Email address of signatory N"),
    MergeField("Signatory N Phone Number", "Phone number of signatory N, or empty"),
    MergeField("Signatory N Status", "Status of signatory N, e.g. signed"),
)

CATALOGUE: tuple[MergeField, ...] = _COMMON_FIELDS + _EVENT_FIELDS + _SIGNATORY_FIELDS
"""Every catalogue field; parameters of the document come on top, by name."""

_FIXED_FIELDS = {field.name: field for field in _COMMON_FIELDS + _EVENT_FIELDS}
_SIGNATORY_TAG = re.compile(
    r"Signatory ([1-9][0-9]?) (Full Name|Email Address|Phone Number|Status)"
)
_SIGNATORY_FIELD_BY_SUFFIX = {
    field.name[len("Signatory N ") :]: field for field in _SIGNATORY_FIELDS
}
ACCESS_CODE_PARAMETER = re.compile(r"Signatory [0-9]+ Access Code")
"""System parameters that hold a signer's access code; never available as merge fields."""


def find_field(tag: str) -> MergeField | None:
    """Return the catalogue entry for a tag name (without brackets), or None."""
    field = _FIXED_FIELDS.get(tag)
    if field is not None:
        return field
    match = _SIGNATORY_TAG.fullmatch(tag)
    if match and 1 <= int(match.group(1)) <= MAX_SIGNATORIES:
        return _SIGNATORY_FIELD_BY_SUFFIX[match.group(2)]
    return None


def catalogue_tag_names() -> list[str]:
    """Return every concrete catalogue tag name, with signatory fields for N = 1..50."""
    names = list(_FIXED_FIELDS)
    for number in range(1, MAX_SIGNATORIES + 1):
        for field in _SIGNATORY_FIELDS:
            names.append(field.name.replace(" N ", f" {number} "))
    return names


@dataclasses.dataclass(frozen=True, slots=True)
class SignatoryValues:
    """Signatory data used by the signatory merge fields."""

    name: str
    email: str
    status: str
    phone: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class MergeSource:
    """Plain data the tracking engine fills for one event and one document."""

    event_type: str
    event_id: str
    event_time: dt.datetime
    sequence: int
    document_id: str
    document_name: str
    status: str
    status_name: str
    created_at: dt.datetime
    template_name: str
    company_name: str
    account_context_id: str
    event_data: Mapping[str, object] = dataclasses.field(default_factory=dict)
    order_number: str | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    sender_username: str = ""
    sender_full_name: str = ""
    crm_object_type: str | None = None
    crm_record_id: str | None = None
    signatories: tuple[SignatoryValues, ...] = ()
    parameters: Mapping[str, str] = dataclasses.field(default_factory=dict)
    decline_reason: str | None = None
    feedback: str | None = None
    completed_pdf: bytes | None = None
    tracking_username: str | None = None
    tracking_password: str | None = None


def format_time(value: dt.datetime | None) -> str:
    """Format a time as UTC ISO 8601 with a ``Z`` suffix, or the empty string."""
    if value is None:
        return ""
    if value.tzinfo is None:
        raise ValueError("merge field times must be aware datetimes")
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_merge_values(source: MergeSource) -> dict[str, str]:
    """Compute the value of every tag available for ``source``.

    Catalogue tags win over document parameters of the same name. Signatory
    tags exist only for the document's signatories, and :func:`render` turns
    any tag missing here into the empty string.
    """
    values: dict[str, str] = {}
    for name, value in source.parameters.items():
        if not ACCESS_CODE_PARAMETER.fullmatch(name):
            values[name] = value

    values.update(_document_values(source))
    values.update(_event_values(source))
    for number, signatory in enumerate(source.signatories, start=1):
        values[f"Signatory {number} Full Name"] = signatory.name
        values[f"Signatory {number} Email Address"] = signatory.email
        values[f"Signatory {number} Phone Number"] = signatory.phone or ""
        values[f"Signatory {number} Status"] = signatory.status
    return values


def _document_values(source: MergeSource) -> dict[str, str]:
    return {
        "Document ID": source.document_id,
        "Document Name": source.document_name,
        "Order Number": source.order_number or "",
        "Document Status": source.status,
        "Document Status Name": source.status_name,
        "Document Sequence": str(source.sequence),
        "Event": source.event_type,
        "Event Name": EVENT_LABELS.get(source.event_type, source.event_type),
        "Event ID": source.event_id,
        "Event Time": format_time(source.event_time),
        "Document Creation Date": format_time(source.created_at),
        "Document Start Date": format_time(source.started_at),
        "Completion Date": format_time(source.completed_at),
        "Expiration Date": format_time(source.expires_at),
        "Template Name": source.template_name,
        "Company Name": source.company_name,
        "Account Context ID": source.account_context_id,
        "Sender Username": source.sender_username,
        "Sender Full Name": source.sender_full_name,
        "CRM Object Type": source.crm_object_type or "",
        "CRM Record ID": source.crm_record_id or "",
        "Authentication - Username": source.tracking_username or "",
        "Authentication - Password": source.tracking_password or "",
    }


def _event_values(source: MergeSource) -> dict[str, str]:
    data = source.event_data
    values = {
        "Step": _text(data.get("step")),
        "Days Before Expiration": _text(data.get("days_before")),
        "Decline Reason": source.decline_reason or _text(data.get("reason")),
        "Feedback": source.feedback or _text(data.get("feedback")),
        "Acting Signatory Number": _text(data.get("signatory")),
        "Acting Signatory Full Name": "",
        "Acting Signatory Email Address": "",
        "Completed Document Base64": "",
        "Completed Document SHA-256": "",
    }

    acting = data.get("signatory")
    if isinstance(acting, int) and 1 <= acting <= len(source.signatories):
        values["Acting Signatory Full Name"] = source.signatories[acting - 1].name
        values["Acting Signatory Email Address"] = source.signatories[acting - 1].email

    if source.completed_pdf is not None:
        values["Completed Document Base64"] = base64.b64encode(source.completed_pdf).decode()
        values["Completed Document SHA-256"] = hashlib.sha256(source.completed_pdf).hexdigest()
    return values


def _text(value: object) -> str:
    return "" if value is None else str(value)


def sample_merge_source(event_type: str = "document.completed") -> MergeSource:
    """Return made-up data for design validation and the design test button."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    at = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
    return MergeSource(
        event_type=event_type,
        event_id="evt_sample_0000000000000001",
        event_time=at + dt.timedelta(hours=2),
        sequence=4,
        event_data=_sample_event_data(event_type),
        document_id="doc_sample_0000000000000001",
        document_name="Sample Services Agreement",
        order_number="PO-1042",
        status="DCO" if event_type == "document.completed" else "DSS",
        status_name="Completed" if event_type == "document.completed" else "Started",
        created_at=at,
        started_at=at + dt.timedelta(minutes=5),
        completed_at=at + dt.timedelta(hours=2) if event_type == "document.completed" else None,
        expires_at=at + dt.timedelta(days=30),
        template_name="Services Agreement",
        company_name="Example Company",
        account_context_id="00000000-0000-4000-8000-000000000000",
        sender_username="sender@example.com",
        sender_full_name="Sample Sender",
        crm_object_type="Opportunity",
        crm_record_id="006000000000001AAA",
        signatories=(
            SignatoryValues("Ada Sample", "ada@example.com", "signed", "+15550100"),
            SignatoryValues("Grace Sample", "grace@example.com", "signed"),
        ),
        parameters={},
        decline_reason="Sample reason" if event_type == "document.declined" else None,
        feedback="Sample feedback" if event_type == "signer.feedback_submitted" else None,
        completed_pdf=b"%PDF-1.7 sample" if event_type == "document.completed" else None,
        tracking_username="tracking-user",
        tracking_password="********",
    )


def _sample_event_data(event_type: str) -> dict[str, object]:
    if event_type in ("step.started", "step.completed"):
        return {"step": 1}
    if event_type == "landing_page.visited":
        return {"signatory": 1, "step": 1}
    if event_type == "document.declined":
        return {"signatory": 2, "reason": "Sample reason"}
    if event_type == "document.pre_expiration_warning":
        return {"days_before": 3}
    if event_type == "signer.feedback_submitted":
        return {"signatory": 1, "feedback": "Sample feedback"}
    if event_type == "signer.authentication_failed":
        return {"signatory": 1}
    return {}
