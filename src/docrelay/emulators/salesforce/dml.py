"""Record operations (DML) with Salesforce's checks, in the order Salesforce reports them.

Every function runs under ``org.lock`` (taken by the caller) and raises
:class:`ApiError` on the first failed check, before anything is stored.
File objects (ContentVersion, Attachment, Document) get extra rules and side
effects from :mod:`docrelay.emulators.salesforce.files`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docrelay import clock
from docrelay.emulators.salesforce import files
from docrelay.emulators.salesforce.errors import ApiError, entity_deleted, invalid_type, not_found
from docrelay.emulators.salesforce.schema import ANY_OBJECT, ATTACHABLE, FieldSpec, ObjectSpec
from docrelay.emulators.salesforce.validation import (
    convert_value,
    convert_values,
    format_datetime,
    required_missing,
)
from docrelay.salesforce.ids import is_valid_id

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org

DEFAULT_VERSION = "59.0"


class MultipleMatches(Exception):
    """More than one record has the external id value (HTTP 300)."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(f"{len(urls)} records match")
        self.urls = urls


def resolve_object(org: Org, name: str) -> ObjectSpec:
    spec = org.schema.get(name)
    if spec is None:
        raise invalid_type(name)
    return spec


def insert(
    org: Org,
    object_name: str,
    values: dict[str, Any],
    *,
    user_id: str | None = None,
    blob: bytes | None = None,
) -> str:
    """Create a record and return its 18-character id."""
    spec = resolve_object(org, object_name)
    if not spec.createable:
        raise ApiError(
            400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {spec.label}"
        )
    converted, decoded = convert_values(spec, values, creating=True)
    blob = blob if blob is not None else decoded
    _apply_defaults(spec, converted)
    _check_required(spec, converted, blob)
    _check_references(org, spec, converted)
    _check_unique(org, spec, converted, own_id=None)
    _check_validation_faults(org, spec, values, converted)
    files.before_insert(org, spec, converted, blob)

    user_id = user_id or org.default_user.id
    record = _new_record(org, spec, converted, user_id)
    org.store.put(spec.name, record)
    if blob is not None and spec.blob_field:
        org.store.put_blob(record["Id"], blob)
    files.after_insert(org, spec, record, blob, user_id)
    return str(record["Id"])


def update(
    org: Org,
    object_name: str,
    record_id: str,
    values: dict[str, Any],
    *,
    user_id: str | None = None,
    blob: bytes | None = None,
) -> str:
    """Change fields of a record; return its 18-character id."""
    spec = resolve_object(org, object_name)
    record = _existing_for_write(org, spec, record_id)
    converted, decoded = convert_values(spec, values, creating=False)
    blob = blob if blob is not None else decoded
    _check_references(org, spec, converted)
    _check_unique(org, spec, converted, own_id=record["Id"])
    _check_validation_faults(org, spec, values, converted)
    files.before_update(org, spec, record, converted, blob)

    changed = {**record, **converted}
    _derive_name(spec, changed)
    _stamp(changed, user_id or org.default_user.id, creating=False)
    org.store.put(spec.name, changed)
    if blob is not None and spec.blob_field:
        org.store.put_blob(record["Id"], blob)
        files.after_blob_update(org, spec, changed, blob)
    return str(record["Id"])


def upsert(
    org: Org,
    object_name: str,
    field_name: str,
    value: str,
    values: dict[str, Any],
    *,
    user_id: str | None = None,
) -> tuple[str, bool]:
    """Create or update the record whose external id ``field_name`` equals ``value``.

    Returns (id, created). Raises :class:`MultipleMatches` when several records match.
    """
    spec = resolve_object(org, object_name)
    field = external_id_field(spec, field_name)
    body = {k: v for k, v in values.items() if k != "attributes"}
    for key in list(body):
        if key.lower() == field.name.lower():
            if str(body[key]) != value and field.name != "Id":
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"The external ID field {field.name} in the request body ({body[key]}) "
                    f"does not match the value in the URL ({value})",
                    [field.name],
                )
            del body[key]

    matches = find_by_field(org, spec, field, value)
    if len(matches) > 1:
        raise MultipleMatches([record_url(spec, r["Id"]) for r in matches])
    if matches:
        return update(org, spec.name, matches[0]["Id"], body, user_id=user_id), False
    if field.name == "Id":
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {value}",
        )
    return insert(org, spec.name, {**body, field.name: value}, user_id=user_id), True


