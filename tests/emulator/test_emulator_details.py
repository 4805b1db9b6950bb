"""Smaller behaviours of the Salesforce emulator: raw HTTP shapes, metadata files, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import SalesforceMalformedRequest

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import connect
from docrelay.errors import ConfigurationError


def _api(emulator: SalesforceEmulator) -> tuple[str, dict[str, str]]:
    sf = connect(emulator)
    return f"{emulator.base_url}/services/data/v59.0", {"Authorization": f"Bearer {sf.session_id}"}


def test_malformed_id_in_path(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)

    response = requests.get(f"{base}/sobjects/Lead/not-an-id", headers=headers, timeout=10)

    assert response.status_code == 404
    assert response.json() == [
        {
            "message": "Provided external ID field does not exist or is not accessible: not-an-id",
            "errorCode": "NOT_FOUND",
        }
    ]


def test_unknown_object_not_found(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)

    response = requests.post(f"{base}/sobjects/Widget__c/", json={}, headers=headers, timeout=10)

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_retired_version_gone(salesforce_emulator: SalesforceEmulator) -> None:
    _, headers = _api(salesforce_emulator)

    response = requests.get(
        f"{salesforce_emulator.base_url}/services/data/v29.0/limits", headers=headers, timeout=10
    )

    assert response.status_code == 410


def test_method_not_allowed(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)

    response = requests.put(f"{base}/limits", headers=headers, timeout=10)

    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_post_with_http_method_override(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)
    lead_id = requests.post(
        f"{base}/sobjects/Lead/",
        json={"LastName": "A", "Company": "B"},
        headers=headers,
        timeout=10,
    ).json()["id"]

    response = requests.post(
        f"{base}/sobjects/Lead/{lead_id}?_HttpMethod=PATCH",
        json={"Title": "Overridden"},
        headers=headers,
        timeout=10,
    )

    assert response.status_code == 204
    assert salesforce_emulator.live_records("Lead")[0]["Title"] == "Overridden"


def test_create_with_malformed_json(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)

    response = requests.post(
        f"{base}/sobjects/Lead/", data=b"{not json", headers=headers, timeout=10
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_readonly_field_rejected(salesforce_client: object) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        salesforce_client.Lead.create({"LastName": "A", "Company": "B", "Name": "x"})  # type: ignore[attr-defined]

    error = raised.value.content[0]
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == ["Name"]


def test_wrong_value_types(salesforce_client: object) -> None:
    sf = salesforce_client
    cases = [
        {"Name": "x", "Sequence__c": "many"},
        {"Name": "x", "Status_Changed_At__c": "yesterday"},
    ]
    for values in cases:
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.DocRelay_Document__c.create(values)  # type: ignore[attr-defined]
        assert raised.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_datetime_normalized(salesforce_client: object) -> None:
    sf = salesforce_client
    created = sf.DocRelay_Document__c.create(  # type: ignore[attr-defined]
        {"Name": "x", "Status_Changed_At__c": "2026-12-04T10:15:30+01:00"}
    )

    record = sf.DocRelay_Document__c.get(created["id"])  # type: ignore[attr-defined]

    assert record["Status_Changed_At__c"] == "2026-12-04T09:15:30.000+0000"
    assert record["Name"] == "x"


def test_custom_name_defaults_to_id(salesforce_client: object) -> None:
    sf = salesforce_client
    created = sf.DocRelay_Document__c.create({"DocRelay_Id__c": "no-name"})  # type: ignore[attr-defined]

    assert sf.DocRelay_Document__c.get(created["id"])["Name"] == created["id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["STRING_TOO_LONG", "DUPLICATE_VALUE"])
def test_validation_fault_codes(salesforce_emulator: SalesforceEmulator, code: str) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("validation", field="Company", code=code)

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Lead.create({"LastName": "A", "Company": "B"})

    assert raised.value.content[0]["errorCode"] == code
    assert raised.value.content[0]["fields"] == ["Company"]


def test_concurrent_request_limit_variant(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)
    salesforce_emulator.add_fault(
        "request_limit", message="ConcurrentPerOrgLongTxn Limit exceeded."
    )

    response = requests.get(f"{base}/limits", headers=headers, timeout=10)

    assert response.status_code == 403
    assert response.json()[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."


def test_password_expired(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(password_expired=True)
    org = salesforce_emulator.org
    login = requests.post(
        f"{salesforce_emulator.base_url}/services/Soap/u/59.0",
        data=(
            '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            '<login xmlns="urn:partner.soap.sforce.com">'
            f"<username>{org.username}</username><password>{org.password}{org.security_token}"
            "</password></login></e:Body></e:Envelope>"
        ),
        timeout=10,
    )
    session = login.text.split("<sessionId>")[1].split("</sessionId>")[0]

    response = requests.get(
        f"{salesforce_emulator.base_url}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {session}"},
        timeout=10,
    )

    assert "<passwordExpired>true</passwordExpired>" in login.text
    assert response.json()[0]["errorCode"] == "INVALID_OPERATION_WITH_EXPIRED_PASSWORD"


def test_soap_request_not_xml(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.post(
        f"{salesforce_emulator.base_url}/services/Soap/u/59.0", data=b"<not xml", timeout=10
    )

    assert response.status_code == 500
    assert "<faultcode>soapenv:Client</faultcode>" in response.text


def test_soap_rejects_entity_expansion(salesforce_emulator: SalesforceEmulator) -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        '<login xmlns="urn:partner.soap.sforce.com"><username>&b;</username>'
        "<password>x</password></login></e:Body></e:Envelope>"
    )

    response = requests.post(
        f"{salesforce_emulator.base_url}/services/Soap/u/59.0", data=body, timeout=10
    )

    assert response.status_code == 500
    assert "soapenv:Client" in response.text


def test_query_batch_size_header(salesforce_emulator: SalesforceEmulator) -> None:
    base, headers = _api(salesforce_emulator)
    for index in range(205):
        requests.post(
            f"{base}/sobjects/Lead/",
            json={"LastName": f"L{index}", "Company": "Batch"},
            headers=headers,
            timeout=10,
        )

    response = requests.get(
        f"{base}/query/",
        params={"q": "SELECT Id FROM Lead"},
        headers={**headers, "Sforce-Query-Options": "batchSize=200"},
        timeout=10,
    ).json()
    rest = requests.get(
        f"{salesforce_emulator.base_url}{response['nextRecordsUrl']}", headers=headers, timeout=10
    ).json()

    assert len(response["records"]) == 200
    assert len(rest["records"]) == 5
    assert rest["done"] is True


def test_extra_object_metadata_file(tmp_path: Path) -> None:
    extra = tmp_path / "objects.json"
    extra.write_text(
        json.dumps(
            {
                "Invoice__c": {
                    "keyPrefix": "a02",
                    "hasOwner": True,
                    "acceptsAttachments": True,
                    "fields": {
                        "Number__c": {
                            "type": "string",
                            "length": 10,
                            "externalId": True,
                            "unique": True,
                        },
                        "Stage__c": {
                            "type": "picklist",
                            "restricted": True,
                            "values": ["Open", "Paid"],
                        },
                    },
                },
                "Lead": {
                    "fields": {"Invoice__c": {"type": "reference", "referenceTo": ["Invoice__c"]}}
                },
            }
        )
    )

    with SalesforceEmulator(object_files=(extra,)) as emulator:
        sf = connect(emulator)
        status = sf.Invoice__c.upsert("Number__c/INV-1", {"Stage__c": "Open"})
        invoice = sf.Invoice__c.get_by_custom_id("Number__c", "INV-1")
        lead = sf.Lead.create({"LastName": "A", "Company": "B", "Invoice__c": invoice["Id"]})
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.Invoice__c.create({"Number__c": "INV-2", "Stage__c": "Lost"})

    assert status == 201
    assert invoice["Id"].startswith("a02")
    assert lead["success"] is True
    assert raised.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_bad_metadata_file(tmp_path: Path) -> None:
    extra = tmp_path / "objects.json"
    extra.write_text(
        json.dumps({"Thing__c": {"keyPrefix": "a03", "fields": {"X": {"type": "blob"}}}})
    )

    with pytest.raises(ConfigurationError) as raised:
        SalesforceEmulator(object_files=(extra,))

    assert "Thing__c" in raised.value.message
    assert "blob" in raised.value.message


def test_unreadable_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{broken")

    with pytest.raises(ConfigurationError) as raised:
        SalesforceEmulator(state_file=state)

    assert "delete the file" in raised.value.message


def test_rollback_clears_external_id_index(salesforce_client: Any) -> None:
    sf = salesforce_client
    records = [
        {"attributes": {"type": "DocRelay_Document__c"}, "DocRelay_Id__c": "kept-out", "Name": "a"},
        {
            "attributes": {"type": "DocRelay_Document__c"},
            "DocRelay_Id__c": "bad",
            "Status__c": "NO",
        },
    ]
    sf.restful(
        "composite/sobjects/DocRelay_Document__c/DocRelay_Id__c",
        method="PATCH",
        json={"allOrNone": True, "records": records},
    )

    status = sf.DocRelay_Document__c.upsert("DocRelay_Id__c/kept-out", {"Name": "again"})

    assert status == 201
    assert sf.DocRelay_Document__c.get_by_custom_id("DocRelay_Id__c", "KEPT-OUT")["Name"] == "again"


def test_page_caps_rows(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "C"} for i in range(200)
    ]
    sf.restful("composite/sobjects", method="POST", json={"records": records})
    sf.restful("composite/sobjects", method="POST", json={"records": records[:5]})

    page = requests.get(f"{salesforce_emulator.base_url}/__emulator/", timeout=10).text

    assert "Lead (205, showing the latest 200)" in page
    # One row shows "L0" twice (LastName and Name); the older "L0" row is cut off.
    assert page.count("<td>L0</td>") == 2
