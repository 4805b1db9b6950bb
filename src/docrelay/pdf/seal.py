"""PAdES sealing of completed documents, and verification of the seal.

The seal is a certification signature (DocMDP "no changes allowed") added by
pyHanko as an incremental update, in the PAdES baseline B-B profile: CAdES
detached CMS with SHA-256 and no timestamp, since DocRelay reaches no
timestamp authority. Any byte changed inside the signed range breaks the
digest, and any revision appended later is reported by PDF validators.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from docrelay.pdf.identity import (
    SealingIdentity,
    generate_self_signed_identity,
    identity_from_pem,
    identity_to_pem,
    load_pkcs12,
)

__all__ = [
    "SealCheck",
    "SealingError",
    "SealingIdentity",
    "generate_self_signed_identity",
    "identity_from_pem",
    "identity_to_pem",
    "load_pkcs12",
    "seal_pdf",
    "verify_seal",
]

SEAL_FIELD_NAME = "DocRelaySeal"
_T = TypeVar("_T")
# Room for signed attributes, algorithm identifiers and a signature value of
# up to 4096-bit RSA, with a wide margin (about 1.5 KiB is typical).
_CMS_OVERHEAD = 4096

# Certificates from a PKCS#12 file may allow only one of the two usages.
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})


class SealingError(Exception):
    """pyHanko could not seal the PDF."""


@dataclass(frozen=True)
class SealCheck:
    """The outcome of checking a sealed PDF.

    ``intact`` means the signed bytes are unchanged. ``valid`` also requires
    a cryptographically valid signature by a trusted certificate with the
    right key usage, and no bytes added after the seal.
    """

    intact: bool
    valid: bool
    signer_subject: str
    modification_level: str | None
    summary: str


def _signer(identity: SealingIdentity) -> signers.SimpleSigner:
    cached = identity._signer_cache.get("signer")
    if cached is None:
        key_der = identity.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        certificates = [_to_asn1(c) for c in identity.certificates]
        cached = signers.SimpleSigner(
            signing_cert=certificates[0],
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs(certificates),
        )
        identity._signer_cache["signer"] = cached
    return cached


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _outside_event_loop(work: Callable[[], _T]) -> _T:
    # pyHanko's synchronous API calls asyncio.run(), which fails inside a
    # running event loop, so from async code the work moves to a thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def seal_pdf(
    pdf: bytes,
    identity: SealingIdentity,
    *,
    reason: str = "Sealed by DocRelay",
    location: str | None = None,
    appended_pages: bytes | None = None,
) -> bytes:
    """Add a PAdES certification signature to ``pdf`` and return the sealed bytes.

    The seal is an incremental update, so ``pdf`` stays a byte-for-byte
    prefix of the result. The pages of ``appended_pages`` (a PDF), if given,
    are added at the end of the document in that same update.

    Raises ``SealingError`` when pyHanko cannot parse or sign the file.
    """
    signer = _signer(identity)
    request = _SealRequest(pdf, signer, reason, location, appended_pages)
    try:
        return _sign(request, _reserved_size(identity))
    except SigningError:
        # pyHanko raises this when the CMS blob outgrows the reserved space,
        # so the second try lets it measure the blob with a dry run.
        pass
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise SealingError(f"the PDF could not be sealed: {error}") from error
    try:
        return _sign(request, None)
    except (PdfError, SigningError, ValueError, KeyError, TypeError) as error:
        raise SealingError(f"the PDF could not be sealed: {error}") from error


@dataclass(frozen=True)
class _SealRequest:
    pdf: bytes
    signer: signers.SimpleSigner
    reason: str
    location: str | None
    appended_pages: bytes | None


def _sign(request: _SealRequest, bytes_reserved: int | None) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(request.pdf), strict=False)
    if request.appended_pages is not None:
        _append_pages(writer, request.appended_pages)
    metadata = signers.PdfSignatureMetadata(
        field_name=_free_field_name(writer),
        reason=request.reason,
        location=request.location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    output = _outside_event_loop(
        lambda: signers.sign_pdf(
            writer, metadata, signer=request.signer, bytes_reserved=bytes_reserved
        )
    )
    return bytes(output.getvalue())


def _append_pages(writer: IncrementalPdfFileWriter, pages_pdf: bytes) -> None:
    # The other file's whole page tree becomes the last kid of this one's
    # root, so objects shared by its pages (fonts) are imported only once.
    source = PdfFileReader(io.BytesIO(pages_pdf), strict=False)
    imported_ref = writer.import_object(source.root.raw_get("/Pages"))
    imported = imported_ref.get_object()
    for kid in imported["/Kids"]:
        page = kid.get_object()
        # Without their own values, the new pages would inherit the
        # document's /Rotate and /CropBox from the root of its page tree.
        page.setdefault(pdf_name("/Rotate"), generic.NumberObject(0))
        page.setdefault(pdf_name("/CropBox"), page["/MediaBox"])

    root_ref = writer.root.raw_get("/Pages")
    root = root_ref.get_object()
    imported[pdf_name("/Parent")] = root_ref
    kids = root["/Kids"]
    kids.append(imported_ref)
    root[pdf_name("/Count")] = generic.NumberObject(root["/Count"] + imported["/Count"])
    writer.update_container(kids)
    writer.update_container(root)


def _reserved_size(identity: SealingIdentity) -> int:
    # Without a size pyHanko signs twice, once only to measure the CMS
    # blob. The blob contains the certificates, the signed attributes and the
    # signature value; it is stored hex-encoded, hence the factor 2.
    certificates = sum(
        len(c.public_bytes(serialization.Encoding.DER)) for c in identity.certificates
    )
    return 2 * (certificates + _CMS_OVERHEAD)


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    used_names = {name for name, _, _ in fields.enumerate_sig_fields(writer, filled_status=None)}
    if SEAL_FIELD_NAME not in used_names:
        return SEAL_FIELD_NAME
    counter = 2
    while f"{SEAL_FIELD_NAME}{counter}" in used_names:
        counter += 1
    return f"{SEAL_FIELD_NAME}{counter}"


def verify_seal(pdf: bytes, trusted_certs: Iterable[x509.Certificate]) -> SealCheck:
    """Validate the last signature in ``pdf`` with pyHanko, trusting ``trusted_certs``.

    When pyHanko cannot read the file or the signature, the check has
    ``intact`` and ``valid`` false and the reason in ``summary``.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as error:
        return SealCheck(False, False, "", None, f"the PDF could not be read: {error}")
    if not signatures:
        return SealCheck(False, False, "", None, "the PDF carries no signature")

    context = ValidationContext(
        trust_roots=[_to_asn1(c) for c in trusted_certs],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    signature = signatures[-1]
    try:
        status = _outside_event_loop(
            lambda: validate_pdf_signature(signature, context, key_usage_settings=_KEY_USAGE)
        )
    except (PdfError, SigningError, ValueError, KeyError, TypeError) as error:
        return SealCheck(False, False, "", None, f"the signature could not be checked: {error}")

    covers_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    valid = bool(status.bottom_line and covers_file)
    level = status.modification_level.name if status.modification_level is not None else None
    subject = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    return SealCheck(
        intact=bool(status.intact),
        valid=valid,
        signer_subject=subject,
        modification_level=level,
        summary=_summary(status.intact, status.valid, status.trusted, covers_file, level),
    )


def _summary(intact: bool, valid: bool, trusted: bool, covers_file: bool, level: str | None) -> str:
    if not intact:
        return "the document was changed after sealing: the signed bytes do not match the digest"
    if not valid:
        return "the signature value does not match the signer's certificate"
    if not trusted:
        return "the signer's certificate is not among the trusted certificates or lacks a key usage"
    if not covers_file:
        return f"data was added after the seal (modification level {level})"
    return "the seal is intact and valid"
