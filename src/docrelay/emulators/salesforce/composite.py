"""sObject Collections (``/composite/sobjects``) and Composite (``/composite``).

Collections: at most 200 records, results in request order, per-record errors
keyed ``statusCode``; the response is 200 whenever the request itself is well
formed. With ``allOrNone`` one failure rolls every record back, and the others
report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Composite: at most 25 subrequests run in order. An ``@{ref.path}`` in a URL or
body is replaced by a value from an earlier subresponse body, for example
``@{lead.id}`` or ``@{q.records[0].Id}``. With ``allOrNone`` the first failure rolls back all
subrequests and every other one reports ``PROCESSING_HALTED``.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from docrelay.emulators.salesforce import dml
from docrelay.emulators.salesforce.calls import Call, Reply
from docrelay.emulators.salesforce.errors import ApiError, not_found
from docrelay.salesforce.ids import to_18

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

MAX_COLLECTION_RECORDS = 200
MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")

Dispatcher = Callable[["Org", Call], Reply]


class _Rollback(Exception):
    """Raised inside a transaction to undo it."""


def handle(
    org: Org, call: Call, method: str, version: str, rest: list[str], dispatch: Dispatcher
) -> Reply:
    if not rest:
        if method != "POST":
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are POST"
            )
        return _composite(org, call, version, dispatch)
    if rest[0] != "sobjects":
        raise not_found()
    if len(rest) == 1 and method == "POST":
        return _collection(org, call, "create")
    if len(rest) == 1 and method == "PATCH":
        return _collection(org, call, "update")
    if len(rest) == 1 and method == "DELETE":
        return _collection_delete(org, call)
    if len(rest) == 2 and method == "GET":
        return _collection_get(org, call, version, rest[1])
    if len(rest) == 3 and method == "PATCH":
        return _collection(org, call, "upsert", object_name=rest[1], field_name=rest[2])
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed here")


# sObject Collections


def _collection(
    org: Org,
    call: Call,
    operation: str,
    object_name: str | None = None,
    field_name: str | None = None,
) -> Reply:
    body = call.body if isinstance(call.body, dict) else {}
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a records array")
    _check_count(len(records))
    all_or_none = bool(body.get("allOrNone", False))
    if operation == "upsert":
        assert object_name is not None and field_name is not None
        spec = dml.resolve_object(org, object_name)
        dml.external_id_field(spec, field_name)

    def run_one(record: Any) -> dict[str, Any]:
        return _collection_record(org, call, operation, record, object_name, field_name)

    results = _run_all(org, records, all_or_none, run_one)
    return Reply(200, results, kind=f"composite_sobjects_{operation}")


def _collection_record(
    org: Org,
    call: Call,
    operation: str,
    record: Any,
    object_name: str | None,
    field_name: str | None,
) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    attributes = record.get("attributes")
    record_type = attributes.get("type") if isinstance(attributes, dict) else None
    if not record_type:
        raise ApiError(400, "INVALID_TYPE", "No SObject Type defined in record")
    if object_name is not None and record_type.lower() != object_name.lower():
        raise ApiError(
            400,
            "INVALID_TYPE",
            f"Record type {record_type} does not match {object_name} in the URL",
        )
    values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}

    if operation == "create":
        if record.get("id") or record.get("Id"):
            raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        new_id = dml.insert(org, record_type, values, user_id=call.user_id)
        return {"id": new_id, "success": True, "errors": []}
    if operation == "update":
        given_id = record.get("id") or record.get("Id")
        if not isinstance(given_id, str):
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        updated = dml.update(org, record_type, given_id, values, user_id=call.user_id)
        return {"id": updated, "success": True, "errors": []}

    assert field_name is not None
    field = dml.external_id_field(dml.resolve_object(org, record_type), field_name)
    key = next((k for k in record if k.lower() == field.name.lower()), None)
    if key is None or record[key] in (None, ""):
        raise ApiError(
            400, "MISSING_ARGUMENT", f"{field.name} not specified in an upsert call", [field.name]
        )
    values = {k: v for k, v in record.items() if k != "attributes"}
    record_id, created = dml.upsert(
        org, record_type, field.name, str(record[key]), values, user_id=call.user_id
    )
    return {"id": record_id, "success": True, "errors": [], "created": created}


def _collection_delete(org: Org, call: Call) -> Reply:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    _check_count(len(ids))
    all_or_none = call.query.get("allOrNone", "false").lower() == "true"

    def run_one(record_id: str) -> dict[str, Any]:
        spec = org.schema.for_id(record_id)
        if spec is None:
            raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        dml.delete(org, spec.name, record_id, user_id=call.user_id)
        return {"id": to_18(record_id), "success": True, "errors": []}

    return Reply(200, _run_all(org, ids, all_or_none, run_one), kind="composite_sobjects_delete")


def _collection_get(org: Org, call: Call, version: str, object_name: str) -> Reply:
    spec = dml.resolve_object(org, object_name)
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    _check_count(len(ids))
    fields = [f for f in call.query.get("fields", "").split(",") if f]
    if not fields:
        raise ApiError(400, "MISSING_ARGUMENT", "The fields parameter is required", [])
    results: list[Any] = []
    for record_id in ids:
        try:
            record = dml.get_record(org, spec.name, record_id)
        except ApiError:
            results.append(None)
            continue
        results.append(dml.render_record(spec, record, fields, version, org.store.blobs))
    return Reply(200, results, kind="composite_sobjects_get")


def _run_all(
    org: Org, items: list[Any], all_or_none: bool, run_one: Callable[[Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any] | None] = [None] * len(items)
    failed: set[int] = set()
    try:
        with org.store.transaction():
            for index, item in enumerate(items):
                marker = org.store.rollback_point()
                try:
                    results[index] = run_one(item)
                except ApiError as error:
                    org.store.rollback_to(marker)
                    failed.add(index)
                    results[index] = _failure(item, error)
            if all_or_none and failed:
                raise _Rollback
    except _Rollback:
        for index in range(len(items)):
            if index not in failed:
                results[index] = _rolled_back(items[index])
    return [r for r in results if r is not None]


def _failure(item: Any, error: ApiError) -> dict[str, Any]:
    result: dict[str, Any] = {"success": False, "errors": [error.collection_entry()]}
    if isinstance(item, dict) and isinstance(item.get("id") or item.get("Id"), str):
        result = {"id": item.get("id") or item.get("Id"), **result}
    return result


def _rolled_back(item: Any) -> dict[str, Any]:
    rolled = ApiError(
        400,
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using "
        "AllOrNone header",
        [],
    )
    return {"id": None, "success": False, "errors": [rolled.collection_entry()]}


def _check_count(count: int) -> None:
    if count > MAX_COLLECTION_RECORDS:
        # NOTE: error code and message as commonly reported; not confirmed against an org.
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )


# Composite


def _composite(org: Org, call: Call, version: str, dispatch: Dispatcher) -> Reply:
    body = call.body if isinstance(call.body, dict) else {}
    requests_ = body.get("compositeRequest")
    if not isinstance(requests_, list) or not requests_:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a compositeRequest array")
    if len(requests_) > MAX_SUBREQUESTS:
        # NOTE: error code as commonly reported; not confirmed against an org.
        raise ApiError(
            400,
            "INVALID_BATCH_REQUEST",
            f"Composite request has {len(requests_)} subrequests; the maximum is {MAX_SUBREQUESTS}",
        )
    all_or_none = bool(body.get("allOrNone", False))
    responses: list[dict[str, Any]] = []
    bodies: dict[str, Any] = {}
    failed_at: int | None = None
    try:
        with org.store.transaction():
            for index, sub in enumerate(requests_):
                response = _subrequest(org, call, sub, bodies, dispatch)
                responses.append(response)
                if response["httpStatusCode"] < 300:
                    bodies[response["referenceId"]] = response["body"]
                elif all_or_none:
                    failed_at = index
                    raise _Rollback
    except _Rollback:
        responses = _halted(requests_, responses, failed_at)
    return Reply(200, {"compositeResponse": responses}, kind="composite")


def _subrequest(
    org: Org, call: Call, sub: Any, bodies: dict[str, Any], dispatch: Dispatcher
) -> dict[str, Any]:
    reference_id = sub.get("referenceId") if isinstance(sub, dict) else None
    try:
        if (
            not isinstance(sub, dict)
            or not reference_id
            or not sub.get("url")
            or not sub.get("method")
        ):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "Each subrequest needs method, url and referenceId"
            )
        url = _substitute_text(str(sub["url"]), bodies)
        payload = _substitute(sub.get("body"), bodies)
    except ApiError as error:
        return _sub_response(reference_id or "", error.status, error.body(), {})
    parts = urllib.parse.urlsplit(url)
    if "/composite" in parts.path:
        nested = ApiError(
            400, "INVALID_BATCH_REQUEST", "Composite subrequests cannot call composite resources"
        )
        return _sub_response(reference_id, 400, nested.body(), {})
    query = dict(urllib.parse.parse_qsl(parts.query))
    reply = dispatch(org, Call(str(sub["method"]), parts.path, query, payload, call.user_id))
    headers = dict(reply.headers)
    if reply.status == 201 and isinstance(reply.body, dict) and reply.body.get("id"):
        headers["Location"] = f"{parts.path.rstrip('/')}/{reply.body['id']}"
    body = reply.body
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode()
    return _sub_response(reference_id, reply.status, body, headers)


def _sub_response(
    reference_id: str, status: int, body: Any, headers: dict[str, str]
) -> dict[str, Any]:
    return {
        "body": body,
        "httpHeaders": headers,
        "httpStatusCode": status,
        "referenceId": reference_id,
    }


def _halted(
    requests_: list[Any], responses: list[dict[str, Any]], failed_at: int | None
) -> list[dict[str, Any]]:
    halted = ApiError(
        400,
        "PROCESSING_HALTED",
        "The transaction was rolled back since another operation in the same transaction failed.",
    ).body()
    result = []
    for index, sub in enumerate(requests_):
        if index == failed_at:
            result.append(responses[index])
            continue
        reference_id = sub.get("referenceId", "") if isinstance(sub, dict) else ""
        result.append(_sub_response(reference_id, 400, halted, {}))
    return result


def _substitute(value: Any, bodies: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole, bodies)
        return _substitute_text(value, bodies)
    if isinstance(value, dict):
        return {k: _substitute(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, bodies) for v in value]
    return value


def _substitute_text(text: str, bodies: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda match: str(_lookup(match, bodies)), text)


def _lookup(match: re.Match[str], bodies: dict[str, Any]) -> Any:
    reference_id, path = match.group(1), match.group(2)
    if reference_id not in bodies:
        raise _bad_reference(match.group(0), reference_id)
    value = bodies[reference_id]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        name, index = step
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise _bad_reference(match.group(0), reference_id) from None
    return value


def _bad_reference(expression: str, reference_id: str) -> ApiError:
    return ApiError(
        400,
        "PROCESSING_HALTED",
        f"Invalid reference specified. No value for {expression} found in {reference_id}. "
        "Provided referenceId ('" + reference_id + "') must be the referenceId of an earlier, "
        "successful subrequest.",
    )
