"""The designs API for web notifications: fields, save-time validation, secrets shown once, copies."""

from __future__ import annotations

import pytest
from webhook_flow import create_template

FULL_CONFIG = {
    "url": "https://hooks.example.com/docrelay?x=1",
    "method": "PUT",
    "content_type": "application/xml",
    "headers": {"X-Document": "[Document ID]"},
    "body_template": '<event id="[Event ID]"><name>[Document Name]</name></event>',
    "soap_action": "urn:notify",
    "timeout_seconds": 30,
    "auth": {"type": "basic", "username": "svc", "password": "pw-secret-1"},
    "response_checks": [
        {"source": "xpath", "expression": "/ok", "operator": "equals", "value": "yes"}
    ],
}


def _create(user, name: str, config: dict, **extra) -> dict:
    response = user.client.post(
        "/api/v1/designs", json={"name": name, "kind": "webhook", "config": config, **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _rejected(user, config: dict, **extra) -> list[str]:
    response = user.client.post(
        "/api/v1/designs", json={"name": "Rejected", "kind": "webhook", "config": config, **extra}
    )
    assert response.status_code == 422, response.text
    return [item["field"] for item in response.json()["errors"]]


def test_create_stores_every_field_and_hides_secrets(user) -> None:
    created = _create(
        user,
        "Full",
        FULL_CONFIG,
        failure_contacts=["ops@example.com"],
        notify_on="all",
        allowed_events=["document.completed"],
    )
    secret = created["signing_secret"]
    assert secret.startswith("whsec_")

    read = user.client.get(f"/api/v1/designs/{created['id']}")
    assert read.status_code == 200
    body = read.json()
    config = body["config"]
    for key in (
        "url",
        "method",
        "content_type",
        "headers",
        "body_template",
        "soap_action",
        "timeout_seconds",
        "response_checks",
    ):
        assert config[key] == FULL_CONFIG[key], key
    assert config["auth"]["type"] == "basic"
    assert config["auth"]["username"] == "svc"
    assert body["failure_contacts"] == ["ops@example.com"]
    assert body["notify_on"] == "all"
    assert "signing_secret" not in body
    assert secret not in read.text
    assert "pw-secret-1" not in read.text
    listed = user.client.get("/api/v1/designs").text
    assert secret not in listed
    assert "pw-secret-1" not in listed


def test_timeout_defaults_to_15_and_caps_at_60(user) -> None:
    created = _create(user, "Default timeout", {"url": "https://hooks.example.com/"})
    assert created["config"]["timeout_seconds"] == 15
    assert _rejected(user, {"url": "https://hooks.example.com/", "timeout_seconds": 61}) == [
        "config.timeout_seconds"
    ]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"url": "https://hooks.example.com/", "method": "DELETE"}, "config.method"),
        ({"url": "https://hooks.example.com/", "content_type": "text/html"}, "config.content_type"),
        ({"url": "ftp://hooks.example.com/"}, "config.url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "config.url"),
        (
            {"url": "https://hooks.example.com/", "body_template": '{"a": "[No Such Field]"}'},
            "config.body_template",
        ),
        (
            {"url": "https://hooks.example.com/", "headers": {"Bad Header": "x"}},
            "config.headers.Bad Header",
        ),
        ({"url": "https://hooks.example.com/", "auth": {"type": "bearer"}}, "config.auth.token"),
        (
            {
                "url": "https://hooks.example.com/",
                "response_checks": [{"source": "json_path", "operator": "equals", "value": "x"}],
            },
            "config.response_checks[0].expression",
        ),
    ],
)
def test_invalid_config_names_the_field(user, config: dict, field: str) -> None:
    assert field in _rejected(user, config)


def test_private_literal_address_is_rejected_at_save(user) -> None:
    assert _rejected(user, {"url": "http://169.254.169.254/latest"}) == ["config.url"]


def test_template_parameters_are_accepted_as_merge_fields(user) -> None:
    config = {"url": "https://hooks.example.com/", "body_template": '{"po": "[PO]"}'}
    assert _rejected(user, config) == ["config.body_template"]
    create_template(user.client)
    _create(user, "With parameter", config)


def test_account_credentials_choice_is_stored(user) -> None:
    config = {
        "url": "https://hooks.example.com/",
        "auth": {"type": "basic", "credentials": "account"},
    }
    created = _create(user, "Account auth", config)
    assert created["config"]["auth"]["use_account_credential"] is True


def test_copy_is_independent_with_its_own_secret(user) -> None:
    original = _create(user, "Original", FULL_CONFIG)
    response = user.client.post(f"/api/v1/designs/{original['id']}/copy", json={"name": "Second"})
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["name"] == "Second"
    assert copy["id"] != original["id"]
    assert copy["signing_secret"].startswith("whsec_")
    assert copy["signing_secret"] != original["signing_secret"]

    changed = {**FULL_CONFIG, "url": "https://other.example.com/"}
    update = user.client.put(
        f"/api/v1/designs/{copy['id']}",
        json={"name": "Second", "kind": "webhook", "config": changed},
    )
    assert update.status_code == 200, update.text
    assert "signing_secret" not in update.json()
    assert (
        user.client.get(f"/api/v1/designs/{original['id']}").json()["config"]["url"]
        == FULL_CONFIG["url"]
    )
