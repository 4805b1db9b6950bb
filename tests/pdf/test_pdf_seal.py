"""Sealing identities, PAdES seals and their verification."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.generic import TextStringObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from docrelay.errors import ValidationError
from docrelay.pdf import seal as seal_module
from docrelay.pdf.identity import DOCUMENT_SIGNING
from docrelay.pdf.seal import (
    generate_self_signed_identity,
    identity_from_pem,
    identity_to_pem,
    load_pkcs12,
    seal_pdf,
    verify_seal,
)


@pytest.fixture(scope="module")
def sealed(sample_bytes, identity) -> bytes:
    return seal_pdf(sample_bytes["minimal-document.pdf"], identity, location="Test bench")


def test_generated_identity_is_for_document_signing(identity):
    certificate = identity.certificate

    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc

    assert usage.digital_signature
    assert usage.content_commitment
    assert DOCUMENT_SIGNING in extended
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in extended
    assert lifetime >= dt.timedelta(days=3650)
    assert isinstance(identity.private_key, ec.EllipticCurvePrivateKey)
    assert identity.private_key.curve.name == "secp256r1"
    assert "DocRelay Test Account" in identity.subject


def test_rsa_identity_is_3072_bits():
    identity = generate_self_signed_identity("RSA Account", key_type="rsa")

    assert isinstance(identity.private_key, rsa.RSAPrivateKey)
    assert identity.private_key.key_size == 3072


def test_seal_verifies_intact_and_valid(sealed, identity):
    check = verify_seal(sealed, [identity.certificate])

    assert check.intact
    assert check.valid
    assert "DocRelay Test Account" in check.signer_subject
    assert check.modification_level == "NONE"


def test_seal_is_pades_certification(sealed):
    reader = PdfFileReader(io.BytesIO(sealed))
    signature = reader.embedded_signatures[-1]

    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "Sealed by DocRelay"
    assert signature.sig_object["/Location"] == "Test bench"
    assert "/DocMDP" in reader.root["/Perms"]


def test_changed_byte_in_signed_range_breaks_seal(sealed, identity):
    # The original revision's /Producer string lies inside the signed range.
    position = sealed.index(b"pdfTeX")
    tampered = bytearray(sealed)
    tampered[position] = ord("q")

    check = verify_seal(bytes(tampered), [identity.certificate])

    assert not check.intact
    assert not check.valid
    assert "changed" in check.summary


def test_untrusted_certificate_not_valid(sealed):
    stranger = generate_self_signed_identity("Someone Else")

    check = verify_seal(sealed, [stranger.certificate])

    assert check.intact
    assert not check.valid
    assert "trusted" in check.summary


def test_revision_added_after_seal_not_valid(sealed, identity):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    writer.root["/Lang"] = TextStringObject("en")
    writer.update_root()
    buffer = io.BytesIO()
    writer.write(buffer)

    check = verify_seal(buffer.getvalue(), [identity.certificate])

    assert check.intact
    assert not check.valid


def test_unsigned_pdf_reported(sample_bytes, identity):
    check = verify_seal(sample_bytes["minimal-document.pdf"], [identity.certificate])

    assert not check.intact
    assert not check.valid
    assert "no signature" in check.summary


def test_garbage_reported_not_raised(identity):
    check = verify_seal(b"not a pdf at all", [identity.certificate])

    assert not check.intact
    assert not check.valid


def test_seal_inside_running_event_loop(sample_bytes, identity):
    async def seal_in_loop() -> bytes:
        return seal_pdf(sample_bytes["minimal-document.pdf"], identity)

    sealed = asyncio.run(seal_in_loop())

    assert verify_seal(sealed, [identity.certificate]).valid


def test_pem_round_trip(identity, sample_bytes):
    key_pem, cert_pem = identity_to_pem(identity)

    loaded = identity_from_pem(key_pem, cert_pem)

    assert loaded.certificate == identity.certificate
    assert b"ENCRYPTED" not in key_pem
    sealed = seal_pdf(sample_bytes["minimal-document.pdf"], loaded)
    assert verify_seal(sealed, [identity.certificate]).valid


def test_encrypted_pem_round_trip(identity):
    key_pem, cert_pem = identity_to_pem(identity, password=b"s3cret")

    loaded = identity_from_pem(key_pem, cert_pem, password=b"s3cret")

    assert b"ENCRYPTED" in key_pem
    assert loaded.certificate == identity.certificate


def test_pem_with_foreign_certificate_rejected(identity):
    stranger = generate_self_signed_identity("Someone Else")
    key_pem, _ = identity_to_pem(identity)
    _, stranger_cert = identity_to_pem(stranger)

    with pytest.raises(ValidationError) as error:
        identity_from_pem(key_pem, stranger_cert)

    assert "does not belong" in error.value.errors[0][1]


def _pkcs12(identity, password: bytes) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"docrelay",
        identity.private_key,
        identity.certificate,
        None,
        BestAvailableEncryption(password),
    )


def test_pkcs12_round_trip(identity, sample_bytes):
    loaded = load_pkcs12(_pkcs12(identity, b"p12-password"), b"p12-password")

    assert loaded.certificate == identity.certificate
    sealed = seal_pdf(sample_bytes["minimal-document.pdf"], loaded)
    assert verify_seal(sealed, [identity.certificate]).valid


def test_pkcs12_wrong_password_rejected(identity):
    with pytest.raises(ValidationError) as error:
        load_pkcs12(_pkcs12(identity, b"p12-password"), b"wrong")

    assert error.value.errors[0][0] == "pkcs12"
    assert "password" in error.value.errors[0][1]


def test_pkcs12_garbage_rejected():
    with pytest.raises(ValidationError) as error:
        load_pkcs12(b"definitely not PKCS#12", None)

    assert error.value.errors[0][0] == "pkcs12"


def test_pkcs12_without_key_rejected(identity):
    data = pkcs12.serialize_key_and_certificates(
        b"docrelay", None, identity.certificate, None, BestAvailableEncryption(b"pw")
    )

    with pytest.raises(ValidationError) as error:
        load_pkcs12(data, b"pw")

    assert "private key" in error.value.errors[0][1]


def test_seal_falls_back_when_reservation_too_small(sample_bytes, identity, monkeypatch):
    monkeypatch.setattr(seal_module, "_reserved_size", lambda _identity: 200)

    sealed = seal_pdf(sample_bytes["minimal-document.pdf"], identity)

    assert verify_seal(sealed, [identity.certificate]).valid