def delete(org: Org, object_name: str, record_id: str, *, user_id: str | None = None) -> None:
    """Move a record to the recycle bin (``IsDeleted`` = true)."""
    spec = resolve_object(org, object_name)
    record = _existing_for_write(org, spec, record_id)
    deleted = {**record, "IsDeleted": True}
    _stamp(deleted, user_id or org.default_user.id, creating=False)
    org.store.put(spec.name, deleted)
    files.after_delete(org, spec, deleted)


def get_record(org: Org, object_name: str, record_id: str) -> dict[str, Any]:
    """Return a live record by id; 404 ``NOT_FOUND`` or ``ENTITY_IS_DELETED`` otherwise."""
    spec = resolve_object(org, object_name)
    if not is_valid_id(record_id) or record_id[:3] != spec.key_prefix:
        raise not_found()
    record = org.store.find(spec.name, record_id)
    if record is None:
        raise not_found()
    if record["IsDeleted"]:
        raise entity_deleted()
    return record


def external_id_field(spec: ObjectSpec, field_name: str) -> FieldSpec:
    field = spec.field(field_name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
        )
    return field


def find_by_field(org: Org, spec: ObjectSpec, field: FieldSpec, value: str) -> list[dict[str, Any]]:
    """Return live records whose ``field`` equals ``value`` (text compared case-insensitively unless the field is case-sensitive)."""
    if field.name == "Id":
        if not is_valid_id(value):
            return []
        record = org.store.find(spec.name, value)
        return [record] if record is not None and not record["IsDeleted"] else []
    indexed = org.store.lookup(spec.name, field.name, value)
    if indexed is not None:
        return [record for record in indexed if not record["IsDeleted"]]
    wanted = value if field.case_sensitive else value.lower()
    found = []
    for record in org.store.live(spec.name):
        current = record.get(field.name)
        if current is None:
            continue
        current = str(current) if field.case_sensitive else str(current).lower()
        if current == wanted:
            found.append(record)
    return found


