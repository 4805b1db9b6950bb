"""Record calls (create, get, update, delete, upsert, query) and their errors.

Tests taking ``target`` also run against a real org when one is configured.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from simple_salesforce import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_external_id

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import Target, connect
from docrelay.salesforce.ids import is_valid_id

DOC = "DocRelay_Document__c"


def _lead(target: Target, **values: object) -> str:
    fields = {"LastName": "Doe", "Company": "Acme", **values}
    return target.track("Lead", target.sf.Lead.create(fields)["id"])


def _error(raised: pytest.ExceptionInfo[Exception]) -> dict[str, object]:
    content = raised.value.content  # type: ignore[attr-defined]
    assert isinstance(content, list)
    return content[0]


def test_create_returns_18_char_id(target: Target) -> None:
    created = target.sf.Lead.create({"LastName": "Doe", "Company": "Acme"})
    target.track("Lead", created["id"])

    assert created["success"] is True
    assert created["errors"] == []
    assert created["id"].startswith("00Q")
    assert len(created["id"]) == 18
    assert is_valid_id(created["id"])


def test_get_by_id_and_fields(target: Target) -> None:
    lead_id = _lead(target, FirstName="Jane", Email="jane@example.com")

    full = target.sf.Lead.get(lead_id)
    partial = target.sf.Lead.get(lead_id, params={"fields": "Email,LastName"})

    assert full["attributes"]["type"] == "Lead"
    assert full["attributes"]["url"].endswith(f"/sobjects/Lead/{lead_id}")
    assert full["Name"] == "Jane Doe"
    assert full["Status"] == "Open - Not Contacted"
    assert set(partial) == {"attributes", "Email", "LastName"}


def test_get_accepts_15_char_id(target: Target) -> None:
    lead_id = _lead(target)

    record = target.sf.Lead.get(lead_id[:15])

    assert record["Id"] == lead_id


def test_update_then_delete(target: Target) -> None:
    lead_id = _lead(target)

    assert target.sf.Lead.update(lead_id, {"Title": "CFO"}) == 204
    assert target.sf.Lead.get(lead_id)["Title"] == "CFO"
    assert target.sf.Lead.delete(lead_id) == 204

    with pytest.raises(SalesforceResourceNotFound) as raised:
        target.sf.Lead.get(lead_id)
    assert _error(raised)["errorCode"] == "ENTITY_IS_DELETED"


def test_unknown_record_not_found(target: Target) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        target.sf.Lead.get("00Q5D000000ZZZZ")

    assert _error(raised)["errorCode"] == "NOT_FOUND"


def test_update_unknown_record(salesforce_client: object) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        salesforce_client.Lead.update("00Q5D000000ZZZZ", {"Title": "x"})  # type: ignore[attr-defined]

    assert _error(raised)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


@pytest.mark.parametrize(
    ("values", "code", "fields"),
    [
        ({"LastName": "Doe", "Company": "Acme", "Nope__c": "x"}, "INVALID_FIELD", None),
        ({"LastName": "Doe"}, "REQUIRED_FIELD_MISSING", ["Company"]),
        ({"LastName": "D" * 81, "Company": "Acme"}, "STRING_TOO_LONG", ["LastName"]),
        (
            {"LastName": "Doe", "Company": "Acme", "Status": "Bogus"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Status"],
        ),
    ],
)
def test_lead_validation_errors(
    target: Target, values: dict[str, object], code: str, fields: list[str] | None
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        target.sf.Lead.create(values)

    error = _error(raised)
    assert raised.value.status == 400  # type: ignore[attr-defined]
    assert error["errorCode"] == code
    assert isinstance(error["message"], str)
    if fields is not None:
        assert error["fields"] == fields


def test_error_body_exact_shape(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    response = requests.post(
        f"{salesforce_emulator.base_url}/services/data/v59.0/sobjects/Lead/",
        json={"LastName": "Doe", "Company": "Acme", "Foo__c": 1},
        headers={"Authorization": f"Bearer {sf.session_id}"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "No such column 'Foo__c' on sobject of type Lead",
            "errorCode": "INVALID_FIELD",
            "fields": [],
        }
    ]


def test_bad_lookup_id(target: Target) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        target.sf.DocRelay_Document__c.create({"Name": "x", "Lead__c": "00Q5D000000ZZZZ"})

    assert _error(raised)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_lookup_of_wrong_type(target: Target) -> None:
    account = target.track("Account", target.sf.Account.create({"Name": "Acme"})["id"])

    with pytest.raises(SalesforceMalformedRequest) as raised:
        target.sf.DocRelay_Document__c.create({"Name": "x", "Lead__c": account})

    assert _error(raised)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_upsert_creates_then_updates(target: Target) -> None:
    external = f"doc-{uuid.uuid4().hex[:12]}"
    lead_id = _lead(target)
    key = format_external_id("DocRelay_Id__c", external)
    documents = target.sf.DocRelay_Document__c

    created = documents.upsert(
        key, {"Name": "Contract", "Status__c": "DCR", "Lead__c": lead_id}, raw_response=True
    )
    updated = documents.upsert(key, {"Status__c": "DSS", "Sequence__c": 2}, raw_response=True)

    assert created.status_code == 201
    assert created.json()["created"] is True
    assert updated.status_code in (200, 204)
    if updated.status_code == 200:
        assert updated.json()["created"] is False
        assert updated.json()["id"] == created.json()["id"]
    target.track(DOC, created.json()["id"])
    record = documents.get_by_custom_id("DocRelay_Id__c", external)
    assert record["Status__c"] == "DSS"
    assert record["Sequence__c"] == 2
    assert record["Lead__c"] == lead_id


def test_external_id_unique(target: Target) -> None:
    external = f"dup-{uuid.uuid4().hex[:12]}"
    first = target.sf.DocRelay_Document__c.create({"Name": "a", "DocRelay_Id__c": external})
    target.track(DOC, first["id"])

    with pytest.raises(SalesforceMalformedRequest) as raised:
        target.sf.DocRelay_Document__c.create({"Name": "b", "DocRelay_Id__c": external})

    assert _error(raised)["errorCode"] == "DUPLICATE_VALUE"


def test_upsert_multiple_matches_300(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.org.schema.objects["Lead"].fields["Email"] = __import__(
        "dataclasses"
    ).replace(salesforce_emulator.org.schema.objects["Lead"].fields["Email"], external_id=True)
    sf = connect(salesforce_emulator)
    sf.Lead.create({"LastName": "A", "Company": "X", "Email": "same@example.com"})
    sf.Lead.create({"LastName": "B", "Company": "X", "Email": "same@example.com"})

    with pytest.raises(SalesforceMoreThanOneRecord) as raised:
        sf.Lead.upsert("Email/same@example.com", {"Title": "x"})

    assert raised.value.status == 300
    assert len(raised.value.content) == 2


def test_upsert_unknown_external_field(salesforce_client: object) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        salesforce_client.Lead.upsert("Company/Acme", {"Title": "x"})  # type: ignore[attr-defined]

    error = _error(raised)
    assert error["errorCode"] == "NOT_FOUND"
    assert (
        error["message"]
        == "Provided external ID field does not exist or is not accessible: Company"
    )


def test_query_filters_orders_and_limits(target: Target) -> None:
    company = f"Q{uuid.uuid4().hex[:10]}"
    for name in ("Charlie", "alpha", "Bravo"):
        _lead(target, LastName=name, Company=company)

    result = target.sf.query(
        f"SELECT Id, LastName FROM Lead WHERE Company = '{company}' ORDER BY LastName DESC LIMIT 2"
    )

    assert result["totalSize"] == 2
    assert result["done"] is True
    assert [r["LastName"] for r in result["records"]] == ["Charlie", "Bravo"]
    assert result["records"][0]["attributes"]["type"] == "Lead"


def test_query_all_includes_deleted(target: Target) -> None:
    company = f"D{uuid.uuid4().hex[:10]}"
    lead_id = _lead(target, Company=company)
    target.sf.Lead.delete(lead_id)

    live = target.sf.query(f"SELECT Id FROM Lead WHERE Company = '{company}'")
    everything = target.sf.query_all(
        f"SELECT Id, IsDeleted FROM Lead WHERE Company = '{company}'", include_deleted=True
    )

    assert live["totalSize"] == 0
    assert everything["totalSize"] == 1
    assert everything["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELEC Id FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead LIMIT x", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ],
)
def test_query_errors(target: Target, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        target.sf.query(soql)

    assert _error(raised)["errorCode"] == code


def test_query_paging_with_next_records_url(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(query_batch_size=5)
    sf = connect(salesforce_emulator)
    for index in range(12):
        sf.Lead.create({"LastName": f"L{index:02d}", "Company": "Paging"})

    first = sf.query("SELECT Id, LastName FROM Lead ORDER BY LastName")
    everything = sf.query_all("SELECT Id, LastName FROM Lead ORDER BY LastName")

    assert first["done"] is False
    assert first["totalSize"] == 12
    assert len(first["records"]) == 5
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert first["nextRecordsUrl"].endswith("-5")
    assert [r["LastName"] for r in everything["records"]] == [f"L{i:02d}" for i in range(12)]
    assert salesforce_emulator.calls()["counts"]["query_more"] == 2


def test_query_matches_ids_on_core(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    sf.DocRelay_Document__c.create({"Name": "Doc", "Lead__c": lead_id})

    by_15 = sf.query(f"SELECT Id, Lead__r.Company FROM {DOC} WHERE Lead__c = '{lead_id[:15]}'")
    by_in = sf.query(f"SELECT Id FROM {DOC} WHERE Lead__c IN ('{lead_id}', '001000000000000')")

    assert by_15["totalSize"] == 1
    assert by_15["records"][0]["Lead__r"]["Company"] == "Acme"
    assert by_in["totalSize"] == 1


def test_count_query(salesforce_client: object) -> None:
    sf = salesforce_client
    sf.Lead.create({"LastName": "A", "Company": "Count"})  # type: ignore[attr-defined]
    sf.Lead.create({"LastName": "B", "Company": "Count"})  # type: ignore[attr-defined]

    result = sf.query("SELECT COUNT() FROM Lead WHERE Company LIKE 'cou%'")  # type: ignore[attr-defined]

    assert result["totalSize"] == 2
    assert result["records"] == []


def test_describe_lists_custom_fields(target: Target) -> None:
    described = target.sf.DocRelay_Document__c.describe()
    fields = {field["name"]: field for field in described["fields"]}

    assert fields["DocRelay_Id__c"]["externalId"] is True
    assert fields["DocRelay_Id__c"]["unique"] is True
    assert fields["Lead__c"]["referenceTo"] == ["Lead"]
    for name in (
        "Status__c",
        "Status_Name__c",
        "Status_Changed_At__c",
        "Sequence__c",
        "Template_Name__c",
        "Related_Record_Id__c",
        "Account__c",
        "Contact__c",
        "Opportunity__c",
    ):
        assert name in fields


def test_versions_and_limits(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    versions = requests.get(f"{salesforce_emulator.base_url}/services/data/", timeout=10)

    limits = sf.limits()

    assert versions.status_code == 200
    assert {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    } in versions.json()
    assert "Sforce-Limit-Info" not in versions.headers
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert sf.api_usage["api-usage"].total == 15000


def test_every_data_response_has_limit_header(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{salesforce_emulator.base_url}/services/data/v59.0"

    ok = requests.get(f"{base}/limits/", headers=headers, timeout=10)
    failed = requests.get(f"{base}/sobjects/Lead/00Q5D000000ZZZZ", headers=headers, timeout=10)

    assert ok.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert failed.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    assert failed.status_code == 404
