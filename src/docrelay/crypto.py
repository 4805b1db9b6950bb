"""Secrets at rest, API keys and signing tokens.

Secrets (Salesforce credentials, design secrets, private keys) are encrypted
with AES-256-GCM under a key derived from the instance secret key. The stored
form is ``v1.<base64url(nonce || ciphertext || tag)>``; the associated data
binds each value to its purpose, so a ciphertext copied from one column into
another does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from docrelay.config import Settings
from docrelay.errors import ConfigurationError, DocRelayError

logger = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret.key"
_PREFIX = "v1."


class DecryptionError(DocRelayError):
    """A stored secret could not be decrypted: the secret key changed or the value was altered."""


class SecretBox:
    """Encrypts and decrypts small secrets with the instance key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 16:
            raise ConfigurationError("DOCRELAY_SECRET_KEY must be at least 16 characters long")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"docrelay-secrets", info=b"aes-gcm"
        ).derive(master_key)
        self._aead = AESGCM(derived)

    def encrypt(self, plaintext: bytes, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, purpose: str) -> bytes:
        if not token.startswith(_PREFIX):
            raise DecryptionError("Stored secret has an unknown format")
        raw = base64.urlsafe_b64decode(token[len(_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise DecryptionError() from exc

    def encrypt_json(self, value: object, purpose: str) -> str:
        return self.encrypt(json.dumps(value).encode(), purpose)

    def decrypt_json(self, token: str, purpose: str) -> object:
        return json.loads(self.decrypt(token, purpose))


def load_secret_box(settings: Settings) -> SecretBox:
    """Build the box from ``DOCRELAY_SECRET_KEY``, or from the key file generated on first run.

    PostgreSQL deployments run several processes that must share one key, so
    there the variable is required and no file is generated.
    """
    if settings.secret_key is not None:
        return SecretBox(settings.secret_key.get_secret_value().encode())
    if not settings.is_sqlite:
        raise ConfigurationError(
            "DOCRELAY_SECRET_KEY is required with PostgreSQL: every API and worker process must "
            'share one key. Generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"` '
            "and set it in every process's environment."
        )
    return SecretBox(_read_or_create_key_file(settings.data_dir / SECRET_KEY_FILE))


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(os.urandom(32))
    # O_EXCL so two processes starting together cannot both write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    logger.info(
        "Generated a new secret key file at %s", path, extra={"action": "secret_key_created"}
    )
    return key


API_KEY_PREFIX = "drk_"


def new_api_key() -> str:
    """Return a new API key: a prefix that makes leaked keys easy to spot, and 256 random bits."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a high-entropy token is stored.

    API keys and signing tokens carry 256 random bits, so a fast hash is enough:
    there is nothing to brute-force. Human passwords and access codes use Argon2.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def new_signing_token() -> str:
    """Return an unguessable signing-link token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)
