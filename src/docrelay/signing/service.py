"""Signatory actions that change a document: fill fields, sign, decline, give feedback.

Each action runs in one short transaction that locks the document, checks the
state, applies the change, appends the signatory's audit facts (time, IP
address, user agent) and records the event. The signature image is rendered
before the transaction and the completed PDF is built after it (see
:mod:`docrelay.signing.completion`), so no PDF work happens under the lock.
Typed initials, when the signatory has an initials field, are rendered inside
the transaction, which takes milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import zoneinfo
from typing import Any

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.documents.events import record_event
from docrelay.documents.files import discard_files, put_file
from docrelay.documents.service import definition_of, signatories_of
from docrelay.documents.statuses import DocumentStatus, check_transition
from docrelay.errors import ValidationError
from docrelay.runtime import Runtime
from docrelay.signing import access
from docrelay.signing.context import (
    Client,
    add_action,
    field_value,
    field_view,
    require_turn,
    template_version,
)
from docrelay.signing.requests import SignatureInput, SignRequest
from docrelay.storage.models import Account, Document, Signatory
from docrelay.templates.definition import (
    AUTOMATIC_TYPES,
    SIGNED_TYPES,
    FieldType,
    TemplateDefinition,
)

logger = logging.getLogger(__name__)

MAX_TEXT_VALUE = 2000


def fill_fields(
    runtime: Runtime, token: str, values: dict[str, Any], client: Client
) -> list[dict[str, Any]]:
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token, lock=True)
        access.require_access(signatory, client.signing_session, runtime.secrets)
        require_turn(document, signatory)
        definition = definition_of(template_version(session, document))
        _apply_values(signatory, definition, values)
        add_action(signatory, "fields_filled", client, detail=", ".join(sorted(values)))
        return [
            field_view(document, signatory, item)
            for item in definition.fields_of(signatory.position)
        ]


def _apply_values(
    signatory: Signatory, definition: TemplateDefinition, values: dict[str, Any]
) -> None:
    errors: list[tuple[str, str]] = []
    accepted: dict[str, Any] = {}
    for name, value in values.items():
        path = f"values.{name}"
        item = definition.field(name)
        if item is None or item.signatory != signatory.position:
            errors.append((path, "is not a field of this signatory"))
        elif item.type is FieldType.TEXT:
            if not isinstance(value, str) or len(value) > MAX_TEXT_VALUE:
                errors.append((path, f"must be text of at most {MAX_TEXT_VALUE} characters"))
            else:
                accepted[name] = value
        elif item.type is FieldType.CHECKBOX:
            if not isinstance(value, bool):
                errors.append((path, "must be true or false"))
            else:
                accepted[name] = value
        else:
            errors.append((path, f"is a {item.type.value} field, which is filled when you sign"))
    if errors:
        raise ValidationError(None, errors)
    signatory.field_values = {**signatory.field_values, **accepted}


def signature_png(signature: SignatureInput, path: str) -> bytes:
    """Render a typed name, or check an uploaded drawing, as a signature PNG."""
    from docrelay.pdf.signature_image import typed_signature_png, validate_signature_png

    if signature.typed_name is not None:
        return typed_signature_png(signature.typed_name)
    assert signature.image_png_base64 is not None
    try:
        data = base64.b64decode(signature.image_png_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError.for_field(f"{path}.image_png_base64", "is not valid base64") from exc
    try:
        return validate_signature_png(data)
    except ValidationError as exc:
        raise ValidationError(
            None, [(f"{path}.image_png_base64", message) for _field, message in exc.errors]
        ) from None


def _initials_of(name: str) -> str:
    return "".join(word[0] for word in name.split() if word)[:4] or name[:2]


def sign(runtime: Runtime, token: str, request: SignRequest, client: Client) -> dict[str, Any]:
    """Sign for a signatory; completes the step and, after the last step, the document."""
    signature = signature_png(request.signature, "signature")
    typed = request.signature.typed_name
    initials = None
    written: list[str] = []
    try:
        with runtime.database.transaction() as session:
            signatory, document = access.find_by_token(session, token, lock=True)
            access.require_access(signatory, client.signing_session, runtime.secrets)
            require_turn(document, signatory)
            definition = definition_of(template_version(session, document))
            _apply_values(signatory, definition, request.values)
            _check_required(document, signatory, definition)
            if any(
                item.type is FieldType.INITIALS for item in definition.fields_of(signatory.position)
            ):
                initials_input = request.initials or SignatureInput(
                    typed_name=_initials_of(typed or signatory.name)
                )
                initials = signature_png(initials_input, "initials")
            written = _store_images(session, runtime, document, signatory, signature, initials)
            _mark_signed(session, document, signatory, definition, client)
            finished = _advance_steps(session, document)
            document_id, account_id = document.id, document.account_id
    except BaseException:
        discard_files(runtime.blobs, written)
        raise
    if finished:
        from docrelay.signing.completion import complete_now

        complete_now(runtime, document_id)
    return signing_status(runtime, account_id, document_id)


def _check_required(
    document: Document, signatory: Signatory, definition: TemplateDefinition
) -> None:
    errors = []
    for item in definition.fields_of(signatory.position):
        if not item.is_required or item.type in AUTOMATIC_TYPES or item.type in SIGNED_TYPES:
            continue
        value = field_value(document, signatory, item)
        if item.type is FieldType.CHECKBOX and value is not True:
            errors.append((f"values.{item.name}", "must be checked before signing"))
        elif item.type is FieldType.TEXT and not (isinstance(value, str) and value.strip()):
            errors.append((f"values.{item.name}", "is required; fill it before signing"))
    if errors:
        raise ValidationError(None, errors)


def _store_images(
    session: Session,
    runtime: Runtime,
    document: Document,
    signatory: Signatory,
    signature: bytes,
    initials: bytes | None,
) -> list[str]:
    prefix = (
        f"accounts/{document.account_id}/documents/{document.id}/signatories/{signatory.position}"
    )
    written = [f"{prefix}-signature.png"]
    put_file(
        session,
        runtime.blobs,
        account_id=document.account_id,
        key=written[0],
        data=signature,
        content_type="image/png",
    )
    signatory.signature_blob = written[0]
    if initials is not None:
        written.append(f"{prefix}-initials.png")
        put_file(
            session,
            runtime.blobs,
            account_id=document.account_id,
            key=written[1],
            data=initials,
            content_type="image/png",
        )
        signatory.initials_blob = written[1]
    return written


def _mark_signed(
    session: Session,
    document: Document,
    signatory: Signatory,
    definition: TemplateDefinition,
    client: Client,
) -> None:
    now = clock.now()
    account = session.get(Account, document.account_id)
    zone = _zone(account.time_zone if account else "UTC")
    automatic: dict[str, Any] = {}
    for item in definition.fields_of(signatory.position):
        if item.type is FieldType.DATE_SIGNED:
            automatic[item.name] = now.astimezone(zone).date().isoformat()
        elif item.type is FieldType.FULL_NAME:
            automatic[item.name] = signatory.name
    signatory.field_values = {**signatory.field_values, **automatic}
    signatory.status = "signed"
    signatory.signed_at = now
    add_action(signatory, "signed", client)


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _advance_steps(session: Session, document: Document) -> bool:
    """Record step events after a signature; return True when every step is complete."""
    signatories = signatories_of(session, document)
    step = document.current_step
    if any(item.status != "signed" for item in signatories if item.step == step):
        return False
    record_event(session, document, "step.completed", {"step": step})
    if any(item.step == step + 1 for item in signatories):
        document.current_step = step + 1
        record_event(session, document, "step.started", {"step": step + 1})
        return False
    return True


def decline(runtime: Runtime, token: str, reason: str, client: Client) -> dict[str, Any]:
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token, lock=True)
        access.require_access(signatory, client.signing_session, runtime.secrets)
        require_turn(document, signatory)
        check_transition(document.status, DocumentStatus.DECLINED)
        document.status = DocumentStatus.DECLINED.value
        document.status_changed_at = clock.now()
        document.expiry_check_at = None
        signatory.status = "declined"
        signatory.decline_reason = reason
        add_action(signatory, "declined", client, detail=reason)
        record_event(
            session,
            document,
            "document.declined",
            {"signatory": signatory.position, "reason": reason},
        )
        account_id, document_id = document.account_id, document.id
    return signing_status(runtime, account_id, document_id)


def submit_feedback(runtime: Runtime, token: str, feedback: str, client: Client) -> None:
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token, lock=True)
        access.require_access(signatory, client.signing_session, runtime.secrets)
        signatory.feedback = feedback
        add_action(signatory, "feedback", client, detail=feedback)
        record_event(
            session,
            document,
            "signer.feedback_submitted",
            {"signatory": signatory.position, "feedback": feedback},
        )


def signing_status(runtime: Runtime, account_id: str, document_id: str) -> dict[str, Any]:
    with runtime.database.transaction() as session:
        document = session.get(Document, document_id)
        assert document is not None and document.account_id == account_id
        return {
            "document_status": document.status,
            "document_status_name": DocumentStatus(document.status).label,
            "current_step": document.current_step,
            "signatories": [
                {"number": item.position, "status": item.status}
                for item in signatories_of(session, document)
            ],
        }
