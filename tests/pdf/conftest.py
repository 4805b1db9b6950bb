"""Fixtures for the PDF layer: the sample PDFs and a sealing identity."""

from __future__ import annotations

import pytest
from pdf_builders import SAMPLE_PDFS, SAMPLES_DIR

from docrelay.pdf.seal import SealingIdentity, generate_self_signed_identity


@pytest.fixture(scope="session")
def identity() -> SealingIdentity:
    return generate_self_signed_identity("DocRelay Test Account")


@pytest.fixture(scope="session")
def sample_bytes() -> dict[str, bytes]:
    assert SAMPLE_PDFS, f"no sample PDFs found in {SAMPLES_DIR}"
    return {path.name: path.read_bytes() for path in SAMPLE_PDFS}
