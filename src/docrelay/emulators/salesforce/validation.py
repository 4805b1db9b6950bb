"""Field value checks and conversions, with Salesforce's error codes.

Each check raises :class:`ApiError` for the first problem found, with the
error code and message form Salesforce uses for it. Reference fields are only
checked for form here; whether the target exists is checked by the DML layer,
which can see the store.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from docrelay.emulators.salesforce.errors import ApiError, invalid_field, json_parser_error
from docrelay.emulators.salesforce.schema import FieldSpec, ObjectSpec
from docrelay.salesforce.ids import is_valid_id, to_18

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def convert_values(
    spec: ObjectSpec, values: dict[str, Any], *, creating: bool
) -> tuple[dict[str, Any], bytes | None]:
    """Check each supplied field and return (converted values, decoded blob or None)."""
    converted: dict[str, Any] = {}
    blob: bytes | None = None
    for name, value in values.items():
        if name == "attributes":
            continue
        field = spec.field(name)
        if field is None:
            raise invalid_field(spec.name, name)
        _check_writable(spec, field, creating)
        if field.type == "base64":
            blob = decode_base64(field, value)
            continue
        converted[field.name] = convert_value(field, value)
    return converted, blob


def convert_value(field: FieldSpec, value: Any) -> Any:
    """Convert one JSON value to what the store keeps for ``field``."""
    if value is None:
        if field.required:
            raise required_missing([field.name])
        return None
    converter = _CONVERTERS.get(field.type, _convert_text)
    return converter(field, value)


def required_missing(names: list[str]) -> ApiError:
    return ApiError(
        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
    )


def decode_base64(field: FieldSpec, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _deserialize_error("base64", value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise json_parser_error(f"Illegal base64 value in field {field.name}: {exc}") from exc


def format_datetime(moment: dt.datetime) -> str:
    """Format an aware datetime as Salesforce writes them: ``2026-12-04T19:58:47.000+0000``."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time; a value without offset is taken as UTC."""
    normalized = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    moment = dt.datetime.fromisoformat(normalized)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _check_writable(spec: ObjectSpec, field: FieldSpec, creating: bool) -> None:
    allowed = field.createable if creating else field.updateable
    if not allowed:
        action = "create" if creating else "update"
        raise ApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to {action} fields: {field.name}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            [field.name],
        )


def _convert_text(field: FieldSpec, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _deserialize_error("String", value)
    text = value if isinstance(value, str) else str(value)
    if field.length and len(text) > field.length:
        raise ApiError(
            400,
            "STRING_TOO_LONG",
            f"{field.name}: data value too large: {text} (max length={field.length})",
            [field.name],
        )
    if field.type == "email" and text and not _EMAIL.match(text):
        raise ApiError(
            400,
            "INVALID_EMAIL_ADDRESS",
            f"{field.name}: invalid email address: {text}",
            [field.name],
        )
    if field.type == "picklist" and field.restricted and text not in field.values:
        raise ApiError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.name}: bad value for restricted picklist field: {text}",
            [field.name],
        )
    return text


def _convert_boolean(field: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _deserialize_error("boolean", value)


def _convert_number(field: FieldSpec, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _deserialize_error("double", value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _deserialize_error("double", value) from None
    if not isinstance(value, int | float):
        raise _deserialize_error("double", value)
    if field.type == "int":
        if value != int(value):
            raise _deserialize_error("int", value)
        return int(value)
    return value


def _convert_date(field: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise _deserialize_error("date", value)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise _deserialize_error("date", value) from None
    return value


def _convert_datetime(field: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise _deserialize_error("datetime", value)
    try:
        return format_datetime(parse_datetime(value))
    except ValueError:
        raise _deserialize_error("datetime", value) from None


def _convert_reference(field: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise ApiError(
            400,
            "MALFORMED_ID",
            f"{field.name}: id value of incorrect type: {value}",
            [field.name],
        )
    return to_18(value)


def _deserialize_error(type_name: str, value: Any) -> ApiError:
    return json_parser_error(
        f"Cannot deserialize instance of {type_name} from value {value!r} "
        "or request may be missing a required field"
    )


_CONVERTERS = {
    "boolean": _convert_boolean,
    "int": _convert_number,
    "double": _convert_number,
    "currency": _convert_number,
    "date": _convert_date,
    "datetime": _convert_datetime,
    "reference": _convert_reference,
    "id": _convert_reference,
}
