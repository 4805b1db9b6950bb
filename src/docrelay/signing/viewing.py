"""Opening a signing link: the signing page view, landing page visits, page sources and access codes."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.documents.events import record_event
from docrelay.documents.service import definition_of
from docrelay.documents.statuses import DocumentStatus
from docrelay.errors import ConflictError, ValidationError
from docrelay.runtime import Runtime
from docrelay.signing import access
from docrelay.signing.context import Client, add_action, field_view, template_version
from docrelay.storage.models import Document, Signatory

logger = logging.getLogger(__name__)

VISIT_INTERVAL = dt.timedelta(minutes=30)
"""A new landing page visit is recorded only after this long without one, so reloads add no events."""


def signing_view(runtime: Runtime, token: str, client: Client) -> dict[str, Any]:
    """Return what the signing page shows, and record a landing page visit."""
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token, lock=True)
        _record_visit(session, document, signatory, client)
        version = template_version(session, document)
        definition = definition_of(version)
        locked_out = signatory.status == "authentication_failed"
        code_needed = access.needs_access_code(signatory, client.signing_session, runtime.secrets)
        view: dict[str, Any] = {
            "document": {
                "name": document.name,
                "status": document.status,
                "status_name": DocumentStatus(document.status).label,
                "expires_at": document.expires_at.isoformat() if document.expires_at else None,
                "current_step": document.current_step,
            },
            "signatory": {
                "number": signatory.position,
                "name": signatory.name,
                "email": signatory.email,
                "step": signatory.step,
                "status": signatory.status,
            },
            "access_code_required": code_needed,
            "locked": locked_out,
            "can_sign": not locked_out
            and not code_needed
            and signatory.step <= document.current_step
            and signatory.status in ("pending", "viewed"),
        }
        if code_needed or locked_out:
            return view
        view["page_count"] = version.page_count
        view["pages"] = [
            {
                "number": page["number"],
                "width": page["width"],
                "height": page["height"],
                "image": f"/sign/{token}/pages/{page['number']}.png",
            }
            for page in version.pages
        ]
        view["fields"] = [
            field_view(document, signatory, item)
            for item in definition.fields_of(signatory.position)
        ]
        return view


def _record_visit(
    session: Session, document: Document, signatory: Signatory, client: Client
) -> None:
    if signatory.status not in ("pending", "viewed"):
        return
    now = clock.now()
    last = next(
        (item for item in reversed(signatory.actions) if item.get("action") == "viewed"), None
    )
    if last is not None and now - dt.datetime.fromisoformat(last["at"]) < VISIT_INTERVAL:
        return
    if signatory.status == "pending":
        signatory.status = "viewed"
        signatory.viewed_at = now
    add_action(signatory, "viewed", client)
    record_event(
        session,
        document,
        "landing_page.visited",
        {"signatory": signatory.position, "step": signatory.step},
    )


def page_source(runtime: Runtime, token: str, page_number: int, client: Client) -> bytes:
    """Return the template PDF behind a signing link after checking the caller may see it."""
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token)
        access.require_access(signatory, client.signing_session, runtime.secrets)
        version = template_version(session, document)
        if not 1 <= page_number <= version.page_count:
            raise ValidationError.for_field(
                "page",
                f"page {page_number} does not exist; the document has {version.page_count} pages",
            )
        key = version.source_blob
    return runtime.blobs.get(key)


def submit_access_code(runtime: Runtime, token: str, code: str, client: Client) -> str:
    """Check an access code; return a signing session, or raise after recording the failure."""
    with runtime.database.transaction() as session:
        signatory, document = access.find_by_token(session, token, lock=True)
        if signatory.status == "authentication_failed":
            raise access.LockedOutError(
                "This signing link is locked after too many wrong access codes; ask the sender for help"
            )
        if signatory.access_code_hash is None:
            raise ConflictError("This signing link has no access code")
        accepted = access.check_access_code(signatory, code)
        remaining = _record_code_attempt(session, document, signatory, accepted, client)
        result = access.new_session(runtime.secrets, signatory) if accepted else None
    if result is not None:
        return result
    if remaining == 0:
        raise access.LockedOutError(
            "Wrong access code. The signing link is now locked; ask the sender for help"
        )
    raise ValidationError.for_field(
        "access_code", f"is wrong; {remaining} attempt(s) left before the link is locked"
    )


def _record_code_attempt(
    session: Session, document: Document, signatory: Signatory, accepted: bool, client: Client
) -> int:
    if accepted:
        signatory.failed_access_attempts = 0
        signatory.authenticated = True
        add_action(signatory, "authenticated", client)
        return access.MAX_ACCESS_CODE_FAILURES
    signatory.failed_access_attempts += 1
    add_action(signatory, "access_code_rejected", client)
    remaining = max(access.MAX_ACCESS_CODE_FAILURES - signatory.failed_access_attempts, 0)
    if remaining == 0:
        signatory.status = "authentication_failed"
        record_event(
            session, document, "signer.authentication_failed", {"signatory": signatory.position}
        )
        logger.warning(
            "Signatory %d of document %s locked out after wrong access codes",
            signatory.position,
            document.id,
            extra={"action": "signer_locked_out", "document_id": document.id},
        )
    return remaining
