"""Status updates due together share sObject Collections requests; each record keeps its own result."""

from __future__ import annotations

from depth_factory import create_documents
from salesforce_org import Org
from sqlalchemy import func, select

from docrelay.delivery.worker import drain
from docrelay.storage.models import Delivery, Document
from engine.delivery_factory import deliveries_of


def _states(org: Org) -> dict[str, int]:
    with org.runtime.database.session() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {state: count for state, count in rows}


def test_a_validation_error_fails_only_its_own_record(org: Org) -> None:
    runtime = org.runtime
    documents = create_documents(runtime, org.account_id, 5, record_id=org.lead_id)
    org.emulator.add_fault(
        "validation",
        field="Status_Name__c",
        object="DocRelay_Document__c",
        message="Status name is locked by an admin rule",
        times=1,
    )
    drain(runtime, 15)

    assert org.call_kinds() == ["soap_login", "composite_sobjects"]
    deliveries = {document: deliveries_of(runtime, document)[0] for document in documents}
    failed = [document for document, row in deliveries.items() if row.state == "failed"]
    assert len(failed) == 1
    (bad,) = failed
    assert deliveries[bad].last_error_class == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "locked by an admin rule" in (deliveries[bad].last_error or "")
    written = {row["DocRelay_Id__c"] for row in org.document_records()}
    assert written == set(documents) - {bad}
    with runtime.database.session() as session:
        confirmed = dict(
            session.execute(
                select(Document.id, Document.salesforce_confirmed_sequence).where(
                    Document.id.in_(documents)
                )
            ).all()
        )
    assert confirmed == {document: 0 if document == bad else 1 for document in documents}


def test_thousand_pending_updates_cost_at_most_ten_calls(org: Org) -> None:
    runtime = org.runtime
    # Deliveries waiting for a shared Collections request hold worker slots.
    runtime.settings.worker_concurrency = 400
    documents = create_documents(runtime, org.account_id, 1000, record_id=org.lead_id)

    drain(runtime, 60)

    calls = org.emulator.calls()
    assert _states(org) == {"delivered": 1000}
    assert len(org.document_records()) == len(documents)
    assert calls["counts"].get("soap_login", 0) + calls["counts"].get("oauth_token", 0) <= 1
    assert set(calls["counts"]) <= {"soap_login", "composite_sobjects"}
    assert calls["api_calls"] / len(documents) <= 0.01
