"""A document through its whole life on the default sample: create, send, sign twice, download."""

from __future__ import annotations

from core_helpers import create_template, sign_all, started_document


def test_two_step_signing_completes(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    result = sign_all(user.client, paths)
    assert result["document_status"] == "DCO"
    completed = user.client.get(f"/api/v1/documents/{document['id']}/download?type=completed")
    assert completed.status_code == 200
    assert completed.content.startswith(b"%PDF")
