"""What DocRelay writes to Salesforce: the document record and the completed PDF.

The document record is upserted by its external id (``DocRelay_Id__c`` = the
DocRelay document id), so repeating a write is harmless. Field names come
from the account's mapping (``account.salesforce_mapping``).

The PDF goes to the Document Storage Location:

``file``        ContentVersion shared with the related record
                (``FirstPublishLocationId``) and linked to the document record
                by a ContentDocumentLink. Files up to 37 MB go as JSON with
                base64, larger ones as multipart. Salesforce caps a JSON body
                at 50 MB, which is about 37.5 MB of file once base64 adds a third.
``attachment``  Attachment on the related record, at most 25 MB.
``document``    Document in the configured folder, at most 5 MB.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import re
import urllib.parse
from typing import Any

from docrelay.salesforce.client import SalesforceConnection
from docrelay.salesforce.errors import SalesforceApiError
from docrelay.salesforce.ids import is_valid_id

MB = 1024 * 1024
JSON_UPLOAD_MAX = 37 * MB
LOCATION_LIMITS = {"attachment": 25 * MB, "document": 5 * MB}
LOCATIONS = ("file", "attachment", "document")
NAME_MAX = 80
STALE_MARKER = "DOCRELAY_STALE_SEQUENCE"
"""Marker in the error message of an org validation rule that rejects a lower ``Sequence__c``."""

API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


@dataclasses.dataclass(frozen=True)
class RecordMapping:
    """The account's document record mapping: object, external id field and field names."""

    object: str
    external_id_field: str
    fields: dict[str, str]
    lookups: dict[str, str]
    related_status_field: str | None

    @classmethod
    def from_account(cls, mapping: dict[str, Any]) -> RecordMapping:
        """Read ``account.salesforce_mapping``; raise a ``mapping_invalid`` error naming the bad key."""
        fields = mapping.get("fields") or {}
        lookups = mapping.get("lookups") or {}
        names = {
            "object": mapping.get("object", "DocRelay_Document__c"),
            "external_id_field": mapping.get("external_id_field", "DocRelay_Id__c"),
            **{f"fields.{key}": value for key, value in fields.items()},
            **{f"lookups.{key}": value for key, value in lookups.items()},
        }
        related = mapping.get("related_status_field")
        if related:
            names["related_status_field"] = related
        for key, value in names.items():
            if not isinstance(value, str) or not API_NAME.fullmatch(value):
                raise SalesforceApiError(
                    None,
                    "mapping_invalid",
                    f"Salesforce mapping {key} = {value!r} is not a Salesforce API name",
                )
        return cls(
            names["object"],
            names["external_id_field"],
            dict(fields),
            dict(lookups),
            related or None,
        )


@dataclasses.dataclass
class Trace:
    """The calls one attempt made, for the attempt log (no secrets: bodies are not recorded)."""

    calls: list[str] = dataclasses.field(default_factory=list)
    last_status: int | None = None
    last_body: str | None = None

    def add(self, method: str, path: str, status: int, body: str, note: str = "") -> None:
        self.calls.append(f"{method} {path} -> {status}{note}")
        self.last_status = status
        self.last_body = body

    def summary(self) -> str:
        return "\n".join(self.calls)


def call_api(
    connection: SalesforceConnection,
    trace: Trace,
    method: str,
    path: str,
    note: str = "",
    **kwargs: Any,
) -> Any:
    try:
        response = connection.request(method, path, **kwargs)
    except SalesforceApiError as exc:
        trace.add(method, path, exc.status or 0, exc.body or "", note)
        exc.request = trace.summary()
        raise
    trace.add(method, path, response.status_code, response.text, note)
    return response.json() if response.content else None


def salesforce_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def external_id_path(mapping: RecordMapping, document_id: str) -> str:
    quoted = urllib.parse.quote(document_id, safe="")
    return f"sobjects/{mapping.object}/{mapping.external_id_field}/{quoted}"


def upsert_record(
    connection: SalesforceConnection,
    trace: Trace,
    mapping: RecordMapping,
    document_id: str,
    values: dict[str, Any],
) -> str | None:
    """Upsert the document record; return its id when Salesforce sent one (201, or 200 on API 46+)."""
    body = call_api(connection, trace, "PATCH", external_id_path(mapping, document_id), json=values)
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return None


def find_record_id(
    connection: SalesforceConnection, trace: Trace, mapping: RecordMapping, document_id: str
) -> str:
    body = call_api(
        connection, trace, "GET", external_id_path(mapping, document_id), params={"fields": "Id"}
    )
    return str(body["Id"])


