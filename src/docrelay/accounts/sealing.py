"""The account's sealing identity: an uploaded PKCS#12 certificate, or a self-signed one made on first use.

The private key is stored as PKCS#8 PEM, encrypted with the instance key
under the purpose ``sealing-key:<account id>``. The certificate chain is
stored as PEM in clear, because it is public.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from docrelay import clock
from docrelay.errors import ValidationError
from docrelay.pdf.seal import (
    SealingIdentity,
    generate_self_signed_identity,
    identity_from_pem,
    identity_to_pem,
    load_pkcs12,
)
from docrelay.runtime import Runtime
from docrelay.storage.models import Account

logger = logging.getLogger(__name__)

MAX_PKCS12_BYTES = 1024 * 1024


def key_purpose(account_id: str) -> str:
    return f"sealing-key:{account_id}"


def _load(runtime: Runtime, account: Account) -> SealingIdentity | None:
    if not account.sealing_key_encrypted or not account.sealing_certificate_pem:
        return None
    key_pem = runtime.secrets.decrypt(account.sealing_key_encrypted, key_purpose(account.id))
    return identity_from_pem(key_pem, account.sealing_certificate_pem.encode())


def _store(runtime: Runtime, account: Account, identity: SealingIdentity) -> None:
    key_pem, cert_pem = identity_to_pem(identity)
    account.sealing_key_encrypted = runtime.secrets.encrypt(key_pem, key_purpose(account.id))
    account.sealing_certificate_pem = cert_pem.decode()
    account.sealing_changed_at = clock.now()
    account.updated_at = account.sealing_changed_at


def sealing_identity(runtime: Runtime, account_id: str) -> SealingIdentity:
    """Return the account's identity, generating and storing a self-signed one on first use."""
    with runtime.database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        existing = _load(runtime, account)
        name = account.name
    if existing is not None:
        return existing

    generated = generate_self_signed_identity(f"{name} (DocRelay seal)")
    with runtime.database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        # Another process may have generated one meanwhile; the first stored wins.
        stored = _load(runtime, account)
        if stored is not None:
            return stored
        _store(runtime, account, generated)
    logger.info(
        "Generated a self-signed sealing certificate for account %s",
        account_id,
        extra={"action": "sealing_identity_generated", "account_id": account_id},
    )
    return generated


def install_pkcs12(runtime: Runtime, account: Account, data: bytes, password: str | None) -> None:
    """Replace the account's identity with the one in a PKCS#12 file."""
    if not data:
        raise ValidationError.for_field("file", "is empty; upload a PKCS#12 (.p12 or .pfx) file")
    if len(data) > MAX_PKCS12_BYTES:
        raise ValidationError.for_field("file", f"is larger than {MAX_PKCS12_BYTES} bytes")
    try:
        identity = load_pkcs12(data, password.encode() if password else None)
    except ValidationError as exc:
        raise ValidationError(None, [("file", message) for _field, message in exc.errors]) from None
    _store(runtime, account, identity)
    logger.info(
        "Installed a sealing certificate for account %s",
        account.id,
        extra={"action": "sealing_identity_installed", "account_id": account.id},
    )


def certificate_view(account: Account) -> dict[str, Any]:
    """Describe the sealing certificate without its key."""
    if not account.sealing_certificate_pem:
        return {
            "configured": False,
            "note": "a self-signed certificate is generated when the first document completes",
        }
    certificate = x509.load_pem_x509_certificates(account.sealing_certificate_pem.encode())[0]
    der = certificate.public_bytes(serialization.Encoding.DER)
    return {
        "configured": True,
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "self_signed": certificate.subject == certificate.issuer,
        "not_valid_after": certificate.not_valid_after_utc.isoformat(),
        "sha256_fingerprint": hashlib.sha256(der).hexdigest(),
        "changed_at": account.sealing_changed_at.isoformat()
        if account.sealing_changed_at
        else None,
    }


def trusted_certificates(account: Account) -> list[x509.Certificate]:
    if not account.sealing_certificate_pem:
        return []
    return x509.load_pem_x509_certificates(account.sealing_certificate_pem.encode())
