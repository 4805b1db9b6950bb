"""Running parsed SOQL against the store, and the ``query``/``queryAll`` paging."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from docrelay.emulators.salesforce import soql
from docrelay.emulators.salesforce.dml import record_url
from docrelay.emulators.salesforce.errors import ApiError
from docrelay.emulators.salesforce.schema import FieldSpec, ObjectSpec
from docrelay.salesforce.ids import is_valid_id

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org


def run_query(
    org: Org, text: str, *, include_deleted: bool, version: str, batch_size: int
) -> dict[str, Any]:
    """Run a query and return the first batch in the REST response shape."""
    query = soql.parse(text)
    spec = org.schema.get(query.object_name)
    if spec is None:
        raise ApiError(
            400,
            "INVALID_TYPE",
            f"sObject type '{query.object_name}' is not supported. If you are attempting to use "
            "a custom object, be sure to append the '__c' after the entity name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )
    for path in [
        *query.fields,
        *(item.field for item in query.order_by),
        *_where_fields(query.where),
    ]:
        _resolve(org, spec, path)

    candidates = org.store.table(spec.name).values()
    matched = [
        record
        for record in candidates
        if (include_deleted or not record["IsDeleted"])
        and (query.where is None or _matches(org, spec, record, query.where))
    ]
    _sort(org, spec, matched, query.order_by)
    matched = matched[query.offset :]
    if query.limit is not None:
        matched = matched[: query.limit]

    if query.count_only:
        return {"totalSize": len(matched), "done": True, "records": []}
    rendered = [_render(org, spec, record, query.fields, version) for record in matched]
    return _first_batch(org, rendered, version, batch_size)


def next_batch(org: Org, locator: str, version: str, batch_size: int) -> dict[str, Any]:
    """Return the batch that a ``nextRecordsUrl`` locator (``<id>-<offset>``) points to."""
    cursor_id, _, offset_text = locator.rpartition("-")
    rows = org.query_cursors.get(cursor_id)
    if rows is None or not offset_text.isdigit():
        raise ApiError(
            400,
            "INVALID_QUERY_LOCATOR",
            f"invalid query locator: {locator}",
        )
    return _batch(org, cursor_id, rows, int(offset_text), version, batch_size)


def _first_batch(
    org: Org, rows: list[dict[str, Any]], version: str, batch_size: int
) -> dict[str, Any]:
    if len(rows) <= batch_size:
        return {"totalSize": len(rows), "done": True, "records": rows}
    cursor_id = "01g5D" + secrets.token_hex(5).upper() + "AAA"
    org.query_cursors[cursor_id] = rows
    return _batch(org, cursor_id, rows, 0, version, batch_size)


def _batch(
    org: Org, cursor_id: str, rows: list[dict[str, Any]], offset: int, version: str, size: int
) -> dict[str, Any]:
    end = offset + size
    body: dict[str, Any] = {
        "totalSize": len(rows),
        "done": end >= len(rows),
        "records": rows[offset:end],
    }
    if end < len(rows):
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
    else:
        org.query_cursors.pop(cursor_id, None)
    return body


def _resolve(org: Org, spec: ObjectSpec, path: str) -> tuple[FieldSpec | None, FieldSpec]:
    """Return (relationship field or None, target field) for a field path."""
    if "." not in path:
        field = spec.field(path)
        if field is None:
            raise _no_such_column(spec, path)
        return None, field
    relationship, _, name = path.partition(".")
    link = next(
        (
            f
            for f in spec.fields.values()
            if (f.relationship_name or "").lower() == relationship.lower()
        ),
        None,
    )
    if link is None or "." in name:
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"Didn't understand relationship '{relationship}' in field path. If you are "
            "attempting to use a custom relationship, be sure to append the '__r' after the "
            "custom relationship name.",
        )
    target = org.schema.get(link.reference_to[0])
    field = target.field(name) if target is not None else None
    if field is None or target is None:
        raise _no_such_column(target or spec, name)
    return link, field


def _no_such_column(spec: ObjectSpec, name: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{spec.name}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


def _where_fields(node: Any) -> list[str]:
    if node is None:
        return []
    if isinstance(node, soql.Comparison):
        return [node.field]
    return [name for operand in node.operands for name in _where_fields(operand)]


def _value(org: Org, spec: ObjectSpec, record: dict[str, Any], path: str) -> tuple[Any, FieldSpec]:
    link, field = _resolve(org, spec, path)
    if link is None:
        return record.get(field.name), field
    parent = _parent(org, link, record)
    return (parent.get(field.name) if parent else None), field


def _parent(org: Org, link: FieldSpec, record: dict[str, Any]) -> dict[str, Any] | None:
    target_id = record.get(link.name)
    if not target_id:
        return None
    target = org.schema.for_id(target_id)
    return org.store.find(target.name, target_id) if target else None


def _matches(org: Org, spec: ObjectSpec, record: dict[str, Any], node: Any) -> bool:
    if isinstance(node, soql.Logical):
        results = (_matches(org, spec, record, operand) for operand in node.operands)
        if node.operator == "AND":
            return all(results)
        if node.operator == "OR":
            return any(results)
        return not next(results)
    actual, field = _value(org, spec, record, node.field)
    return _compare(field, actual, node.operator, node.value)


def _compare(field: FieldSpec, actual: Any, operator: str, expected: Any) -> bool:
    if operator in ("IN", "NOT IN"):
        found = any(_compare(field, actual, "=", option) for option in expected)
        return found if operator == "IN" else not found
    if operator == "LIKE":
        return actual is not None and _like(str(actual), str(expected))
    if expected is None or actual is None:
        equal = expected is None and actual is None
        return {"=": equal, "!=": not equal}.get(operator, False)
    left, right = _normalize(field, actual), _normalize(field, expected)
    try:
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[operator]
    except TypeError:
        return False


def _normalize(field: FieldSpec, value: Any) -> Any:
    if field.type in ("id", "reference"):
        return value[:15] if isinstance(value, str) and is_valid_id(value) else value
    if field.is_text and isinstance(value, str):
        return value.lower()
    if field.type in ("int", "double", "currency") and isinstance(value, int | float):
        return float(value)
    return value


def _like(actual: str, pattern: str) -> bool:
    import re

    wildcards = {"%": ".*", "_": "."}
    regex = "".join(wildcards.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, actual, re.IGNORECASE | re.DOTALL) is not None


def _sort(
    org: Org, spec: ObjectSpec, rows: list[dict[str, Any]], order: list[soql.OrderItem]
) -> None:
    for item in reversed(order):

        def key(record: dict[str, Any], item: soql.OrderItem = item) -> tuple[int, Any]:
            value, field = _value(org, spec, record, item.field)
            if value is None:
                return (1 if item.nulls_last != item.descending else 0, 0)
            return (0 if item.nulls_last != item.descending else 1, _normalize(field, value))

        rows.sort(key=key, reverse=item.descending)


def _render(
    org: Org, spec: ObjectSpec, record: dict[str, Any], paths: list[str], version: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attributes": {"type": spec.name, "url": record_url(spec, record["Id"], version)}
    }
    for path in paths:
        link, field = _resolve(org, spec, path)
        if link is None:
            body[field.name] = _plain_value(org, spec, record, field, version)
            continue
        parent = _parent(org, link, record)
        key = link.relationship_name or link.name
        if parent is None:
            body[key] = None
            continue
        parent_spec = org.schema.for_id(parent["Id"])
        assert parent_spec is not None
        nested = body.get(key) or {
            "attributes": {
                "type": parent_spec.name,
                "url": record_url(parent_spec, parent["Id"], version),
            }
        }
        nested[field.name] = parent.get(field.name)
        body[key] = nested
    return body


def _plain_value(
    org: Org, spec: ObjectSpec, record: dict[str, Any], field: FieldSpec, version: str
) -> Any:
    if field.type == "base64":
        if org.store.blob(record["Id"]) is None:
            return None
        return f"{record_url(spec, record['Id'], version)}/{field.name}"
    return record.get(field.name)
