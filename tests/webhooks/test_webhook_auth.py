"""Authorization headers for web notifications."""

from __future__ import annotations

import base64

import pytest

from docrelay.errors import ValidationError
from docrelay.webhooks.auth import apply_auth


def test_basic_auth_replaces_template_header() -> None:
    headers = {"authorization": "from-template", "X-A": "1"}

    apply_auth(headers, "basic", "zoë", "p:ss")

    assert headers == {
        "X-A": "1",
        "Authorization": "Basic " + base64.b64encode("zoë:p:ss".encode()).decode(),
    }


def test_bearer_auth() -> None:
    headers: dict[str, str] = {}

    apply_auth(headers, "bearer", token="abc.def-123")

    assert headers == {"Authorization": "Bearer abc.def-123"}


def test_none_leaves_headers() -> None:
    headers = {"Authorization": "Custom x"}

    apply_auth(headers, "none", "u", "p", "t")

    assert headers == {"Authorization": "Custom x"}


@pytest.mark.parametrize(
    ("auth_type", "username", "token", "field"),
    [
        ("basic", None, None, "auth.username"),
        ("basic", "a:b", None, "auth.username"),
        ("bearer", None, None, "auth.token"),
        ("bearer", None, "two words", "auth.token"),
        ("bearer", None, "line\nbreak", "auth.token"),
        ("digest", None, None, "auth.type"),
    ],
)
def test_bad_credentials_rejected(
    auth_type: str, username: str | None, token: str | None, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        apply_auth({}, auth_type, username, "pw", token)  # type: ignore[arg-type]

    assert caught.value.errors[0][0] == field
