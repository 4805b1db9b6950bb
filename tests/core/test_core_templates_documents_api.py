"""Template versions, deletion, source download; document lists, filters and pagination."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

from core_helpers import (
    create_document,
    create_template,
    send,
    started_document,
    two_step_definition,
)

from docrelay.web.downloads import content_disposition


def test_template_view(user) -> None:
    template = create_template(user.client)
    assert template["version"] == 1
    assert template["page_count"] == 1
    assert template["steps"] == [[1], [2]]
    assert len(template["source_sha256"]) == 64
    assert template["fields"][0]["name"] == "customer_signature"


def test_template_list_pagination(user) -> None:
    created = [
        create_template(user.client, two_step_definition(f"Template {n}"))["id"] for n in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/templates?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = user.client.get(url).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == created
    assert user.client.get("/api/v1/templates?cursor=garbage").status_code == 422


def test_update_creates_version_documents_keep_theirs(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    definition = two_step_definition("Sales agreement v2")
    definition["fields"] = [item for item in definition["fields"] if item["name"] != "agree"]
    response = user.client.put(
        f"/api/v1/templates/{template['id']}", data={"definition": json.dumps(definition)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.json()["name"] == "Sales agreement v2"

    assert user.client.get(f"/api/v1/documents/{document['id']}").json()["template_version"] == 1
    newer = create_document(user.client, template["id"])
    assert newer["template_version"] == 2


def test_update_with_new_pdf(user, sample_pdf_dir) -> None:
    template = create_template(user.client)
    pdf = sample_pdf_dir / "pdflatex-4-pages.pdf"
    definition = two_step_definition()
    definition["fields"][0]["page"] = 4
    response = user.client.put(
        f"/api/v1/templates/{template['id']}",
        files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")},
        data={"definition": json.dumps(definition)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["page_count"] == 4
    assert response.json()["source_filename"] == "pdflatex-4-pages.pdf"


def test_delete_refused_while_in_use(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    refused = user.client.delete(f"/api/v1/templates/{template['id']}")
    assert refused.status_code == 409
    assert refused.json()["documents_in_progress"] == 1

    user.client.post(f"/api/v1/documents/{document['id']}/cancel")
    assert user.client.delete(f"/api/v1/templates/{template['id']}").status_code == 204
    assert user.client.get(f"/api/v1/templates/{template['id']}").status_code == 404
    # The cancelled document still reads, with its template version.
    assert user.client.get(f"/api/v1/documents/{document['id']}").json()["template_version"] == 1


def test_source_download(user) -> None:
    template = create_template(user.client)
    response = user.client.get(f"/api/v1/templates/{template['id']}/source")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="minimal-document.pdf"'
    )


def test_content_disposition_fallback() -> None:
    header = content_disposition('Vertrag Müller "final"\r\n.pdf')
    assert "\r" not in header
    assert "\n" not in header
    assert 'filename="Vertrag Muller _final_.pdf"' in header
    assert "filename*=UTF-8''" + quote('Vertrag Müller "final".pdf', safe="") in header
    assert content_disposition("合同.pdf").startswith('attachment; filename="download.pdf"')


def test_document_download_names(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"], name="Überweisung 7")
    original = user.client.get(f"/api/v1/documents/{document['id']}/download?type=original")
    assert original.status_code == 200
    assert (
        "filename*=UTF-8''%C3%9Cberweisung%207%20-%20original.pdf"
        in original.headers["content-disposition"]
    )
    pending = user.client.get(f"/api/v1/documents/{document['id']}/download?type=completed")
    assert pending.status_code == 409
    assert pending.json()["current_status"] == "DCR"
    assert (
        user.client.get(f"/api/v1/documents/{document['id']}/download?type=other").status_code
        == 422
    )


def test_document_list_filters(user) -> None:
    template = create_template(user.client)
    other_template = create_template(user.client, two_step_definition("Other"))
    crm = {"system": "salesforce", "object_type": "Opportunity", "record_id": "0065e000001AbCd"}
    linked = create_document(user.client, template["id"], crm=crm)
    sent = create_document(user.client, other_template["id"])
    send(user.client, sent["id"])

    def ids(query: str) -> list[str]:
        response = user.client.get(f"/api/v1/documents?{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("status=DSS") == [sent["id"]]
    assert ids("status=DCR,DSS") == [linked["id"], sent["id"]]
    assert ids(f"template_id={template['id']}") == [linked["id"]]
    assert ids("crm_record_id=0065e000001AbCd") == [linked["id"]]
    assert ids(f"crm_record_id={linked['crm']['record_id']}") == [linked["id"]]
    future = quote((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat())
    assert ids(f"updated_since={future}") == []
    assert user.client.get("/api/v1/documents?status=XYZ").status_code == 422
    assert user.client.get("/api/v1/documents?crm_record_id=123").status_code == 422


def test_document_list_pagination(user) -> None:
    template = create_template(user.client)
    created = [create_document(user.client, template["id"])["id"] for _ in range(5)]
    first = user.client.get("/api/v1/documents?limit=3").json()
    second = user.client.get(f"/api/v1/documents?limit=3&cursor={first['next_cursor']}").json()
    assert [item["id"] for item in first["items"] + second["items"]] == created
    assert second["next_cursor"] is None


def test_signing_links_and_document_view(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    links = user.client.get(f"/api/v1/documents/{document['id']}/signing-links").json()["links"]
    assert [link["signatory"] for link in links] == [1, 2]
    assert links[0]["url"].startswith("http://testserver/sign/")
    assert len(paths[0].rsplit("/", 1)[1]) >= 43
    view = user.client.get(f"/api/v1/documents/{document['id']}").json()
    assert view["signatories"][1]["phone"] == "+1 555 0100"
    assert view["parameters"] == {"PO": "PO-7781"}
    assert "token" not in json.dumps(view)


def test_access_code_never_stored_in_clear(runtime, user) -> None:
    template = create_template(user.client)
    body = {
        "signatories": [
            {"name": "A", "email": "a@example.com", "access_code": "9-7-5-3"},
            {"name": "B", "email": "b@example.com"},
        ],
        "parameters": {"Signatory 2 Access Code": "2468", "PO": "1"},
    }
    document = create_document(user.client, template["id"], **body)
    assert document["parameters"] == {"PO": "1"}
    assert [item["access_code_set"] for item in document["signatories"]] == [True, True]
    from docrelay.storage.models import Signatory

    with runtime.database.transaction() as session:
        hashes = [
            row.access_code_hash
            for row in session.query(Signatory).filter_by(document_id=document["id"])
        ]
    assert all(value.startswith("$argon2id$") for value in hashes)


def _add_assignment(runtime, account_id: str, template_id: str, event: str, **extra) -> str:
    from sqlalchemy import select

    from docrelay.storage.models import Design, WorkflowAssignment
    from docrelay.storage.types import new_id

    with runtime.database.transaction() as session:
        design = session.scalars(select(Design).where(Design.account_id == account_id)).first()
        row = WorkflowAssignment(
            id=new_id(),
            account_id=account_id,
            template_id=template_id,
            design_id=design.id,
            event=event,
            position=0,
            **extra,
        )
        session.add(row)
        return row.id


def test_workflow_snapshot_at_creation(runtime, user) -> None:
    from docrelay.storage.models import Document

    template = create_template(user.client)
    first_id = _add_assignment(runtime, user.account_id, template["id"], "document.completed")
    early = create_document(user.client, template["id"])
    _add_assignment(runtime, user.account_id, template["id"], "step.started", step=2)
    late = create_document(user.client, template["id"])

    with runtime.database.transaction() as session:
        early_workflow = session.get(Document, early["id"]).workflow
        late_workflow = session.get(Document, late["id"]).workflow
    assert [item["id"] for item in early_workflow] == [first_id]
    assert early_workflow[0]["event"] == "document.completed"
    assert set(early_workflow[0]) == {"id", "event", "step", "design_id", "pre_expiration_days"}
    assert len(late_workflow) == 2
    assert {item["event"] for item in late_workflow} == {"document.completed", "step.started"}
