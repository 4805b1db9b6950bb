"""Documents: create from a template, send, cancel, list and read, scoped to one account.

Every status change goes through :func:`check_transition` and records its
event with :func:`record_event` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import SecretBox, hash_token, new_signing_token
from docrelay.documents.events import record_event
from docrelay.documents.expiry import schedule_expiry_checks
from docrelay.documents.pagination import decode_cursor, page
from docrelay.documents.requests import CancelDocument, CreateDocument
from docrelay.documents.statuses import DocumentStatus, check_transition
from docrelay.errors import ConflictError, NotFoundError, ValidationError
from docrelay.storage.models import (
    Account,
    Document,
    Signatory,
    Template,
    TemplateVersion,
    WorkflowAssignment,
)
from docrelay.storage.types import new_id
from docrelay.templates.definition import TemplateDefinition
from docrelay.templates.service import current_version, get_template

logger = logging.getLogger(__name__)

ACCESS_CODE_HASHER = PasswordHasher()
"""Argon2id with argon2-cffi's defaults; access codes are short, so a slow hash matters."""


def token_purpose(signatory_id: str) -> str:
    return f"signing-token:{signatory_id}"


def definition_of(version: TemplateVersion) -> TemplateDefinition:
    return TemplateDefinition.model_validate(version.definition)


def create_document(
    session: Session, secrets: SecretBox, account: Account, request: CreateDocument
) -> Document:
    """Create a document in status DCR with its signatories and signing tokens."""
    template = get_template(session, account.id, request.template_id)
    version = current_version(session, template)
    definition = definition_of(version)
    _check_signatory_count(definition, request)
    parameters, access_codes = _split_access_codes(request)
    crm = _check_crm(account, request)

    now = clock.now()
    document = Document(
        id=new_id(),
        account_id=account.id,
        template_id=template.id,
        template_version_id=version.id,
        name=request.name or template.name,
        order_number=request.order_number,
        parameters=parameters,
        sender=request.sender,
        crm_system=crm[0] if crm else None,
        crm_object_type=crm[1] if crm else None,
        crm_record_id=crm[2] if crm else None,
        status=DocumentStatus.CREATED.value,
        status_changed_at=now,
        sequence=0,
        current_step=0,
        workflow=_workflow_snapshot(session, template),
        storage_location=template.storage_location,
        storage_folder_id=template.storage_folder_id,
        warnings_sent=[],
        created_at=now,
        updated_at=now,
    )
    session.add(document)
    session.flush()
    for number, signatory in enumerate(request.signatories, start=1):
        session.add(
            _signatory_row(
                secrets, document, definition, number, signatory, access_codes.get(number)
            )
        )
    session.flush()
    record_event(session, document, "document.created")
    return document


def _check_signatory_count(definition: TemplateDefinition, request: CreateDocument) -> None:
    expected = len(definition.signatories)
    if len(request.signatories) != expected:
        roles = ", ".join(role.name for role in definition.signatories)
        raise ValidationError.for_field(
            "signatories",
            f"the template needs {expected} signatories ({roles}), {len(request.signatories)} given",
        )


def _split_access_codes(request: CreateDocument) -> tuple[dict[str, str], dict[int, str]]:
    """Take ``Signatory N Access Code`` parameters out, so access codes are never stored in clear."""
    parameters: dict[str, str] = {}
    codes: dict[int, str] = {}
    for number, signatory in enumerate(request.signatories, start=1):
        if signatory.access_code:
            codes[number] = signatory.access_code
    for key, value in request.parameters.items():
        words = key.split()
        if (
            len(words) == 4
            and words[0] == "Signatory"
            and words[2:] == ["Access", "Code"]
            and words[1].isdigit()
        ):
            number = int(words[1])
            if not 1 <= number <= len(request.signatories):
                raise ValidationError.for_field(
                    f"parameters.{key}", f"names signatory {number}, which does not exist"
                )
            if len(value) < 4:
                raise ValidationError.for_field(
                    f"parameters.{key}", "must be at least 4 characters long"
                )
            codes.setdefault(number, value)
            continue
        parameters[key] = value
    return parameters, codes


def _check_crm(account: Account, request: CreateDocument) -> tuple[str, str, str] | None:
    from docrelay.salesforce.ids import validate_record_id

    if request.crm is None:
        return None
    prefixes = account.salesforce_mapping.get("key_prefixes") or None
    try:
        record_id = validate_record_id(request.crm.record_id, request.crm.object_type, prefixes)
    except ValidationError as exc:
        raise ValidationError(
            None, [(f"crm.{field}", message) for field, message in exc.errors]
        ) from None
    return request.crm.system, request.crm.object_type, record_id


def _workflow_snapshot(session: Session, template: Template) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(WorkflowAssignment)
        .where(
            WorkflowAssignment.template_id == template.id,
            WorkflowAssignment.account_id == template.account_id,
        )
        .order_by(WorkflowAssignment.position, WorkflowAssignment.id)
    )
    return [
        {
            "id": row.id,
            "event": row.event,
            "step": row.step,
            "design_id": row.design_id,
            "pre_expiration_days": row.pre_expiration_days,
        }
        for row in rows
    ]


