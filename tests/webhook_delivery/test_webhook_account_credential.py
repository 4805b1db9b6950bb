"""Web notifications that use the account's tracking credential for merge fields and auth."""

from __future__ import annotations

import base64
import json

from hook_receiver import HookReceiver
from webhook_flow import (
    attach,
    create_document,
    create_template,
    create_webhook_design,
    deliveries,
    drain,
    enable_tracking,
)

BODY = '{"user": "[Authentication - Username]", "password": "[Authentication - Password]"}'


def _store_credential(user, password: str) -> None:
    body = {
        "auth_method": "password",
        "username": "integration@example.com",
        "password": password,
        "security_token": "token123",
        "login_host": "login.salesforce.com",
    }
    response = user.client.put("/api/v1/settings/salesforce-credential", json=body)
    assert response.status_code == 200, response.text


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_account_credential_fills_fields_and_auth(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    enable_tracking(runtime, user.account_id)
    _store_credential(user, 'pa"ss')
    template_id = create_template(user.client)
    config = {
        "url": hook_receiver.url("/acct"),
        "body_template": BODY,
        "auth": {"type": "basic", "use_account_credential": True},
    }
    design_id, _ = create_webhook_design(runtime, user, "Account auth", config)
    attach(user, template_id, design_id, {"event": "document.created"})
    hook_receiver.required_authorization["/acct"] = _basic("integration@example.com", 'pa"ss')

    create_document(user.client, template_id)
    drain(runtime)

    (delivery,) = deliveries(runtime, design_id)
    assert delivery.state == "delivered"
    (request,) = hook_receiver.at("/acct")
    assert json.loads(request.body) == {"user": "integration@example.com", "password": 'pa"ss'}


def test_design_test_masks_account_password(runtime, user, hook_receiver: HookReceiver) -> None:
    _store_credential(user, "very-secret-pw")
    config = {"url": hook_receiver.url("/mask"), "body_template": BODY}
    design_id, _ = create_webhook_design(runtime, user, "Masked", config)

    response = user.client.post(
        f"/api/v1/designs/{design_id}/test", json={"event": "document.created"}
    )
    assert response.status_code == 200, response.text
    assert "very-secret-pw" not in response.text
    assert json.loads(response.json()["request"]["body"]) == {
        "user": "integration@example.com",
        "password": "***",
    }
    (request,) = hook_receiver.at("/mask")
    assert b"very-secret-pw" in request.body


def test_new_account_credential_resumes_paused_design(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    enable_tracking(runtime, user.account_id)
    _store_credential(user, "old-password")
    template_id = create_template(user.client)
    config = {
        "url": hook_receiver.url("/acct"),
        "body_template": BODY,
        "auth": {"type": "basic", "use_account_credential": True},
    }
    design_id, _ = create_webhook_design(runtime, user, "Account auth", config)
    attach(user, template_id, design_id, {"event": "document.created"})
    hook_receiver.required_authorization["/acct"] = _basic(
        "integration@example.com", "new-password"
    )

    create_document(user.client, template_id)
    drain(runtime)
    assert [row.state for row in deliveries(runtime, design_id)] == ["paused"]

    _store_credential(user, "new-password")
    drain(runtime)

    assert [row.state for row in deliveries(runtime, design_id)] == ["delivered"]
    assert len(hook_receiver.at("/acct")) == 2
