"""Request bodies of the signing API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from docrelay.documents.requests import optional_single_line

MAX_SIGNATURE_BASE64 = 2_000_000


class SignatureInput(BaseModel):
    """A typed name, rendered as a signature image, or a drawn signature as a base64 PNG."""

    model_config = ConfigDict(extra="forbid")

    typed_name: str | None = Field(default=None, min_length=1, max_length=200)
    image_png_base64: str | None = Field(
        default=None, min_length=1, max_length=MAX_SIGNATURE_BASE64
    )

    _check_name = field_validator("typed_name")(optional_single_line)

    @model_validator(mode="after")
    def _one_form(self) -> SignatureInput:
        if (self.typed_name is None) == (self.image_png_base64 is None):
            raise ValueError("give exactly one of typed_name or image_png_base64")
        return self


class SignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: SignatureInput
    initials: SignatureInput | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class FieldValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any]


class AccessCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_code: str = Field(min_length=1, max_length=100)


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(min_length=1, max_length=4000)