def _signatory_row(
    secrets: SecretBox,
    document: Document,
    definition: TemplateDefinition,
    number: int,
    data: Any,
    access_code: str | None,
) -> Signatory:
    signatory_id = new_id()
    token = new_signing_token()
    return Signatory(
        id=signatory_id,
        document_id=document.id,
        account_id=document.account_id,
        position=number,
        step=definition.step_of(number),
        name=data.name,
        email=data.email,
        phone=data.phone,
        access_code_hash=ACCESS_CODE_HASHER.hash(access_code) if access_code else None,
        token_hash=hash_token(token),
        token_encrypted=secrets.encrypt(token.encode(), token_purpose(signatory_id)),
        status="pending",
        failed_access_attempts=0,
        authenticated=False,
        field_values={},
        actions=[],
    )


def get_document(
    session: Session, account_id: str, document_id: str, *, lock: bool = False
) -> Document:
    query = select(Document).where(Document.id == document_id, Document.account_id == account_id)
    if lock:
        query = query.with_for_update()
    document = session.scalar(query)
    if document is None:
        raise NotFoundError(f"Document {document_id} not found")
    return document


def signatories_of(session: Session, document: Document) -> list[Signatory]:
    return list(
        session.scalars(
            select(Signatory)
            .where(Signatory.document_id == document.id)
            .order_by(Signatory.position)
        )
    )


def send_document(session: Session, account_id: str, document_id: str) -> Document:
    """Move a document from DCR to DSS and start its first step."""
    document = get_document(session, account_id, document_id, lock=True)
    check_transition(document.status, DocumentStatus.STARTED)
    version = session.get(TemplateVersion, document.template_version_id)
    assert version is not None
    now = clock.now()
    document.status = DocumentStatus.STARTED.value
    document.status_changed_at = now
    document.sent_at = now
    document.current_step = 1
    document.expires_at = now + dt.timedelta(days=definition_of(version).expiration_days)
    schedule_expiry_checks(document, version)
    record_event(session, document, "document.started")
    record_event(session, document, "step.started", {"step": 1})
    return document


def cancel_document(
    session: Session, account_id: str, document_id: str, request: CancelDocument
) -> Document:
    document = get_document(session, account_id, document_id, lock=True)
    check_transition(document.status, DocumentStatus.CANCELLED)
    now = clock.now()
    document.status = DocumentStatus.CANCELLED.value
    document.status_changed_at = now
    document.remarks = request.remarks
    document.expiry_check_at = None
    record_event(
        session,
        document,
        "document.cancelled",
        {"remarks": request.remarks} if request.remarks else {},
    )
    return document


def parse_statuses(value: str | None) -> list[str]:
    if not value:
        return []
    codes = [item.strip().upper() for item in value.split(",") if item.strip()]
    valid = {status.value for status in DocumentStatus}
    for code in codes:
        if code not in valid:
            raise ValidationError.for_field(
                "status", f"unknown status {code!r}; use one of {', '.join(sorted(valid))}"
            )
    return codes


def list_documents(
    session: Session,
    account_id: str,
    *,
    statuses: list[str],
    template_id: str | None,
    crm_record_id: str | None,
    updated_since: dt.datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Document], str | None]:
    """List documents in order of last change, oldest first, so a poller can follow ``updated_since``."""
    query = select(Document).where(Document.account_id == account_id)
    if statuses:
        query = query.where(Document.status.in_(statuses))
    if template_id:
        query = query.where(Document.template_id == template_id)
    if crm_record_id:
        query = query.where(Document.crm_record_id.in_(_record_id_forms(crm_record_id)))
    if updated_since is not None:
        if updated_since.tzinfo is None:
            raise ValidationError.for_field(
                "updated_since", "needs a time zone, such as 2026-01-31T12:00:00Z"
            )
        query = query.where(Document.updated_at >= updated_since)
    position = decode_cursor(cursor)
    if position is not None:
        query = query.where(
            tuple_(Document.updated_at, Document.id) > tuple_(position.at, position.id)
        )
    rows = list(session.scalars(query.order_by(Document.updated_at, Document.id).limit(limit + 1)))
    return page(rows, limit, lambda row: (row.updated_at, row.id))


def _record_id_forms(value: str) -> list[str]:
    from docrelay.salesforce.ids import is_valid_id, to_18

    if not is_valid_id(value):
        raise ValidationError.for_field(
            "crm_record_id", f"{value!r} is not a 15 or 18 character Salesforce id"
        )
    return [to_18(value)]


def stored_file(session: Session, account_id: str, document_id: str, kind: str) -> tuple[str, str]:
    """Return the blob key and download name of a document's ``original``, ``completed`` or ``audit`` PDF."""
    document = get_document(session, account_id, document_id)
    if kind == "original":
        version = session.get(TemplateVersion, document.template_version_id)
        assert version is not None
        return version.source_blob, f"{document.name} - original.pdf"
    key = document.completed_blob if kind == "completed" else document.audit_blob
    if key is None:
        raise ConflictError(
            f"Document {document.id} is in status {document.status}; "
            f"its {kind} PDF exists once it is completed (DCO)",
            current_status=document.status,
        )
    name = f"{document.name}.pdf" if kind == "completed" else f"{document.name} - audit trail.pdf"
    return key, name


def signing_links(
    session: Session, secrets: SecretBox, base_url: str, document: Document
) -> list[dict[str, Any]]:
    """Return each signatory's signing link, decrypted for the sender."""
    links = []
    for signatory in signatories_of(session, document):
        token = secrets.decrypt(signatory.token_encrypted, token_purpose(signatory.id)).decode()
        links.append(
            {
                "signatory": signatory.position,
                "step": signatory.step,
                "name": signatory.name,
                "email": signatory.email,
                "status": signatory.status,
                "url": f"{base_url.rstrip('/')}/sign/{token}",
            }
        )
    return links