def is_stale_refusal(error: SalesforceApiError) -> bool:
    """Tell whether the org rejected the write because its record has a higher ``Sequence__c``.

    An admin can add a validation rule to the document object, for example
    ``Sequence__c < PRIORVALUE(Sequence__c)``, whose error message contains
    :data:`STALE_MARKER`. That rule guards against writers in other DocRelay
    processes, which the in-process check cannot see.
    """
    return error.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION" and STALE_MARKER in error.message


def check_size(location: str, size: int) -> None:
    """Fail permanently when the PDF is too large for ``location``."""
    limit = LOCATION_LIMITS.get(location)
    if limit is not None and size > limit:
        raise SalesforceApiError(
            None,
            "file_too_large",
            f"The completed PDF is {size / MB:.1f} MB, over the {limit // MB} MB limit of Salesforce "
            f"{location} storage. Set the Document Storage Location to 'file' (up to 2 GB) and resend.",
        )


def file_name(document_name: str) -> str:
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", document_name).strip(" .") or "document"
    return f"{cleaned[:200]}.pdf"


def store_pdf(
    connection: SalesforceConnection,
    trace: Trace,
    *,
    location: str,
    pdf: bytes,
    title: str,
    record_id: str,
    related_id: str | None,
    folder_id: str | None,
) -> str:
    """Store the completed PDF at ``location`` and return the id of the new Salesforce object."""
    check_size(location, len(pdf))
    name = file_name(title)
    parent = related_id or record_id
    if location == "attachment":
        body = {
            "ParentId": parent,
            "Name": name,
            "Body": _b64(pdf),
            "ContentType": "application/pdf",
        }
        return str(call_api(connection, trace, "POST", "sobjects/Attachment", json=body)["id"])
    if location == "document":
        if not folder_id or not is_valid_id(folder_id):
            raise SalesforceApiError(
                None,
                "mapping_invalid",
                "Document storage needs a Salesforce folder id (storage_folder_id) in the settings",
            )
        body = {
            "FolderId": folder_id,
            "Name": name,
            "Body": _b64(pdf),
            "Type": "pdf",
            "ContentType": "application/pdf",
        }
        return str(call_api(connection, trace, "POST", "sobjects/Document", json=body)["id"])
    return _store_content_version(connection, trace, pdf, name, title, record_id, parent)


def _store_content_version(
    connection: SalesforceConnection,
    trace: Trace,
    pdf: bytes,
    name: str,
    title: str,
    record_id: str,
    parent: str,
) -> str:
    meta = {"Title": title[:255], "PathOnClient": name, "FirstPublishLocationId": parent}
    if len(pdf) > JSON_UPLOAD_MAX:
        parts = {
            "entity_content": (None, json.dumps(meta), "application/json"),
            "VersionData": (name, pdf, "application/pdf"),
        }
        created = call_api(
            connection, trace, "POST", "sobjects/ContentVersion", note=" (multipart)", files=parts
        )
    else:
        created = call_api(
            connection,
            trace,
            "POST",
            "sobjects/ContentVersion",
            json={**meta, "VersionData": _b64(pdf)},
        )
    version_id = str(created["id"])
    if parent == record_id:
        return version_id

    # NOTE: the file is recorded as stored only after the link below succeeds, so a
    # failure between the two calls uploads the file again on the retry.

    if not is_valid_id(version_id):
        raise SalesforceApiError(
            None, "MALFORMED_ID", f"Salesforce returned an invalid ContentVersion id {version_id!r}"
        )
    soql = f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{version_id}'"
    found = call_api(connection, trace, "GET", "query/", params={"q": soql})
    document_id = found["records"][0]["ContentDocumentId"]
    link = {
        "ContentDocumentId": document_id,
        "LinkedEntityId": record_id,
        "ShareType": "V",
        "Visibility": "AllUsers",
    }
    call_api(connection, trace, "POST", "sobjects/ContentDocumentLink", json=link)
    return version_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def upsert_collection(
    connection: SalesforceConnection,
    trace: Trace,
    mapping: RecordMapping,
    records: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Upsert up to 200 records by external id in one sObject Collections call.

    Returns one result per record, in order; ``allOrNone`` is off, so a record that
    Salesforce rejects fails alone.
    """
    path = f"composite/sobjects/{mapping.object}/{mapping.external_id_field}"
    body = call_api(
        connection,
        trace,
        "PATCH",
        path,
        note=f" ({len(records)} records)",
        json={"allOrNone": False, "records": records},
    )
    if not isinstance(body, list) or len(body) != len(records):
        raise SalesforceApiError(
            200,
            "UNKNOWN_EXCEPTION",
            "sObject Collections returned an unexpected body",
            json.dumps(body)[:2048],
        )
    return [entry if isinstance(entry, dict) else {} for entry in body]
