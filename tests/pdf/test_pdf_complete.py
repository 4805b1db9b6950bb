"""Completing documents end to end: stamp, audit trail, seal, verify."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from pdf_builders import FORM_SAMPLES, SAMPLE_PDFS, PageSpec, build_pdf
from pypdf import PdfReader

from docrelay import clock
from docrelay.pdf.audit import AuditAction, AuditEvent, AuditSignatory, AuditTrail
from docrelay.pdf.complete import complete_document
from docrelay.pdf.geometry import page_geometry
from docrelay.pdf.seal import verify_seal
from docrelay.pdf.signature_image import typed_signature_png
from docrelay.pdf.source import inspect_source
from docrelay.pdf.stamp import FieldPlacement

SIGNED_AT = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 with a long tail that must wrap rather than be cut"
)


def _trail(source_sha256: str) -> AuditTrail:
    signatory = AuditSignatory(
        name="Jane Doe",
        email="jane@example.com",
        status="signed",
        actions=[
            AuditAction("viewed", SIGNED_AT, "203.0.113.7", USER_AGENT),
            AuditAction("signed", SIGNED_AT, "203.0.113.7", USER_AGENT),
        ],
    )
    events = [
        AuditEvent(1, SIGNED_AT, "document.created", '{"template": 7}', "a" * 64),
        AuditEvent(2, SIGNED_AT, "document.signed", '{"signatory": 1}', "b" * 64),
        AuditEvent(3, SIGNED_AT, "document.completed", "{}", "c" * 64),
    ]
    return AuditTrail(
        document_id="0b7e6c52-2f55-4f3e-9d53-2b8f7f0a4c11",
        document_name="Mutual NDA",
        template_name="NDA",
        template_version=4,
        account_name="Acme GmbH",
        source_sha256=source_sha256,
        signatories=[signatory],
        events=events,
    )


def _placements(page_count: int) -> list[FieldPlacement]:
    signature = typed_signature_png("Jane Doe")
    placements = [
        FieldPlacement(page, 40, 40, 160, 40, "signature", image_png=signature)
        for page in range(1, page_count + 1)
    ]
    placements.append(FieldPlacement(page_count, 40, 100, 200, 20, "full_name", text="Jane Doe"))
    placements.append(
        FieldPlacement(page_count, 40, 130, 200, 20, "date_signed", text="2026-12-04")
    )
    placements.append(FieldPlacement(page_count, 260, 100, 16, 16, "checkbox", checked=True))
    return placements


@pytest.fixture(scope="module")
def completed(sample_bytes, identity):
    results = {}
    for path in SAMPLE_PDFS:
        info = inspect_source(sample_bytes[path.name])
        result = complete_document(
            info.normalised, _placements(info.page_count), _trail(info.sha256), identity
        )
        results[path.name] = (info, result)
    return results


@pytest.mark.parametrize("path", SAMPLE_PDFS, ids=lambda p: p.name)
def test_completed_sample_seal_intact_and_valid(path, completed, identity):
    _, result = completed[path.name]

    check = verify_seal(result.pdf, [identity.certificate])

    assert check.intact, check.summary
    assert check.valid, check.summary
    assert result.sha256 == hashlib.sha256(result.pdf).hexdigest()


@pytest.mark.parametrize("path", SAMPLE_PDFS, ids=lambda p: p.name)
def test_completed_sample_byte_change_detected(path, completed, identity):
    _, result = completed[path.name]
    tampered = bytearray(result.pdf)
    # The first revision's header comment is signed and safe to alter.
    tampered[tampered.index(b"%PDF-") + 1] ^= 0x01

    check = verify_seal(bytes(tampered), [identity.certificate])

    assert not check.intact
    assert not check.valid


@pytest.mark.parametrize("path", SAMPLE_PDFS, ids=lambda p: p.name)
def test_completed_sample_has_audit_pages_appended(path, completed):
    info, result = completed[path.name]
    reader = PdfReader(io.BytesIO(result.pdf))
    audit_pages = len(PdfReader(io.BytesIO(result.audit_pdf)).pages)

    assert len(reader.pages) == info.page_count + audit_pages
    assert "Audit trail" in reader.pages[info.page_count].extract_text()
    assert "Jane Doe" in reader.pages[info.page_count - 1].extract_text()


def test_audit_trail_records_hashes(completed):
    info, result = completed["pdflatex-4-pages.pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(result.audit_pdf)).pages)

    assert info.sha256 in text
    assert result.unsealed_sha256 in text
    assert result.unsealed_sha256 != result.sha256


def test_audit_trail_shows_values_in_full(completed):
    _, result = completed["minimal-document.pdf"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(result.audit_pdf)).pages)
    flattened = " ".join(text.split())

    assert "jane@example.com" in text
    assert "203.0.113.7" in text
    assert "2026-12-04 10:30:00 UTC" in text
    assert USER_AGENT in flattened
    assert "document.completed" in text


@pytest.mark.parametrize("name", sorted(FORM_SAMPLES))
def test_acroform_fields_survive_completion(name, completed, sample_bytes):
    before = set(PdfReader(io.BytesIO(sample_bytes[name])).get_fields() or {})
    _, result = completed[name]

    after = set(PdfReader(io.BytesIO(result.pdf)).get_fields() or {})

    assert before
    assert before <= after
    assert after - before == {"DocRelaySeal"}


@pytest.mark.parametrize("path", SAMPLE_PDFS, ids=lambda p: p.name)
def test_stamped_hash_matches_first_revision(path, completed):
    _, result = completed[path.name]
    end = result.pdf.index(b"%%EOF") + len(b"%%EOF")
    if result.pdf[end : end + 1] == b"\n":
        end += 1

    assert hashlib.sha256(result.pdf[:end]).hexdigest() == result.unsealed_sha256


def test_audit_pages_upright_despite_inherited_rotation(identity):
    data = build_pdf([PageSpec(400, 600, rotate=90, crop=(0, 0, 400, 500))], inherit=True)
    info = inspect_source(data)

    result = complete_document(info.normalised, [], _trail(info.sha256), identity)
    reader = PdfReader(io.BytesIO(result.pdf))
    audit_page = page_geometry(reader.pages[1], 2)

    assert page_geometry(reader.pages[0], 1).rotation == 90
    assert audit_page.rotation == 0
    assert (audit_page.width, audit_page.height) == pytest.approx((595.28, 841.89), abs=0.01)
    assert verify_seal(result.pdf, [identity.certificate]).valid


def test_source_hash_computed_when_missing(sample_bytes, identity):
    source = inspect_source(sample_bytes["minimal-document.pdf"]).normalised

    result = complete_document(source, [], _trail(""), identity)
    text = PdfReader(io.BytesIO(result.audit_pdf)).pages[0].extract_text()

    assert hashlib.sha256(source).hexdigest() in text


def test_concurrent_completions_each_valid(sample_bytes, identity):
    info = inspect_source(sample_bytes["pdflatex-4-pages.pdf"])

    def complete(index: int) -> bytes:
        trail = dataclasses.replace(_trail(info.sha256), document_id=f"doc-{index}")
        return complete_document(info.normalised, _placements(4), trail, identity).pdf

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(complete, range(8)))

    for index, pdf in enumerate(results):
        assert verify_seal(pdf, [identity.certificate]).valid
        assert f"doc-{index}" in PdfReader(io.BytesIO(pdf)).pages[-1].extract_text()


def test_generated_time_taken_from_clock(sample_bytes, identity):
    source = inspect_source(sample_bytes["minimal-document.pdf"]).normalised
    clock.set_clock(clock.FrozenClock(dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)))
    try:
        result = complete_document(source, [], _trail(""), identity)
    finally:
        clock.set_clock(None)

    text = PdfReader(io.BytesIO(result.audit_pdf)).pages[0].extract_text()
    assert "2027-01-02 03:04:05 UTC" in text
