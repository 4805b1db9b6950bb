"""The reconciler repairs statuses Salesforce never confirmed, and never writes an older one."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from depth_factory import status_workflow
from salesforce_org import Org
from typer.testing import CliRunner

from docrelay.cli.main import app
from docrelay.config import get_settings
from docrelay.delivery.worker import drain
from docrelay.salesforce import reconcile
from docrelay.salesforce.push import connection_for_account, linked_documents, push_statuses
from docrelay.storage.models import Account, Document
from engine.delivery_factory import create_document, deliveries_of, move


def _confirmed(org: Org, document_id: str) -> int:
    with org.runtime.database.session() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.salesforce_confirmed_sequence


def _document_with_failed_completion(org: Org) -> str:
    """Return a document whose DCO delivery failed permanently while Salesforce shows DSS."""
    runtime = org.runtime
    document = create_document(
        runtime,
        org.account_id,
        status_workflow(runtime, org.account_id),
        crm=("Lead", org.lead_id),
    )
    move(runtime, document, "DSS")
    drain(runtime, 15)
    org.emulator.add_fault("validation", field="Status__c", object="DocRelay_Document__c", times=1)
    move(runtime, document, "DCO")
    drain(runtime, 15)
    assert [row.state for row in deliveries_of(runtime, document)][-1] == "failed"
    assert org.record_of(document)["Status__c"] == "DSS"
    org.emulator.clear_calls()
    return document


def test_reconciler_repairs_failed_final_status(org: Org) -> None:
    document = _document_with_failed_completion(org)
    in_sync = create_document(
        org.runtime,
        org.account_id,
        status_workflow(org.runtime, org.account_id),
        crm=("Lead", org.lead_id),
    )
    drain(org.runtime, 15)
    org.emulator.clear_calls()
    assert reconcile.behind_documents(org.runtime, org.account_id) == [document]

    report = reconcile.reconcile(org.runtime)

    (run,) = report.accounts
    assert (run.state, run.behind, run.written, run.failed) == ("done", 1, 1, 0)
    record = org.record_of(document)
    assert (record["Status__c"], record["Status_Name__c"], record["Sequence__c"]) == (
        "DCO",
        "Completed",
        3,
    )
    assert org.record_of(in_sync)["Status__c"] == "DCR"
    assert org.call_kinds() == ["composite_sobjects"]
    assert _confirmed(org, document) == 3

    org.emulator.clear_calls()
    again = reconcile.reconcile(org.runtime)
    assert again.accounts[0].behind == 0
    assert org.call_kinds() == []


def test_reconciler_skips_older_status(org: Org) -> None:
    runtime = org.runtime
    document = _document_with_failed_completion(org)
    account = _account(org)
    snapshot = linked_documents(runtime, org.account_id, [document])
    assert snapshot[0].status == "DCO"

    # Another writer confirms a later sequence after the snapshot was read.
    with runtime.database.transaction() as session:
        row = session.get(Document, document)
        assert row is not None
        row.salesforce_confirmed_sequence = 7
    results = push_statuses(runtime, connection_for_account(runtime, account), account, snapshot)

    assert [(item.outcome, item.sequence) for item in results] == [("skipped", 3)]
    assert org.call_kinds() == []
    assert org.record_of(document)["Status__c"] == "DSS"
    assert reconcile.behind_documents(runtime, org.account_id) == []
    assert _confirmed(org, document) == 7


def test_reconciler_ignores_engine_owned_documents(org: Org) -> None:
    runtime = org.runtime
    document = create_document(
        runtime, org.account_id, status_workflow(runtime, org.account_id), crm=("Lead", org.lead_id)
    )
    assert [row.state for row in deliveries_of(runtime, document)] == ["pending"]
    assert reconcile.behind_documents(runtime, org.account_id) == []
    unlinked = create_document(runtime, org.account_id, status_workflow(runtime, org.account_id))
    drain(runtime, 15)
    assert reconcile.behind_documents(runtime, org.account_id) == []
    assert _confirmed(org, unlinked) == 1


def test_reconcile_lease_single_holder(org: Org) -> None:
    document = _document_with_failed_completion(org)
    ttl = dt.timedelta(minutes=5)
    first = reconcile.reconcile_leased(org.runtime, "worker-a", ttl)
    assert first is not None and first.written == 1
    assert reconcile.reconcile_leased(org.runtime, "worker-b", ttl) is None
    assert org.record_of(document)["Status__c"] == "DCO"


def test_reconcile_command_prints_summary(org: Org) -> None:
    document = _document_with_failed_completion(org)
    settings = org.runtime.settings
    environment = {
        "DOCRELAY_DATA_DIR": str(settings.data_dir),
        "DOCRELAY_DATABASE_URL": settings.resolved_database_url,
        "DOCRELAY_SECRET_KEY": settings.secret_key.get_secret_value()
        if settings.secret_key
        else "",
        "DOCRELAY_SALESFORCE_ROUTE_URL": org.emulator.base_url,
    }
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reconcile"], env=environment)
    finally:
        get_settings.cache_clear()
        root.handlers[:] = handlers
        root.setLevel(level)

    assert result.exit_code == 0, result.output
    assert "Salesforce reconciler" in result.output
    assert org.account_id in result.output
    assert org.record_of(document)["Status__c"] == "DCO"
    # The command runs in this process, so it reuses the cached login.
    assert org.call_kinds() == ["composite_sobjects"]


def _account(org: Org) -> Account:
    with org.runtime.database.session() as session:
        account = session.get(Account, org.account_id)
        assert account is not None
        return account


def test_reconcile_loop_runs_each_interval(org: Org) -> None:
    document = _document_with_failed_completion(org)
    org.runtime.settings.reconcile_interval = 0.1

    async def run_until_repaired() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(reconcile.run_reconcile_loop(org.runtime, stop))
        try:
            async with asyncio.timeout(10):
                while await asyncio.to_thread(_confirmed, org, document) < 3:
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await loop

    asyncio.run(run_until_repaired())
    assert org.record_of(document)["Status__c"] == "DCO"