def render_record(
    spec: ObjectSpec,
    record: dict[str, Any],
    fields: list[str] | None = None,
    version: str = DEFAULT_VERSION,
    blobs: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """Return the JSON form of a record: ``attributes`` first, then the fields."""
    body: dict[str, Any] = {
        "attributes": {"type": spec.name, "url": record_url(spec, record["Id"], version)}
    }
    names = fields if fields is not None else list(spec.fields)
    for name in names:
        field = spec.field(name)
        if field is None:
            continue
        if field.type == "base64":
            has_blob = blobs is not None and record["Id"][:15] in blobs
            url = f"{record_url(spec, record['Id'], version)}/{field.name}"
            body[field.name] = url if has_blob else None
        else:
            body[field.name] = record.get(field.name)
    return body


def record_url(spec: ObjectSpec, record_id: str, version: str = DEFAULT_VERSION) -> str:
    return f"/services/data/v{version}/sobjects/{spec.name}/{record_id}"


def insert_system_record(org: Org, object_name: str, values: dict[str, Any]) -> str:
    """Store a record with only form checks, for seeding and side effects (no user needed)."""
    spec = resolve_object(org, object_name)
    converted = {}
    for name, value in values.items():
        field = spec.field(name)
        if field is None:
            raise KeyError(f"{object_name} has no field {name}")
        converted[field.name] = convert_value(field, value)
    _apply_defaults(spec, converted)
    owner = org.default_user.id if org.users else None
    record = _new_record(org, spec, converted, owner)
    org.store.put(spec.name, record)
    return str(record["Id"])


def _existing_for_write(org: Org, spec: ObjectSpec, record_id: str) -> dict[str, Any]:
    if not is_valid_id(record_id):
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {record_id}",
        )
    record = org.store.find(spec.name, record_id)
    if record is None:
        raise ApiError(404, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if record["IsDeleted"]:
        raise entity_deleted()
    return record


def _apply_defaults(spec: ObjectSpec, values: dict[str, Any]) -> None:
    for field in spec.fields.values():
        if field.name not in values and field.default is not None:
            values[field.name] = field.default


def _check_required(spec: ObjectSpec, values: dict[str, Any], blob: bytes | None) -> None:
    missing = []
    for field in spec.fields.values():
        if not field.required or not field.createable:
            continue
        present = blob is not None if field.type == "base64" else values.get(field.name) is not None
        if not present:
            missing.append(field.name)
    if missing:
        raise required_missing(missing)


def _check_references(org: Org, spec: ObjectSpec, values: dict[str, Any]) -> None:
    for name, value in values.items():
        field = spec.fields[name]
        if field.type != "reference" or value is None:
            continue
        target = org.schema.for_id(value)
        if target is None or not _target_allowed(field, target):
            raise ApiError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                f"{field.name}: id value of incorrect type: {value}",
                [field.name],
            )
        record = org.store.find(target.name, value)
        if record is None:
            raise ApiError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name]
            )
        if record["IsDeleted"]:
            raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [field.name])


def _target_allowed(field: FieldSpec, target: ObjectSpec) -> bool:
    if ANY_OBJECT in field.reference_to:
        return True
    if ATTACHABLE in field.reference_to:
        return target.accepts_attachments
    return target.name in field.reference_to


def _check_unique(org: Org, spec: ObjectSpec, values: dict[str, Any], own_id: str | None) -> None:
    for name, value in values.items():
        field = spec.fields[name]
        if not field.unique or value is None:
            continue
        for other in find_by_field(org, spec, field, str(value)):
            if own_id is None or other["Id"][:15] != own_id[:15]:
                raise ApiError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {field.name} duplicates value on record with id: "
                    f"{other['Id'][:15]}",
                    [],
                )


def _check_validation_faults(
    org: Org, spec: ObjectSpec, raw: dict[str, Any], values: dict[str, Any]
) -> None:
    rule = org.faults.take_validation_fault(spec.name, set(raw) | set(values))
    if rule is not None:
        field = spec.field(rule.field or "")
        name = field.name if field is not None else str(rule.field)
        default = f"{name}: the validation rule for this field failed"
        raise ApiError(400, rule.code, rule.message or default, [name])


def _new_record(
    org: Org, spec: ObjectSpec, values: dict[str, Any], user_id: str | None
) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(spec.fields)
    record.update(values)
    record["Id"] = org.ids.allocate(spec.key_prefix)
    record["IsDeleted"] = False
    if spec.has_owner and not record.get("OwnerId"):
        record["OwnerId"] = user_id
    _stamp(record, user_id, creating=True)
    _derive_name(spec, record)
    if spec.name_defaults_to_id and not record.get("Name"):
        record["Name"] = record["Id"]
    return record


def _stamp(record: dict[str, Any], user_id: str | None, creating: bool) -> None:
    moment = format_datetime(clock.now())
    if creating:
        record["CreatedDate"] = moment
        record["CreatedById"] = user_id
    record["LastModifiedDate"] = moment
    record["LastModifiedById"] = user_id
    record["SystemModstamp"] = moment


def _derive_name(spec: ObjectSpec, record: dict[str, Any]) -> None:
    if spec.compound_name:
        parts = [str(record[p]) for p in spec.compound_name if record.get(p)]
        record["Name"] = " ".join(parts)
