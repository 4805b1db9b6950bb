"""Documents: create from a template, send, cancel, list, read, history, signing links, downloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from docrelay.documents import service
from docrelay.documents.events import history, verify_chain
from docrelay.documents.pagination import DEFAULT_LIMIT, check_limit
from docrelay.documents.requests import CancelDocument, CreateDocument
from docrelay.documents.views import document_view, event_view
from docrelay.web.caller import CallerDep
from docrelay.web.deps import AccountDep, RuntimeDep, SessionDep
from docrelay.web.downloads import pdf_response

router = APIRouter(prefix="/documents", tags=["documents"])


class DownloadType(enum.StrEnum):
    ORIGINAL = "original"
    COMPLETED = "completed"
    AUDIT = "audit"


@router.post("", status_code=201, summary="Create a document from a template (status DCR)")
def create_document(
    runtime: RuntimeDep, session: SessionDep, account: AccountDep, body: CreateDocument
) -> dict[str, Any]:
    document = service.create_document(session, runtime.secrets, account, body)
    return document_view(session, document)


@router.get("", summary="List documents, least recently changed first")
def list_documents(
    session: SessionDep,
    account: AccountDep,
    status: Annotated[
        str | None, Query(description="Status codes, comma-separated, e.g. DSS,DCO.")
    ] = None,
    template_id: str | None = None,
    crm_record_id: str | None = None,
    updated_since: dt.datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    rows, next_cursor = service.list_documents(
        session,
        account.id,
        statuses=service.parse_statuses(status),
        template_id=template_id,
        crm_record_id=crm_record_id,
        updated_since=updated_since,
        cursor=cursor,
        limit=check_limit(limit),
    )
    return {"items": [document_view(session, row) for row in rows], "next_cursor": next_cursor}


@router.get("/{document_id}", summary="Read a document with its signatories")
def get_document(session: SessionDep, account: AccountDep, document_id: str) -> dict[str, Any]:
    return document_view(session, service.get_document(session, account.id, document_id))


@router.post("/{document_id}/send", summary="Send a document to its signatories (DCR to DSS)")
def send_document(session: SessionDep, account: AccountDep, document_id: str) -> dict[str, Any]:
    return document_view(session, service.send_document(session, account.id, document_id))


@router.post("/{document_id}/cancel", summary="Cancel a document before completion")
def cancel_document(
    session: SessionDep, account: AccountDep, document_id: str, body: CancelDocument | None = None
) -> dict[str, Any]:
    document = service.cancel_document(session, account.id, document_id, body or CancelDocument())
    return document_view(session, document)


@router.get("/{document_id}/history", summary="List a document's events and check their hash chain")
def document_history(session: SessionDep, account: AccountDep, document_id: str) -> dict[str, Any]:
    document = service.get_document(session, account.id, document_id)
    events = history(session, document.id)
    return {
        "document_id": document.id,
        "chain_valid": verify_chain(events),
        "events": [event_view(item) for item in events],
    }


@router.get("/{document_id}/signing-links", summary="Show each signatory's signing link")
def signing_links(
    runtime: RuntimeDep, session: SessionDep, account: AccountDep, document_id: str
) -> dict[str, Any]:
    document = service.get_document(session, account.id, document_id)
    links = service.signing_links(session, runtime.secrets, runtime.settings.base_url, document)
    return {"document_id": document.id, "links": links}


@router.get(
    "/{document_id}/download",
    summary="Download the original, completed (sealed) or audit trail PDF",
)
def download(
    runtime: RuntimeDep,
    caller: CallerDep,
    document_id: str,
    type: DownloadType = DownloadType.COMPLETED,
) -> Response:
    with runtime.database.transaction() as session:
        key, filename = service.stored_file(session, caller.account_id, document_id, type.value)
    return pdf_response(runtime.blobs.get(key), filename)
