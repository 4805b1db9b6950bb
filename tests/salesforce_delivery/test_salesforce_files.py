"""The completed PDF at each Document Storage Location, through the worker and the emulator."""

from __future__ import annotations

import pytest
from salesforce_org import Org

from docrelay import clock
from docrelay.delivery import repository
from docrelay.delivery.worker import drain
from engine.delivery_factory import attempts_of, create_document, deliveries_of, design_id, move


def _folder_id(org: Org) -> str:
    (folder,) = org.emulator.live_records("Folder")
    return str(folder["Id"])


def _completed_document(org: Org, blob: str, **extra) -> str:
    with_document = design_id(org.runtime, org.account_id, "salesforce_status_with_document")
    document = create_document(
        org.runtime,
        org.account_id,
        [{"event": "document.completed", "design_id": with_document}],
        crm=("Lead", org.lead_id),
        **extra,
    )
    move(org.runtime, document, "DSS")
    move(org.runtime, document, "DCO", completed_blob=blob)
    return document


@pytest.mark.parametrize("location", ["file", "attachment", "document"])
def test_pdf_stored_at_location(org: Org, completed_pdf: tuple[str, bytes], location: str) -> None:
    blob, data = completed_pdf
    org.update_account(
        storage_location=location,
        storage_folder_id=_folder_id(org) if location == "document" else None,
    )
    document = _completed_document(org, blob)

    drain(org.runtime, 20)

    (delivery,) = deliveries_of(org.runtime, document)
    assert delivery.state == "delivered", delivery.last_error
    assert delivery.result is not None
    file_id = delivery.result["file_id"]
    assert org.emulator.file_bytes(file_id) == data
    record = org.record_of(document)
    assert (record["Status__c"], record["Sequence__c"]) == ("DCO", 3)

    if location == "file":
        (version,) = org.emulator.live_records("ContentVersion")
        assert version["FirstPublishLocationId"][:15] == org.lead_id[:15]
        linked = {
            link["LinkedEntityId"][:15]
            for link in org.emulator.live_records("ContentDocumentLink")
            if link["ContentDocumentId"] == version["ContentDocumentId"]
        }
        assert {org.lead_id[:15], record["Id"][:15]} <= linked
    elif location == "attachment":
        (attachment,) = org.emulator.live_records("Attachment")
        assert attachment["ParentId"][:15] == org.lead_id[:15]
    else:
        (stored,) = org.emulator.live_records("Document")
        assert stored["FolderId"][:15] == _folder_id(org)[:15]


def test_resend_does_not_upload_file_twice(org: Org, completed_pdf: tuple[str, bytes]) -> None:
    blob, _ = completed_pdf
    document = _completed_document(org, blob)
    drain(org.runtime, 20)
    (delivery,) = deliveries_of(org.runtime, document)
    org.emulator.clear_calls()

    with org.runtime.database.transaction() as session:
        repository.resend(session, org.account_id, delivery.id, clock.now())
    drain(org.runtime, 20)

    (again,) = deliveries_of(org.runtime, document)
    assert again.state == "delivered"
    assert again.result is not None and again.result["file_reused"] is True
    assert len(org.emulator.live_records("ContentVersion")) == 1
    assert "sobject_create" not in org.call_kinds()


def test_file_too_large_for_location_fails_permanently(org: Org, runtime) -> None:
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024 + 10)
    runtime.blobs.put("tests/big.pdf", big)
    org.update_account(storage_location="document", storage_folder_id=_folder_id(org))
    document = _completed_document(org, "tests/big.pdf")

    drain(runtime, 20)

    (delivery,) = deliveries_of(runtime, document)
    assert (delivery.state, delivery.last_error_class) == ("failed", "file_too_large")
    assert "5 MB limit" in (delivery.last_error or "")
    assert "'file'" in (delivery.last_error or "")
    assert org.emulator.live_records("Document") == []


def test_large_file_goes_multipart(org: Org, runtime) -> None:
    big = b"%PDF-1.4\n" + b"1" * (37 * 1024 * 1024 + 10)
    runtime.blobs.put("tests/huge.pdf", big)
    document = _completed_document(org, "tests/huge.pdf")

    drain(runtime, 60)

    (delivery,) = deliveries_of(runtime, document)
    assert delivery.state == "delivered", delivery.last_error
    assert org.emulator.file_bytes(delivery.result["file_id"]) == big  # type: ignore[index]
    assert "(multipart)" in (attempts_of(runtime, delivery.id)[-1].request_summary or "")
