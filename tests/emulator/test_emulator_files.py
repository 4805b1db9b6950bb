"""Files against the emulator: ContentVersion (base64 and multipart), links, Attachment, Document."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import Target, connect

MB = 1024 * 1024


def _pdf(sample_pdf_dir: Path) -> bytes:
    return sorted(sample_pdf_dir.glob("*.pdf"))[0].read_bytes()


def _lead(sf: Salesforce) -> str:
    return str(sf.Lead.create({"LastName": "Doe", "Company": "Files"})["id"])


def _error_code(raised: pytest.ExceptionInfo[Exception]) -> str:
    return str(raised.value.content[0]["errorCode"])  # type: ignore[attr-defined]


def _multipart(
    sf: Salesforce,
    fields: dict[str, object],
    data: bytes,
    object_name: str = "ContentVersion",
    json_part: str = "entity_content",
    blob_part: str = "VersionData",
) -> dict[str, object]:
    return sf.restful(  # type: ignore[no-any-return]
        f"sobjects/{object_name}",
        method="POST",
        files={
            json_part: (None, json.dumps(fields), "application/json"),
            blob_part: ("file.pdf", data, "application/pdf"),
        },
        headers={"Content-Type": None},
    )


def test_content_version_base64(target: Target, sample_pdf_dir: Path) -> None:
    pdf = _pdf(sample_pdf_dir)
    lead_id = target.track("Lead", _lead(target.sf))

    created = target.sf.ContentVersion.create(
        {
            "Title": "Signed contract",
            "PathOnClient": "contract.pdf",
            "VersionData": base64.b64encode(pdf).decode(),
            "FirstPublishLocationId": lead_id,
        }
    )
    version_id = created["id"]

    assert version_id.startswith("068")
    assert target.sf.ContentVersion.get_base64(version_id, base64_field="VersionData") == pdf
    row = target.sf.query(
        f"SELECT ContentDocumentId, FileExtension, ContentSize FROM ContentVersion WHERE Id = '{version_id}'"
    )["records"][0]
    assert row["ContentDocumentId"].startswith("069")
    assert row["FileExtension"] == "pdf"
    assert row["ContentSize"] == len(pdf)
    target.track("ContentDocument", row["ContentDocumentId"])
    links = target.sf.query(
        "SELECT LinkedEntityId FROM ContentDocumentLink "
        f"WHERE ContentDocumentId = '{row['ContentDocumentId']}'"
    )["records"]
    assert lead_id in [link["LinkedEntityId"] for link in links]


def test_content_version_multipart(target: Target, sample_pdf_dir: Path) -> None:
    pdf = _pdf(sample_pdf_dir)
    lead_id = target.track("Lead", _lead(target.sf))

    created = _multipart(
        target.sf,
        {"Title": "Multipart", "PathOnClient": "m.pdf", "FirstPublishLocationId": lead_id},
        pdf,
    )

    assert created["success"] is True
    version_id = str(created["id"])
    assert target.sf.ContentVersion.get_base64(version_id, base64_field="VersionData") == pdf
    document_id = target.sf.ContentVersion.get(version_id)["ContentDocumentId"]
    target.track("ContentDocument", document_id)


def test_content_document_link_insert(target: Target) -> None:
    lead_id = target.track("Lead", _lead(target.sf))
    account_id = target.track("Account", target.sf.Account.create({"Name": "Linked"})["id"])
    version_id = target.sf.ContentVersion.create(
        {
            "PathOnClient": "a.txt",
            "VersionData": base64.b64encode(b"hello").decode(),
            "FirstPublishLocationId": lead_id,
        }
    )["id"]
    document_id = target.sf.ContentVersion.get(version_id)["ContentDocumentId"]
    target.track("ContentDocument", document_id)

    link = target.sf.ContentDocumentLink.create(
        {
            "ContentDocumentId": document_id,
            "LinkedEntityId": account_id,
            "ShareType": "V",
            "Visibility": "AllUsers",
        }
    )

    assert link["id"].startswith("06A")
    with pytest.raises(SalesforceMalformedRequest):
        target.sf.ContentDocumentLink.create(
            {"ContentDocumentId": document_id, "LinkedEntityId": account_id}
        )


def test_new_version_of_existing_file(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    lead_id = _lead(sf)
    first = sf.ContentVersion.create(
        {
            "PathOnClient": "v.txt",
            "VersionData": base64.b64encode(b"one").decode(),
            "FirstPublishLocationId": lead_id,
        }
    )["id"]
    document_id = sf.ContentVersion.get(first)["ContentDocumentId"]

    second = sf.ContentVersion.create(
        {
            "ContentDocumentId": document_id,
            "PathOnClient": "v.txt",
            "ReasonForChange": "fix",
            "VersionData": base64.b64encode(b"two").decode(),
        }
    )["id"]

    assert sf.ContentVersion.get(second)["VersionNumber"] == "2"
    assert sf.ContentVersion.get(first)["IsLatest"] is False
    assert (
        sf.query(
            f"SELECT LatestPublishedVersionId FROM ContentDocument WHERE Id = '{document_id}'"
        )["records"][0]["LatestPublishedVersionId"]
        == second
    )
    with pytest.raises(SalesforceMalformedRequest):
        sf.ContentVersion.create(
            {
                "ContentDocumentId": document_id,
                "PathOnClient": "v.txt",
                "FirstPublishLocationId": lead_id,
                "VersionData": base64.b64encode(b"three").decode(),
            }
        )


def test_attachment_roundtrip(target: Target, sample_pdf_dir: Path) -> None:
    pdf = _pdf(sample_pdf_dir)
    lead_id = target.track("Lead", _lead(target.sf))

    created = target.sf.Attachment.create(
        {
            "ParentId": lead_id,
            "Name": "signed.pdf",
            "Body": base64.b64encode(pdf).decode(),
            "ContentType": "application/pdf",
        }
    )

    assert created["id"].startswith("00P")
    assert target.sf.Attachment.get_base64(created["id"], base64_field="Body") == pdf
    assert target.sf.Attachment.get(created["id"])["BodyLength"] == len(pdf)


def test_attachment_parent_must_accept_attachments(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    folder_id = sf.query("SELECT Id FROM Folder WHERE Type = 'Document'")["records"][0]["Id"]

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Attachment.create(
            {"ParentId": folder_id, "Name": "x.pdf", "Body": base64.b64encode(b"x").decode()}
        )

    assert _error_code(raised) == "INVALID_CROSS_REFERENCE_KEY"


def test_attachment_size_limit(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    lead_id = _lead(sf)
    body = base64.b64encode(b"\0" * (25 * MB + 1)).decode()

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Attachment.create({"ParentId": lead_id, "Name": "big.pdf", "Body": body})

    assert _error_code(raised) == "MAXIMUM_SIZE_OF_ATTACHMENT"
    exactly = base64.b64encode(b"\0" * (25 * MB)).decode()
    assert sf.Attachment.create({"ParentId": lead_id, "Name": "ok.pdf", "Body": exactly})["success"]


def test_document_in_folder_and_limit(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    folder_id = sf.query("SELECT Id FROM Folder WHERE Type = 'Document'")["records"][0]["Id"]
    lead_id = _lead(sf)

    created = sf.Document.create(
        {"FolderId": folder_id, "Name": "doc.pdf", "Body": base64.b64encode(b"%PDF").decode()}
    )
    record = sf.Document.get(created["id"])

    assert created["id"].startswith("015")
    assert record["Type"] == "pdf"
    assert sf.Document.get_base64(created["id"], base64_field="Body") == b"%PDF"
    with pytest.raises(SalesforceMalformedRequest) as wrong_folder:
        sf.Document.create(
            {"FolderId": lead_id, "Name": "d.pdf", "Body": base64.b64encode(b"x").decode()}
        )
    assert _error_code(wrong_folder) == "INVALID_CROSS_REFERENCE_KEY"
    too_big = base64.b64encode(b"\0" * (5 * MB + 1)).decode()
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Document.create({"FolderId": folder_id, "Name": "big.pdf", "Body": too_big})
    assert _error_code(raised) == "MAXIMUM_SIZE_OF_DOCUMENT"


def test_document_multipart(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    folder_id = sf.query("SELECT Id FROM Folder")["records"][0]["Id"]

    created = _multipart(
        sf,
        {"FolderId": folder_id, "Name": "m.pdf"},
        b"%PDF-multi",
        "Document",
        "entity_document",
        "Body",
    )

    assert sf.Document.get_base64(str(created["id"]), base64_field="Body") == b"%PDF-multi"


def test_json_body_cap(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(json_body_max_bytes=1000)
    sf = connect(salesforce_emulator)
    payload = {"PathOnClient": "x.bin", "VersionData": base64.b64encode(b"\0" * 2000).decode()}

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.ContentVersion.create(payload)
    multipart = _multipart(sf, {"PathOnClient": "x.bin"}, b"\0" * 2000)

    assert _error_code(raised) == "EXCEEDED_MAX_SIZE_REQUEST"
    assert multipart["success"] is True


def test_files_visible_on_page(
    salesforce_emulator: SalesforceEmulator, sample_pdf_dir: Path
) -> None:
    sf = connect(salesforce_emulator)
    lead_id = sf.Lead.create({"LastName": "<script>alert(1)</script>", "Company": "Page & Co"})[
        "id"
    ]
    version_id = _multipart(
        sf,
        {"Title": "Demo <b>PDF</b>", "PathOnClient": "demo.pdf", "FirstPublishLocationId": lead_id},
        _pdf(sample_pdf_dir),
    )["id"]

    page = requests.get(f"{salesforce_emulator.base_url}/__emulator/", timeout=10)
    download = requests.get(
        f"{salesforce_emulator.base_url}/__emulator/files/{version_id}", timeout=10
    )

    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert "Demo &lt;b&gt;PDF&lt;/b&gt;" in page.text
    assert "Page &amp; Co" in page.text
    assert lead_id in page.text
    assert download.content == _pdf(sample_pdf_dir)
