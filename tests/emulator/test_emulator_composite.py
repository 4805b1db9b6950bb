"""sObject Collections and Composite against the emulator (and a real org when configured)."""

from __future__ import annotations

import base64
import uuid

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import Target, connect

DOC = "DocRelay_Document__c"


def _doc(external: str, **values: object) -> dict[str, object]:
    return {"attributes": {"type": DOC}, "DocRelay_Id__c": external, **values}


def _upsert_collection(
    sf: Salesforce, records: list[dict[str, object]], all_or_none: bool
) -> list[dict[str, object]]:
    return sf.restful(  # type: ignore[no-any-return]
        f"composite/sobjects/{DOC}/DocRelay_Id__c",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": records},
    )


def _live_ids(sf: Salesforce, externals: list[str]) -> set[str]:
    quoted = ", ".join(f"'{e}'" for e in externals)
    rows = sf.query(f"SELECT DocRelay_Id__c FROM {DOC} WHERE DocRelay_Id__c IN ({quoted})")[
        "records"
    ]
    return {row["DocRelay_Id__c"] for row in rows}


def test_collection_upsert_creates_and_updates(target: Target) -> None:
    run = uuid.uuid4().hex[:8]
    first = _upsert_collection(target.sf, [_doc(f"{run}-1", Status__c="DCR")], all_or_none=False)
    target.track(DOC, str(first[0]["id"]))

    second = _upsert_collection(
        target.sf,
        [_doc(f"{run}-1", Status__c="DSS"), _doc(f"{run}-2", Status__c="DCR")],
        all_or_none=False,
    )
    target.track(DOC, str(second[1]["id"]))

    assert first[0]["created"] is True
    assert second[0]["created"] is False
    assert second[0]["id"] == first[0]["id"]
    assert second[1]["created"] is True
    assert all(result["success"] for result in second)


def test_collection_failure_without_all_or_none(target: Target) -> None:
    run = uuid.uuid4().hex[:8]

    results = _upsert_collection(
        target.sf,
        [_doc(f"{run}-ok", Status__c="DCR"), _doc(f"{run}-bad", Status__c="NOPE")],
        all_or_none=False,
    )
    target.track(DOC, str(results[0]["id"]))

    assert results[0]["success"] is True
    assert results[1]["success"] is False
    error = results[1]["errors"][0]  # type: ignore[index]
    assert error["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["Status__c"]
    assert _live_ids(target.sf, [f"{run}-ok", f"{run}-bad"]) == {f"{run}-ok"}


def test_collection_failure_with_all_or_none(target: Target) -> None:
    run = uuid.uuid4().hex[:8]

    results = _upsert_collection(
        target.sf,
        [_doc(f"{run}-ok", Status__c="DCR"), _doc(f"{run}-bad", Status__c="NOPE")],
        all_or_none=True,
    )

    assert [r["success"] for r in results] == [False, False]
    rolled = results[0]["errors"][0]  # type: ignore[index]
    assert rolled["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"  # type: ignore[index]
    assert _live_ids(target.sf, [f"{run}-ok", f"{run}-bad"]) == set()


def test_collection_create_and_update(target: Target) -> None:
    created = target.sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": "A", "Company": "X"},
                {"attributes": {"type": "Lead"}, "LastName": "B"},
            ],
        },
    )
    target.track("Lead", created[0]["id"])

    updated = target.sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Lead"}, "id": created[0]["id"], "Title": "CEO"}]
        },
    )

    assert created[0]["success"] is True
    assert (
        created[1]
        == {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Company]",
                    "fields": ["Company"],
                }
            ],
        }
        or created[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    )
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    assert target.sf.Lead.get(created[0]["id"])["Title"] == "CEO"


def test_collection_over_200_rejected(salesforce_client: Salesforce) -> None:
    records = [_doc(f"many-{i}") for i in range(201)]

    with pytest.raises(SalesforceMalformedRequest) as raised:
        _upsert_collection(salesforce_client, records, all_or_none=False)

    assert raised.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"  # type: ignore[attr-defined]


def test_collection_delete_and_get(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    first = sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    second = sf.Lead.create({"LastName": "B", "Company": "X"})["id"]

    fetched = sf.restful(
        "composite/sobjects/Lead", params={"ids": f"{first},{second}", "fields": "LastName"}
    )
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{first},{second}"})

    assert [r["LastName"] for r in fetched] == ["A", "B"]
    assert [r["success"] for r in deleted] == [True, True]
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_composite_references(target: Target) -> None:
    run = uuid.uuid4().hex[:8]
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Lead",
                "referenceId": "lead",
                "body": {"LastName": "Ref", "Company": "Composite"},
            },
            {
                "method": "PATCH",
                "url": f"/services/data/v59.0/sobjects/{DOC}/DocRelay_Id__c/{run}",
                "referenceId": "doc",
                "body": {"Name": "Composite doc", "Lead__c": "@{lead.id}", "Status__c": "DSS"},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/ContentVersion",
                "referenceId": "file",
                "body": {
                    "PathOnClient": f"{run}.pdf",
                    "VersionData": base64.b64encode(b"%PDF-1.4").decode(),
                    "FirstPublishLocationId": "@{lead.id}",
                },
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/sobjects/ContentVersion/@{file.id}?fields=ContentDocumentId",
                "referenceId": "fileInfo",
            },
        ],
    }

    response = target.sf.restful("composite", method="POST", json=body)["compositeResponse"]

    statuses = [sub["httpStatusCode"] for sub in response]
    assert statuses == [201, 201, 201, 200]
    lead_id = response[0]["body"]["id"]
    target.track("Lead", lead_id)
    target.track(DOC, response[1]["body"]["id"])
    target.track("ContentDocument", response[3]["body"]["ContentDocumentId"])
    assert response[0]["httpHeaders"]["Location"].endswith(lead_id)
    assert [sub["referenceId"] for sub in response] == ["lead", "doc", "file", "fileInfo"]
    record = target.sf.DocRelay_Document__c.get_by_custom_id("DocRelay_Id__c", run)
    assert record["Lead__c"] == lead_id


def test_composite_all_or_none_halts(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Lead",
                "referenceId": "ok",
                "body": {"LastName": "A", "Company": "X"},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Lead",
                "referenceId": "bad",
                "body": {"LastName": "B"},
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/sobjects/Lead/@{ok.id}",
                "referenceId": "after",
            },
        ],
    }

    response = sf.restful("composite", method="POST", json=body)["compositeResponse"]

    assert [sub["httpStatusCode"] for sub in response] == [400, 400, 400]
    assert response[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert response[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert response[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_composite_without_all_or_none_keeps_successes(salesforce_client: Salesforce) -> None:
    sf = salesforce_client
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Lead",
                "referenceId": "bad",
                "body": {"LastName": "B"},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Lead",
                "referenceId": "ok",
                "body": {"LastName": "A", "Company": "X"},
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/sobjects/Lead/@{bad.id}",
                "referenceId": "dependent",
            },
        ],
    }

    response = sf.restful("composite", method="POST", json=body)["compositeResponse"]

    assert [sub["httpStatusCode"] for sub in response] == [400, 201, 400]
    assert response[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 1


def test_composite_limit_25(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    subrequests = [
        {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": f"r{i}"}
        for i in range(26)
    ]

    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert salesforce_emulator.calls()["counts"]["composite"] == 1
