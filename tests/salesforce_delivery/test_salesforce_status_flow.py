"""Status updates through the real worker to the Salesforce emulator over HTTP."""

from __future__ import annotations

import pytest
from salesforce_org import Org

from docrelay import clock
from docrelay.delivery import repository
from docrelay.delivery.worker import drain
from docrelay.salesforce import repository as salesforce_repository
from docrelay.salesforce.ids import to_18
from docrelay.storage.models import Document
from engine.delivery_factory import attempts_of, create_document, deliveries_of, design_id, move


def _status_workflow(org: Org) -> list[dict[str, str]]:
    status = design_id(org.runtime, org.account_id, "salesforce_status")
    return [
        {"event": event, "design_id": status}
        for event in ("document.created", "document.started", "document.completed")
    ]


def test_statuses_reach_record_in_order(org: Org) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )

    seen = []
    for status in (None, "DSS", "DCO"):
        if status:
            move(runtime, document, status)
        drain(runtime, 15)
        record = org.record_of(document)
        seen.append((record["Status__c"], record["Sequence__c"]))
    assert seen == [("DCR", 1), ("DSS", 2), ("DCO", 3)]

    record = org.record_of(document)
    assert record["Name"] == "NDA for Jane Doe"
    assert record["Status_Name__c"] == "Completed"
    assert record["Template_Name__c"] == "Mutual NDA"
    assert record["Lead__c"][:15] == org.lead_id[:15]
    assert record["Related_Record_Id__c"][:15] == org.lead_id[:15]
    with runtime.database.session() as session:
        assert session.get(Document, document).salesforce_confirmed_sequence == 3  # type: ignore[union-attr]
    assert [row.state for row in deliveries_of(runtime, document)] == ["delivered"] * 3


def test_one_api_call_per_status_after_login(org: Org) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )
    drain(runtime, 15)
    assert org.call_kinds() == ["soap_login", "sobject_upsert"]

    org.emulator.clear_calls()
    move(runtime, document, "DSS")
    drain(runtime, 15)
    move(runtime, document, "DCO")
    drain(runtime, 15)
    assert org.call_kinds() == ["sobject_upsert", "sobject_upsert"]

    usage = salesforce_repository.read_usage(runtime.database, f"salesforce:{org.account_id}")
    assert usage is not None
    assert usage[1] == org.emulator.org.settings.daily_api_limit


def test_late_lower_sequence_write_is_skipped(org: Org) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )
    drain(runtime, 15)
    first = deliveries_of(runtime, document)[0]
    move(runtime, document, "DSS")
    move(runtime, document, "DCO")
    drain(runtime, 15)
    org.emulator.clear_calls()

    with runtime.database.transaction() as session:
        assert repository.resend(session, org.account_id, first.id, clock.now()) is not None
    drain(runtime, 15)

    resent = deliveries_of(runtime, document)[0]
    assert resent.state == "delivered"
    assert resent.result is not None
    assert resent.result["stale"] is True
    assert resent.last_error_class is None
    assert org.call_kinds() == []  # refused before any call
    assert org.record_of(document)["Status__c"] == "DCO"


def test_org_rule_refusing_stale_write_counts_as_delivered(org: Org) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )
    org.emulator.add_fault(
        "validation",
        field="Sequence__c",
        object="DocRelay_Document__c",
        message="DOCRELAY_STALE_SEQUENCE: the record holds a newer status",
        times=1,
    )
    drain(runtime, 15)
    (delivery,) = deliveries_of(runtime, document)
    assert delivery.state == "delivered"
    assert delivery.result is not None and delivery.result["stale"] is True
    (attempt,) = attempts_of(runtime, delivery.id)
    assert attempt.outcome == "delivered"


def test_due_updates_share_one_collections_request(org: Org) -> None:
    runtime = org.runtime
    documents = [
        create_document(
            runtime,
            org.account_id,
            _status_workflow(org),
            crm=("Lead", org.lead_id),
            name=f"Doc {n}",
        )
        for n in range(6)
    ]
    drain(runtime, 15)

    assert org.call_kinds() == ["soap_login", "composite_sobjects"]
    for document in documents:
        (delivery,) = deliveries_of(runtime, document)
        assert delivery.state == "delivered"
        assert delivery.result is not None
        assert delivery.result["batch_size"] == 6
        assert org.record_of(document)["Status__c"] == "DCR"


def test_one_bad_record_fails_only_its_delivery(org: Org) -> None:
    runtime = org.runtime
    missing_lead = to_18("00Q5D0000000ZZZ")
    good = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )
    bad = create_document(
        runtime, org.account_id, _status_workflow(org), crm=("Lead", missing_lead)
    )
    drain(runtime, 15)

    assert org.call_kinds() == ["soap_login", "composite_sobjects"]
    (delivered,) = deliveries_of(runtime, good)
    (failed,) = deliveries_of(runtime, bad)
    assert delivered.state == "delivered"
    assert (failed.state, failed.last_error_class) == ("failed", "INVALID_CROSS_REFERENCE_KEY")
    assert org.record_of(good)["Status__c"] == "DCR"
    assert [row["DocRelay_Id__c"] for row in org.document_records()] == [good]


@pytest.mark.parametrize("method", ["jwt", "client_credentials"])
def test_oauth_credentials_deliver(org: Org, method: str) -> None:
    emulated = org.emulator.org
    if method == "jwt":
        org.store_credential(
            auth_method="jwt",
            consumer_key=emulated.consumer_key,
            private_key=emulated.private_key_pem,
            password=None,
            security_token=None,
        )
    else:
        org.store_credential(
            auth_method="client_credentials",
            username=None,
            password=None,
            security_token=None,
            login_host=None,
            consumer_key=emulated.consumer_key,
            consumer_secret=emulated.consumer_secret,
            my_domain=emulated.settings.my_domain,
        )
    document = create_document(
        org.runtime, org.account_id, _status_workflow(org), crm=("Lead", org.lead_id)
    )
    drain(org.runtime, 15)

    assert org.call_kinds() == ["oauth_token", "sobject_upsert"]
    assert deliveries_of(org.runtime, document)[0].state == "delivered"
    assert org.record_of(document)["Status__c"] == "DCR"
