"""Fault injection, API allocation, latency and the call log of the Salesforce emulator."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.emulators.salesforce.client import connect
from docrelay.salesforce.routing import make_session

LEAD = {"LastName": "Doe", "Company": "Faults"}


def test_lock_row_next_call_only(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("lock_row", times=1)

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Lead.create(LEAD)

    assert raised.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.Lead.create(LEAD)["success"] is True
    assert len(salesforce_emulator.live_records("Lead")) == 1


def test_unavailable_503(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("unavailable", times=2)

    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as raised:
            sf.query("SELECT Id FROM Lead")
        assert raised.value.status == 503

    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_server_error_500(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("server_error")

    with pytest.raises(SalesforceGeneralError) as raised:
        sf.Lead.create(LEAD)

    assert raised.value.status == 500
    assert raised.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def test_delay_fault(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("delay", seconds=0.3)

    started = time.perf_counter()
    result = sf.query("SELECT Id FROM Lead")
    delayed = time.perf_counter() - started

    assert delayed >= 0.3
    assert result["totalSize"] == 0
    assert salesforce_emulator.org.faults.rules == []  # used up after one call


def test_delay_triggers_client_timeout(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(
        salesforce_emulator,
        session=make_session(salesforce_emulator.base_url, connect_timeout=2, read_timeout=0.2),
    )
    salesforce_emulator.add_fault("delay", seconds=1.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.Lead.create(LEAD)


def test_dropped_connection(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("drop")

    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Lead.create(LEAD)

    assert sf.Lead.create(LEAD)["success"] is True
    statuses = [call["status"] for call in salesforce_emulator.calls()["calls"]]
    assert 0 in statuses


def test_forced_session_expiry_relogs_in(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("expire_session")

    created = sf.Lead.create(LEAD)

    assert created["success"] is True
    counts = salesforce_emulator.calls()["counts"]
    assert counts["soap_login"] == 2
    assert counts["sobject_create"] == 2


def test_session_not_valid_for_rest(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("session_not_valid", times=10)

    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM Lead")

    assert (
        raised.value.content[0]["message"] == "This session is not valid for use with the REST API"
    )


def test_validation_rule_on_named_field(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault(
        "validation", field="Status__c", object="DocRelay_Document__c", message="Status is locked"
    )

    untouched = sf.DocRelay_Document__c.create({"Name": "no status"})
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.DocRelay_Document__c.create({"Name": "with status", "Status__c": "DCR"})

    assert untouched["success"] is True
    assert raised.value.content[0] == {
        "message": "Status is locked",
        "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "fields": ["Status__c"],
    }


def test_request_limit_fault(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault("request_limit")

    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM Lead")

    assert raised.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_probability_fault_is_seeded(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.org.faults.random.seed(7)
    salesforce_emulator.add_fault("lock_row", probability=0.5)
    outcomes = []
    for _ in range(20):
        try:
            sf.Lead.create(LEAD)
            outcomes.append(True)
        except SalesforceMalformedRequest:
            outcomes.append(False)

    assert 0 < outcomes.count(False) < 20
    assert outcomes.count(True) == len(salesforce_emulator.live_records("Lead"))


def test_fault_filters_by_method_and_path(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    salesforce_emulator.add_fault(
        "lock_row", times=1, method="PATCH", path_contains="DocRelay_Document__c"
    )

    sf.Lead.create(LEAD)
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceMalformedRequest):
        sf.DocRelay_Document__c.upsert("DocRelay_Id__c/x-1", {"Name": "x"})

    assert sf.DocRelay_Document__c.upsert("DocRelay_Id__c/x-1", {"Name": "x"}) == 201


def test_auth_faults_need_include_auth(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.add_fault("unavailable", times=1)
    assert connect(salesforce_emulator).session_id  # data-call fault leaves login alone
    salesforce_emulator.clear_faults()
    salesforce_emulator.add_fault("unavailable", include_auth=True)

    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        connect(salesforce_emulator)

    assert "503 Service Unavailable" in raised.value.auth_message


def test_faults_admin_endpoint(salesforce_emulator: SalesforceEmulator) -> None:
    base = f"{salesforce_emulator.base_url}/__emulator/faults"
    sf = connect(salesforce_emulator)

    added = requests.post(base, json={"kind": "lock_row", "times": 1}, timeout=10)
    listed = requests.get(base, timeout=10).json()
    rejected = requests.post(base, json={"kind": "meteor"}, timeout=10)

    assert added.status_code == 201
    assert [rule["kind"] for rule in listed["faults"]] == ["lock_row"]
    assert rejected.status_code == 400
    assert rejected.json()["errors"][0]["field"] == "kind"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.create(LEAD)
    requests.post(base, json={"kind": "unavailable", "probability": 1.0}, timeout=10)
    assert requests.delete(base, timeout=10).status_code == 204
    assert sf.Lead.create(LEAD)["success"] is True


def test_allocation_exhaustion(salesforce_emulator: SalesforceEmulator) -> None:
    salesforce_emulator.update_settings(daily_api_limit=5)
    sf = connect(salesforce_emulator)
    lead = sf.Lead
    for _ in range(5):
        lead.create(LEAD)
    assert lead.api_usage["api-usage"].used == 5

    with pytest.raises(SalesforceRefusedRequest) as raised:
        lead.create(LEAD)

    assert raised.value.status == 403
    assert raised.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert len(salesforce_emulator.live_records("Lead")) == 5


def test_api_usage_admin_endpoint(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    response = requests.post(
        f"{salesforce_emulator.base_url}/__emulator/api-usage", json={"used": 14999}, timeout=10
    )

    sf.query("SELECT Id FROM Lead")

    assert response.status_code == 204
    assert sf.api_usage["api-usage"].used == 15000
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Lead")


def test_latency_setting(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    requests.patch(
        f"{salesforce_emulator.base_url}/__emulator/settings", json={"latency_ms": 150}, timeout=10
    )

    started = time.perf_counter()
    sf.query("SELECT Id FROM Lead")

    assert time.perf_counter() - started >= 0.15


def test_settings_endpoint_rejects_unknown(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.patch(
        f"{salesforce_emulator.base_url}/__emulator/settings", json={"latency": 1}, timeout=10
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "latency"


def test_call_log_and_counts(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    sf.Lead.create(LEAD)
    sf.query("SELECT Id FROM Lead")

    log = requests.get(f"{salesforce_emulator.base_url}/__emulator/calls", timeout=10).json()

    assert log["counts"] == {"soap_login": 1, "sobject_create": 1, "query": 1}
    assert log["api_calls"] == 2
    first = log["calls"][0]
    assert first["method"] == "POST"
    assert first["path"] == "/services/Soap/u/59.0"
    assert first["status"] == 200
    assert {"time", "duration_ms", "kind"} <= set(first)
    assert (
        requests.delete(f"{salesforce_emulator.base_url}/__emulator/calls", timeout=10).status_code
        == 204
    )
    assert salesforce_emulator.calls()["total"] == 0


def test_records_endpoint(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    lead_id = sf.Lead.create(LEAD)["id"]
    sf.Lead.delete(lead_id)

    body = requests.get(
        f"{salesforce_emulator.base_url}/__emulator/records/Lead", timeout=10
    ).json()
    missing = requests.get(f"{salesforce_emulator.base_url}/__emulator/records/Nope", timeout=10)

    assert body["totalSize"] == 1
    assert body["records"][0]["Id"] == lead_id
    assert body["records"][0]["IsDeleted"] is True
    assert missing.status_code == 404


def test_org_endpoint_and_session_expiry(salesforce_emulator: SalesforceEmulator) -> None:
    sf = connect(salesforce_emulator)
    base = salesforce_emulator.base_url

    info = requests.get(f"{base}/__emulator/org", timeout=10).json()
    expired = requests.post(f"{base}/__emulator/sessions/expire", timeout=10).json()
    sf.query("SELECT Id FROM Lead")

    assert info["org_id"] == salesforce_emulator.org.org_id
    assert info["username"] == salesforce_emulator.org.username
    assert expired == {"expired": 1}
    assert salesforce_emulator.calls()["counts"]["soap_login"] == 2


def test_admin_not_under_services(salesforce_emulator: SalesforceEmulator) -> None:
    response = requests.get(f"{salesforce_emulator.base_url}/services/__emulator/calls", timeout=10)

    assert response.status_code == 404
