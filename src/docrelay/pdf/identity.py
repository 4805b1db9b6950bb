"""Sealing identities: a private key and the certificate chain that vouches for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from docrelay import clock
from docrelay.errors import ValidationError

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# id-kp-documentSigning from RFC 9336, which PDF validators accept for seals.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
VALIDITY = dt.timedelta(days=3652)


@dataclass(frozen=True)
class SealingIdentity:
    """A private key, its certificate, and any intermediate certificates after it."""

    private_key: SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    # The pyHanko signer built from this identity, created on first use.
    _signer_cache: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return (self.certificate, *self.chain)


def generate_self_signed_identity(common_name: str, *, key_type: str = "ec") -> SealingIdentity:
    """Create a key (EC P-256, or RSA 3072 with ``key_type="rsa"``) and a 10-year certificate.

    The certificate allows digital signatures and non-repudiation and carries
    the document-signing extended key usage.
    """
    if not common_name.strip():
        raise ValidationError.for_field("common_name", "is empty; give the account's name")
    key: SigningKey
    if key_type == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValueError(f"key_type must be 'ec' or 'rsa', not {key_type!r}")

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip()[:64])])
    start = clock.now() - dt.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SealingIdentity(key, certificate)


def _key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def identity_to_pem(
    identity: SealingIdentity, *, password: bytes | None = None
) -> tuple[bytes, bytes]:
    """Serialise an identity as (PKCS#8 key PEM, certificate chain PEM).

    The key is encrypted with ``password`` when one is given; callers that
    store it unencrypted must protect it some other way.
    """
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key_pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    cert_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.certificates)
    return key_pem, cert_pem


def identity_from_pem(
    key_pem: bytes, cert_pem: bytes, *, password: bytes | None = None
) -> SealingIdentity:
    """Load an identity from a PEM key and a PEM chain that starts with its certificate."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValidationError.for_field(
            "private_key", f"could not be read as a PEM private key ({error})"
        ) from error
    try:
        certificates = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as error:
        raise ValidationError.for_field(
            "certificate", f"could not be read as PEM certificates ({error})"
        ) from error
    return _checked_identity(key, certificates[0], certificates[1:], field_name="certificate")


def load_pkcs12(data: bytes, password: bytes | None) -> SealingIdentity:
    """Load a sealing identity from a PKCS#12 (.p12, .pfx) file."""
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValidationError.for_field(
            "pkcs12",
            "could not be opened; check that it is a PKCS#12 file and that the password is right",
        ) from error
    if key is None or certificate is None:
        raise ValidationError.for_field(
            "pkcs12", "must contain both a private key and its certificate"
        )
    return _checked_identity(key, certificate, list(extra), field_name="pkcs12")


def _public_der(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _checked_identity(
    key: Any, certificate: x509.Certificate, chain: list[x509.Certificate], *, field_name: str
) -> SealingIdentity:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValidationError.for_field(
            field_name, f"holds a {type(key).__name__}; use an RSA or EC key"
        )
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise ValidationError.for_field(
            field_name, "the certificate does not belong to the private key"
        )
    # Keep the intermediates in order and drop a duplicate of the leaf.
    others = tuple(c for c in chain if c != certificate)
    return SealingIdentity(key, certificate, others)
