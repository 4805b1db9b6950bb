"""The pull endpoints: list a record's documents, and re-push their statuses in Collections calls."""

from __future__ import annotations

from depth_factory import create_documents, status_workflow
from salesforce_org import Org
from sqlalchemy import update

from docrelay.delivery.worker import drain
from docrelay.salesforce.ids import to_18
from docrelay.storage.models import Document, Signatory
from docrelay.storage.types import new_id
from engine.delivery_factory import create_document, move


def _add_signatory(org: Org, document_id: str, name: str, status: str) -> None:
    with org.runtime.database.transaction() as session:
        session.add(
            Signatory(
                id=new_id(),
                document_id=document_id,
                account_id=org.account_id,
                position=1,
                step=1,
                name=name,
                email="jane@example.com",
                token_hash=new_id(),
                token_encrypted="x",
                status=status,
            )
        )


def test_listing_shows_documents_and_links(org: Org, user) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, status_workflow(runtime, org.account_id), crm=("Lead", org.lead_id)
    )
    move(runtime, document, "DSS")
    _add_signatory(org, document, "Jane Doe", "viewed")
    other_lead = to_18("00Q5D0000000ZZZ")
    create_document(
        runtime, org.account_id, status_workflow(runtime, org.account_id), crm=("Lead", other_lead)
    )

    response = user.client.get(f"/api/v1/salesforce/records/{org.lead_id[:15]}/documents")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record_id"] == org.lead_id
    (item,) = body["items"]
    assert (item["id"], item["status"], item["status_name"]) == (document, "DSS", "Started")
    assert item["template_name"] == "Mutual NDA"
    assert item["status_changed_at"] and item["created_at"]
    assert [(s["name"], s["status"]) for s in item["signatories"]] == [("Jane Doe", "viewed")]
    assert item["downloads"]["original"].endswith(f"/documents/{document}/download?type=original")
    assert item["downloads"]["completed"] is None
    assert org.call_kinds() == []


def test_listing_rejects_malformed_record_id(org: Org, user) -> None:
    for bad in ("00Q5D0000000ZZZAAA", "short", "00Q5D0000000ZZ'"):
        response = user.client.get(f"/api/v1/salesforce/records/{bad}/documents")
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "record_id"
    refresh = user.client.post("/api/v1/salesforce/records/short/refresh")
    assert refresh.status_code == 422
    assert org.call_kinds() == []


def test_listing_hides_other_accounts_documents(org: Org, other_user) -> None:
    create_documents(org.runtime, org.account_id, 2, record_id=org.lead_id)
    response = other_user.client.get(f"/api/v1/salesforce/records/{org.lead_id}/documents")
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_refresh_one_call_per_200(org: Org, user, salesforce_client) -> None:
    runtime = org.runtime
    documents = create_documents(runtime, org.account_id, 250, record_id=org.lead_id)
    drain(runtime, 30)

    # Someone edited records in Salesforce; a refresh puts DocRelay's statuses back.
    edited = documents[:3]
    for document in edited:
        record = org.record_of(document)
        salesforce_client.DocRelay_Document__c.update(record["Id"], {"Status__c": "DCA"})
    org.emulator.clear_calls()

    response = user.client.post(f"/api/v1/salesforce/records/{org.lead_id}/refresh")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["sent"], body["written"], body["api_calls"]) == (250, 250, 2)
    assert len(body["items"]) == 250
    assert org.call_kinds() == ["composite_sobjects", "composite_sobjects"]
    assert [org.record_of(document)["Status__c"] for document in edited] == ["DCR"] * 3


def test_refresh_skips_newer_confirmed_status(org: Org, user) -> None:
    runtime = org.runtime
    newer, current = create_documents(runtime, org.account_id, 2, record_id=org.lead_id)
    drain(runtime, 15)
    with runtime.database.transaction() as session:
        session.execute(
            update(Document).where(Document.id == newer).values(salesforce_confirmed_sequence=9)
        )
    org.emulator.clear_calls()

    body = user.client.post(f"/api/v1/salesforce/records/{org.lead_id}/refresh").json()

    outcomes = {item["document_id"]: item["outcome"] for item in body["results"]}
    assert outcomes == {newer: "skipped", current: "written"}
    assert (body["sent"], body["api_calls"]) == (1, 1)
    assert org.call_kinds() == ["composite_sobjects"]


def test_refresh_needs_a_credential(org: Org, user) -> None:
    org.update_account(salesforce_credential_encrypted=None)
    create_documents(org.runtime, org.account_id, 1, record_id=org.lead_id)
    response = user.client.post(f"/api/v1/salesforce/records/{org.lead_id}/refresh")
    assert response.status_code == 409
    assert "salesforce-credential" in response.json()["detail"]


def test_refresh_without_documents_calls_nothing(org: Org, user) -> None:
    response = user.client.post(f"/api/v1/salesforce/records/{org.lead_id}/refresh")
    assert response.status_code == 200
    assert (response.json()["sent"], response.json()["api_calls"]) == (0, 0)
    assert org.call_kinds() == []
