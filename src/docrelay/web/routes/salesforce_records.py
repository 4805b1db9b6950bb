"""Pull endpoints for Salesforce: the documents of one record, and re-pushing their statuses.

A Salesforce "Existing Documents" component calls the listing. The refresh
also writes each listed document's current status to its DocRelay document
record, in sObject Collections upserts of up to 200 records.

Both endpoints authenticate in a short transaction of their own
(:data:`~docrelay.web.caller.CallerDep`), so no database lock is held while
Salesforce answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from docrelay.errors import ConflictError, DocRelayError
from docrelay.salesforce.errors import classify
from docrelay.salesforce.push import (
    CHUNK,
    connection_for_account,
    linked_documents,
    push_statuses,
)
from docrelay.salesforce.records import checked_record_id, documents_view, linked_document_rows
from docrelay.storage.models import Account
from docrelay.web.caller import CallerDep
from docrelay.web.deps import RuntimeDep

router = APIRouter(prefix="/salesforce/records", tags=["salesforce"])


class SalesforceCallFailed(DocRelayError):
    """Salesforce did not accept the request."""

    status_code = 502
    title = "Salesforce call failed"


@router.get(
    "/{record_id}/documents",
    summary="List the documents linked to a Salesforce record, with statuses and download links",
)
def record_documents(runtime: RuntimeDep, caller: CallerDep, record_id: str) -> dict[str, Any]:
    record = checked_record_id(record_id)
    with runtime.database.session() as session:
        rows = linked_document_rows(session, caller.account_id, record)
        items = documents_view(session, rows, runtime.settings.base_url)
    return {"record_id": record, "items": items}


@router.post(
    "/{record_id}/refresh",
    summary="Re-push the current status of every document linked to a Salesforce record",
)
def refresh_record(runtime: RuntimeDep, caller: CallerDep, record_id: str) -> dict[str, Any]:
    record = checked_record_id(record_id)
    with runtime.database.session() as session:
        account = session.scalar(select(Account).where(Account.id == caller.account_id))
        rows = linked_document_rows(session, caller.account_id, record)
        document_ids = [row.id for row in rows]
    if account is None or not account.salesforce_credential_encrypted:
        raise ConflictError(
            "The account has no Salesforce credential; store one with "
            "PUT /api/v1/settings/salesforce-credential, then refresh again"
        )
    if not account.tracking_enabled:
        raise ConflictError(
            "Document tracking is switched off for this account; switch it on in the settings "
            "to write statuses to Salesforce"
        )

    documents = linked_documents(runtime, account.id, document_ids)
    try:
        results = (
            push_statuses(runtime, connection_for_account(runtime, account), account, documents)
            if documents
            else []
        )
    except Exception as exc:
        outcome = classify(exc)
        raise SalesforceCallFailed(
            f"Salesforce rejected the refresh ({outcome.error_class}): {outcome.message}. "
            "Check the credential and the org, then refresh again"
        ) from exc

    with runtime.database.session() as session:
        items = documents_view(
            session, linked_document_rows(session, account.id, record), runtime.settings.base_url
        )
    written = [item for item in results if item.outcome == "written"]
    return {
        "record_id": record,
        "sent": len(results) - sum(item.outcome == "skipped" for item in results),
        "written": len(written),
        "api_calls": sum(
            any(item.outcome != "skipped" for item in results[first : first + CHUNK])
            for first in range(0, len(results), CHUNK)
        ),
        "results": [item.as_dict() for item in results],
        "items": items,
    }
