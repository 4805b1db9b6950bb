"""Rejected credentials, passing faults, data errors and session expiry against the emulator."""

from __future__ import annotations

import threading

from salesforce_org import Org

from docrelay import clock
from docrelay.delivery import control, repository
from docrelay.delivery.worker import drain
from docrelay.storage.models import Account
from engine.delivery_factory import attempts_of, create_document, deliveries_of, design_id, move


def _workflow(org: Org, kind: str = "salesforce_status") -> list[dict[str, str]]:
    design = design_id(org.runtime, org.account_id, kind)
    events = ("document.created", "document.started", "document.completed")
    return [{"event": event, "design_id": design} for event in events]


def test_broken_password_pauses_then_resumes(org: Org) -> None:
    runtime = org.runtime
    first = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    second = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)

    org.emulator.change_password("rotated-Passw0rd")
    org.emulator.expire_sessions()
    move(runtime, first, "DSS")
    move(runtime, second, "DSS")
    drain(runtime, 15)

    waiting = [deliveries_of(runtime, doc)[-1] for doc in (first, second)]
    assert [(row.state, row.pause_reason, row.attempts) for row in waiting] == [
        ("paused", "credential", 0)
    ] * 2
    assert org.user_alerts() == ["salesforce_credential"]

    logins_while_paused = org.call_kinds().count("soap_login")
    move(runtime, first, "DCO")  # starts paused: no login is spent on the known-bad credential
    assert drain(runtime, 5) == 0
    assert org.call_kinds().count("soap_login") == logins_while_paused
    assert all(row.attempts == 0 for row in deliveries_of(runtime, first) if row.state == "paused")

    org.store_credential(password="rotated-Passw0rd")
    with runtime.database.transaction() as session:
        account = session.get(Account, org.account_id)
        assert account is not None
        assert control.credential_changed(session, account) == 2
    drain(runtime, 15)

    assert org.record_of(first)["Status__c"] == "DCO"
    assert org.record_of(second)["Status__c"] == "DSS"
    final = [row.state for doc in (first, second) for row in deliveries_of(runtime, doc)]
    assert "paused" not in final
    assert "failed" not in final
    assert org.user_alerts() == []


def test_lock_row_and_unavailable_bursts_are_retried(org: Org) -> None:
    runtime = org.runtime
    org.emulator.add_fault("lock_row", times=2)
    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15, wait_for_retries=True)
    org.emulator.add_fault("unavailable", times=3)
    move(runtime, document, "DSS")
    drain(runtime, 15, wait_for_retries=True)

    first, second = deliveries_of(runtime, document)
    assert (first.state, first.attempts) == ("delivered", 3)
    assert (second.state, second.attempts) == ("delivered", 4)
    outcomes = [(a.outcome, a.error_class) for a in attempts_of(runtime, first.id)]
    assert outcomes == [
        ("retry", "UNABLE_TO_LOCK_ROW"),
        ("retry", "UNABLE_TO_LOCK_ROW"),
        ("delivered", None),
    ]
    assert {a.response_status for a in attempts_of(runtime, second.id)[:3]} == {503}
    assert org.record_of(document)["Status__c"] == "DSS"


def test_data_error_fails_and_resends_after_fix(org: Org) -> None:
    runtime = org.runtime
    with runtime.database.session() as session:
        mapping = dict(session.get(Account, org.account_id).salesforce_mapping)  # type: ignore[union-attr]
    broken = {**mapping, "fields": {**mapping["fields"], "status_name": "Status_Label__c"}}
    org.update_account(salesforce_mapping=broken)
    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)

    (delivery,) = deliveries_of(runtime, document)
    assert (delivery.state, delivery.last_error_class, delivery.attempts) == (
        "failed",
        "INVALID_FIELD",
        1,
    )
    assert "Status_Label__c" in (delivery.last_error or "")
    (attempt,) = attempts_of(runtime, delivery.id)
    assert attempt.response_status == 400
    assert "PATCH" in (attempt.request_summary or "")

    org.update_account(salesforce_mapping=mapping)
    with runtime.database.transaction() as session:
        repository.resend(session, org.account_id, delivery.id, clock.now())
    drain(runtime, 15)
    assert deliveries_of(runtime, document)[0].state == "delivered"
    assert org.record_of(document)["Status__c"] == "DCR"


