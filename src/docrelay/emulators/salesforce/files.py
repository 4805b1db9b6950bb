"""Rules and side effects of the file objects: ContentVersion, Attachment and Document.

- ContentVersion: inserting the first version creates its ContentDocument
  (069) and, with ``FirstPublishLocationId``, a ContentDocumentLink (06A) to
  that record. A version with ``ContentDocumentId`` adds a version to that
  file instead, and must not set ``FirstPublishLocationId``.
- Attachment: ``ParentId`` must be a record of an object that accepts
  attachments (checked by the reference rules); the body is capped at
  ``attachment_max_bytes`` (25 MB).
- Document: ``FolderId`` must be a Document folder or a user (personal
  folder); ``Body`` or ``Url`` is required; the body is capped at
  ``document_max_bytes`` (5 MB).
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import TYPE_CHECKING, Any

from docrelay.emulators.salesforce.errors import ApiError
from docrelay.emulators.salesforce.schema import ObjectSpec

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

# FileType values Salesforce derives from the file extension (a subset).
_FILE_TYPES = {
    "pdf": "PDF",
    "png": "PNG",
    "jpg": "JPG",
    "jpeg": "JPEG",
    "gif": "GIF",
    "txt": "TEXT",
    "csv": "CSV",
    "doc": "WORD",
    "docx": "WORD_X",
    "xls": "EXCEL",
    "xlsx": "EXCEL_X",
    "zip": "ZIP",
    "xml": "XML",
    "html": "HTML",
}

# Error codes for bodies over the limit; the messages are DocRelay's wording.
_SIZE_ERRORS = {
    "Attachment": "MAXIMUM_SIZE_OF_ATTACHMENT",
    "Document": "MAXIMUM_SIZE_OF_DOCUMENT",
}


def before_insert(org: Org, spec: ObjectSpec, values: dict[str, Any], blob: bytes | None) -> None:
    """Check the object-specific rules of a new file record."""
    _check_blob_size(org, spec, blob)
    if spec.name == "ContentVersion":
        _check_new_version(org, values)
    elif spec.name == "Document":
        _check_document(org, values, blob)
    elif spec.name == "ContentDocumentLink":
        _check_link(org, values)


def before_update(
    org: Org, spec: ObjectSpec, record: dict[str, Any], values: dict[str, Any], blob: bytes | None
) -> None:
    _check_blob_size(org, spec, blob)
    if spec.name == "Document" and "FolderId" in values:
        _check_document(org, {**record, **values}, blob or b"")


def after_insert(
    org: Org, spec: ObjectSpec, record: dict[str, Any], blob: bytes | None, user_id: str
) -> None:
    """Fill derived fields and create the records Salesforce creates alongside."""
    if blob is not None and "BodyLength" in spec.fields:
        _set_fields(org, spec, record, {"BodyLength": len(blob)})
    if spec.name == "Document" and not record.get("Type"):
        _set_fields(org, spec, record, {"Type": _extension(record.get("Name") or "")})
    if spec.name == "Document":
        _set_fields(org, spec, record, {"AuthorId": user_id})
    if spec.name == "ContentVersion" and blob is not None:
        _publish_version(org, spec, record, blob, user_id)


def after_blob_update(org: Org, spec: ObjectSpec, record: dict[str, Any], blob: bytes) -> None:
    if "BodyLength" in spec.fields:
        _set_fields(org, spec, record, {"BodyLength": len(blob)})


def after_delete(org: Org, spec: ObjectSpec, record: dict[str, Any]) -> None:
    """Deleting a ContentDocument deletes its versions and links, as in Salesforce."""
    if spec.name != "ContentDocument":
        return
    core = record["Id"][:15]
    for object_name in ("ContentVersion", "ContentDocumentLink"):
        for other in org.store.live(object_name):
            if (other.get("ContentDocumentId") or "")[:15] == core:
                org.store.put(object_name, {**other, "IsDeleted": True})


def _check_blob_size(org: Org, spec: ObjectSpec, blob: bytes | None) -> None:
    if blob is None or spec.max_blob_setting is None:
        return
    limit = int(getattr(org.settings, spec.max_blob_setting))
    if len(blob) <= limit:
        return
    code = _SIZE_ERRORS.get(spec.name, "STRING_TOO_LONG")
    raise ApiError(
        400,
        code,
        f"{spec.name} body is {len(blob)} bytes, over the maximum of {limit} bytes; "
        "use ContentVersion (Files) for large files",
        [spec.blob_field or "Body"],
    )


def _check_new_version(org: Org, values: dict[str, Any]) -> None:
    document_id = values.get("ContentDocumentId")
    if document_id and values.get("FirstPublishLocationId"):
        raise ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "FirstPublishLocationId can only be set on the first version of a file; "
            "omit it when ContentDocumentId is set",
            ["FirstPublishLocationId"],
        )


def _check_document(org: Org, values: dict[str, Any], blob: bytes | None) -> None:
    if blob is None and not values.get("Url"):
        raise ApiError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Body]", ["Body"]
        )
    folder_id = values.get("FolderId") or ""
    if folder_id.startswith(org.schema.objects["User"].key_prefix):
        return
    folder = org.store.find("Folder", folder_id)
    if folder is None or folder.get("Type") != "Document":
        raise ApiError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"FolderId: {folder_id} is not a Document folder or a user",
            ["FolderId"],
        )


def _check_link(org: Org, values: dict[str, Any]) -> None:
    document = (values.get("ContentDocumentId") or "")[:15]
    entity = (values.get("LinkedEntityId") or "")[:15]
    for link in org.store.live("ContentDocumentLink"):
        if link["ContentDocumentId"][:15] == document and link["LinkedEntityId"][:15] == entity:
            raise ApiError(
                400,
                "DUPLICATE_VALUE",
                f"Document with ID: {values['ContentDocumentId']} is already linked with the "
                f"entity with ID: {values['LinkedEntityId']}",
                ["LinkedEntityId"],
            )


def _publish_version(
    org: Org, spec: ObjectSpec, record: dict[str, Any], blob: bytes, user_id: str
) -> None:
    from docrelay.emulators.salesforce.dml import insert_system_record

    path = record.get("PathOnClient") or ""
    extension = _extension(path)
    title = record.get("Title") or posixpath.splitext(posixpath.basename(path))[0] or path
    derived = {
        "Title": title,
        "FileExtension": extension,
        "FileType": _FILE_TYPES.get(extension, "UNKNOWN"),
        "ContentSize": len(blob),
        "Checksum": hashlib.md5(blob, usedforsecurity=False).hexdigest(),
        "IsLatest": True,
    }

    document_id = record.get("ContentDocumentId")
    if document_id:
        versions = [
            v
            for v in org.store.live("ContentVersion")
            if (v.get("ContentDocumentId") or "")[:15] == document_id[:15]
            and v["Id"] != record["Id"]
        ]
        for version in versions:
            org.store.put("ContentVersion", {**version, "IsLatest": False})
        derived["VersionNumber"] = str(len(versions) + 1)
    else:
        document_id = insert_system_record(
            org, "ContentDocument", {"Title": title, "OwnerId": record.get("OwnerId") or user_id}
        )
        derived["VersionNumber"] = "1"
        derived["ContentDocumentId"] = document_id
        _link(org, document_id, user_id, "I")
        location = record.get("FirstPublishLocationId")
        if location and location[:15] != user_id[:15]:
            _link(org, document_id, location, "I")

    _set_fields(org, spec, record, derived)
    document = org.store.find("ContentDocument", document_id)
    if document is not None:
        org.store.put(
            "ContentDocument",
            {
                **document,
                "Title": title,
                "FileExtension": extension,
                "FileType": derived["FileType"],
                "ContentSize": len(blob),
                "LatestPublishedVersionId": record["Id"],
            },
        )


def _link(org: Org, document_id: str, entity_id: str, share_type: str) -> None:
    from docrelay.emulators.salesforce.dml import insert_system_record

    insert_system_record(
        org,
        "ContentDocumentLink",
        {
            "ContentDocumentId": document_id,
            "LinkedEntityId": entity_id,
            "ShareType": share_type,
            "Visibility": "AllUsers",
        },
    )


def _set_fields(org: Org, spec: ObjectSpec, record: dict[str, Any], values: dict[str, Any]) -> None:
    record.update(values)
    org.store.put(spec.name, record)


def _extension(name: str) -> str:
    return posixpath.splitext(name)[1].lstrip(".").lower()
