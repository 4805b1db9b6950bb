"""Authentication headers for web notifications."""

from __future__ import annotations

import base64
from collections.abc import MutableMapping
from typing import Literal

from docrelay.errors import ValidationError

AuthType = Literal["none", "basic", "bearer"]


def apply_auth(
    headers: MutableMapping[str, str],
    auth_type: AuthType,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> None:
    """Set the ``Authorization`` header for ``auth_type``, replacing one from the template.

    Raises :class:`ValidationError` when a credential is missing or would
    break the header.
    """
    if auth_type == "none":
        return
    if auth_type == "basic":
        if not username:
            raise ValidationError.for_field("auth.username", "is required for basic auth")
        if ":" in username:
            raise ValidationError.for_field("auth.username", "must not contain ':' (RFC 7617)")
        pair = f"{username}:{password or ''}".encode()
        _set_authorization(headers, "Basic " + base64.b64encode(pair).decode("ascii"))
        return
    if auth_type == "bearer":
        if not token:
            raise ValidationError.for_field("auth.token", "is required for bearer auth")
        if any(ord(char) < 0x21 or ord(char) > 0x7E for char in token):
            raise ValidationError.for_field("auth.token", "must be printable ASCII without spaces")
        _set_authorization(headers, "Bearer " + token)
        return
    raise ValidationError.for_field("auth.type", "must be one of none, basic, bearer")


def _set_authorization(headers: MutableMapping[str, str], value: str) -> None:
    for name in [name for name in headers if name.lower() == "authorization"]:
        del headers[name]
    headers["Authorization"] = value
