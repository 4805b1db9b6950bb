"""Full two-step signings on every sample PDF, the seal check, and fields on a rotated page."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from core_helpers import SAMPLES, create_template, sign_all, started_document
from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter

from docrelay.accounts.sealing import trusted_certificates
from docrelay.pdf.render import render_page_png
from docrelay.pdf.seal import verify_seal
from docrelay.storage.models import Account

SAMPLE_FILES = sorted(SAMPLES.glob("*.pdf"))


def _trusted(runtime, account_id: str):
    with runtime.database.transaction() as session:
        account = session.get(Account, account_id)
        return trusted_certificates(account)


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda path: path.stem)
def test_sample_signing_seals_document(runtime, user, sample: Path) -> None:
    template = create_template(user.client, pdf=sample)
    document, paths = started_document(user.client, template["id"])
    assert len(paths) == 2

    result = sign_all(user.client, paths)
    assert result["document_status"] == "DCO"

    view = user.client.get(f"/api/v1/documents/{document['id']}").json()
    assert view["status"] == "DCO"
    assert [item["status"] for item in view["signatories"]] == ["signed", "signed"]

    sealed = user.client.get(f"/api/v1/documents/{document['id']}/download?type=completed").content
    audit = user.client.get(f"/api/v1/documents/{document['id']}/download?type=audit").content
    assert audit.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(sealed)).pages) > template["page_count"]

    trusted = _trusted(runtime, user.account_id)
    check = verify_seal(sealed, trusted)
    assert check.intact, check.summary
    assert check.valid, check.summary

    # Flip one byte inside the signed range, well before the signature dictionary.
    position = len(sealed) // 3
    tampered = sealed[:position] + bytes([sealed[position] ^ 0x01]) + sealed[position + 1 :]
    assert not verify_seal(tampered, trusted).intact


def _rotated_pdf(source: Path) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.pages[0].rotate(90)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_field_on_rotated_page_lands_where_shown(runtime, user, tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.pdf"
    rotated.write_bytes(_rotated_pdf(SAMPLES / "minimal-document.pdf"))
    # The rotated A4 page displays landscape (841.89 x 595.28); this spot is blank on it.
    field = {"x": 250, "y": 420, "width": 100, "height": 100}
    definition = {
        "name": "Rotated",
        "signatories": [{"name": "Signer"}],
        "fields": [{"name": "agree", "type": "checkbox", "page": 1, **field, "signatory": 1}],
    }
    template = create_template(user.client, definition, pdf=rotated)
    assert template["pages"][0]["width"] > template["pages"][0]["height"]

    signer = [{"name": "Rae Rotated", "email": "rae@example.com"}]
    document, paths = started_document(user.client, template["id"], signatories=signer)
    body = {"signature": {"typed_name": "Rae"}, "values": {"agree": True}}
    response = user.client.post(f"{paths[0]}/sign", json=body)
    assert response.json()["document_status"] == "DCO", response.text

    sealed = user.client.get(f"/api/v1/documents/{document['id']}/download").content
    before = Image.open(io.BytesIO(render_page_png(rotated.read_bytes(), 1, width_px=842)))
    after = Image.open(io.BytesIO(render_page_png(sealed, 1, width_px=842)))
    assert after.size == before.size
    changed = ImageChops.difference(before.convert("L"), after.convert("L")).point(
        lambda v: 255 if v > 64 else 0
    )
    box = changed.getbbox()
    assert box is not None, "nothing was drawn on the page"

    scale = after.width / 841.89
    left, top = field["x"] * scale, field["y"] * scale
    right, bottom = left + field["width"] * scale, top + field["height"] * scale
    margin = 2
    assert box[0] >= left - margin
    assert box[1] >= top - margin
    assert box[2] <= right + margin
    assert box[3] <= bottom + margin
    # The check mark fills a good part of the field, not a sliver of it.
    assert (box[2] - box[0]) > field["width"] * scale / 3


def test_completed_audit_lists_events(runtime, user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    sign_all(user.client, paths)
    audit = user.client.get(f"/api/v1/documents/{document['id']}/download?type=audit").content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(audit)).pages)
    assert document["id"] in text
    assert "dana@example.com" in text
    history = user.client.get(f"/api/v1/documents/{document['id']}/history").json()
    types = [event["event"] for event in history["events"]]
    assert types == [
        "document.created",
        "document.started",
        "step.started",
        "landing_page.visited",
        "step.completed",
        "step.started",
        "landing_page.visited",
        "step.completed",
        "document.completed",
    ]
    assert history["chain_valid"] is True


def test_failed_completion_is_retried(runtime, user) -> None:
    from docrelay import clock
    from docrelay.documents.expiry import run_expiry_pass
    from docrelay.storage.models import TemplateVersion

    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    with runtime.database.transaction() as session:
        source_key = (
            session.query(TemplateVersion).filter_by(template_id=template["id"]).one().source_blob
        )
    source = runtime.blobs.get(source_key)

    # Without its source PDF the completed copy cannot be built; the signatures stay.
    runtime.blobs.delete(source_key)
    result = sign_all(user.client, paths)
    assert result["document_status"] == "DSS"
    assert [item["status"] for item in result["signatories"]] == ["signed", "signed"]
    assert user.client.get(paths[0]).json()["can_sign"] is False

    runtime.blobs.put(source_key, source)
    clock.set_clock(clock.FrozenClock(clock.now() + dt.timedelta(minutes=5)))
    run_expiry_pass(runtime)
    view = user.client.get(f"/api/v1/documents/{document['id']}").json()
    assert view["status"] == "DCO"
    assert view["completed_sha256"]
