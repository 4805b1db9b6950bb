"""Reading REST request bodies: JSON with Salesforce's 50 MB cap, or multipart blob inserts.

A multipart insert carries a JSON part with the field values and a binary part
named after the blob field (``VersionData`` or ``Body``). The JSON part is
recognised by its ``application/json`` content type or an ``entity_`` name
(``entity_content``, ``entity_document``), because part names vary by object.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from docrelay.emulators.salesforce.errors import ApiError, json_parser_error

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

_CHUNK = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body exceeded the limit; it has been read and discarded."""

    def __init__(self, api_error: ApiError) -> None:
        super().__init__(api_error.message)
        self.api_error = api_error


async def read_call_body(request: web.Request, org: Org) -> tuple[Any, bytes | None]:
    """Return (parsed JSON body or None, blob bytes from a multipart request or None)."""
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request, org)
    raw = await _read_capped(request, org.settings.json_body_max_bytes)
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        raise json_parser_error(f"Unexpected character in the JSON body: {exc}") from exc


async def _read_capped(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        else:
            chunks.clear()
    if size > limit:
        # NOTE: Salesforce caps non-multipart bodies at 50 MB; the error code used
        # for a larger body is not confirmed against an org.
        raise BodyTooLarge(
            ApiError(
                400,
                "EXCEEDED_MAX_SIZE_REQUEST",
                f"The request body is {size} bytes, over the maximum of {limit} bytes for a "
                "JSON request; send large files as multipart/form-data",
            )
        )
    return b"".join(chunks)


async def _read_multipart(request: web.Request, org: Org) -> tuple[Any, bytes | None]:
    reader = await request.multipart()
    values: Any = None
    blob: bytes | None = None
    limit = org.settings.content_version_max_bytes
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise json_parser_error("Nested multipart bodies are not supported")
        content_type = part.headers.get("Content-Type", "")
        if "json" in content_type or (part.name or "").startswith("entity_"):
            text = await part.text()
            try:
                values = json.loads(text)
            except ValueError as exc:
                raise json_parser_error(
                    f"The JSON part {part.name!r} is not valid JSON: {exc}"
                ) from exc
        else:
            blob = await _read_part(part, limit)
    if values is None:
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            "A multipart insert needs a JSON part (entity_content) with the field values",
        )
    if blob is None:
        raise ApiError(
            400, "REQUIRED_FIELD_MISSING", "The multipart request has no binary part", []
        )
    return values, blob


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ApiError(
                400, "STRING_TOO_LONG", f"The file is over the maximum of {limit} bytes", []
            )
        chunks.append(chunk)
    return b"".join(chunks)
