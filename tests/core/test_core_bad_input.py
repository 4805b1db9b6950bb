"""Bad input returns 4xx naming the field, and changes nothing (rows and stored files)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from core_helpers import (
    DEFAULT_PDF,
    count_blobs,
    count_rows,
    create_template,
    document_body,
    started_document,
    two_step_definition,
)
from pypdf import PdfReader, PdfWriter

from docrelay.pdf.seal import generate_self_signed_identity, seal_pdf
from docrelay.storage.models import Document, Event, Signatory, Template, TemplateVersion

TABLES = (Template, TemplateVersion, Document, Signatory, Event)


def _snapshot(runtime) -> tuple[int, ...]:
    return (*(count_rows(runtime, table) for table in TABLES), count_blobs(runtime))


def _fields_named(response) -> list[str]:
    return [item["field"] for item in response.json().get("errors", [])]


def _encrypted_pdf(owner_only: bool) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(DEFAULT_PDF))
    writer.encrypt(user_password="" if owner_only else "user", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _upload(client, data: bytes, definition: Any) -> Any:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return client.post(
        "/api/v1/templates",
        files={"file": ("t.pdf", data, "application/pdf")},
        data={"definition": text},
    )


def _definition_with(change) -> dict[str, Any]:
    definition = copy.deepcopy(two_step_definition())
    change(definition)
    return definition


PDF = DEFAULT_PDF.read_bytes()
TEMPLATE_CASES = {
    "not a pdf": (b"hello, this is text", two_step_definition(), "file"),
    "truncated pdf": (PDF[: len(PDF) // 2], two_step_definition(), "file"),
    "encrypted": (_encrypted_pdf(owner_only=False), two_step_definition(), "file"),
    "owner password only": (_encrypted_pdf(owner_only=True), two_step_definition(), "file"),
    "definition not json": (PDF, "{not json", "definition"),
    "field outside page": (
        PDF,
        _definition_with(lambda d: d["fields"][2].update(x=590)),
        "fields[2]",
    ),
    "page missing": (
        PDF,
        _definition_with(lambda d: d["fields"][2].update(page=3)),
        "fields[2].page",
    ),
    "page zero": (PDF, _definition_with(lambda d: d["fields"][1].update(page=0)), "fields[1].page"),
    "unknown signatory": (
        PDF,
        _definition_with(lambda d: d["fields"][2].update(signatory=3)),
        "fields[2].signatory",
    ),
    "duplicate name": (
        PDF,
        _definition_with(lambda d: d["fields"][3].update(name="agree")),
        "fields[4].name",
    ),
    "unknown type": (
        PDF,
        _definition_with(lambda d: d["fields"][0].update(type="stamp")),
        "fields[0].type",
    ),
    "signatory in no step": (PDF, _definition_with(lambda d: d.update(steps=[[1]])), "steps"),
    "signatory in two steps": (
        PDF,
        _definition_with(lambda d: d.update(steps=[[1, 2], [2]])),
        "steps[1][0]",
    ),
    "step names missing signatory": (
        PDF,
        _definition_with(lambda d: d.update(steps=[[1], [2, 5]])),
        "steps[1][1]",
    ),
    "warning after expiry": (
        PDF,
        _definition_with(lambda d: d.update(pre_expiration_warning_days=[10])),
        "pre_expiration_warning_days[0]",
    ),
    "unknown key": (PDF, _definition_with(lambda d: d.update(colour="red")), "colour"),
    "no signatories": (
        PDF,
        _definition_with(lambda d: d.update(signatories=[], fields=[])),
        "signatories",
    ),
    "folder without location document": (
        PDF,
        _definition_with(
            lambda d: d.update(
                storage_location={"location": "file", "folder_id": "00l000000000001AAA"}
            )
        ),
        "storage_location.folder_id",
    ),
}


@pytest.mark.parametrize("case", list(TEMPLATE_CASES), ids=str)
def test_template_bad_input(runtime, user, case: str) -> None:
    data, definition, field = TEMPLATE_CASES[case]
    before = _snapshot(runtime)
    response = _upload(user.client, data, definition)
    assert response.status_code == 422, response.text
    assert field in _fields_named(response), response.json()
    assert _snapshot(runtime) == before


def test_template_already_signed_rejected(runtime, user) -> None:
    signed = seal_pdf(PDF, generate_self_signed_identity("Someone Else"))
    before = _snapshot(runtime)
    response = _upload(user.client, signed, two_step_definition())
    assert response.status_code == 422
    assert _fields_named(response) == ["file"]
    assert _snapshot(runtime) == before


def test_template_over_limits_rejected(runtime, user, sample_pdf_dir) -> None:
    runtime.settings.max_template_pages = 3
    four_pages = (sample_pdf_dir / "pdflatex-4-pages.pdf").read_bytes()
    response = _upload(user.client, four_pages, two_step_definition())
    assert response.status_code == 422
    assert "4 pages" in response.json()["detail"]

    runtime.settings.max_template_bytes = 1000
    before = _snapshot(runtime)
    response = _upload(user.client, PDF, two_step_definition())
    assert response.status_code == 422
    assert _fields_named(response) == ["file"]
    assert _snapshot(runtime) == before


def _document_case(change) -> dict[str, Any]:
    body = document_body("TEMPLATE")
    change(body)
    return body


DOCUMENT_CASES = {
    "too few signatories": (_document_case(lambda b: b["signatories"].pop()), "signatories", 422),
    "bad email": (
        _document_case(lambda b: b["signatories"][0].update(email="not-an-email")),
        "signatories.0.email",
        422,
    ),
    "line break in name": (
        _document_case(lambda b: b["signatories"][1].update(name="Sam\r\nBcc: x")),
        "signatories.1.name",
        422,
    ),
    "short access code": (
        _document_case(lambda b: b["signatories"][0].update(access_code="12")),
        "signatories.0.access_code",
        422,
    ),
    "record id checksum": (
        _document_case(
            lambda b: b.update(
                crm={
                    "system": "salesforce",
                    "object_type": "Lead",
                    "record_id": "00Q5e00000AbCdEAAA",
                }
            )
        ),
        "crm.record_id",
        422,
    ),
    "record id wrong prefix": (
        _document_case(
            lambda b: b.update(
                crm={
                    "system": "salesforce",
                    "object_type": "Contact",
                    "record_id": "0015e00000AbCdE",
                }
            )
        ),
        "crm.record_id",
        422,
    ),
    "record id length": (
        _document_case(
            lambda b: b.update(
                crm={"system": "salesforce", "object_type": "Lead", "record_id": "00Q123"}
            )
        ),
        "crm.record_id",
        422,
    ),
    "unknown crm system": (
        _document_case(
            lambda b: b.update(
                crm={"system": "hubspot", "object_type": "Lead", "record_id": "00Q5e00000AbCdE"}
            )
        ),
        "crm.system",
        422,
    ),
}


@pytest.mark.parametrize("case", list(DOCUMENT_CASES), ids=str)
def test_document_bad_input(runtime, user, case: str) -> None:
    template = create_template(user.client)
    body, field, status = DOCUMENT_CASES[case]
    body = {**copy.deepcopy(body), "template_id": template["id"]}
    before = _snapshot(runtime)
    response = user.client.post("/api/v1/documents", json=body)
    assert response.status_code == status, response.text
    assert field in _fields_named(response), response.json()
    assert _snapshot(runtime) == before


def test_document_unknown_template_404(runtime, user) -> None:
    before = _snapshot(runtime)
    response = user.client.post(
        "/api/v1/documents", json=document_body("00000000-0000-0000-0000-000000000000")
    )
    assert response.status_code == 404
    assert _snapshot(runtime) == before


def test_valid_record_id_stored_in_18_characters(user) -> None:
    template = create_template(user.client)
    crm = {"system": "salesforce", "object_type": "Contact", "record_id": "0036000000QKv5T"}
    response = user.client.post("/api/v1/documents", json=document_body(template["id"], crm=crm))
    assert response.status_code == 201, response.text
    assert response.json()["crm"]["record_id"] == "0036000000QKv5TAAT"


SIGN_CASES = {
    "required checkbox unchecked": ({"signature": {"typed_name": "Dana"}}, "values.agree"),
    "unknown field": (
        {"signature": {"typed_name": "Dana"}, "values": {"agree": True, "nope": "x"}},
        "values.nope",
    ),
    "other signatory's field": (
        {"signature": {"typed_name": "Dana"}, "values": {"agree": True, "company_initials": "x"}},
        "values.company_initials",
    ),
    "automatic field": (
        {
            "signature": {"typed_name": "Dana"},
            "values": {"agree": True, "customer_date": "2020-01-01"},
        },
        "values.customer_date",
    ),
    "checkbox not boolean": (
        {"signature": {"typed_name": "Dana"}, "values": {"agree": "yes"}},
        "values.agree",
    ),
    "bad base64": (
        {"signature": {"image_png_base64": "***"}, "values": {"agree": True}},
        "signature.image_png_base64",
    ),
    "png not an image": (
        {"signature": {"image_png_base64": "aGVsbG8="}, "values": {"agree": True}},
        "signature.image_png_base64",
    ),
    "both signature forms": (
        {"signature": {"typed_name": "Dana", "image_png_base64": "aGVsbG8="}},
        "signature",
    ),
}


@pytest.mark.parametrize("case", list(SIGN_CASES), ids=str)
def test_sign_bad_input(runtime, user, case: str) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    body, field = SIGN_CASES[case]
    before = _snapshot(runtime)
    response = user.client.post(f"{paths[0]}/sign", json=body)
    assert response.status_code == 422, response.text
    assert any(name.startswith(field) for name in _fields_named(response)), response.json()
    assert _snapshot(runtime) == before
    assert (
        user.client.get(f"/api/v1/documents/{document['id']}").json()["signatories"][0]["status"]
        == "pending"
    )
