"""Signing links and access codes: who may act on a document through a token.

A signing token is the bearer secret of one signatory's link. When the
sender set an access code, a correct code also yields a signing session. The
session is a value sealed with the instance key that names the signatory and
expires after :data:`SESSION_LIFETIME`. Clients send it back in the
``X-Signing-Session`` header or the cookie ``docrelay_signing_session``. Wrong codes count toward a lockout after
:data:`MAX_ACCESS_CODE_FAILURES` attempts, which is what rate-limits guessing.
"""

from __future__ import annotations

import datetime as dt

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.crypto import DecryptionError, SecretBox, hash_token
from docrelay.documents.service import ACCESS_CODE_HASHER
from docrelay.documents.statuses import DocumentStatus
from docrelay.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from docrelay.storage.models import Document, Signatory

MAX_ACCESS_CODE_FAILURES = 5
SESSION_LIFETIME = dt.timedelta(hours=2)
SESSION_HEADER = "X-Signing-Session"
SESSION_COOKIE = "docrelay_signing_session"
_SESSION_PURPOSE = "signing-session"


class SigningLinkClosedError(ConflictError):
    """The document reached a final status or its expiration time, so its signing links no longer work."""

    status_code = 410
    title = "Signing link closed"


class LockedOutError(PermissionDeniedError):
    """Too many wrong access codes; the signatory is locked out."""


def find_by_token(
    session: Session, token: str, *, lock: bool = False
) -> tuple[Signatory, Document]:
    """Return the signatory and document of a signing token; raise 404 or 410."""
    if not token or len(token) > 200:
        raise NotFoundError("Signing link not found")
    signatory = session.scalar(select(Signatory).where(Signatory.token_hash == hash_token(token)))
    if signatory is None:
        raise NotFoundError("Signing link not found; check that the whole link was copied")
    query = select(Document).where(Document.id == signatory.document_id)
    document = session.scalar(query.with_for_update() if lock else query)
    assert document is not None
    status = DocumentStatus(document.status)
    if status.is_final:
        raise SigningLinkClosedError(
            f"This document is {status.label.lower()} ({status.value}); its signing links no longer work",
            current_status=status.value,
        )
    if document.expires_at is not None and clock.now() >= clock.ensure_utc(document.expires_at):
        # The expiry pass may not have run yet; the link closes at the expiration time itself.
        raise SigningLinkClosedError(
            f"This document expired at {clock.ensure_utc(document.expires_at).isoformat()}; "
            "its signing links no longer work",
            current_status=status.value,
        )
    if status is DocumentStatus.CREATED:
        raise ConflictError("This document has not been sent yet", current_status=status.value)
    if lock:
        session.refresh(signatory, with_for_update=True)
    return signatory, document


def needs_access_code(signatory: Signatory, session_value: str | None, secrets: SecretBox) -> bool:
    """Tell whether the caller still has to enter the signatory's access code."""
    if signatory.access_code_hash is None:
        return False
    return not session_is_valid(secrets, signatory, session_value)


def require_access(signatory: Signatory, session_value: str | None, secrets: SecretBox) -> None:
    """Raise unless the caller may act for this signatory (not locked out, code entered if set)."""
    if signatory.status == "authentication_failed":
        raise LockedOutError(
            "This signing link is locked after too many wrong access codes; ask the sender for help"
        )
    if needs_access_code(signatory, session_value, secrets):
        raise AuthenticationError(
            f"Enter the access code first (POST /sign/<token>/access-code) and send the returned session in {SESSION_HEADER}"
        )


def check_access_code(signatory: Signatory, code: str) -> bool:
    if signatory.access_code_hash is None:
        return True
    try:
        return ACCESS_CODE_HASHER.verify(signatory.access_code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def new_session(secrets: SecretBox, signatory: Signatory) -> str:
    expires = clock.now() + SESSION_LIFETIME
    return secrets.encrypt_json(
        {"signatory": signatory.id, "expires": expires.timestamp()}, _SESSION_PURPOSE
    )


def session_is_valid(secrets: SecretBox, signatory: Signatory, value: str | None) -> bool:
    if not value:
        return False
    try:
        content = secrets.decrypt_json(value, _SESSION_PURPOSE)
    except (DecryptionError, ValueError):
        return False
    if not isinstance(content, dict) or content.get("signatory") != signatory.id:
        return False
    expires = content.get("expires")
    return isinstance(expires, int | float) and expires > clock.now().timestamp()
