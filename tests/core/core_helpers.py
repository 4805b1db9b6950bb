"""Builders shared by the core tests: templates, documents and a full signing run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "pdf"
DEFAULT_PDF = SAMPLES / "minimal-document.pdf"


def two_step_definition(name: str = "Sales agreement") -> dict[str, Any]:
    """Two signatories, one per step, each with a signature and a few other fields on page 1."""
    return {
        "name": name,
        "signatories": [{"name": "Customer"}, {"name": "Company", "label": "Account manager"}],
        "fields": [
            {
                "name": "customer_signature",
                "type": "signature",
                "page": 1,
                "x": 50,
                "y": 500,
                "width": 180,
                "height": 40,
                "signatory": 1,
            },
            {
                "name": "customer_name",
                "type": "full_name",
                "page": 1,
                "x": 50,
                "y": 550,
                "width": 180,
                "height": 20,
                "signatory": 1,
            },
            {
                "name": "customer_date",
                "type": "date_signed",
                "page": 1,
                "x": 250,
                "y": 550,
                "width": 100,
                "height": 20,
                "signatory": 1,
            },
            {
                "name": "po_number",
                "type": "text",
                "page": 1,
                "x": 50,
                "y": 600,
                "width": 150,
                "height": 20,
                "signatory": 1,
                "parameter": "PO",
            },
            {
                "name": "agree",
                "type": "checkbox",
                "page": 1,
                "x": 250,
                "y": 600,
                "width": 16,
                "height": 16,
                "signatory": 1,
                "required": True,
            },
            {
                "name": "company_signature",
                "type": "signature",
                "page": 1,
                "x": 300,
                "y": 500,
                "width": 180,
                "height": 40,
                "signatory": 2,
            },
            {
                "name": "company_initials",
                "type": "initials",
                "page": 1,
                "x": 500,
                "y": 500,
                "width": 40,
                "height": 30,
                "signatory": 2,
            },
        ],
        "expiration_days": 10,
        "pre_expiration_warning_days": [3],
    }


def create_template(
    client: TestClient, definition: dict[str, Any] | None = None, pdf: Path = DEFAULT_PDF
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/templates",
        files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
        data={"definition": json.dumps(definition or two_step_definition())},
    )
    assert response.status_code == 201, response.text
    return response.json()


def document_body(template_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "template_id": template_id,
        "name": "Agreement 42",
        "order_number": "SO-42",
        "parameters": {"PO": "PO-7781"},
        "signatories": [
            {"name": "Dana Customer", "email": "dana@example.com"},
            {"name": "Sam Seller", "email": "sam@example.net", "phone": "+1 555 0100"},
        ],
    }
    body.update(overrides)
    return body


def create_document(client: TestClient, template_id: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/documents", json=document_body(template_id, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def send(client: TestClient, document_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/documents/{document_id}/send")
    assert response.status_code == 200, response.text
    return response.json()


def signing_paths(client: TestClient, document_id: str) -> list[str]:
    """Return each signatory's signing path (``/sign/<token>``) in signatory order."""
    response = client.get(f"/api/v1/documents/{document_id}/signing-links")
    assert response.status_code == 200, response.text
    return ["/sign/" + link["url"].rsplit("/sign/", 1)[1] for link in response.json()["links"]]


def started_document(
    client: TestClient, template_id: str, **overrides: Any
) -> tuple[dict[str, Any], list[str]]:
    document = create_document(client, template_id, **overrides)
    send(client, document["id"])
    return document, signing_paths(client, document["id"])


def sign_all(client: TestClient, paths: list[str]) -> dict[str, Any]:
    """Sign for each signatory in order, filling the first signatory's checkbox."""
    result: dict[str, Any] = {}
    for number, path in enumerate(paths, start=1):
        assert client.get(path).status_code == 200
        values = {"agree": True} if number == 1 else {}
        response = client.post(
            f"{path}/sign", json={"signature": {"typed_name": f"Signer {number}"}, "values": values}
        )
        assert response.status_code == 200, response.text
        result = response.json()
    return result


def count_rows(runtime: Any, model: Any) -> int:
    from sqlalchemy import func, select

    with runtime.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def count_blobs(runtime: Any) -> int:
    return sum(1 for path in Path(runtime.settings.blob_dir).rglob("*") if path.is_file())
