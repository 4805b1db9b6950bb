"""Validation and normalisation of uploaded template PDFs."""

from __future__ import annotations

import hashlib
import io

import pytest
from asn1crypto import keys, x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pdf_builders import FORM_SAMPLES, SAMPLE_PDFS, PageSpec, build_pdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader, PdfWriter

from docrelay.errors import ValidationError
from docrelay.pdf.seal import seal_pdf
from docrelay.pdf.source import inspect_source


def _reason(error: pytest.ExceptionInfo[ValidationError]) -> str:
    assert error.value.errors, "ValidationError carries no (field, message) pair"
    field, message = error.value.errors[0]
    assert field == "file"
    return message


@pytest.mark.parametrize("path", SAMPLE_PDFS, ids=lambda p: p.name)
def test_sample_accepted(path):
    data = path.read_bytes()

    info = inspect_source(data)

    assert info.page_count == len(PdfReader(io.BytesIO(data)).pages)
    assert [page.number for page in info.pages] == list(range(1, info.page_count + 1))
    assert all(page.width > 0 and page.height > 0 for page in info.pages)
    assert info.sha256 == hashlib.sha256(info.normalised).hexdigest()
    assert PdfReader(io.BytesIO(info.normalised)).pages[0] is not None


@pytest.mark.parametrize("name", sorted(FORM_SAMPLES))
def test_acroform_fields_survive_normalisation(name, sample_bytes):
    original = set(PdfReader(io.BytesIO(sample_bytes[name])).get_fields() or {})

    info = inspect_source(sample_bytes[name])

    assert original, f"{name} should carry AcroForm fields"
    assert set(info.acroform_field_names) == original
    assert set(PdfReader(io.BytesIO(info.normalised)).get_fields() or {}) == original


def test_four_page_sample_geometry(sample_bytes):
    info = inspect_source(sample_bytes["pdflatex-4-pages.pdf"])

    assert info.page_count == 4
    assert info.pages[3].width == pytest.approx(595.276)
    assert info.pages[3].height == pytest.approx(841.89)


def test_rotated_and_inherited_pages_reported_as_displayed():
    data = build_pdf([PageSpec(400, 600, rotate=90, crop=(50, 100, 350, 500))], inherit=True)

    info = inspect_source(data)

    assert (info.pages[0].width, info.pages[0].height) == (400, 300)
    assert info.pages[0].rotation == 90


def test_not_a_pdf_rejected():
    with pytest.raises(ValidationError) as error:
        inspect_source(b"GIF89a" + b"\x00" * 200)

    assert "not a PDF" in _reason(error)


def test_empty_file_rejected():
    with pytest.raises(ValidationError) as error:
        inspect_source(b"")

    assert "not a PDF" in _reason(error)


def test_truncated_file_rejected(sample_bytes):
    data = sample_bytes["pdflatex-4-pages.pdf"]

    with pytest.raises(ValidationError) as error:
        inspect_source(data[: len(data) // 2])

    assert "truncated" in _reason(error)


def test_garbage_with_pdf_markers_rejected():
    data = b"%PDF-1.7\n" + b"this is not a PDF body\n" * 20 + b"%%EOF\n"

    with pytest.raises(ValidationError) as error:
        inspect_source(data)

    reason = _reason(error)
    assert "unreadable" in reason or "no pages" in reason


def _encrypted(sample: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(sample)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_user_password_rejected(sample_bytes):
    data = _encrypted(sample_bytes["minimal-document.pdf"], user_password="user-secret")

    with pytest.raises(ValidationError) as error:
        inspect_source(data)

    assert "encrypted" in _reason(error)


def test_owner_password_only_rejected(sample_bytes):
    data = _encrypted(sample_bytes["minimal-document.pdf"], user_password="")
    # The file opens without a password, which is what makes it easy to miss.
    assert PdfReader(io.BytesIO(data)).decrypt("") != 0

    with pytest.raises(ValidationError) as error:
        inspect_source(data)

    assert "encrypted" in _reason(error)


def test_certified_file_rejected(sample_bytes, identity):
    sealed = seal_pdf(sample_bytes["minimal-document.pdf"], identity)

    with pytest.raises(ValidationError) as error:
        inspect_source(sealed)

    assert "certified" in _reason(error)


def test_signed_file_rejected(sample_bytes, identity):
    # An approval signature, which adds no /Perms entry to the catalog.
    certificate = x509.Certificate.load(identity.certificate.public_bytes(Encoding.DER))
    key_der = identity.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(sample_bytes["minimal-document.pdf"]))
    metadata = signers.PdfSignatureMetadata(
        field_name="Approval", subfilter=fields.SigSeedSubFilter.PADES
    )
    signed = signers.sign_pdf(writer, metadata, signer=signer).getvalue()
    assert "/Perms" not in PdfReader(io.BytesIO(signed)).root_object

    with pytest.raises(ValidationError) as error:
        inspect_source(signed)

    assert "already signed" in _reason(error)


def test_too_many_pages_rejected():
    data = build_pdf([PageSpec()] * 3)

    with pytest.raises(ValidationError) as error:
        inspect_source(data, max_pages=2)

    assert "3 pages" in _reason(error)
    assert "maximum is 2" in _reason(error)


def test_too_large_rejected(sample_bytes):
    data = sample_bytes["minimal-document.pdf"]

    with pytest.raises(ValidationError) as error:
        inspect_source(data, max_bytes=1000)

    assert f"is {len(data)} bytes" in _reason(error)
    assert "maximum is 1000 bytes" in _reason(error)


def test_page_count_limit_inclusive():
    data = build_pdf([PageSpec()] * 2)

    assert inspect_source(data, max_pages=2).page_count == 2


def test_invalid_rotation_rejected():
    data = build_pdf([PageSpec(rotate=45)])

    with pytest.raises(ValidationError) as error:
        inspect_source(data)

    assert "multiple of 90" in _reason(error)
