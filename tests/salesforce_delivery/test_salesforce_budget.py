"""Near the org's daily API allocation, background work pauses and status deliveries go on."""

from __future__ import annotations

from depth_factory import status_workflow
from salesforce_org import Org

from docrelay import clock
from docrelay.delivery.worker import drain
from docrelay.salesforce import reconcile
from docrelay.salesforce.budget import (
    BUDGET_ALERT_KEY,
    budget_allows_background_work,
    org_key,
    over_budget,
)
from docrelay.salesforce.repository import read_usage, record_usage
from docrelay.storage.models import Account
from engine.delivery_factory import create_document, deliveries_of, move


def _allows(org: Org) -> bool:
    with org.runtime.database.transaction() as session:
        account = session.get(Account, org.account_id)
        assert account is not None
        return budget_allows_background_work(session, account)


def _failed_final_status(org: Org) -> str:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, status_workflow(runtime, org.account_id), crm=("Lead", org.lead_id)
    )
    org.emulator.add_fault("validation", field="Status__c", object="DocRelay_Document__c", times=1)
    drain(runtime, 15)
    assert deliveries_of(runtime, document)[0].state == "failed"
    return document


def test_threshold_arithmetic() -> None:
    assert over_budget(90, 100, 90)
    assert not over_budget(89, 100, 90)
    assert over_budget(13_500, 15_000, 90)
    assert not over_budget(5, 0, 90)


def test_no_recorded_usage_allows_background_work(org: Org) -> None:
    assert read_usage(org.runtime.database, org_key(org.account_id)) is None
    assert _allows(org)
    assert BUDGET_ALERT_KEY not in org.user_alerts()


def test_reconciler_pauses_over_budget(org: Org) -> None:
    runtime = org.runtime
    org.emulator.update_settings(daily_api_limit=200)
    org.emulator.set_api_usage(185)
    behind = _failed_final_status(org)

    used, allocation = read_usage(runtime.database, org_key(org.account_id)) or (0, 0)
    assert allocation == 200
    assert used >= 186
    org.emulator.clear_calls()

    report = reconcile.reconcile(runtime)
    assert report.accounts[0].state == "paused_budget"
    assert org.call_kinds() == []
    assert BUDGET_ALERT_KEY in org.user_alerts()
    assert not _allows(org)

    # Status deliveries are not held back by the budget.
    move(runtime, behind, "DSS")
    drain(runtime, 15)
    assert deliveries_of(runtime, behind)[-1].state == "delivered"
    assert org.record_of(behind)["Status__c"] == "DSS"

    # A higher threshold lets the reconciler run again and closes the alert.
    org.update_account(salesforce_budget_pause_percent=99)
    move(runtime, behind, "DCO")
    org.emulator.add_fault("validation", field="Status__c", object="DocRelay_Document__c", times=1)
    drain(runtime, 15)
    org.emulator.clear_calls()
    report = reconcile.reconcile(runtime)
    assert (report.accounts[0].state, report.accounts[0].written) == ("done", 1)
    assert org.record_of(behind)["Status__c"] == "DCO"
    assert BUDGET_ALERT_KEY not in org.user_alerts()


def test_reconciler_stops_when_usage_crosses_threshold(org: Org) -> None:
    runtime = org.runtime
    org.update_account(salesforce_budget_pause_percent=50)
    org.emulator.update_settings(daily_api_limit=1000)
    org.emulator.set_api_usage(499)
    documents = [_failed_final_status(org) for _ in range(2)]
    # Pretend the recorded usage is older and lower, so the run starts.
    org.emulator.clear_calls()
    record_usage(runtime.database, org_key(org.account_id), org.account_id, 10, 1000, clock.now())
    report = reconcile.reconcile(runtime)

    (run,) = report.accounts
    assert run.state == "paused_budget"
    assert run.written == len(documents)
    assert org.call_kinds() == ["composite_sobjects"]
    assert BUDGET_ALERT_KEY in org.user_alerts()
