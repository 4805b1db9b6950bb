"""Routing and handlers of the REST API under ``/services/data/v{NN.N}/``.

:func:`dispatch` takes an authenticated :class:`Call` and returns a
:class:`Reply`. The caller takes ``org.lock`` first. Trailing slashes are ignored,
as Salesforce ignores them (simple-salesforce posts creates to
``sobjects/Lead/``).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from docrelay.emulators.salesforce import composite, describe, dml, query
from docrelay.emulators.salesforce.calls import Call, Reply
from docrelay.emulators.salesforce.errors import ApiError, invalid_field, not_found
from docrelay.emulators.salesforce.schema import ObjectSpec
from docrelay.salesforce.ids import is_valid_id

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

_VERSION = re.compile(r"^v(\d{2,3}\.\d)$")


def dispatch(org: Org, call: Call) -> Reply:
    """Run one REST call and return its reply; API errors become error replies."""
    try:
        return _route(org, call)
    except ApiError as error:
        return Reply(error.status, error.body(), kind=classify(call.method, call.path))
    except dml.MultipleMatches as matches:
        return Reply(300, matches.urls, kind=classify(call.method, call.path))


def split_path(path: str) -> tuple[str, list[str]]:
    """Split ``/services/data/v59.0/a/b/`` into ("59.0", ["a", "b"]); raise NOT_FOUND otherwise."""
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    if parts[:2] != ["services", "data"] or len(parts) < 3:
        raise not_found()
    match = _VERSION.match(parts[2])
    if match is None:
        raise not_found()
    version = match.group(1)
    if float(version) < describe.MIN_VERSION:
        raise ApiError(410, "API_VERSION_RETIRED", f"API version {version} has been retired")
    if float(version) > describe.MAX_VERSION:
        raise not_found()
    return version, parts[3:]


def _route(org: Org, call: Call) -> Reply:
    version, segments = split_path(call.path)
    method = call.method.upper()
    if method == "POST" and call.query.get("_HttpMethod", "").upper() == "PATCH":
        method = "PATCH"
    if not segments:
        _allow(method, "GET")
        return Reply(200, describe.resources(version), kind="resources")
    head, rest = segments[0], segments[1:]
    if head == "sobjects":
        return _sobjects(org, call, method, version, rest)
    if head in ("query", "queryAll"):
        return _query(org, call, method, version, head, rest)
    if head == "composite":
        return composite.handle(org, call, method, version, rest, dispatch)
    if head == "limits" and not rest:
        _allow(method, "GET")
        return Reply(200, describe.limits(org), kind="limits")
    raise not_found()


def _sobjects(org: Org, call: Call, method: str, version: str, rest: list[str]) -> Reply:
    if not rest:
        _allow(method, "GET")
        return Reply(200, describe.describe_global(org, version), kind="describe_global")
    spec = dml.resolve_object(org, rest[0])
    if len(rest) == 1:
        if method == "POST":
            return _create(org, call, spec)
        _allow(method, "GET", "POST")
        return Reply(200, describe.basic_info(spec, version), kind="sobject_info")
    if len(rest) == 2 and rest[1] == "describe":
        _allow(method, "GET")
        return Reply(200, describe.describe(spec, version), kind="describe")
    if len(rest) == 2:
        return _by_id(org, call, method, version, spec, rest[1])
    if len(rest) == 3:
        if _is_id_of(spec, rest[1]):
            return _blob(org, method, spec, rest[1], rest[2])
        return _by_external_id(org, call, method, version, spec, rest[1], rest[2])
    raise not_found()


def _create(org: Org, call: Call, spec: ObjectSpec) -> Reply:
    values = _body_object(call.body)
    record_id = dml.insert(org, spec.name, values, user_id=call.user_id, blob=call.blob)
    return Reply(201, {"id": record_id, "success": True, "errors": []}, kind="sobject_create")


def _by_id(org: Org, call: Call, method: str, version: str, spec: ObjectSpec, key: str) -> Reply:
    if not _is_id_of(spec, key):
        if method == "POST" and key == "Id":
            return _create(org, call, spec)
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {key}",
        )
    if method == "GET":
        record = dml.get_record(org, spec.name, key)
        fields = _fields_param(spec, call.query.get("fields"))
        body = dml.render_record(spec, record, fields, version, org.store.blobs)
        return Reply(200, body, kind="sobject_get")
    if method == "PATCH":
        dml.update(
            org, spec.name, key, _body_object(call.body), user_id=call.user_id, blob=call.blob
        )
        return Reply(204, kind="sobject_update")
    if method == "DELETE":
        dml.delete(org, spec.name, key, user_id=call.user_id)
        return Reply(204, kind="sobject_delete")
    raise _method_not_allowed(method, "GET", "PATCH", "DELETE")


def _by_external_id(
    org: Org, call: Call, method: str, version: str, spec: ObjectSpec, field_name: str, value: str
) -> Reply:
    field = dml.external_id_field(spec, field_name)
    if method == "GET":
        matches = dml.find_by_field(org, spec, field, value)
        if len(matches) > 1:
            raise dml.MultipleMatches([dml.record_url(spec, r["Id"], version) for r in matches])
        if not matches:
            raise not_found()
        fields = _fields_param(spec, call.query.get("fields"))
        body = dml.render_record(spec, matches[0], fields, version, org.store.blobs)
        return Reply(200, body, kind="sobject_get")
    if method == "PATCH":
        record_id, created = dml.upsert(
            org, spec.name, field.name, value, _body_object(call.body), user_id=call.user_id
        )
        body = {"id": record_id, "success": True, "errors": [], "created": created}
        if created:
            return Reply(201, body, kind="sobject_upsert")
        if float(version) < 46.0:
            return Reply(204, kind="sobject_upsert")
        return Reply(200, body, kind="sobject_upsert")
    if method == "DELETE":
        matches = dml.find_by_field(org, spec, field, value)
        if len(matches) > 1:
            raise dml.MultipleMatches([dml.record_url(spec, r["Id"], version) for r in matches])
        if not matches:
            raise not_found()
        dml.delete(org, spec.name, matches[0]["Id"], user_id=call.user_id)
        return Reply(204, kind="sobject_delete")
    raise _method_not_allowed(method, "GET", "PATCH", "DELETE")


def _blob(org: Org, method: str, spec: ObjectSpec, record_id: str, field_name: str) -> Reply:
    _allow(method, "GET")
    field = spec.field(field_name)
    if field is None or field.type != "base64":
        raise not_found()
    dml.get_record(org, spec.name, record_id)
    data = org.store.blob(record_id)
    if data is None:
        raise not_found()
    return Reply(200, data, kind="blob_get", content_type="application/octetstream")


def _query(org: Org, call: Call, method: str, version: str, head: str, rest: list[str]) -> Reply:
    _allow(method, "GET")
    batch_size = _batch_size(org, call)
    if len(rest) == 1:
        body = query.next_batch(org, rest[0], version, batch_size)
        return Reply(200, body, kind="query_more")
    if rest:
        raise not_found()
    text = call.query.get("q")
    if text is None:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    body = query.run_query(
        org, text, include_deleted=head == "queryAll", version=version, batch_size=batch_size
    )
    return Reply(200, body, kind="query_all" if head == "queryAll" else "query")


def _batch_size(org: Org, call: Call) -> int:
    """Read ``Sforce-Query-Options: batchSize=N`` (200 to 2000) or use the org default."""
    options = {k.lower(): v for k, v in call.headers.items()}.get("sforce-query-options", "")
    match = re.search(r"batchSize=(\d+)", options)
    if match:
        return min(max(int(match.group(1)), 200), 2000)
    return org.settings.query_batch_size


def _fields_param(spec: ObjectSpec, text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    resolved = []
    for name in names:
        field = spec.field(name)
        if field is None:
            raise invalid_field(spec.name, name)
        resolved.append(field.name)
    return resolved


def _body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            "The request body must be a JSON object of field names and values",
        )
    return body


def _is_id_of(spec: ObjectSpec, value: str) -> bool:
    return is_valid_id(value) and value[:3] == spec.key_prefix


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _method_not_allowed(method, *allowed)


def _method_not_allowed(method: str, *allowed: str) -> ApiError:
    return ApiError(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}",
    )


def classify(method: str, path: str) -> str:
    """Name the kind of a REST call for the call log (``sobject_create``, ``query``...)."""
    try:
        _, segments = split_path(path)
    except ApiError:
        return "unknown"
    method = method.upper()
    if not segments:
        return "resources"
    head, rest = segments[0], segments[1:]
    if head == "sobjects":
        return _classify_sobject(method, rest)
    if head in ("query", "queryAll"):
        if rest:
            return "query_more"
        return "query_all" if head == "queryAll" else "query"
    if head == "composite":
        return "composite_sobjects" if rest else "composite"
    return head


def _classify_sobject(method: str, rest: list[str]) -> str:
    if not rest:
        return "describe_global"
    if len(rest) == 1:
        return "sobject_create" if method == "POST" else "sobject_info"
    if len(rest) == 2 and rest[1] == "describe":
        return "describe"
    if len(rest) == 3 and is_valid_id(rest[1]):
        return "blob_get"
    by_method = {"GET": "sobject_get", "DELETE": "sobject_delete", "POST": "sobject_create"}
    patch_kind = "sobject_update" if len(rest) == 2 else "sobject_upsert"
    return by_method.get(method, patch_kind)
