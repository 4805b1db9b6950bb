"""Object and field metadata of the emulated org, loaded from JSON.

The package ships ``objects.json``; more objects (or changed fields) can be
declared in further JSON files of the same shape, which are merged over it.
Every object also gets the system fields Salesforce adds to all records.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docrelay.errors import ConfigurationError

FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "boolean",
        "int",
        "double",
        "currency",
        "date",
        "datetime",
        "reference",
        "base64",
    }
)
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})

# Reference targets with a special meaning: any object that accepts
# attachments, or any object at all (polymorphic lookups such as LinkedEntityId).
ATTACHABLE = "*attachable"
ANY_OBJECT = "*any"


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """Metadata of one field, as ``describe`` reports it."""

    name: str
    type: str
    length: int = 0
    required: bool = False
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    values: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """Metadata of one object type (sObject)."""

    name: str
    key_prefix: str
    label: str
    fields: dict[str, FieldSpec]
    has_owner: bool = False
    accepts_attachments: bool = False
    createable: bool = True
    blob_field: str | None = None
    max_blob_setting: str | None = None
    multipart_json_part: str | None = None
    compound_name: tuple[str, ...] = ()
    name_defaults_to_id: bool = False

    def field(self, name: str) -> FieldSpec | None:
        """Return the field called ``name``, compared case-insensitively as Salesforce does."""
        spec = self.fields.get(name)
        if spec is not None:
            return spec
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    @property
    def external_id_fields(self) -> list[FieldSpec]:
        return [spec for spec in self.fields.values() if spec.external_id]


class Schema:
    """All object types of the org, keyed by API name and by key prefix."""

    def __init__(self, objects: Iterable[ObjectSpec]) -> None:
        self.objects = {spec.name: spec for spec in objects}
        self.by_prefix = {spec.key_prefix: spec for spec in self.objects.values()}

    def get(self, name: str) -> ObjectSpec | None:
        """Return the object called ``name`` (case-insensitive), or None."""
        spec = self.objects.get(name)
        if spec is not None:
            return spec
        lowered = name.lower()
        return next((s for s in self.objects.values() if s.name.lower() == lowered), None)

    def for_id(self, record_id: str) -> ObjectSpec | None:
        """Return the object type whose key prefix starts ``record_id``."""
        return self.by_prefix.get(record_id[:3])

    @property
    def key_prefixes(self) -> dict[str, str]:
        return {name: spec.key_prefix for name, spec in self.objects.items()}


def load_schema(extra_files: Iterable[str | Path] = ()) -> Schema:
    """Load the packaged metadata, then merge each file of ``extra_files`` over it."""
    packaged = importlib.resources.files(__package__).joinpath("objects.json")
    declared: dict[str, Any] = json.loads(packaged.read_text(encoding="utf-8"))
    for path in extra_files:
        try:
            more = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read object metadata file {path}: {exc}") from exc
        for name, body in more.items():
            if name.startswith("_"):
                continue
            if name in declared:
                merged = {**declared[name], **body}
                merged["fields"] = {**declared[name].get("fields", {}), **body.get("fields", {})}
                declared[name] = merged
            else:
                declared[name] = body
    objects = [
        _parse_object(name, body) for name, body in declared.items() if not name.startswith("_")
    ]
    return Schema(objects)


def _parse_object(name: str, body: dict[str, Any]) -> ObjectSpec:
    prefix = body.get("keyPrefix")
    if not isinstance(prefix, str) or len(prefix) != 3 or not prefix.isalnum():
        raise ConfigurationError(f"object {name}: keyPrefix must be 3 letters or digits")
    has_owner = bool(body.get("hasOwner", False))
    fields = _system_fields(has_owner)
    for field_name, field_body in body.get("fields", {}).items():
        fields[field_name] = _parse_field(name, field_name, field_body)
    return ObjectSpec(
        name=name,
        key_prefix=prefix,
        label=body.get("label", name),
        fields=fields,
        has_owner=has_owner,
        accepts_attachments=bool(body.get("acceptsAttachments", False)),
        createable=bool(body.get("createable", True)),
        blob_field=body.get("blobField"),
        max_blob_setting=body.get("maxBlobBytesSetting"),
        multipart_json_part=body.get("multipartJsonPart"),
        compound_name=tuple(body.get("compoundName", ())),
        name_defaults_to_id=bool(body.get("nameDefaultsToId", False)),
    )


def _parse_field(object_name: str, name: str, body: dict[str, Any]) -> FieldSpec:
    field_type = body.get("type")
    if field_type not in FIELD_TYPES:
        allowed = ", ".join(sorted(FIELD_TYPES))
        raise ConfigurationError(
            f"object {object_name} field {name}: type {field_type!r} is not one of {allowed}"
        )
    length = int(body.get("length", 255 if field_type in TEXT_TYPES else 0))
    return FieldSpec(
        name=name,
        type=field_type,
        length=length,
        required=bool(body.get("required", False)),
        createable=bool(body.get("createable", True)),
        updateable=bool(body.get("updateable", True)),
        external_id=bool(body.get("externalId", False)),
        unique=bool(body.get("unique", False)),
        case_sensitive=bool(body.get("caseSensitive", False)),
        values=tuple(body.get("values", ())),
        restricted=bool(body.get("restricted", False)),
        default=body.get("default"),
        reference_to=tuple(body.get("referenceTo", ())),
        relationship_name=body.get("relationshipName"),
        precision=int(body.get("precision", 0)),
        scale=int(body.get("scale", 0)),
    )


def _system_fields(has_owner: bool) -> dict[str, FieldSpec]:
    readonly: dict[str, Any] = {"createable": False, "updateable": False}
    fields = {
        "Id": FieldSpec("Id", "id", length=18, **readonly),
        "IsDeleted": FieldSpec("IsDeleted", "boolean", **readonly),
        "CreatedDate": FieldSpec("CreatedDate", "datetime", **readonly),
        "CreatedById": FieldSpec("CreatedById", "reference", reference_to=("User",), **readonly),
        "LastModifiedDate": FieldSpec("LastModifiedDate", "datetime", **readonly),
        "LastModifiedById": FieldSpec(
            "LastModifiedById", "reference", reference_to=("User",), **readonly
        ),
        "SystemModstamp": FieldSpec("SystemModstamp", "datetime", **readonly),
    }
    if has_owner:
        fields["OwnerId"] = FieldSpec(
            "OwnerId", "reference", reference_to=("User",), relationship_name="Owner"
        )
    return fields
