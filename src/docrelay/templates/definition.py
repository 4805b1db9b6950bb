"""A template's definition: fields, signatory roles, steps and expiry, and its checks.

The definition arrives as JSON beside the PDF. :func:`parse_definition` checks
its shape with pydantic and then its meaning against the PDF's pages, and
reports every problem with a path such as ``fields[2].page`` so the caller can
find the offending entry.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from docrelay.errors import ValidationError

MAX_FIELDS = 1000
MAX_SIGNATORIES = 50
MAX_EXPIRATION_DAYS = 3650


class FieldType(enum.StrEnum):
    """The kind of value a signatory puts into a field."""

    SIGNATURE = "signature"
    INITIALS = "initials"
    TEXT = "text"
    DATE_SIGNED = "date_signed"
    CHECKBOX = "checkbox"
    FULL_NAME = "full_name"


AUTOMATIC_TYPES = frozenset({FieldType.DATE_SIGNED, FieldType.FULL_NAME})
"""Field types DocRelay fills itself when the signatory signs."""
SIGNED_TYPES = frozenset({FieldType.SIGNATURE, FieldType.INITIALS})
"""Field types filled with an image of the signature or initials."""


def _no_line_breaks(value: str) -> str:
    if any(char in value for char in "\r\n\u2028\u0085"):
        raise ValueError("must not contain line breaks")
    return value


class FieldDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    type: FieldType
    page: int = Field(ge=1)
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    signatory: int = Field(ge=1)
    required: bool | None = None
    parameter: str | None = Field(default=None, min_length=1, max_length=100)

    _check_name = field_validator("name")(_no_line_breaks)

    @property
    def is_required(self) -> bool:
        """Tell whether signing needs a value; checkboxes are optional unless marked required."""
        if self.required is not None:
            return self.required
        return self.type != FieldType.CHECKBOX


class SignatoryRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    label: str | None = Field(default=None, max_length=200)


class StorageLocation(BaseModel):
    """The Salesforce location for the sealed PDF, overriding the account's Document Storage Location."""

    model_config = ConfigDict(extra="forbid")

    location: str = Field(pattern="^(file|attachment|document)$")
    folder_id: str | None = None


class TemplateDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    fields: list[FieldDefinition] = Field(default_factory=list, max_length=MAX_FIELDS)
    signatories: list[SignatoryRole] = Field(min_length=1, max_length=MAX_SIGNATORIES)
    steps: list[list[int]] | None = None
    expiration_days: int = Field(default=30, ge=1, le=MAX_EXPIRATION_DAYS)
    pre_expiration_warning_days: list[int] = Field(default_factory=list, max_length=20)
    storage_location: StorageLocation | None = None

    _check_name = field_validator("name")(_no_line_breaks)

    @property
    def resolved_steps(self) -> list[list[int]]:
        if self.steps is not None:
            return self.steps
        return [[number] for number in range(1, len(self.signatories) + 1)]

    def step_of(self, signatory: int) -> int:
        for index, members in enumerate(self.resolved_steps, start=1):
            if signatory in members:
                return index
        raise KeyError(signatory)

    def fields_of(self, signatory: int) -> list[FieldDefinition]:
        return [item for item in self.fields if item.signatory == signatory]

    def field(self, name: str) -> FieldDefinition | None:
        return next((item for item in self.fields if item.name == name), None)


def error_path(location: Sequence[Any]) -> str:
    """Turn a pydantic location such as ("fields", 2, "page") into ``fields[2].page``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "definition"


def load_definition_json(text: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError.for_field("definition", f"is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValidationError.for_field("definition", "must be a JSON object")
    return value


def parse_definition(raw: dict[str, Any], pages: Sequence[Any]) -> TemplateDefinition:
    """Validate ``raw`` against the PDF's page geometries; raise ValidationError listing every problem."""
    try:
        definition = TemplateDefinition.model_validate(raw)
    except PydanticValidationError as exc:
        errors = [(error_path(item["loc"]), item["msg"]) for item in exc.errors()]
        raise ValidationError(None, errors) from None

    errors = (
        _check_fields(definition, pages) + _check_steps(definition) + _check_warnings(definition)
    )
    errors += _check_storage(definition)
    if errors:
        raise ValidationError(None, errors)
    return definition


def _check_fields(definition: TemplateDefinition, pages: Sequence[Any]) -> list[tuple[str, str]]:
    from docrelay.pdf.geometry import field_fits

    errors: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    signatory_count = len(definition.signatories)
    for index, item in enumerate(definition.fields):
        path = f"fields[{index}]"
        if item.name in seen:
            errors.append(
                (f"{path}.name", f"duplicates the name of fields[{seen[item.name]}]: {item.name!r}")
            )
        seen.setdefault(item.name, index)
        if item.signatory > signatory_count:
            errors.append(
                (
                    f"{path}.signatory",
                    f"names signatory {item.signatory}, but the template has {signatory_count}",
                )
            )
        if item.page > len(pages):
            errors.append(
                (f"{path}.page", f"page {item.page} does not exist; the PDF has {len(pages)} pages")
            )
        elif not field_fits(pages[item.page - 1], item):
            geometry = pages[item.page - 1]
            errors.append(
                (
                    path,
                    f"rectangle x={item.x:g} y={item.y:g} width={item.width:g} height={item.height:g} "
                    f"lies outside page {item.page}, which measures {geometry.width:g} x {geometry.height:g} points",
                )
            )
    return errors


def _check_steps(definition: TemplateDefinition) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    count = len(definition.signatories)
    placed: dict[int, int] = {}
    for step_index, members in enumerate(definition.resolved_steps):
        if not members:
            errors.append(
                (f"steps[{step_index}]", "is empty; every step needs at least one signatory")
            )
        for member_index, number in enumerate(members):
            path = f"steps[{step_index}][{member_index}]"
            if not 1 <= number <= count:
                errors.append((path, f"names signatory {number}, but the template has {count}"))
            elif number in placed:
                errors.append((path, f"signatory {number} is already in steps[{placed[number]}]"))
            else:
                placed[number] = step_index
    for number in range(1, count + 1):
        if number not in placed:
            errors.append(("steps", f"signatory {number} is in no step; add it to one"))
    return errors


def _check_warnings(definition: TemplateDefinition) -> list[tuple[str, str]]:
    errors = []
    for index, days in enumerate(definition.pre_expiration_warning_days):
        if not 1 <= days < definition.expiration_days:
            errors.append(
                (
                    f"pre_expiration_warning_days[{index}]",
                    f"must be between 1 and {definition.expiration_days - 1} (less than expiration_days)",
                )
            )
    return errors


def _check_storage(definition: TemplateDefinition) -> list[tuple[str, str]]:
    location = definition.storage_location
    if location is None:
        return []
    try:
        check_storage_location(location.location, location.folder_id, "storage_location")
    except ValidationError as exc:
        return exc.errors
    return []


def check_storage_location(location: str, folder_id: str | None, path: str) -> str | None:
    """Check a Document Storage Location and return the folder id in its 18-character form."""
    from docrelay.salesforce.ids import validate_record_id

    if location != "document":
        if folder_id:
            raise ValidationError.for_field(
                f"{path}.folder_id", "is only used with location 'document'"
            )
        return None
    if not folder_id:
        raise ValidationError.for_field(f"{path}.folder_id", "is required with location 'document'")
    try:
        return validate_record_id(folder_id, "Folder")
    except ValidationError as exc:
        raise ValidationError(
            None, [(f"{path}.folder_id", message) for _field, message in exc.errors]
        ) from None
