"""Audit trail pages."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from docrelay.pdf.audit import (
    AuditAction,
    AuditEvent,
    AuditSignatory,
    AuditTrail,
    build_audit_trail,
)

AT = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)


def _trail(**changes) -> AuditTrail:
    values = {
        "document_id": "doc-42",
        "document_name": "Договор поставки",
        "template_name": "Supply contract",
        "template_version": 2,
        "account_name": "Acme",
        "source_sha256": "1" * 64,
        "unsealed_sha256": "2" * 64,
        "signatories": [
            AuditSignatory(
                "Иван Петров",
                "ivan@example.com",
                "signed",
                [AuditAction("signed", AT, "198.51.100.4", "Firefox/133.0")],
            ),
            AuditSignatory(
                "王小明",
                "wang@example.com",
                "declined",
                [AuditAction("declined", AT, None, None, detail="Price is wrong")],
            ),
        ],
        "events": [
            AuditEvent(n, AT, "document.viewed", f'{{"signatory": {n}}}', f"{n:064x}")
            for n in range(1, 4)
        ],
    }
    values.update(changes)
    return AuditTrail(**values)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_audit_trail_contains_every_section():
    text = _text(build_audit_trail(_trail()))

    assert "doc-42" in text
    assert "Договор поставки" in text
    assert "Supply contract (version 2)" in text
    assert "1" * 64 in text
    assert "2" * 64 in text
    assert "Иван Петров" in text
    assert "王小明" in text
    assert "198.51.100.4" in text
    assert "Price is wrong" in text
    assert "not recorded" in text
    assert f"{3:064x}" in text


def test_events_listed_in_sequence_order():
    events = [
        AuditEvent(2, AT, "document.signed", "", "b" * 64),
        AuditEvent(1, AT, "document.created", "", "a" * 64),
    ]

    text = _text(build_audit_trail(_trail(events=events)))

    assert text.index("#1") < text.index("#2")


@pytest.mark.parametrize(("size", "expected"), [("A4", (595.28, 841.89)), ("Letter", (612, 792))])
def test_page_size(size, expected):
    reader = PdfReader(io.BytesIO(build_audit_trail(_trail(page_size=size))))

    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(expected, abs=0.01)


def test_unknown_page_size_rejected():
    with pytest.raises(ValueError, match="page_size"):
        build_audit_trail(_trail(page_size="A5"))


def test_long_history_spans_pages_without_loss():
    events = [AuditEvent(n, AT, "document.viewed", "x" * 300, f"{n:064x}") for n in range(1, 121)]

    pdf = build_audit_trail(_trail(events=events))
    text = _text(pdf)

    assert len(PdfReader(io.BytesIO(pdf)).pages) > 3
    assert all(f"{n:064x}" in text for n in range(1, 121))
    assert "page 1 of" in text


def test_long_value_wrapped_not_cut():
    agent = "Agent/" + "0123456789" * 40
    signatory = AuditSignatory(
        "A", "a@example.com", "viewed", [AuditAction("viewed", AT, "::1", agent)]
    )

    text = _text(build_audit_trail(_trail(signatories=[signatory])))

    assert agent in "".join(text.split())
