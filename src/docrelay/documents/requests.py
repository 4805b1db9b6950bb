"""Request bodies for creating and cancelling documents, checked with pydantic."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,38}$")
_LINE_BREAKS = "\r\n\u2028\u2029\u0085"


def single_line(value: str) -> str:
    """Reject values with line breaks, because names and emails end up in mail and HTTP headers."""
    if any(char in value for char in _LINE_BREAKS):
        raise ValueError("must not contain line breaks")
    return value


def optional_single_line(value: str | None) -> str | None:
    return None if value is None else single_line(value)


def check_email(value: str) -> str:
    single_line(value)
    if not _EMAIL.match(value):
        raise ValueError("is not an email address such as name@example.com")
    return value


class SignatoryInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    access_code: str | None = Field(default=None, min_length=4, max_length=100)

    _check_name = field_validator("name")(single_line)
    _check_email = field_validator("email")(check_email)

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError("is not a phone number such as +1 555 0100")
        return value


class CrmLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str = Field(pattern="^salesforce$")
    object_type: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    record_id: str


class CreateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=36)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    order_number: str | None = Field(default=None, max_length=100)
    parameters: dict[str, str] = Field(default_factory=dict)
    signatories: list[SignatoryInput] = Field(min_length=1)
    crm: CrmLink | None = None
    sender: str | None = Field(default=None, max_length=200)

    _check_single_line = field_validator("name", "order_number", "sender")(optional_single_line)

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not key or len(key) > 100 or any(char in key for char in _LINE_BREAKS + "[]"):
                raise ValueError(
                    f"parameter name {key!r} must be 1-100 characters without line breaks or brackets"
                )
            if len(item) > 4000:
                raise ValueError(f"parameter {key!r} is longer than 4000 characters")
        return value


class CancelDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remarks: str | None = Field(default=None, max_length=2000)
