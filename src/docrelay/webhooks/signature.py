"""Standard Webhooks request signing.

Receivers verify ``webhook-signature`` as HMAC-SHA256 over
``{webhook-id}.{webhook-timestamp}.{body}``, keyed with the base64-decoded
part of the ``whsec_`` secret (Standard Webhooks specification, "Signature
scheme"). While a secret is being rotated, requests carry one signature per
secret, separated by spaces, so receivers holding either secret accept them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    """Return a new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook signing secret must be 'whsec_' and base64") from exc


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """Return the ``webhook-signature`` header value: ``v1,<base64>`` per secret."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in secrets:
        digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def headers_for(
    msg_id: str, body: bytes, secrets: Sequence[str], now: dt.datetime
) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one attempt sent at ``now``."""
    timestamp = int(now.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
    }
