"""P8: completing a 4-page document against pyHanko signing the same PDF alone.

A = ``docrelay.pdf.complete.complete_document``: draw a text field, a date and a
signature image on each of the 4 pages, append the audit trail, seal (PAdES).
B = plain pyHanko (``SimpleSigner`` + ``sign_pdf``, no DocRelay code) signing the
unstamped source PDF with the same key. Each run times several completions (or
signatures) after one warm-up; the figure is seconds per document.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import docrelay_app
from benchmarks.machine import REPO_ROOT
from benchmarks.runner import Context, NotAvailable, Outcome, interleave
from benchmarks.stats import safe_ratio

GOAL_RATIO = 2.0
SOURCE_PDF = REPO_ROOT.parent / "shared" / "samples" / "pdf" / "pdflatex-4-pages.pdf"


def _signature_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(10, 80), (80, 20), (150, 75), (220, 25), (290, 70)], fill=(20, 20, 120, 255), width=5
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _inputs(source: bytes) -> tuple[list[Any], Any]:
    from pypdf import PdfReader

    from docrelay.pdf.audit import AuditAction, AuditEvent, AuditSignatory, AuditTrail
    from docrelay.pdf.stamp import FieldPlacement

    signature = _signature_png()
    pages = len(PdfReader(io.BytesIO(source)).pages)
    placements: list[Any] = []
    for page in range(1, pages + 1):
        placements += [
            FieldPlacement(
                page=page, x=72, y=600, width=180, height=18, kind="full_name", text="Ada Lovelace"
            ),
            FieldPlacement(
                page=page, x=300, y=600, width=120, height=18, kind="date_signed", text="2026-12-04"
            ),
            FieldPlacement(
                page=page, x=72, y=640, width=150, height=50, kind="signature", image_png=signature
            ),
        ]
    now = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
    trail = AuditTrail(
        document_id="bench-document",
        document_name="Benchmark agreement",
        template_name="Benchmark template",
        template_version=1,
        account_name="Benchmark account",
        source_sha256="",
        signatories=[
            AuditSignatory(
                name="Ada Lovelace",
                email="ada@example.com",
                status="signed",
                actions=[AuditAction("signed", now, "127.0.0.1", "bench/1.0")],
            )
        ],
        events=[AuditEvent(n, now, "document.started", "{}", "0" * 64) for n in range(1, 6)],
        generated_at=now,
    )
    return placements, trail


def _time_per_document(work: Any, iterations: int) -> dict[str, Any]:
    work()
    started = time.perf_counter()
    for _ in range(iterations):
        work()
    seconds = (time.perf_counter() - started) / iterations
    return {"seconds_per_document": round(seconds, 4), "iterations": iterations}


def _pyhanko_signer(identity: Any, folder: Path) -> Any:
    from pyhanko.sign import signers

    from docrelay.pdf.identity import identity_to_pem

    key_pem, cert_pem = identity_to_pem(identity)
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    return signers.SimpleSigner.load(str(folder / "key.pem"), str(folder / "cert.pem"))


def _pyhanko_sign(source: bytes, signer: Any) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(source))
    output = signers.sign_pdf(
        writer, signers.PdfSignatureMetadata(field_name="Seal"), signer=signer
    )
    return bytes(output.getvalue())


def run(context: Context) -> Outcome:
    docrelay_app.require(
        "docrelay.pdf.complete", "docrelay.pdf.audit", "docrelay.pdf.stamp", "docrelay.pdf.identity"
    )
    if not SOURCE_PDF.is_file():
        raise NotAvailable(
            f"sample PDF {SOURCE_PDF} (missing: the shared samples folder must sit beside the repository)"
        )
    from docrelay.pdf.complete import complete_document
    from docrelay.pdf.identity import generate_self_signed_identity

    source = SOURCE_PDF.read_bytes()
    placements, trail = _inputs(source)
    identity = generate_self_signed_identity("DocRelay benchmark")
    iterations = context.size(10, 1)
    with tempfile.TemporaryDirectory(dir=context.work_dir) as folder:
        signer = _pyhanko_signer(identity, Path(folder))
        pairs = interleave(
            context.pairs,
            lambda i: _time_per_document(
                lambda: complete_document(source, placements, trail, identity), iterations
            ),
            lambda i: _time_per_document(lambda: _pyhanko_sign(source, signer), iterations),
            lambda a, b: safe_ratio(a["seconds_per_document"], b["seconds_per_document"]),
        )
    outcome = Outcome(
        a_label="complete_document: stamp 12 fields on 4 pages, append audit trail, seal",
        b_label="pyHanko sign_pdf of the unstamped 4-page source, same EC P-256 key",
        ratio_name="seconds per document, completion / pyHanko signing alone",
        pairs=pairs,
        goal_met=None,
        verdict="",
        params={
            "source": SOURCE_PDF.name,
            "placements": len(placements),
            "iterations_per_run": iterations,
        },
        columns=("seconds_per_document",),
    )
    median = outcome.ratio["median"]
    outcome.goal_met = median is not None and median <= GOAL_RATIO
    outcome.verdict = f"median ratio {median} vs goal <= {GOAL_RATIO}"
    return outcome