def test_expired_session_logs_in_once(org: Org) -> None:
    runtime = org.runtime
    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)
    org.emulator.expire_sessions()
    org.emulator.clear_calls()

    move(runtime, document, "DSS")
    drain(runtime, 15)

    assert org.call_kinds() == ["sobject_upsert", "soap_login", "sobject_upsert"]
    assert deliveries_of(runtime, document)[-1].state == "delivered"


def test_session_refused_after_relogin_pauses_without_loop(org: Org) -> None:
    runtime = org.runtime
    create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)
    org.emulator.add_fault("session_not_valid", times=5)
    org.emulator.clear_calls()

    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)

    assert org.call_kinds() == ["sobject_upsert", "soap_login", "sobject_upsert"]
    (delivery,) = deliveries_of(runtime, document)
    assert (delivery.state, delivery.last_error_class) == ("paused", "INVALID_SESSION_ID")


def test_request_limit_waits_for_next_hour(org: Org) -> None:
    runtime = org.runtime
    org.emulator.add_fault("request_limit", times=1)
    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    drain(runtime, 15)

    (delivery,) = deliveries_of(runtime, document)
    assert (delivery.state, delivery.last_error_class) == ("retrying", "REQUEST_LIMIT_EXCEEDED")
    assert delivery.available_at.minute == 0
    assert delivery.available_at > clock.now()


def test_concurrent_expiry_triggers_one_login(org: Org) -> None:
    from docrelay.salesforce.client import SHARED_CACHE
    from docrelay.salesforce.credential import load_credential

    runtime = org.runtime
    with runtime.database.session() as session:
        account = session.get(Account, org.account_id)
        assert account is not None
    connection = SHARED_CACHE.get(
        account.id,
        account.salesforce_credential_version,
        lambda: load_credential(
            runtime.secrets, account.id, account.salesforce_credential_encrypted
        ),
        route_to=runtime.settings.salesforce_route_url,
        connect_timeout=2,
        read_timeout=5,
    )
    connection.request("GET", "limits/")
    org.emulator.expire_sessions()
    org.emulator.clear_calls()

    errors: list[BaseException] = []

    def call() -> None:
        try:
            connection.request("GET", "limits/")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert org.call_kinds().count("soap_login") == 1


def test_order_kept_with_interleaved_documents(org: Org, completed_pdf: tuple[str, bytes]) -> None:
    runtime = org.runtime
    blob, _ = completed_pdf
    with_document = design_id(runtime, org.account_id, "salesforce_status_with_document")
    workflow = [*_workflow(org), {"event": "document.completed", "design_id": with_document}]
    documents = [
        create_document(
            runtime, org.account_id, workflow, crm=("Lead", org.lead_id), name=f"Contract {n}"
        )
        for n in range(3)
    ]
    drain(runtime, 15)
    for document in documents:
        move(runtime, document, "DSS")
    org.emulator.add_fault("lock_row", times=2)
    drain(runtime, 15, wait_for_retries=True)
    for document in reversed(documents):
        move(runtime, document, "DCO", completed_blob=blob)
    drain(runtime, 30, wait_for_retries=True)

    for document in documents:
        rows = deliveries_of(runtime, document)
        sent = sorted(
            (attempt.started_at, row.sequence)
            for row in rows
            if row.design_id != with_document
            for attempt in attempts_of(runtime, row.id)
        )
        sequences = [sequence for _, sequence in sent]
        assert sequences == sorted(sequences)
        assert {row.state for row in rows} <= {"delivered", "superseded"}
        assert (org.record_of(document)["Status__c"], org.record_of(document)["Sequence__c"]) == (
            "DCO",
            3,
        )


def test_killed_worker_claim_is_delivered_later(org: Org) -> None:
    runtime = org.runtime
    document = create_document(runtime, org.account_id, _workflow(org), crm=("Lead", org.lead_id))
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    (lost,) = repository.claim_due(
        runtime.database, clock.now(), runtime.settings.lease_seconds, 100
    )
    assert drain(runtime, 5) == 0  # the lease still holds

    frozen.advance(seconds=runtime.settings.lease_seconds + 1)
    assert drain(runtime, 15) == 1

    (delivery,) = deliveries_of(runtime, document)
    assert delivery.id == lost.id
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    assert org.record_of(document)["Status__c"] == "DCR"
    assert org.call_kinds().count("sobject_upsert") == 1
