"""Stored files: bytes in the blob store, with a metadata row in the same account."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from docrelay import clock
from docrelay.storage.blobs import BlobStore
from docrelay.storage.models import Blob


def put_file(
    session: Session, blobs: BlobStore, *, account_id: str, key: str, data: bytes, content_type: str
) -> str:
    """Write ``data`` under ``key`` and add its metadata row; return its SHA-256.

    The bytes are written before the transaction commits. A caller whose
    transaction fails deletes the key again (see :func:`discard_files`).
    """
    if not key.startswith(f"accounts/{account_id}/"):
        raise ValueError(f"blob key {key!r} is outside account {account_id}")
    digest = blobs.put(key, data)
    existing = session.get(Blob, key)
    if existing is None:
        session.add(
            Blob(
                key=key,
                account_id=account_id,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_type=content_type,
                created_at=clock.now(),
            )
        )
    else:
        existing.size = len(data)
        existing.sha256 = digest
        existing.content_type = content_type
    return digest


def discard_files(blobs: BlobStore, keys: list[str]) -> None:
    """Delete blobs written for a transaction that did not commit."""
    for key in keys:
        blobs.delete(key)
